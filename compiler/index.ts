// The compiler's public API: one function per stage. Pure: text in, diagnostics and IR out.
// runtime/, lsp/ and the CLI import the compiler only through this file.
import type { SourceFile } from "./ast/nodes.js";
import { Checker } from "./check/checker.js";
import type { CheckedProgram } from "./check/symbols.js";
import type { Diagnostic } from "./diagnostics/types.js";
import type { IrProgram } from "./ir/types.js";
import { Lowering } from "./lower/lower.js";
import { diag } from "./diagnostics/registry.js";
import { parse } from "./syntax/index.js";
import { PRELUDE, STD_MODULES } from "../stdlib/index.js";

export type { Diagnostic, Severity, Range, Position, CodeEntry } from "./diagnostics/types.js";
export type { IrProgram } from "./ir/types.js";
export type * as Ir from "./ir/types.js";
export type { SourceFile } from "./ast/nodes.js";
/** The AST node types (`Ast.Expr`, `Ast.AssetDecl`, …): plain data with spans. */
export type * as Ast from "./ast/nodes.js";
/** The AST's one shape table and the walks it drives (compiler/ast/children.ts). */
export { CHILD_KEYS, forEachChild, shapeOf, walkAst, type Shape as AstShape } from "./ast/children.js";
export type { CheckedProgram, GlobalSymbol, MemberInfo, ModelInfo, ParamInfo, UnitInfo, EnumInfo, TestInfo } from "./check/symbols.js";
export { tyText, type Ty } from "./check/types.js";
export { closest } from "./check/suggest.js";
/** The names of the built-in functions and aggregates (for completion). */
export { AGGREGATES, FUNCTIONS } from "./check/checker.js";
/** The source kinds and their binding specs (for completion). */
export { SOURCE_KINDS } from "./check/sources.js";
export { parse, lex, KEYWORDS, type LexToken } from "./syntax/index.js";
export { registry, codeEntry } from "./diagnostics/registry.js";
export { LineMap } from "./diagnostics/lineMap.js";
export { renderDiagnostic, renderDiagnostics } from "./diagnostics/render.js";
export { emitKsql, explainKsql, ksqlScript, type KsqlPlan, type KsqlPlacement } from "./emit/ksql/emit.js";
/** The placement stage: where each declaration runs (ksqlDB or the rule worker) and why. */
export { place, placementByDeclaration, placementText, type Placement } from "./place/place.js";
export { ident as ksqlIdent } from "./emit/ksql/print.js";
export { formatOfl } from "./format/index.js";

export interface InputFile {
  /** absolute (or project-relative) path; `std/…` is reserved for the standard library */
  path: string;
  text: string;
}

let stdCache: SourceFile[] | undefined;
/** The standard library, parsed once per process. */
export function standardLibrary(): SourceFile[] {
  if (!stdCache) stdCache = STD_MODULES.map((m) => parse(m.text, m.path).file);
  return stdCache;
}

export interface CheckResult {
  program: CheckedProgram;
  /** every diagnostic of every stage, sorted by file and position */
  diagnostics: Diagnostic[];
  /** the parsed user files, by path */
  files: SourceFile[];
}

/** A file as `parse` returns it. */
export interface ParsedFile {
  file: SourceFile;
  diagnostics: Diagnostic[];
}

/** Parses and checks a program: the given files plus the standard library. */
export function check(files: InputFile[], opts: { name: string }): CheckResult {
  return checkParsed(
    files.map((f) => parse(f.text, f.path)),
    opts,
  );
}

/**
 * Checks already-parsed files plus the standard library (the language server keeps parse results
 * per document version). The same result as `check()` on the files' texts. Never throws: a bug
 * in the checker becomes one OFL1010 on the first file.
 */
export function checkParsed(files: ParsedFile[], opts: { name: string }): CheckResult {
  let diagnostics: Diagnostic[] = files.flatMap((f) => f.diagnostics);
  const checker = new Checker({ name: opts.name, files: [...standardLibrary(), ...files.map((f) => f.file)], prelude: PRELUDE });
  let program: CheckedProgram;
  try {
    program = checker.run();
    diagnostics = diagnostics.concat(checker.diagnostics);
  } catch (e) {
    program = checker.p;
    diagnostics = diagnostics.concat(checker.diagnostics);
    diagnostics.push(diag("OFL1010", files[0]?.file.path ?? "", { start: 0, end: 0 }, { detail: `in the checker: ${(e as Error).message}` }));
  }
  return { program, diagnostics: capPerFile(sortDiagnostics(diagnostics)), files: files.map((f) => f.file) };
}

/** Lowers a program that checked without errors to the IR. */
export function lower(result: CheckResult): IrProgram {
  return new Lowering(result.program).run();
}

export interface CompileResult {
  diagnostics: Diagnostic[];
  /** present when there is no error */
  ir?: IrProgram;
  check: CheckResult;
}

/** check + lower. */
export function compile(files: InputFile[], opts: { name: string }): CompileResult {
  const result = check(files, opts);
  const hasError = result.diagnostics.some((d) => d.severity === "error");
  return hasError ? { diagnostics: result.diagnostics, check: result } : { diagnostics: result.diagnostics, ir: lower(result), check: result };
}

/**
 * At most this many diagnostics per file: past it, one OFL1012 says how many were left out.
 * Invariant: the cap never changes whether a program has errors. OFL1012 is an error only when
 * an error was left out; when only warnings were, it is a warning.
 */
export const MAX_DIAGNOSTICS_PER_FILE = 1000;

function capPerFile(ds: Diagnostic[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  let file = "";
  let count = 0;
  let dropped = 0;
  let droppedError = false;
  const flush = (): void => {
    if (dropped > 0)
      out.push({
        ...diag("OFL1012", file, { start: 0, end: 0 }, { count: dropped, max: MAX_DIAGNOSTICS_PER_FILE }),
        severity: droppedError ? "error" : "warning",
      });
  };
  for (const d of ds) {
    if (d.file !== file) {
      flush();
      file = d.file;
      count = 0;
      dropped = 0;
      droppedError = false;
    }
    if (++count <= MAX_DIAGNOSTICS_PER_FILE) out.push(d);
    else {
      dropped++;
      if (d.severity === "error") droppedError = true;
    }
  }
  flush();
  return out;
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.span.start - b.span.start || a.span.end - b.span.end || (a.code < b.code ? -1 : 1)));
}
