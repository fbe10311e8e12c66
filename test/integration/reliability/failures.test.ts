// Issue 11, items 4, 5, 7, 8: what `ofl run` does when the disk is full, the data folder is
// read-only, a record is damaged, or a second `ofl run` starts on the same folder. Real child
// processes, a real SQLite file on a real (tmpfs) filesystem, a real Mosquitto.
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import type { AssetValue } from "../../../runtime/wire/types.js";
import { startMosquitto, type Mosquitto } from "../../services/mosquitto/start.js";
import { killChildren, root, runOfl, startOfl, tankProject, until } from "./helpers.js";

const mounts: string[] = [];
afterEach(() => killChildren());
afterAll(() => {
  for (const m of mounts.splice(0)) {
    try {
      execFileSync("umount", [m]);
    } catch {
      /* already gone */
    }
  }
});

/** A tmpfs of `size` (root only: the machine's CI runs as root). */
function tmpfs(size: string): string {
  const dir = mkdtempSync(join(tmpdir(), "ofl-tmpfs-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  mounts.push(dir);
  return dir;
}

function cncProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "ofl-rel-cnc-"));
  cpSync(join(root, "examples/cnc-cell"), dir, { recursive: true, filter: (p) => !p.includes(".ofl/") });
  writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: "cnc-cell" })); // no demo OPC UA server (mill3 just retries)
  return dir;
}

const NO_STACK = /\n\s+at .+:\d+:\d+/;

describe("a second ofl run on one data folder (item 7)", () => {
  test("refused with exit 3 while the first runs; readers still read; after a SIGKILL of the holder a new run starts", async () => {
    const dir = cncProject();
    const data = join(dir, ".ofl/data");
    const a = startOfl(["run", dir, "--port", "0", "--clock", "50ms"]);
    await until("the first run", () => /stop with Ctrl-C/.test(a.output()));
    const b = runOfl(["run", dir, "--port", "0"]);
    expect(b.code, b.out + b.err).toBe(3);
    expect(b.err).toMatch(/in use by another `ofl run`/);
    expect(b.err).not.toMatch(NO_STACK);
    // readers are not locked out
    const rec = runOfl(["record", "--data", data]);
    expect(rec.code, rec.err).toBe(0);
    expect(rec.out.split("\n").length).toBeGreaterThan(3);
    a.child.kill("SIGKILL");
    await a.exited;
    // the OS released the lock with the process: no stale pid file to clean up
    const c = startOfl(["run", dir, "--port", "0", "--clock", "50ms"]);
    await until("the run after the SIGKILL", () => /stop with Ctrl-C/.test(c.output()));
    c.child.kill("SIGINT");
    expect((await c.exited).code, c.output()).toBe(0);
  }, 90_000);
});

