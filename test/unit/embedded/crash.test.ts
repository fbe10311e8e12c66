// Crash safety of the embedded runtime: a process ingesting into the SQLite log is SIGKILLed
// mid-run (several times); after reopening, every acknowledged input is there, the log holds
// exactly the records an uninterrupted run writes for those inputs, and the rebuilt engine's
// state equals the uninterrupted run's.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bundleModules } from "../../../scripts/bundle-modules.mjs";
import { EmbeddedRuntime } from "../../../runtime/embedded/runtime.js";
import { MemoryLog } from "../../../runtime/log/memory.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import type { LogRecord, NewRecord } from "../../../runtime/wire/types.js";
import { inputRecords } from "./gen.mjs";
import { plantIr } from "./plant.js";

const here = resolve(new URL(".", import.meta.url).pathname);
const tmp = mkdtempSync(join(tmpdir(), "ofl-rt-crash-"));
const ir = plantIr();
let bundle = "";
const irPath = join(tmp, "ir.json");

beforeAll(async () => {
  writeFileSync(irPath, JSON.stringify(ir));
  bundle = await bundleModules({ EmbeddedRuntime: "runtime/embedded/runtime.ts", SqliteLog: "runtime/log/sqlite.ts" }, join(tmp, "runtime.mjs"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function runAndKill(dir: string, atLeast: number): Promise<number> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [join(here, "crash-child.mjs"), bundle, irPath, dir], { stdio: ["ignore", "pipe", "pipe"] });
    let last = -1;
    let start = -1;
    let buf = "";
    let err = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), 15_000);
    p.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) last = Number(l);
      if (start < 0 && last >= 0) start = last;
      if (last - start >= atLeast) p.kill("SIGKILL");
    });
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal !== "SIGKILL") fail(new Error(`child exited ${code}: ${err}`));
      else done(last);
    });
  });
}

const strip = (r: LogRecord): unknown => ({ topic: r.topic, offset: r.offset, key: r.key, value: r.value });

describe("embedded runtime crash safety", () => {
  test("SIGKILL mid-run, reopen: acknowledged inputs kept, log and state equal an uninterrupted run", async () => {
    const dir = join(tmp, "data");
    let acked = 0;
    for (let round = 0; round < 3; round++) {
      acked = Math.max(acked, await runAndKill(dir, 1500 + round * 1000));
      expect(acked).toBeGreaterThan(0);
      const log = SqliteLog.open(dir);
      const rt = new EmbeddedRuntime({ program: ir, log });
      const onLog = [...log.read({ topic: "ofa_assets" })].filter((r) => ["temperature", "execution", "clock"].includes((r.value as { ID: string }).ID));
      // every acknowledged input is there; a batch in flight may be there, whole
      expect(onLog.length).toBeGreaterThanOrEqual(acked);
      const gen = inputRecords();
      const expected: NewRecord[] = [];
      for (let i = 0; i < onLog.length; i++) expected.push(gen.next().value as NewRecord);
      expect(onLog.map((r) => r.value)).toEqual(expected.map((r) => r.value));
      // an uninterrupted run over the same inputs writes the same log and reaches the same state
      const reference = new MemoryLog();
      const ref = new EmbeddedRuntime({ program: ir, log: reference });
      for (let i = 0; i < expected.length; i += 100) ref.ingest(expected.slice(i, i + 100));
      expect([...log.read()].map(strip)).toEqual([...reference.read()].map(strip));
      expect(rt.engine.snapshot()).toEqual(ref.engine.snapshot());
      log.close();
    }
  }, 120_000);
});
