// Document symbols, workspace symbols and folding ranges through the workspace (parse only).
import { describe, expect, test } from "vitest";
import { PLANT, TestWorkspace } from "./harness.js";

describe("symbols and folding", () => {
  test("document symbols: declarations with their members", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT);
    const syms = t.ws.documentSymbols(d.uri);
    expect(syms.map((s) => s.name)).toEqual(["Execution", "Mill", "mill1", "stop_hot"]);
    expect(syms.find((s) => s.name === "Mill")!.children!.map((c) => c.name)).toEqual(["temperature", "execution", "overheating", "hot", "stop", "set_feed"]);
  });

  test("workspace symbols match a query across open documents", () => {
    const t = new TestWorkspace();
    t.open("untitled:plant.ofl", PLANT);
    t.open("untitled:other.ofl", "model Oven {\n  telemetry heat: float\n}\n");
    expect(t.ws.workspaceSymbols("mill").map((s) => s.name).sort()).toEqual(["Mill", "mill1"]);
    // the query matches as a subsequence (`Oven` also matches `overheating`)
    expect(t.ws.workspaceSymbols("Oven").map((s) => `${s.name} ${s.location.uri}`).sort()).toEqual(["Oven untitled:other.ofl", "overheating untitled:plant.ofl"]);
  });

  test("folding: each multi-line block, from its first to its last line", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", "‸model M {\n  telemetry t: int\n‸}\n‸rule r on M {\n  when t > 1\n  then stop()\n‸}\n");
    const folds = t.ws.foldingRanges(d.uri).map((f) => [f.startLine, f.endLine]);
    expect(folds).toEqual(expect.arrayContaining([
      [d.at[0]!.line, d.at[1]!.line - 1],
      [d.at[2]!.line, d.at[3]!.line - 1],
    ]));
  });
});
