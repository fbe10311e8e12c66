// The `ofl` command in-process: usage, exit codes, output formats and bad input
// (a missing file, a folder without .ofl files, invalid UTF-8, a 10 MB file).
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { main } from "../../../runtime/cli/main.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../..");

async function ofl(args: string[], cwd = root): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s), cwd, color: false });
  return { code, out, err };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "ofl-cli-"));
}

describe("ofl --help and usage", () => {
  test("--help lists the commands, exit 0", async () => {
    const r = await ofl(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: ofl <command>/);
    expect(r.out).toMatch(/check\s+check programs/);
    expect(r.out).toMatch(/test\s+run test blocks/);
  });
  test("no command prints help and exits 2", async () => {
    expect((await ofl([])).code).toBe(2);
  });
  test("each command has --help", async () => {
    for (const c of ["init", "run", "check", "test", "state", "record", "send"]) {
      const r = await ofl([c, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`Usage: ofl ${c}`));
      expect(r.out).toMatch(/Exit codes/);
    }
  });
  test("an unknown command or option is bad usage (2), one clear line", async () => {
    const a = await ofl(["frobnicate"]);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/unknown command `frobnicate`/);
    const b = await ofl(["check", "--bogus"]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/ofl check: .*--bogus/);
    expect(b.err).not.toMatch(/\n\s+at /);
  });
});

