// Time travel from checkpoints (issue 12, item 3): stateAtLog starting from the newest usable
// checkpoint gives exactly the state of a replay from the first record, at any T (before,
// between and after checkpoints, with dead-lettered records of unknown assets whose event
// times run ahead of stream time).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { EmbeddedRuntime } from "../../../runtime/embedded/runtime.js";
import { CheckpointStore, KEEP_RECENT } from "../../../runtime/log/checkpoints.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { stateAt, stateAtLog, timeTravelEngine } from "../../../runtime/replay/stateAt.js";
import { clockValue, telemetryValue } from "../../../runtime/wire/records.js";
import { inputs, plantIr } from "./plant.js";

const ir = plantIr();
const tmp = mkdtempSync(join(tmpdir(), "ofl-stateat-"));
let dirs = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("state at T from checkpoints", () => {
  test("equals the replay from the first record, at any T", () => {
    let fromCheckpoint = 0;
    let total = 0;
    fc.assert(
      fc.property(inputs, fc.array(fc.integer({ min: -5000, max: 3_600_000 }), { minLength: 1, maxLength: 6 }), (recs, dts) => {
        const dir = join(tmp, `s${dirs++}`);
        // stretch time so the records cross event-time hours (hourly checkpoints are kept)
        const stretched = recs.map((r) => {
          const ts = 1_795_000_000_000 + (r.ts - 1_795_000_000_000) * 40;
          const v = r.value as { attributes?: { timestamp?: string } };
          const value = v && typeof v === "object" && v.attributes?.timestamp ? { ...v, attributes: { ...v.attributes, timestamp: new Date(ts).toISOString() } } : r.value;
          return { ...r, ts, value };
        });
        const log = SqliteLog.open(dir);
        const rt = new EmbeddedRuntime({ program: ir, log, checkpoints: { store: new CheckpointStore(dir), everyRecords: 5, costShare: 0 } });
        for (let i = 0; i < stretched.length; i += 3) rt.ingest(stretched.slice(i, i + 3));
        rt.checkpoint();
        const t0 = stretched[0]!.ts;
        for (const dt of dts) {
          const at = t0 + dt;
          const plain = stateAt(ir, log.read({ topic: "ofa_assets" }), at);
          const fast = stateAtLog(ir, log, at, { checkpoints: new CheckpointStore(dir), warn: (m) => expect.fail(m) });
          total++;
          if (fast.fromOffset !== undefined) {
            fromCheckpoint++;
            expect(fast.replayed).toBeLessThanOrEqual(plain.replayed);
            expect(fast.fromOffset + fast.replayed).toBe(plain.replayed);
          }
          expect(JSON.stringify(fast.snapshot)).toBe(JSON.stringify(plain.snapshot));
          // an engine built ahead (the time-travel worker's spare) answers the same
          const prebuilt = stateAt(ir, log.read({ topic: "ofa_assets" }), at, undefined, timeTravelEngine(ir));
          expect(JSON.stringify(prebuilt.snapshot)).toBe(JSON.stringify(plain.snapshot));
          expect(fast.next?.offset).toBe(plain.next?.offset);
        }
        rt.close();
      }),
      { numRuns: 40, seed: 33 },
    );
    expect(fromCheckpoint).toBeGreaterThan(total / 4);
  }, 180_000);

  test("a record stamped years ahead (dead-lettered future_time) does not move the checkpoints' horizon: time travel after it starts from them", () => {
    const dir = join(tmp, `future${dirs++}`);
    const log = SqliteLog.open(dir);
    const store = new CheckpointStore(dir);
    const rt = new EmbeddedRuntime({ program: ir, log, checkpoints: { store, everyRecords: 1, costShare: 0 } });
    const T = Date.parse("2026-11-20T08:00:00Z");
    const reading = (i: number, at = T + i * 1000) => ({ topic: "ofa_assets", key: "M-1", ts: T + i * 1000, value: telemetryValue("temperature", String(80 + i), "", "Samples", at) });
    for (let i = 0; i < 5; i++) rt.ingest([reading(i)]);
    // received at T + 5 s, stamped three years later
    rt.ingest([reading(5, T + 3 * 365 * 86_400_000)]);
    for (let i = 6; i < 10; i++) rt.ingest([reading(i)]);
    rt.checkpoint();
    const last = store.list(ir).at(-1)!;
    expect(last.offset).toBe(log.endOffset("ofa_assets")); // written after the last batch
    expect(last.horizon).toBe(T + 9000); // the last reading's time, not 2029's
    const at = T + 9500;
    const fast = stateAtLog(ir, log, at, { checkpoints: store, warn: (m) => expect.fail(m) });
    expect(fast.fromOffset).toBe(last.offset);
    const plain = stateAt(ir, log.read({ topic: "ofa_assets" }), at);
    expect(JSON.stringify(fast.snapshot)).toBe(JSON.stringify(plain.snapshot));
    expect(fast.snapshot.assets["m1"]!.telemetry["temperature"]).toBe(89);
    rt.close();
  });

  test("keeps the newest checkpoints and one per event-time hour", () => {
    const dir = join(tmp, `keep${dirs++}`);
    const log = SqliteLog.open(dir);
    const store = new CheckpointStore(dir);
    const rt = new EmbeddedRuntime({ program: ir, log, checkpoints: { store, everyRecords: 1, costShare: 0 } });
    const T = Date.parse("2026-11-20T00:00:00Z");
    // 10 hours, a clock record every 10 minutes: 60 batches, a checkpoint after each
    for (let i = 0; i < 60; i++) rt.ingest([{ topic: "ofa_assets", key: "OFL-plant", ts: T + i * 600_000, value: clockValue(T + i * 600_000) }]);
    rt.close();
    const files = store.list(ir);
    const hours = new Set(files.map((f) => Math.floor(f.horizon! / 3_600_000)));
    expect(hours.size).toBe(10);
    // at most one per hour besides the newest KEEP_RECENT (and the first of the offset bucket)
    expect(files.length).toBeLessThanOrEqual(10 + KEEP_RECENT + 1);
    expect(files[files.length - 1]!.offset).toBe(60);
  });
});
