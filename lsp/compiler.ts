// The one place where the language server reaches past compiler/index.ts. `check()` there parses
// every file each time; the server keeps parse results per document version and checks the
// already-parsed files, so it builds the checker itself (what `check()` does after parsing).
// Everything else goes through the public API.
import { parse, sortDiagnostics, standardLibrary, type CheckResult, type Diagnostic, type SourceFile } from "../compiler/index.js";
import { AGGREGATES, Checker, FUNCTIONS } from "../compiler/check/checker.js";
import { SOURCE_KINDS } from "../compiler/check/sources.js";
import { PRELUDE } from "../stdlib/index.js";

export { AGGREGATES, FUNCTIONS, SOURCE_KINDS };

export interface Parsed {
  file: SourceFile;
  diagnostics: Diagnostic[];
}

export function parseText(text: string, path: string): Parsed {
  return parse(text, path);
}

/** Checks already-parsed files (plus the standard library): the same result as `check()`. */
export function checkParsed(parsed: Parsed[], name: string): CheckResult {
  const checker = new Checker({ name, files: [...standardLibrary(), ...parsed.map((p) => p.file)], prelude: PRELUDE });
  let program;
  let diagnostics: Diagnostic[] = [];
  for (const p of parsed) diagnostics = diagnostics.concat(p.diagnostics);
  try {
    program = checker.run();
    diagnostics = diagnostics.concat(checker.diagnostics);
  } catch (e) {
    // never let a checker bug take the server down: report it on the first file
    program = checker.p;
    const f = parsed[0]?.file.path ?? "";
    diagnostics.push({ code: "OFL1010", severity: "error", message: `internal error in the checker: ${(e as Error).message}`, file: f, span: { start: 0, end: 0 } });
  }
  return { program, diagnostics: sortDiagnostics(diagnostics), files: parsed.map((p) => p.file), checker };
}
