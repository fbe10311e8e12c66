// The embedded runtime with checkpoints (issue 12, item 2), on a real SQLite log: a run stopped
// and reopened from its newest checkpoint continues with exactly the log of an uninterrupted run
// without checkpoints; a corrupt checkpoint is skipped with a warning; a changed program
// rebuilds from the oldest record and says so.
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { EmbeddedRuntime } from "../../../runtime/embedded/runtime.js";
import { clockValue } from "../../../runtime/wire/records.js";
import { CheckpointStore } from "../../../runtime/log/checkpoints.js";
import { CHECKPOINT_VERSION } from "../../../runtime/engine/checkpoint.js";
import { MemoryLog } from "../../../runtime/log/memory.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import type { LogRecord, NewRecord } from "../../../runtime/wire/types.js";
import { inputs, plantIr } from "./plant.js";

const ir = plantIr();
const tmp = mkdtempSync(join(tmpdir(), "ofl-checkpoints-"));
let dirs = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const strip = (r: LogRecord): unknown => ({ topic: r.topic, offset: r.offset, ts: r.ts, key: r.key, value: r.value });
const all = (log: { read(o?: object): Iterable<LogRecord> }): unknown[] => [...log.read()].map(strip);

function reference(recs: NewRecord[]): unknown[] {
  const log = new MemoryLog();
  const rt = new EmbeddedRuntime({ program: ir, log });
  for (let i = 0; i < recs.length; i += 5) rt.ingest(recs.slice(i, i + 5));
  return all(log);
}

