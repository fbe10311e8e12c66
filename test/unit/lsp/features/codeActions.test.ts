// Quick fixes through the workspace: did-you-mean replaces the misspelt name.
import { describe, expect, test } from "vitest";
import { PLANT, TestWorkspace } from "./harness.js";

describe("code actions", () => {
  test("an unknown name with a close match: `Change to` replaces it, preferred", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("  when overheating", "  when ‸overheatin‸"));
    const actions = t.ws.codeActions(d.uri, { start: d.at[0]!, end: d.at[0]! });
    expect(actions.map((a) => a.title)).toEqual(["Change to `overheating`"]);
    expect(actions[0]!.isPreferred).toBe(true);
    expect(actions[0]!.edit!.changes![d.uri]).toEqual([{ range: { start: d.at[0], end: d.at[1] }, newText: "overheating" }]);
  });

  test("no diagnostic in the range: no action", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("  when overheating", "  when ‸overheating"));
    expect(t.ws.codeActions(d.uri, { start: d.at[0]!, end: d.at[0]! })).toEqual([]);
  });
});
