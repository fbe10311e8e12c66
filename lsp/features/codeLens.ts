// Code lenses on tests ("▶ Run test") and on files with tests ("Replay session…"), and the
// test runs behind them (runtime/replay), reported as diagnostics on the expectation line.
import type { CodeLens, Diagnostic as LspDiagnostic } from "vscode-languageserver";
import { lower, type CheckResult } from "../../compiler/index.js";
import { runTest, replaySession, type ReplayReport, type TestResult } from "../../runtime/replay/runner.js";
import type { Doc } from "./analysis.js";

export const RUN_TEST = "ofl.runTest";
export const RUN_FILE_TESTS = "ofl.runFileTests";
export const REPLAY_SESSION = "ofl.replaySession";

export function codeLenses(doc: Doc): CodeLens[] {
  const out: CodeLens[] = [];
  const tests = doc.file.decls.filter((d) => d.kind === "Test");
  for (const t of tests) {
    const range = doc.lines.range({ start: t.span.start, end: t.span.start });
    out.push({ range, command: { title: "▶ Run test", command: RUN_TEST, arguments: [doc.uri, t.name.value] } });
  }
  if (tests.length > 0) {
    const range = doc.lines.range({ start: tests[0]!.span.start, end: tests[0]!.span.start });
    out.push({ range, command: { title: "Replay session…", command: REPLAY_SESSION, arguments: [doc.uri] } });
  }
  return out;
}

export class TestRunError extends Error {}

/** Runs tests of a checked program (all of a file's, or one by name). Throws TestRunError when the program has errors. */
export function runTests(result: CheckResult, file: string, name?: string): TestResult[] {
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new TestRunError(`the program has ${errors.length} error${errors.length === 1 ? "" : "s"}; fix ${errors.length === 1 ? "it" : "them"} to run tests`);
  const ir = lower(result);
  const tests = ir.tests.filter((t) => t.file === file && (name === undefined || t.name === name));
  if (tests.length === 0) throw new TestRunError(name === undefined ? "no tests in this file" : `no test named "${name}" in this file`);
  return tests.map((t) => runTest(ir, t));
}

/** Test failures as diagnostics on their expectation line (the line's text, indentation trimmed). */
export function failureDiagnostics(results: TestResult[], doc: Doc): LspDiagnostic[] {
  const out: LspDiagnostic[] = [];
  for (const r of results) {
    for (const f of r.failures) {
      const line = Math.min(Math.max(0, f.line - 1), doc.lines.lineCount - 1);
      const text = doc.lines.lineText(line);
      const start = text.length - text.trimStart().length;
      out.push({
        range: { start: { line, character: start }, end: { line, character: text.trimEnd().length } },
        severity: 1,
        source: "ofl test",
        code: "test-failed",
        message: `test "${r.name}" failed: ${f.expectation}\nexpected: ${f.expected}\nactual: ${f.actual}`,
      });
    }
  }
  return out;
}

export function replay(result: CheckResult, sessionPath: string): ReplayReport {
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new TestRunError(`the program has ${errors.length} error${errors.length === 1 ? "" : "s"}; fix them to replay a session`);
  return replaySession(lower(result), sessionPath);
}
