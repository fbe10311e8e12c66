// Issue 12 item 4 as a user meets it, through the built command: `ofl import` five hours of a
// plant, `ofl run --retain 1h` moves what is older into DATA/archive, and then `ofl record`,
// `ofl state --at` (before the cut) and `ofl test --replay ARCHIVE.jsonl.gz` still see every
// record. The expected answers come from the session itself (the whole history), not from the
// archived log.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { Archive } from "../../../runtime/log/archive.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { clockValue, telemetryValue } from "../../../runtime/wire/records.js";
import { PLANT } from "../../unit/embedded/plant.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../..");
const ofl = join(root, "bin/ofl.mjs");
const dir = mkdtempSync(join(tmpdir(), "ofl-retain-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse("2026-11-20T00:00:00Z");
const MIN = 60_000;
const MINUTES = 300;

function session(): number {
  const lines = [JSON.stringify({ ofl_session: 1, program: "plant", recorded: "2026-11-20T05:00:00Z" })];
  let offset = 0;
  const line = (key: string, ts: number, value: unknown): void => void lines.push(JSON.stringify({ topic: "ofa_assets", partition: 0, offset: offset++, ts, key, value }));
  for (let m = 0; m < MINUTES; m++) {
    const t = T0 + m * MIN;
    line("OFL-plant", t, clockValue(t));
    for (const [i, uuid] of ["M-1", "M-2", "M-3"].entries()) line(uuid, t + 1 + i, telemetryValue("temperature", 60 + ((m * 7 + i * 13) % 45), "degC", "Samples", t + 1 + i));
  }
  writeFileSync(join(dir, "shift.jsonl"), lines.join("\n") + "\n");
  return offset;
}

function run(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [ofl, ...args], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 26 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("ofl run --retain", () => {
  test("moves old history to the archive, and every command still reads it", async () => {
    writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: "plant" }));
    writeFileSync(join(dir, "plant.ofl"), PLANT);
    const inputs = session();
    const imp = run(["import", "plant.ofl", "--data", "data", "shift.jsonl"]);
    expect(imp.code, imp.err).toBe(0);
    const before = SqliteLog.open(join(dir, "data"), { readonly: true });
    const total = before.endOffset("ofa_assets");
    before.close();
    expect(total).toBeGreaterThan(inputs); // outputs recomputed beside the inputs

    // the clock is off (0ms), so stream time is the session's: five hours, one kept
    const child = spawn(process.execPath, [ofl, "run", "plant.ofl", "--data", "data", "--retain", "1h", "--port", "0", "--clock", "0ms"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    const t0 = Date.now();
    while (!/retention: moved \d+ records/.test(out)) {
      if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`no retention line:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(out).toContain("retention: history older than 1h moves to");

    const log = SqliteLog.open(join(dir, "data"), { readonly: true });
    const first = log.firstOffset("ofa_assets");
    expect(log.endOffset("ofa_assets")).toBe(total);
    log.close();
    expect(first).toBeGreaterThan(total / 2);
    const files = readdirSync(join(dir, "data", "archive")).filter((n) => n.endsWith(".jsonl.gz"));
    expect(files.length).toBeGreaterThan(0);
    expect(new Archive(join(dir, "data")).index()!.files.at(-1)!.toOffset).toBe(first);

    // ofl record: the archive and the live log, every record once
    const rec = run(["record", "--data", "data"]);
    expect(rec.code, rec.err).toBe(0);
    const offsets = rec.out.trim().split("\n").slice(1).map((l) => (JSON.parse(l) as { offset: number }).offset);
    expect(offsets).toEqual(Array.from({ length: total }, (_, i) => i));

    // ofl state at a time inside the archive: what the session itself says
    const at = new Date(T0 + 40 * MIN + 2).toISOString();
    const fromData = run(["state", "plant.ofl", "--data", "data", "--at", at, "--json"]);
    const fromSession = run(["state", "plant.ofl", "--session", "shift.jsonl", "--at", at, "--json"]);
    expect(fromData.code, fromData.err).toBe(0);
    expect(JSON.parse(fromData.out)).toEqual(JSON.parse(fromSession.out));

    // an archive file is a session: ofl test --replay reads it
    const rep = run(["test", "plant.ofl", "--replay", join("data", "archive", files[0]!)]);
    expect(rep.out + rep.err).not.toMatch(/error|cannot/i);
    expect(rep.out).toMatch(/\d+ passed, 0 failed/);
  }, 180_000);
});
