// Formatting through the formatter of compiler/format, when it exists (resolved by lsp/build.mjs:
// the virtual module `ofl:format` re-exports compiler/format/index.ts or is empty).
import type { TextEdit } from "vscode-languageserver";
import type { LineMap } from "../../compiler/index.js";

type FormatFn = (text: string, options?: Record<string, unknown>) => string | Promise<string>;
let loaded: Promise<FormatFn | undefined> | undefined;

export function formatter(): Promise<FormatFn | undefined> {
  loaded ??= import("ofl:format").then(
    (m: { formatOfl?: FormatFn }) => (typeof m.formatOfl === "function" ? m.formatOfl : undefined),
    () => undefined,
  );
  return loaded;
}

export async function formatDocument(text: string, lines: LineMap, options: { tabSize: number; insertSpaces: boolean }): Promise<TextEdit[] | null> {
  const f = await formatter();
  if (!f) return null;
  const out = await f(text, { tabWidth: options.tabSize, useTabs: !options.insertSpaces });
  if (typeof out !== "string" || out === text) return [];
  return [{ range: { start: { line: 0, character: 0 }, end: lines.position(text.length) }, newText: out }];
}