describe("embedded runtime checkpoints", () => {
  test("stop anywhere, reopen from the newest checkpoint, continue: the same log as one uninterrupted run", () => {
    let restored = 0;
    fc.assert(
      fc.property(inputs, fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 30 }), (recs, cuts, every) => {
        const dir = join(tmp, `run${dirs++}`);
        const stops = [...new Set(cuts.map((c) => c % (recs.length + 1)))].sort((a, b) => a - b);
        let at = 0;
        for (const stop of [...stops, recs.length]) {
          const log = SqliteLog.open(dir);
          const warnings: string[] = [];
          const rt = new EmbeddedRuntime({ program: ir, log, checkpoints: { store: new CheckpointStore(dir), everyRecords: every, costShare: 0, report: (l, m) => warnings.push(m) } });
          if (rt.restoredFrom !== undefined) {
            restored++;
            // only the tail after the checkpoint was replayed
            expect(rt.rebuilt).toBe(log.endOffset("ofa_assets") - rt.restoredFrom);
          }
          expect(warnings).toEqual([]);
          for (let i = at; i < stop; i += 5) rt.ingest(recs.slice(i, Math.min(i + 5, stop)));
          at = stop;
          rt.close();
        }
        const log = SqliteLog.open(dir, { readonly: true });
        expect(all(log)).toEqual(reference(recs));
        log.close();
      }),
      { numRuns: 40, seed: 12 },
    );
    expect(restored).toBeGreaterThan(20);
  }, 180_000);

  test("a corrupt newest checkpoint is skipped with a warning; the result is still exact", () => {
    const recs = fc.sample(inputs, { numRuns: 10, seed: 7 }).flat();
    expect(recs.length).toBeGreaterThan(20);
    const dir = join(tmp, `corrupt${dirs++}`);
    const half = Math.floor(recs.length / 2);
    const open = (warnings: string[]) =>
      new EmbeddedRuntime({ program: ir, log: SqliteLog.open(dir), checkpoints: { store: new CheckpointStore(dir), everyRecords: 4, costShare: 0, report: (l, m) => warnings.push(`${l}: ${m}`) } });
    let rt = open([]);
    for (let i = 0; i < half; i += 2) rt.ingest(recs.slice(i, Math.min(i + 2, half)));
    rt.close();
    const files = new CheckpointStore(dir).list(ir);
    expect(files.length).toBeGreaterThanOrEqual(2);
    const newest = files[files.length - 1]!;
    const bytes = readFileSync(newest.path);
    bytes[bytes.length - 3]! ^= 0x55;
    writeFileSync(newest.path, bytes);
    const warnings: string[] = [];
    rt = open(warnings);
    expect(warnings).toEqual([expect.stringMatching(/^warn: checkpoint .*skipped: checkpoint checksum mismatch/)]);
    expect(rt.restoredFrom).toBe(files[files.length - 2]!.offset);
    for (let i = half; i < recs.length; i += 2) rt.ingest(recs.slice(i, Math.min(i + 2, recs.length)));
    rt.close();
    const log = SqliteLog.open(dir, { readonly: true });
    expect(all(log)).toEqual(reference(recs));
    log.close();
  });

  test("a changed program rebuilds from the oldest record and says so", () => {
    const recs = fc.sample(inputs, { numRuns: 1, seed: 9 })[0]!;
    const dir = join(tmp, `changed${dirs++}`);
    let rt = new EmbeddedRuntime({ program: ir, log: SqliteLog.open(dir), checkpoints: { store: new CheckpointStore(dir), everyRecords: 3, costShare: 0 } });
    rt.ingest(recs);
    rt.close();
    expect(readdirSync(join(dir, "checkpoints")).length).toBeGreaterThan(0);
    const changed = { ...ir, program: `${ir.program}_v2` };
    const notes: string[] = [];
    const log = SqliteLog.open(dir);
    rt = new EmbeddedRuntime({ program: changed, log, checkpoints: { store: new CheckpointStore(dir), report: (l, m) => notes.push(`${l}: ${m}`) } });
    expect(rt.restoredFrom).toBeUndefined();
    expect(rt.rebuilt).toBe(log.endOffset("ofa_assets"));
    expect(notes).toEqual([expect.stringMatching(/^info: the program changed since the last checkpoint .*rebuilding from the oldest record of the log/)]);
    rt.close();
    // and its own checkpoint is written at close, next to the old program's
    expect(new CheckpointStore(dir).list(changed).length).toBe(1);
  });

  test("the record count asks for a checkpoint only within the cost budget (at most 1/20 of the time)", () => {
    const dir = join(tmp, `budget${dirs++}`);
    const log = SqliteLog.open(dir);
    const store = new CheckpointStore(dir);
    // a clock that the checkpoint's own write advances by 100 ms: each checkpoint "costs" 100 ms
    let now = 0;
    const real = store.write.bind(store);
    store.write = (...a: Parameters<CheckpointStore["write"]>) => {
      now += 100;
      return real(...a);
    };
    const rt = new EmbeddedRuntime({ program: ir, log, checkpoints: { store, everyRecords: 1, everyMs: 1e12, now: () => now } });
    const T = Date.parse("2026-11-20T08:00:00Z");
    const tick = (i: number) => rt.ingest([{ topic: "ofa_assets", key: "OFL-plant", ts: T + i, value: clockValue(T + i) }]);
    tick(0);
    tick(1); // due by count: the first checkpoint (no cost known yet) is written before this batch
    expect(store.list(ir).length).toBe(1);
    // 1,999 ms later (< 20 × 100 ms) the count alone does not ask again; at 2,000 ms it does
    now += 1999;
    tick(2);
    tick(3);
    expect(store.list(ir).length).toBe(1);
    now += 1;
    tick(4);
    tick(5);
    expect(store.list(ir).length).toBe(2);
    rt.checkpoint();
    log.close();
  });

  test("checkpoints of another OFL's format: said once, not per file, and removed when this one writes its own", () => {
    const dir = join(tmp, `format${dirs++}`);
    const store = new CheckpointStore(dir);
    const rt = new EmbeddedRuntime({ program: ir, log: SqliteLog.open(dir), checkpoints: { store, everyRecords: 1, costShare: 0 } });
    const T = Date.parse("2026-11-20T08:00:00Z");
    for (let i = 0; i < 6; i++) rt.ingest([{ topic: "ofa_assets", key: "OFL-plant", ts: T + i * 3_600_000, value: clockValue(T + i * 3_600_000) }]);
    rt.close();
    const files = store.list(ir);
    expect(files.length).toBeGreaterThan(3);
    // as an older OFL would have written them: the same files with format version 1
    for (const f of files) {
      const bytes = readFileSync(f.path);
      const nl = bytes.indexOf(10);
      const header = JSON.parse(bytes.subarray(0, nl).toString()) as { version: number };
      header.version = 1;
      writeFileSync(f.path, Buffer.concat([Buffer.from(JSON.stringify(header)), bytes.subarray(nl)]));
    }
    const warnings: string[] = [];
    expect(store.newest(ir, { warn: (m) => warnings.push(m) })).toBeUndefined();
    expect(warnings).toEqual([`${files.length} checkpoints in ${store.dir} skipped: checkpoint format version 1, this ofl reads ${CHECKPOINT_VERSION} (written by another OFL; new ones replace them as the log grows)`]);
    // this OFL opens without them (a rebuild), writes its own, and the old ones are gone
    const log = SqliteLog.open(dir);
    const again = new EmbeddedRuntime({ program: ir, log, checkpoints: { store, everyRecords: 1, costShare: 0 } });
    expect(again.restoredFrom).toBeUndefined();
    again.ingest([{ topic: "ofa_assets", key: "OFL-plant", ts: T + 7 * 3_600_000, value: clockValue(T + 7 * 3_600_000) }]);
    again.close();
    const left = store.list(ir);
    expect(left.length).toBeGreaterThan(0);
    const versions = left.map((f) => {
      const b = readFileSync(f.path);
      return (JSON.parse(b.subarray(0, b.indexOf(10)).toString()) as { version: number }).version;
    });
    expect(versions.every((v) => v === CHECKPOINT_VERSION)).toBe(true);
    expect(left.length).toBeLessThan(files.length + 2);
  });
});