describe("disk full (item 4)", () => {
  let broker: Mosquitto | undefined;
  afterAll(async () => broker?.close());

  test("stops with exit 70 and a clear message, acknowledges nothing it did not store, removes run.json; continues once space returns", async () => {
    broker = await startMosquitto({ extraConfig: ["max_queued_messages 0"] });
    const fs = tmpfs("2m");
    const dir = tankProject(broker.url);
    const data = join(fs, "data");
    const args = ["run", dir, "--data", data, "--port", "0", "--clock", "1s"];
    const run = startOfl(args);
    await until("the run", () => /stop with Ctrl-C/.test(run.output()));
    const pub = await mqtt.connectAsync(broker.url, { clean: true });
    // sentinel: the subscription exists (a first message is on the log)
    await pub.publishAsync("tank/t1/data", JSON.stringify({ n: -1, v: 1 }), { qos: 1 });
    await until("the first message on the log", () => run.output().length > 0 && logged(data).includes(-1));
    const acked: number[] = [];
    const pad = "x".repeat(20_000);
    let k = 0;
    while (run.child.exitCode === null && k < 400) {
      const n = k++;
      await pub.publishAsync("tank/t1/data", JSON.stringify({ n, v: 50, pad }), { qos: 1 }).then(() => acked.push(n));
    }
    const exit = await run.exited;
    expect(exit.code, run.output()).toBe(70);
    expect(run.output()).toMatch(/the disk is full \(SQLITE_FULL/);
    expect(run.output()).toMatch(/Free space on the disk holding/);
    expect(run.output()).not.toMatch(NO_STACK);
    expect(existsSync(join(data, "run.json"))).toBe(false);
    // the log is consistent and readable: whole batches, contiguous offsets
    const before = logged(data);
    expect(before.length).toBeGreaterThan(5);
    expect(before.length).toBeLessThan(k); // it did fill up
    for (let i = 0; i < 20; i++) await pub.publishAsync("tank/t1/data", JSON.stringify({ n: k, v: 50 }), { qos: 1 }).then(() => acked.push(k++));
    // space returns: the restarted plant takes what the broker kept
    execFileSync("mount", ["-o", "remount,size=64m", fs]);
    const again = startOfl(args);
    await until("every acknowledged message on the log", () => {
      const got = new Set(logged(data));
      return acked.every((n) => got.has(n));
    }, 60_000);
    again.child.kill("SIGINT");
    expect((await again.exited).code, again.output()).toBe(0);
    const all = logged(data).filter((n) => n >= 0);
    expect(new Set(all).size).toBe(all.length); // none twice
    await pub.endAsync();
  }, 180_000);
});

function logged(data: string): number[] {
  if (!existsSync(join(data, "log.sqlite"))) return [];
  const log = SqliteLog.open(data, { readonly: true });
  try {
    const out: number[] = [];
    for (const r of log.read({ topic: "ofa_assets" })) {
      const v = r.value as AssetValue;
      if (v.ID === "note") out.push((JSON.parse(v.VALUE) as { n: number }).n);
    }
    return out;
  } finally {
    log.close();
  }
}

describe("a data folder that cannot be written (item 8)", () => {
  test("a read-only filesystem: exit 70 at once with a clear message, nothing served", () => {
    const fs = tmpfs("8m");
    const dir = cncProject();
    const data = join(fs, "data");
    const first = runOfl(["run", dir, "--data", data, "--port", "0", "--for", "1s"]);
    expect(first.code, first.err).toBe(0);
    execFileSync("mount", ["-o", "remount,ro", fs]);
    const r = runOfl(["run", dir, "--data", data, "--port", "0"]);
    expect(r.code, r.out + r.err).toBe(70);
    expect(r.err).toMatch(/read-only|cannot open/);
    expect(r.err).toMatch(/writable/);
    expect(r.err).not.toMatch(/internal error/);
    expect(r.out).not.toMatch(/dashboard:/);
  }, 60_000);

  test("a fatal error after the server started (run.json cannot be written) stops the whole process with exit 70", async () => {
    const dir = cncProject();
    const data = join(dir, ".ofl/data");
    mkdirSync(join(data, "run.json"), { recursive: true }); // a directory where run.json goes
    const run = startOfl(["run", dir, "--port", "0"]);
    const exit = await Promise.race([run.exited, new Promise<"still running">((r) => setTimeout(() => r("still running"), 20_000))]);
    expect(exit, run.output()).toEqual({ code: 70, signal: null });
    expect(run.output()).toMatch(/EISDIR/);
    expect(run.output()).not.toMatch(/internal error/);
    expect(run.output()).not.toMatch(NO_STACK);
  }, 60_000);
});

describe("a damaged record (item 5)", () => {
  test("run refuses naming the record and the recovery; record exports the rest with a warning; run --repair recovers keeping a copy", () => {
    const dir = cncProject();
    const data = join(dir, ".ofl/data");
    const first = runOfl(["run", dir, "--port", "0", "--clock", "20ms", "--for", "2s"]);
    expect(first.code, first.err).toBe(0);
    const db = new Database(join(data, "log.sqlite"));
    const total = (db.prepare("SELECT COUNT(*) AS n FROM records").get() as { n: number }).n;
    const bad = Math.floor(total / 2);
    db.prepare("UPDATE records SET value = substr(value, 1, 25) WHERE seq = ?").run(bad); // a torn write
    const badOffset = (db.prepare(`SELECT "offset" AS o FROM records WHERE seq = ?`).get(bad) as { o: number }).o;
    db.close();
    // the clean stop wrote a checkpoint past the damaged record, from which a start would not read
    // it (as after a crash before that checkpoint): remove them, and put a (corrupt) one past the
    // damaged record, which a start skips and --repair must remove
    const checkpoints = join(data, "checkpoints");
    const past = readdirSync(checkpoints).filter((f) => f.endsWith(".ckpt"));
    expect(past.length).toBeGreaterThan(0);
    const program = /^cp-([0-9a-f]{12})-/.exec(past[0]!)![1]!;
    for (const f of past) rmSync(join(checkpoints, f));
    const pastName = `cp-${program}-${String(badOffset + 1).padStart(16, "0")}-none.ckpt`;
    writeFileSync(join(checkpoints, pastName), "a checkpoint past the damaged record");

    const run = runOfl(["run", dir, "--port", "0"]);
    expect(run.code).toBe(70);
    expect(run.err).toContain(`the record at seq ${bad} (ofa_assets offset ${badOffset}) is damaged`);
    expect(run.err).toMatch(/ofl run --repair/);
    expect(run.err).not.toMatch(/internal error/);

    const rec = runOfl(["record", "--data", data]);
    expect(rec.code).toBe(0);
    expect(rec.err).toMatch(new RegExp(`1 damaged record skipped \\(not JSON\\): seq ${bad} \\(ofa_assets offset ${badOffset}`));
    const exported = rec.out.split("\n").filter((l) => l.startsWith("{"));
    expect(exported.length).toBeGreaterThanOrEqual(total - 1 - 5); // all readable ones (a header line or so aside)

    const repaired = runOfl(["run", dir, "--port", "0", "--repair", "--for", "1s"]);
    expect(repaired.code, repaired.err).toBe(0);
    expect(repaired.out).toMatch(new RegExp(`repair: the record at seq ${bad} was damaged; removed \\d+ records? from seq \\d+ on`));
    expect(readdirSync(data).some((f) => f.startsWith("log.sqlite.damaged-"))).toBe(true);
    expect(existsSync(join(checkpoints, pastName))).toBe(false);
    const after = runOfl(["record", "--data", data]);
    expect(after.code).toBe(0);
    expect(after.err).not.toMatch(/damaged/);
  }, 90_000);
});
