// `ofl test [PATH...] [--replay FILE] [--junit FILE] [--json] [--skip-bad-lines]`
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { junitXml } from "../replay/junit.js";
import { replaySession, runTests, type ReplayReport, type TestResult } from "../replay/runner.js";
import { openSession, type OpenSession } from "../replay/session.js";
import { compilePrograms, countSummary, displayPath, printDiagnostics, progressLine, type Command, type Io } from "./common.js";

export const testCommand: Command = {
  name: "test",
  summary: "run test blocks, or replay a recorded session and diff the decisions",
  help: `Usage: ofl test [PATH...] [--replay FILE] [--junit FILE] [--json] [--skip-bad-lines]

Runs every \`test\` block of the programs (each on a fresh in-memory log; no device is
contacted). PATH is a project folder or .ofl files, as for \`ofl check\`.

With --replay FILE, replays a recorded session (OFL or kcat form) against the program
instead, and compares its decisions (rule-issued commands, alarm transitions) with those
recorded: a table of matches, and for a mismatch the first diverging record.

Options:
  --replay FILE      replay a session file and diff the decisions
  --junit FILE       also write JUnit XML for CI systems
  --json             print {"tests":[{"name","file","status","failures":[…]}],"passed":N,"failed":N}
  --skip-bad-lines   count malformed session lines as warnings instead of failing on them
  -h, --help         show this help

The output ends with the line \`N passed, N failed\`.
Exit codes: 0 all passed, 1 a test failed or the program has errors, 2 bad usage.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        replay: { type: "string" },
        junit: { type: "string" },
        json: { type: "boolean" },
        "skip-bad-lines": { type: "boolean" },
      },
    });
    const sessionOptions = { skipBadLines: !!values["skip-bad-lines"] };
    // the session's parser thread starts now and reads ahead while the program compiles (a
    // session that cannot be opened is reported below, when its replay opens it again)
    let early: OpenSession | undefined;
    if (values.replay) {
      try {
        early = openSession(resolve(io.cwd, values.replay), { ...sessionOptions, startNow: true });
      } catch {
        early = undefined;
      }
    }
    const programs = compilePrograms(positionals, io);
    const results: TestResult[] = [];
    let compileFailed = false;
    for (const p of programs) {
      const { errors } = countSummary(p.diagnostics);
      if (errors > 0 || !p.result.ir) {
        compileFailed = true;
        // with --json, standard output stays one JSON document: the diagnostics go to stderr
        const target: Io = values.json ? { ...io, out: io.err } : io;
        printDiagnostics(target, p.diagnostics.filter((d) => d.severity === "error"), p.texts);
        target.out(`✗ ${p.loaded.name}: ${errors} error${errors === 1 ? "" : "s"}; no test was run\n`);
        continue;
      }
      if (values.replay) {
        const path = resolve(io.cwd, values.replay);
        const line = progressLine(io, `replay ${displayPath(io, path)}`);
        let shownAt = 0;
        let report: ReplayReport;
        try {
          report = replaySession(
            p.result.ir,
            path,
            sessionOptions,
            (n) => {
              if (Date.now() - shownAt < 200) return;
              shownAt = Date.now();
              line.show(`${n.toLocaleString("en-US")} records`);
            },
            early ?? openSession(path, sessionOptions),
          );
          early = undefined;
        } finally {
          line.done();
        }
        if (!values.json) printReplay(io, report);
        results.push(replayResult(report, io));
      } else {
        const rs = runTests(p.result.ir, { session: sessionOptions });
        if (!values.json) for (const r of rs) printResult(io, r);
        results.push(...rs);
      }
    }
    early?.close(); // no program compiled: its records were never read
    const passed = results.filter((r) => r.status === "passed").length;
    const failed = results.length - passed;
    if (values.junit) writeFileSync(resolve(io.cwd, values.junit), junitXml(results.map((r) => ({ ...r, file: displayPath(io, r.file) }))));
    if (values.json) {
      const tests = results.map((r) => ({ name: r.name, file: displayPath(io, r.file), status: r.status, failures: r.failures, ...(r.warnings ? { warnings: r.warnings } : {}) }));
      io.out(JSON.stringify({ tests, passed, failed }) + "\n");
    } else {
      if (results.length === 0 && !compileFailed) io.out("no test blocks found\n");
      io.out(`${passed} passed, ${failed} failed\n`);
    }
    return failed > 0 || compileFailed ? 1 : 0;
  },
};

function printResult(io: Io, r: TestResult): void {
  const where = `${displayPath(io, r.file)}:${r.line}`;
  for (const w of r.warnings ?? []) io.out(`  ${paint(io, "33", "warning:")} ${w}\n`);
  if (r.status === "passed") {
    io.out(`${paint(io, "32", "✓")} ${r.name} ${paint(io, "2", `(${where}, ${r.durationMs} ms)`)}\n`);
    return;
  }
  io.out(`${paint(io, "31", "✗")} ${r.name} ${paint(io, "2", `(${where})`)}\n`);
  for (const f of r.failures) {
    io.out(`    ${paint(io, "1", `line ${f.line}:`)} ${f.expectation}\n`);
    io.out(`      expected: ${f.expected}\n`);
    io.out(`      actual:   ${f.actual}\n`);
  }
}

function printReplay(io: Io, r: ReplayReport): void {
  io.out(`replay ${displayPath(io, r.session)}: ${r.records} records, ${r.deadLetters} dead letters${r.skipped.length ? `, ${r.skipped.length} bad lines skipped` : ""}\n`);
  for (const s of r.skipped.slice(0, 10)) io.out(`  warning: ${s.message}\n`);
  const rows = [
    ["decisions", "recorded", "replayed", "matching", ""],
    ["commands", String(r.commands.recorded), String(r.commands.replayed), String(r.commands.matched), ok(r.commands)],
    ["alarms", String(r.alarms.recorded), String(r.alarms.replayed), String(r.alarms.matched), ok(r.alarms)],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) io.out("  " + row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd() + "\n");
  if (r.divergence) {
    const d = r.divergence;
    io.out(`  first divergence (${d.kind}${d.line ? `, session line ${d.line}` : ""}):\n`);
    io.out(`    expected: ${d.expected}\n`);
    io.out(`    actual:   ${d.actual}\n`);
    if (d.hint) io.out(`    note:     ${d.hint}\n`);
  }
}

function ok(x: { recorded: number; replayed: number; matched: number }): string {
  return x.recorded === x.replayed && x.matched === x.recorded ? "✓" : "✗";
}

function replayResult(r: ReplayReport, io: Io): TestResult {
  const failures = r.divergence
    ? [{ expectation: `decisions of ${displayPath(io, r.session)} match`, expected: r.divergence.expected, actual: r.divergence.actual, line: r.divergence.line ?? 0 }]
    : [];
  return { name: `replay ${displayPath(io, r.session)}`, file: r.session, line: 0, status: r.passed ? "passed" : "failed", failures, durationMs: 0 };
}

function paint(io: Io, code: string, s: string): string {
  return io.color ? `\x1b[${code}m${s}\x1b[0m` : s;
}
