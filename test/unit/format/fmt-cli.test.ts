// `ofl fmt` in-process (runtime/cli/fmt.ts): rewrite in place, --check, syntax errors, usage.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { fmtCommand } from "../../../runtime/cli/fmt.js";
import { UsageError } from "../../../runtime/cli/common.js";

async function fmt(args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  // as runtime/cli/main.ts does: a UsageError is exit 2
  try {
    const code = await fmtCommand.run(args, { out: (s) => void (out += s), err: (s) => void (err += s), cwd, color: false });
    return { code, out, err };
  } catch (e) {
    if (e instanceof UsageError) return { code: 2, out, err: err + e.message };
    throw e;
  }
}

const UGLY = 'model M{telemetry t:float<degC>\nstate hot=t>90 degC // why\n}\nasset a:M{uuid "A"}\n';
const PRETTY = 'model M {\n  telemetry t: float<degC>\n  state hot = t > 90 degC // why\n}\nasset a: M {\n  uuid "A"\n}\n';

function project(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), "ofl-fmt-"));
  writeFileSync(join(d, "ofl.json"), '{"name": "p"}');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

describe("ofl fmt", () => {
  test("help in the style of the other commands", () => {
    expect(fmtCommand.name).toBe("fmt");
    expect(fmtCommand.help).toMatch(/^Usage: ofl fmt \[PATH\.\.\.\] \[--check\]/);
    expect(fmtCommand.help).toMatch(/Exit codes: 0 .* 2 bad usage\.$/s);
  });

  test("rewrites the files of a project in place; a second run changes nothing", async () => {
    const d = project({ "a.ofl": UGLY, "b.ofl": PRETTY });
    const r = await fmt([], d);
    expect(r.code).toBe(0);
    expect(r.out).toBe("formatted a.ofl\n✓ 2 files checked, 1 reformatted\n");
    expect(readFileSync(join(d, "a.ofl"), "utf8")).toBe(PRETTY);
    const again = await fmt([d], d);
    expect(again.code).toBe(0);
    expect(again.out).toBe("✓ 2 files checked, 0 reformatted\n");
  });

  test("--check lists the files that are not formatted, writes nothing, exit 1", async () => {
    const d = project({ "a.ofl": UGLY, "b.ofl": PRETTY });
    const r = await fmt(["--check"], d);
    expect(r.code).toBe(1);
    expect(r.out).toBe("a.ofl\n✗ 1 file of 2 not formatted; run `ofl fmt`\n");
    expect(readFileSync(join(d, "a.ofl"), "utf8")).toBe(UGLY);
    await fmt([], d);
    const ok = await fmt(["--check", "a.ofl"], d);
    expect(ok).toEqual({ code: 0, out: "✓ 1 file formatted\n", err: "" });
  });

  test("a file with a syntax error is reported on one line and left untouched, exit 1", async () => {
    const broken = "model A {\n  telemetry y float\n}\n";
    const d = project({ "a.ofl": UGLY, "broken.ofl": broken });
    const r = await fmt([], d);
    expect(r.code).toBe(1);
    expect(r.err).toBe("broken.ofl:2:15: OFL1001 expected `:`, found `float` (not formatted)\n");
    expect(readFileSync(join(d, "broken.ofl"), "utf8")).toBe(broken);
    expect(readFileSync(join(d, "a.ofl"), "utf8")).toBe(PRETTY); // the others are still formatted
    expect((await fmt(["--check"], d)).code).toBe(1);
  });

  test("CRLF line ends become LF", async () => {
    const d = project({ "a.ofl": PRETTY.replace(/\n/g, "\r\n") });
    expect((await fmt(["--check"], d)).out).toMatch(/^a\.ofl\n/);
    await fmt([], d);
    expect(readFileSync(join(d, "a.ofl"), "utf8")).toBe(PRETTY);
  });

  test("an unknown option is bad usage (exit 2)", async () => {
    const d = project({ "a.ofl": PRETTY });
    const r = await fmt(["--bogus"], d);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--bogus/);
  });
});
