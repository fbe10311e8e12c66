// Every example: checks without errors, has a README, passes its tests, and every recorded
// session it ships replays to the decisions it recorded.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { compile } from "../../compiler/index.js";
import { loadProgram } from "../../runtime/project/load.js";
import { replaySession, runTests } from "../../runtime/replay/runner.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../..");
const examples = readdirSync(join(root, "examples")).filter((d) => statSync(join(root, "examples", d)).isDirectory());

describe.each(examples)("examples/%s", (name) => {
  const dir = join(root, "examples", name);
  test("checks without errors or warnings, and has a README", () => {
    const p = loadProgram(dir);
    const r = compile(p.files, { name: p.name });
    expect(r.diagnostics).toEqual([]);
    expect(existsSync(join(dir, "README.md"))).toBe(true);
  });
  test("its tests pass", () => {
    const p = loadProgram(dir);
    const ir = compile(p.files, { name: p.name }).ir!;
    const results = runTests(ir);
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) expect({ name: r.name, failures: r.failures }).toEqual({ name: r.name, failures: [] });
  });
  const sessions = existsSync(join(dir, "sessions")) ? readdirSync(join(dir, "sessions")).filter((f) => f.endsWith(".jsonl")) : [];
  test.each(sessions)("sessions/%s replays to its recorded decisions", (session) => {
    const p = loadProgram(dir);
    const ir = compile(p.files, { name: p.name }).ir!;
    const report = replaySession(ir, join(dir, "sessions", session));
    expect(report.divergence).toBeUndefined();
    expect(report.passed).toBe(true);
  });
});