describe("ofl check", () => {
  test("a good project: exit 0 and a summary", async () => {
    const r = await ofl(["check", "examples/cnc-cell"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/✓ cnc-cell: 2 files checked, 0 errors, 0 warnings/);
  });
  test("a folder inside a project checks the whole project (ofl.json found upward)", async () => {
    const d = tmp();
    writeFileSync(join(d, "ofl.json"), '{"name": "upward"}');
    mkdirSync(join(d, "sub"));
    writeFileSync(join(d, "a.ofl"), "model M { telemetry t: int }");
    writeFileSync(join(d, "sub", "b.ofl"), 'asset m: M { uuid "M" }');
    const r = await ofl(["check", join(d, "sub")]);
    expect(r.out).toMatch(/✓ upward: 2 files checked/);
    expect(r.code).toBe(0);
  });
  test("errors: rustc-style rendering, every error of the file, exit 1", async () => {
    const r = await ofl(["check", "test/conformance/errors/01_names_and_types.ofl"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("error[OFL3002]: `+` needs equal or convertible units: float<degC> and float<rpm>");
    expect(r.out).toContain(" --> test/conformance/errors/01_names_and_types.ofl:8:23");
    expect(r.out).toContain("8 |   state bad_units = t + r");
    expect(r.out).toMatch(/\n\s+\|\s+\^\n/);
    // and the warning for asset `a`, which has no source: its command `go` reaches no device (OFL4010)
    expect(r.out).toMatch(/✗ 01_names_and_types: 1 file checked, 9 errors, 1 warning\n/);
  });
  test("--json has exactly the documented shape", async () => {
    const r = await ofl(["check", "--json", "test/conformance/errors/03_sources_and_windows.ofl"]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { diagnostics: Record<string, unknown>[] };
    expect(Object.keys(j)).toEqual(["diagnostics"]);
    expect(j.diagnostics.length).toBe(8);
    // seven errors and the OFL4010 warning of a source-less asset's command
    expect(j.diagnostics.filter((d) => d["severity"] === "warning").map((d) => d["code"])).toEqual(["OFL4010"]);
    for (const d of j.diagnostics) {
      expect(Object.keys(d).sort()).toEqual(["code", "file", "message", "range", "severity"]);
      expect(["error", "warning"]).toContain(d["severity"]);
      expect(d["range"]).toMatchObject({ start: { line: expect.any(Number), character: expect.any(Number) }, end: { line: expect.any(Number), character: expect.any(Number) } });
    }
    expect(j.diagnostics[0]).toEqual({
      file: "test/conformance/errors/03_sources_and_windows.ofl",
      code: "OFL4004",
      severity: "error",
      message: "telemetry `p` is already bound",
      range: { start: { line: 10, character: 4 }, end: { line: 10, character: 5 } },
    });
  });
  test("--dump-ir prints the IR", async () => {
    const r = await ofl(["check", "--dump-ir", "test/conformance/pass/03_durations_and_rules.ofl"]);
    expect(r.code).toBe(0);
    const ir = JSON.parse(r.out);
    expect(ir.ir).toBe(1);
    expect(ir.program).toBe("03_durations_and_rules");
    expect(ir.rules.map((x: { name: string }) => x.name)).toEqual(["stop_hot", "warn_hot", "keep_pinging"]);
  });
  test("a missing file: one line, exit 2", async () => {
    const r = await ofl(["check", "nowhere.ofl"]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/no such file or folder: .*nowhere\.ofl/);
  });
  test("a folder without .ofl files: one line, exit 2", async () => {
    const r = await ofl(["check", tmp()]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no \.ofl files in/);
  });
  test("invalid UTF-8: a diagnostic naming the line, exit 1", async () => {
    const d = tmp();
    writeFileSync(join(d, "bad.ofl"), Buffer.concat([Buffer.from("model A {\n  telemetry x: int "), Buffer.from([0xff, 0xfe]), Buffer.from(" }\n")]));
    const r = await ofl(["check", "--json", join(d, "bad.ofl")]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.diagnostics).toHaveLength(1);
    expect(j.diagnostics[0]).toMatchObject({ code: "OFL1100", message: "the file is not valid UTF-8 (first invalid byte on line 2)" });
  });
  test("a 10 MB file checks without a crash", async () => {
    const d = tmp();
    const parts: string[] = [];
    let size = 0;
    for (let i = 0; size < 10 * 1024 * 1024; i++) {
      const m = `model M${i} {\n  telemetry t: float<degC> in 0..100\n  state hot = t > 50 degC for 5s\n  command stop() requires not hot\n}\n`;
      parts.push(m);
      size += m.length;
    }
    writeFileSync(join(d, "big.ofl"), parts.join(""));
    const r = await ofl(["check", join(d, "big.ofl")]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/✓ big: 1 file checked, 0 errors/);
  }, 60_000);
  test("a 1 MB file of garbage: at most 1000 diagnostics, then a count", async () => {
    const d = tmp();
    writeFileSync(join(d, "garbage.ofl"), "model $ { § } #\n".repeat(70_000));
    const r = await ofl(["check", "--json", join(d, "garbage.ofl")]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.diagnostics.length).toBe(1001);
    expect(j.diagnostics.at(-1).code).toBe("OFL1012");
  }, 60_000);
  test("a bad ofl.json is reported in one line", async () => {
    const d = tmp();
    writeFileSync(join(d, "ofl.json"), "{nope");
    writeFileSync(join(d, "a.ofl"), "model M {}");
    const r = await ofl(["check", d]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ofl\.json: not valid JSON/);
  });
});

describe("ofl test", () => {
  test("runs every test block; the last line is `N passed, N failed`", async () => {
    const r = await ofl(["test", "examples/cnc-cell"]);
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n").at(-1)).toBe("5 passed, 0 failed");
  });
  test("a failing expectation says what was expected and what happened, exit 1", async () => {
    const d = tmp();
    const src = readFileSync(join(root, "test/conformance/pass/03_durations_and_rules.ofl"), "utf8").replace("expect m1.stop() at 15s", "expect m1.stop() at 16s");
    writeFileSync(join(d, "t.ofl"), src);
    const r = await ofl(["test", join(d, "t.ofl")]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("line 44: expect m1.stop() at 16s");
    expect(r.out).toContain("expected: m1.stop() at 16s");
    expect(r.out).toContain("actual:   issued m1.stop() accepted at 15s");
    expect(r.out.trim().split("\n").at(-1)).toBe("3 passed, 1 failed");
  });
  test("--json and --junit", async () => {
    const d = tmp();
    const junit = join(d, "junit.xml");
    const r = await ofl(["test", "--json", "--junit", junit, "test/conformance/pass/04_interlocks_alarms_shadow.ofl"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ passed: 4, failed: 0 });
    expect(Object.keys(j.tests[0]).sort()).toEqual(["failures", "file", "name", "status"]);
    const xml = readFileSync(junit, "utf8");
    expect(xml).toMatch(/<testsuites name="ofl" tests="4" failures="0"/);
    expect(xml).toMatch(/<testcase name="alarm hysteresis"/);
  });
  test("--replay diffs the decisions of a session", async () => {
    const r = await ofl(["test", "test/conformance/pass/06_replay.ofl", "--replay", "test/conformance/sessions/mill-shift.kcat.jsonl"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/commands\s+1\s+1\s+1\s+✓/);
    expect(r.out.trim().split("\n").at(-1)).toBe("1 passed, 0 failed");
  });
  test("--replay finds the first diverging decision", async () => {
    const d = tmp();
    const src = readFileSync(join(root, "test/conformance/pass/06_replay.ofl"), "utf8").replace("temperature > 90 degC for 5s", "temperature > 90 degC for 3s");
    writeFileSync(join(d, "p.ofl"), src);
    const r = await ofl(["test", join(d, "p.ofl"), "--replay", join(root, "test/conformance/sessions/mill-shift.jsonl")]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("first divergence (command, session line 9)");
    expect(r.out).toContain("expected: recorded command #1: M-1 stop() at 2026-11-20T08:00:15.000Z by rule stop_hot");
    expect(r.out).toContain("actual:   replayed command #1: M-1 stop() at 2026-11-20T08:00:13.000Z by rule stop_hot");
  });
  test("a malformed session line is named by its number", async () => {
    const d = tmp();
    const lines = readFileSync(join(root, "test/conformance/sessions/mill-shift.jsonl"), "utf8").split("\n");
    lines.splice(3, 0, "{not json");
    writeFileSync(join(d, "s.jsonl"), lines.join("\n"));
    const r = await ofl(["test", "test/conformance/pass/06_replay.ofl", "--replay", join(d, "s.jsonl")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/s\.jsonl:4: not valid JSON/);
    const skipped = await ofl(["test", "test/conformance/pass/06_replay.ofl", "--replay", join(d, "s.jsonl"), "--skip-bad-lines"]);
    expect(skipped.code).toBe(0);
    expect(skipped.out).toMatch(/1 bad lines skipped/);
  });
  // Issue 13, item 13: wire.md asks for a counted warning; a test block's own `replay` skipped silently
  test("--skip-bad-lines in a test block's replay: a counted warning naming the line", async () => {
    const d = tmp();
    const lines = readFileSync(join(root, "test/conformance/sessions/mill-shift.jsonl"), "utf8").split("\n");
    lines.splice(3, 0, "{not json");
    mkdirSync(join(d, "sessions"));
    writeFileSync(join(d, "sessions/mill-shift.jsonl"), lines.join("\n"));
    const prog = readFileSync(join(root, "test/conformance/pass/06_replay.ofl"), "utf8").replaceAll("../sessions/mill-shift.kcat.jsonl", "sessions/mill-shift.jsonl").replaceAll("../sessions/", "sessions/");
    writeFileSync(join(d, "p.ofl"), prog);
    const failing = await ofl(["test", join(d, "p.ofl")]);
    expect(failing.code).toBe(1);
    const r = await ofl(["test", join(d, "p.ofl"), "--skip-bad-lines"]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/warning: replay "sessions\/mill-shift\.jsonl": 1 bad line skipped \(--skip-bad-lines\)/);
    expect(r.out).toMatch(/warning: .*mill-shift\.jsonl:4: not valid JSON/);
    const j = JSON.parse((await ofl(["test", join(d, "p.ofl"), "--skip-bad-lines", "--json"])).out) as { tests: { warnings?: string[] }[] };
    expect(j.tests.filter((t) => t.warnings).length).toBeGreaterThan(0);
  });
  test("a program with errors runs no test and fails", async () => {
    const r = await ofl(["test", "test/conformance/errors/01_names_and_types.ofl"]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/no test was run/);
  });
});

describe("ofl init", () => {
  test("creates a project whose tests pass at once; refuses an existing project", async () => {
    const d = join(tmp(), "my plant");
    const r = await ofl(["init", d]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/created .*my plant\/ with ofl.json, .* \(project name `my-plant`\)/);
    for (const f of ["ofl.json", "plant.ofl", "plant.test.ofl", "sessions/first-shift.jsonl", "README.md"]) expect(readFileSync(join(d, f), "utf8").length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(d, "ofl.json"), "utf8"))).toEqual({ name: "my-plant" });
    const check = await ofl(["check"], d);
    expect(check.out).toMatch(/✓ my-plant: 2 files checked, 0 errors, 0 warnings/);
    const test = await ofl(["test"], d);
    expect(test.code).toBe(0);
    expect(test.out.trim().split("\n").at(-1)).toBe("2 passed, 0 failed");
    const again = await ofl(["init", d]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already holds a project/);
  });
});
