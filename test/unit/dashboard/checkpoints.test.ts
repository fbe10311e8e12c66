// Issue 12 items 2 and 3 for the dashboard: what the page shows beside the engine's state
// (freshness, alarm acknowledgements, the latest commands) is stored with each checkpoint, so a
// restarted `ofl run` projects only the tail and time travel starts from the newest usable
// checkpoint. The reference is the projection of the whole log from its first record.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { Projector, stateInfoAt } from "../../../runtime/dashboard/api.js";
import { EmbeddedRuntime } from "../../../runtime/embedded/runtime.js";
import { CheckpointStore } from "../../../runtime/log/checkpoints.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { Plant } from "../../../runtime/run/plant.js";
import { serve } from "../../../runtime/run/server.js";
import { ASSETS_TOPIC } from "../../../runtime/wire/records.js";
import type { StateInfo } from "../../../runtime/dashboard/protocol.js";
import { inputs, plantIr } from "../embedded/plant.js";

const ir = plantIr();
const tmp = mkdtempSync(join(tmpdir(), "ofl-dash-cp-"));
let dirs = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A log written by an embedded runtime whose checkpoints carry a live projector's state, as `ofl run`'s server stores it. */
function written(recs: Parameters<EmbeddedRuntime["ingest"]>[0], batch: number): { dir: string; log: SqliteLog; store: CheckpointStore } {
  const dir = join(tmp, `d${dirs++}`);
  const log = SqliteLog.open(dir);
  const store = new CheckpointStore(dir);
  const live = new Projector(ir, log);
  const rt = new EmbeddedRuntime({
    program: ir,
    log,
    onAppend: (appended) => live.scan(appended.filter((r) => r.topic === ASSETS_TOPIC)),
    checkpoints: { store, everyRecords: 4, costShare: 0, extra: () => ({ dashboard: live.save() }) },
  });
  for (let i = 0; i < recs.length; i += batch) rt.ingest(recs.slice(i, i + batch));
  rt.checkpoint();
  return { dir, log, store };
}

const without = (s: StateInfo): unknown => ({ ...s, replayed: undefined, fromOffset: undefined });

describe("the dashboard's projection with checkpoints", () => {
  test("time travel from a checkpoint answers exactly what the replay from the first record answers", () => {
    let fromCheckpoint = 0;
    fc.assert(
      fc.property(inputs, fc.integer({ min: 1, max: 7 }), fc.array(fc.integer({ min: -5_000, max: 400_000 }), { minLength: 1, maxLength: 5 }), (recs, batch, dts) => {
        const { log, store } = written(recs, batch);
        try {
          const t0 = recs[0]!.ts;
          for (const dt of dts) {
            const plain = stateInfoAt(ir, log, t0 + dt);
            const fast = stateInfoAt(ir, log, t0 + dt, { checkpoints: store, maxOffset: log.endOffset(ASSETS_TOPIC), warn: (m) => expect.fail(m) });
            expect(plain.fromOffset).toBeUndefined();
            if (fast.fromOffset !== undefined) {
              fromCheckpoint++;
              expect(fast.fromOffset + fast.replayed!).toBe(plain.replayed);
            }
            expect(JSON.stringify(without(fast))).toBe(JSON.stringify(without(plain)));
          }
        } finally {
          log.close();
        }
      }),
      { numRuns: 40, seed: 12 },
    );
    expect(fromCheckpoint).toBeGreaterThan(10);
  }, 180_000);

  test("a checkpoint past the log as it was asked is not used (maxOffset)", () => {
    const recs = fc.sample(inputs, { numRuns: 1, seed: 5 })[0]!;
    const { log, store } = written(recs, 2);
    try {
      const newest = store.list(ir).at(-1)!;
      expect(newest.offset).toBeGreaterThan(0);
      const s = stateInfoAt(ir, log, Math.max(...recs.map((r) => r.ts)) + 1000, { checkpoints: store, maxOffset: newest.offset - 1 });
      expect(s.fromOffset === undefined || s.fromOffset < newest.offset).toBe(true);
    } finally {
      log.close();
    }
  });

  test("a restarted server projects the tail after the checkpoint and shows what a full projection shows", async () => {
    const recs = fc.sample(inputs, { numRuns: 20, seed: 9 }).flat();
    expect(recs.length).toBeGreaterThan(20);
    const dir = join(tmp, `srv${dirs++}`);
    const get = async (url: string): Promise<StateInfo> => (await (await fetch(`${url}/api/state?view=dashboard`)).json()) as StateInfo;
    // first run: the inputs, checkpoints every 4 inputs with the server's projection in them
    {
      const log = SqliteLog.open(dir);
      const plant = new Plant({ program: ir, log, clockMs: 0, connect: false, checkpoints: { store: new CheckpointStore(dir), everyRecords: 4, costShare: 0 } });
      const api = await serve(plant, { host: "127.0.0.1", port: 0, token: "t" });
      for (let i = 0; i < recs.length; i += 3) {
        plant.enqueue(recs.slice(i, i + 3));
        plant.flush();
      }
      await plant.stop();
      await api.close();
    }
    const store = new CheckpointStore(dir);
    const last = store.newest(ir)!;
    expect((last.extra as { dashboard?: unknown }).dashboard).toBeDefined();
    // a second run from the checkpoint, and a reference run that projects the whole log
    const resumed = new Plant({ program: ir, log: SqliteLog.open(dir), clockMs: 0, connect: false, checkpoints: { store } });
    expect(resumed.runtime.restoredFrom).toBe(last.header.offset);
    const api = await serve(resumed, { host: "127.0.0.1", port: 0, token: "t" });
    const got = await get(api.url);
    await api.close();
    await resumed.stop();
    const reference = new Plant({ program: ir, log: SqliteLog.open(dir), clockMs: 0, connect: false });
    const api2 = await serve(reference, { host: "127.0.0.1", port: 0, token: "t" });
    const want = await get(api2.url);
    await api2.close();
    await reference.stop();
    expect(Object.keys(want.assets).length).toBe(3);
    expect(want.commands.length).toBeGreaterThan(0);
    expect(got).toEqual(want);
  });
});
