// Formatting: the one canonical layout of compiler/format (the prettier plugin). A document with
// a syntax error is left as it is: the formatter never formats broken code.
import type { TextEdit } from "vscode-languageserver";
import { formatOfl, type LineMap } from "../../compiler/index.js";

export async function formatDocument(text: string, lines: LineMap): Promise<TextEdit[] | null> {
  let out: string;
  try {
    out = await formatOfl(text);
  } catch {
    return null;
  }
  if (out === text) return [];
  return [{ range: { start: { line: 0, character: 0 }, end: lines.position(text.length) }, newText: out }];
}
