// The 1000-diagnostics-per-file cap (OFL1012) never changes whether a program has errors:
// a file with only warnings past the cap stays free of errors (`ofl check` exits 0), and an
// error past the cap still makes it fail.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { check, MAX_DIAGNOSTICS_PER_FILE } from "../../../compiler/index.js";
import { main } from "../../../runtime/cli/main.js";

// OFL4010 (a warning): a command of the model that the asset's source does not bind.
const MODEL = "model M {\n  telemetry t: int\n  command stop()\n}\n";
const asset = (i: number): string => `asset a${i}: M { source simulate() { t <- constant(1, every: 1s) } }\n`;
const warnings = (n: number): string => MODEL + Array.from({ length: n }, (_, i) => asset(i)).join("");

async function ofl(args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await main(args, { out: (s) => void (out += s), err: () => {}, cwd: tmpdir(), color: false });
  return { code, out };
}

describe("the diagnostics cap", () => {
  test("2,000 warnings: 1000 shown, then an OFL1012 warning counting the other 1000", () => {
    const r = check([{ path: "/w.ofl", text: warnings(2000) }], { name: "w" });
    expect(r.diagnostics).toHaveLength(MAX_DIAGNOSTICS_PER_FILE + 1);
    expect(r.diagnostics.slice(0, MAX_DIAGNOSTICS_PER_FILE).every((d) => d.code === "OFL4010" && d.severity === "warning")).toBe(true);
    expect(r.diagnostics.at(-1)).toMatchObject({ code: "OFL1012", severity: "warning", message: "1000 more diagnostics in this file are not shown (at most 1000 per file)" });
    expect(r.diagnostics.some((d) => d.severity === "error")).toBe(false);
  });

  test("an error among the left-out diagnostics makes OFL1012 an error", () => {
    // the error sorts after every warning: it sits on the last line
    const text = warnings(1500) + "asset late: Nope {}\n";
    const r = check([{ path: "/e.ofl", text }], { name: "e" });
    expect(r.diagnostics).toHaveLength(MAX_DIAGNOSTICS_PER_FILE + 1);
    expect(r.diagnostics.slice(0, MAX_DIAGNOSTICS_PER_FILE).some((d) => d.severity === "error")).toBe(false);
    expect(r.diagnostics.at(-1)).toMatchObject({ code: "OFL1012", severity: "error" });
  });

  test("ofl check on a warnings-only file past the cap exits 0", async () => {
    const d = mkdtempSync(join(tmpdir(), "ofl-cap-"));
    writeFileSync(join(d, "w.ofl"), warnings(2000));
    const r = await ofl(["check", join(d, "w.ofl")]);
    expect(r.out).toMatch(/✓ w: 1 file checked, 0 errors/);
    expect(r.code).toBe(0);
    const e = await ofl(["check", "--json", join(d, "w.ofl")]);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out).diagnostics.at(-1)).toMatchObject({ code: "OFL1012", severity: "warning" });
  }, 60_000);
});
