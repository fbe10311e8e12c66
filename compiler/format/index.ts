// The OFL formatter: a prettier plugin (languages + parsers + printers) and `formatOfl`.
// Uses only compiler/syntax (DESIGN.md: `format` depends on `syntax` alone) and prettier's
// standalone build (no plugin loading, bundles cleanly into dist/ofl.mjs).
import type { Plugin, Printer, SupportLanguage, Parser } from "prettier";
import { format } from "prettier/standalone";
import { canAttachComment, commentDoc, getVisitorKeys, handleComments, isBlockComment } from "./comments.js";
import { locEnd, locStart, OflSyntaxError, parseForPrettier, preprocess, type PComment, type PFile } from "./parse.js";
import { printOfl, printString } from "./print.js";

export { OflSyntaxError, printString };

export const languages: SupportLanguage[] = [
  {
    name: "OFL",
    parsers: ["ofl"],
    extensions: [".ofl"],
    vscodeLanguageIds: ["ofl"],
  },
];

const oflParser: Parser<PFile> = {
  astFormat: "ofl-ast",
  parse: (text, options) => parseForPrettier(text, { filepath: (options as { filepath?: string }).filepath }),
  preprocess: (text) => preprocess(text),
  locStart: locStart as (n: unknown) => number,
  locEnd: locEnd as (n: unknown) => number,
};

const oflPrinter: Printer<PFile> = {
  print: printOfl,
  getVisitorKeys: getVisitorKeys as Printer["getVisitorKeys"],
  canAttachComment: canAttachComment as Printer["canAttachComment"],
  isBlockComment: isBlockComment as Printer["isBlockComment"],
  printComment: (path) => commentDoc(path.node as unknown as PComment),
  // leading and trailing comments are printed by `printOfl` itself (see comments.ts)
  willPrintOwnComments: () => true,
  handleComments: handleComments as unknown as Printer["handleComments"],
};

export const parsers = { ofl: oflParser };
export const printers = { "ofl-ast": oflPrinter };
/** No options of its own: prettier's `printWidth` (default 80) is the one that matters. */
export const options = {};

/** The plugin object: `prettier.format(text, { plugins: [plugin], filepath: "x.ofl" })`. */
export const plugin: Plugin<PFile> = { languages, parsers, printers, options };
export default plugin;

/** Formats OFL source text. Throws `OflSyntaxError` (with `loc`) when the text has a syntax error. */
export async function formatOfl(text: string, opts: { printWidth?: number; filepath?: string } = {}): Promise<string> {
  return format(text, { parser: "ofl", plugins: [plugin], printWidth: opts.printWidth ?? 80, ...(opts.filepath ? { filepath: opts.filepath } : {}) });
}
