// Definition, references and rename through the workspace, at `‸`.
import { describe, expect, test } from "vitest";
import { RenameError } from "../../../../lsp/features/navigation.js";
import { PLANT, TestWorkspace } from "./harness.js";

const MARKED = PLANT.replace("  state overheating =", "  state ‸overheating‸ =").replace("  when overheating", "  when over‸heating");

describe("navigation", () => {
  test("definition of a state read by a rule: its declaration's name", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", MARKED);
    expect(t.ws.definition(d.uri, d.at[2]!)).toEqual([{ uri: d.uri, range: { start: d.at[0], end: d.at[1] } }]);
  });

  test("references of a state, with and without its declaration", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", MARKED);
    const use = d.at[2]!;
    const useRange = { start: { line: use.line, character: 7 }, end: { line: use.line, character: 18 } };
    expect(t.ws.references(d.uri, use, false)).toEqual([{ uri: d.uri, range: useRange }]);
    expect(t.ws.references(d.uri, use, true)).toEqual(expect.arrayContaining([{ uri: d.uri, range: { start: d.at[0], end: d.at[1] } }, { uri: d.uri, range: useRange }]));
    expect(t.ws.references(d.uri, use, true)).toHaveLength(2);
  });

  test("rename changes the declaration and every use; an invalid name is refused", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", MARKED);
    expect(t.ws.prepareRename(d.uri, d.at[2]!)).toEqual({ range: { start: { line: d.at[2]!.line, character: 7 }, end: { line: d.at[2]!.line, character: 18 } }, placeholder: "overheating" });
    const edit = t.ws.rename(d.uri, d.at[2]!, "too_hot")!;
    const edits = edit.changes![d.uri]!;
    expect(edits.map((e) => e.newText)).toEqual(["too_hot", "too_hot"]);
    expect(edits.map((e) => e.range.start.line).sort((a, b) => a - b)).toEqual([d.at[0]!.line, d.at[2]!.line]);
    expect(() => t.ws.rename(d.uri, d.at[2]!, "when")).toThrow(RenameError);
  });
});
