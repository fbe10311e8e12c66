// Diagnostics through the workspace: checked after the debounce, published per file with the
// document's version, never stale; a closed single file's diagnostics are cleared.
import { describe, expect, test } from "vitest";
import { PLANT, TestWorkspace } from "./harness.js";

describe("diagnostics", () => {
  test("a clean program publishes an empty list, with the document's version", async () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT, 3);
    await t.settled();
    expect(t.published.get(d.uri)).toEqual({ uri: d.uri, version: 3, diagnostics: [] });
  });

  test("an error is published at its range with its code; fixing it clears it", async () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("  when overheating", "  when ‸overheatin‸"));
    await t.settled();
    const p = t.published.get(d.uri)!;
    expect(p.diagnostics.map((x) => [x.code, x.severity, x.range])).toEqual([["OFL2001", 1, { start: d.at[0], end: d.at[1] }]]);
    expect(p.diagnostics[0]!.message).toBe("unknown name `overheatin`; did you mean `overheating`?");
    t.change(d.uri, PLANT, 2);
    await t.settled();
    expect(t.published.get(d.uri)).toEqual({ uri: d.uri, version: 2, diagnostics: [] });
  });

  test("edits in quick succession: only the latest text's diagnostics are published", async () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("  when overheating", "  when nope1"));
    t.change(d.uri, PLANT.replace("  when overheating", "  when nope2"), 2);
    t.change(d.uri, PLANT.replace("  when overheating", "  when nope3"), 3);
    await t.settled();
    // one publication, for the last version: the older texts were never checked to the end
    const all = t.history.filter((p) => p.uri === d.uri);
    expect(all.map((p) => [p.version, p.diagnostics.map((x) => x.message)])).toEqual([[3, ["unknown name `nope3`"]]]);
  });

  test("closing a file that is a program by itself clears its diagnostics", async () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:bad.ofl", "model M { state s = nope }");
    await t.settled();
    expect(t.published.get(d.uri)!.diagnostics).toHaveLength(1);
    t.close(d.uri);
    expect(t.published.get(d.uri)).toEqual({ uri: d.uri, diagnostics: [] });
  });
});
