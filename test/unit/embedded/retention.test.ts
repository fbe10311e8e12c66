// Issue 12 item 4: retention. Records older than the window move from the live log into the
// archive at a checkpoint: nothing is lost (archive + live log = the log a plant without
// retention writes, record for record), the cut is a valid start (a reopened plant decides
// exactly what the plant without retention decides), time travel before the cut reads the
// archive, the archive files are sessions, and a step torn by a crash is repaired.
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { Archive, wholeHistory } from "../../../runtime/log/archive.js";
import { CheckpointStore } from "../../../runtime/log/checkpoints.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { stateAt, stateAtLog } from "../../../runtime/replay/stateAt.js";
import { openSession } from "../../../runtime/replay/session.js";
import { Plant } from "../../../runtime/run/plant.js";
import { ASSETS_TOPIC, classify, clockValue, isInput, telemetryValue } from "../../../runtime/wire/records.js";
import type { LogRecord, NewRecord } from "../../../runtime/wire/types.js";
import { plantIr } from "./plant.js";

const ir = plantIr();
const tmp = mkdtempSync(join(tmpdir(), "ofl-retain-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const T0 = Date.parse("2026-11-20T00:00:00Z");
const MIN = 60_000;
const HOUR = 60 * MIN;

/** Minute `m` of a plant: a clock record, then a temperature for each mill (deterministic). */
function minute(m: number): NewRecord[] {
  const t = T0 + m * MIN;
  const out: NewRecord[] = [{ topic: ASSETS_TOPIC, key: "OFL-plant", ts: t, value: clockValue(t) }];
  for (const [i, uuid] of ["M-1", "M-2", "M-3"].entries()) {
    const temp = 60 + ((m * 7 + i * 13) % 45);
    out.push({ topic: ASSETS_TOPIC, key: uuid, ts: t + 1 + i, value: telemetryValue("temperature", temp, "degC", "Samples", t + 1 + i) });
  }
  return out;
}

function open(dir: string, retainMs?: number): Plant {
  return new Plant({
    program: ir,
    log: SqliteLog.open(dir),
    clockMs: 0,
    connect: false,
    now: () => T0, // results of commands without a device binding carry the wall clock: fixed, so both plants write the same
    checkpoints: { store: new CheckpointStore(dir), everyRecords: 40, costShare: 0 },
    ...(retainMs !== undefined ? { retainMs } : {}),
  });
}

function feed(plant: Plant, from: number, to: number): void {
  for (let m = from; m < to; m++) {
    plant.enqueue(minute(m));
    plant.flush();
  }
}

const same = (r: LogRecord): unknown => ({ topic: r.topic, offset: r.offset, ts: r.ts, key: r.key, value: r.value });

describe("retention", () => {
  const ref = join(tmp, "reference");
  const dir = join(tmp, "retained");

  test("moves what is older than the window into the archive at a checkpoint, losing nothing", async () => {
    // the reference: the same inputs, no retention
    const r = open(ref);
    feed(r, 0, 300);
    await r.stop();
    const p = open(dir, HOUR);
    feed(p, 0, 300); // five hours
    const moved = await p.retain();
    const streamTime = p.runtime.engine.streamTime;
    await p.stop();
    expect(moved).toBeGreaterThan(0);

    const log = SqliteLog.open(dir, { readonly: true });
    const refLog = SqliteLog.open(ref, { readonly: true });
    try {
      const first = log.firstOffset(ASSETS_TOPIC);
      // cut at a checkpoint, and only what is older than the window is gone from the live log
      const store = new CheckpointStore(dir);
      expect(store.list(ir)[0]!.offset).toBe(first);
      const archived = [...new Archive(dir).records(ASSETS_TOPIC)];
      expect(archived.length).toBe(first);
      for (const rec of archived) {
        const ev = classify(rec);
        if (isInput(ev) && ev.kind !== "bad") expect(ev.time).toBeLessThan(streamTime - HOUR);
      }
      // about four of the five hours moved (the cut is at an hourly checkpoint or later)
      expect(first).toBeGreaterThan(refLog.endOffset(ASSETS_TOPIC) * 0.6);
      // nothing lost: archive + live log = the reference log, in order, every topic
      const all = [...new Archive(dir).records(), ...log.read({ fromSeq: new Archive(dir).endSeq() })].map(same);
      expect(all).toEqual([...refLog.read()].map(same));
      expect([...wholeHistory(dir, log)].map(same)).toEqual([...refLog.read({ topic: ASSETS_TOPIC })].map(same));
      expect(log.endSeq()).toBe(refLog.endSeq());
    } finally {
      log.close();
      refLog.close();
    }
  });

  test("the cut is a valid start: reopened, the plant decides what the plant without retention decides", async () => {
    const r = open(ref);
    const p = open(dir, HOUR);
    expect(p.runtime.restoredFrom).toBeGreaterThan(0);
    expect(JSON.stringify(p.runtime.engine.snapshot())).toBe(JSON.stringify(r.runtime.engine.snapshot()));
    feed(r, 300, 420);
    feed(p, 300, 420);
    await p.retain();
    await r.stop();
    await p.stop();
    const log = SqliteLog.open(dir, { readonly: true });
    const refLog = SqliteLog.open(ref, { readonly: true });
    try {
      expect([...wholeHistory(dir, log)].map(same)).toEqual([...refLog.read({ topic: ASSETS_TOPIC })].map(same));
      const commands = [...refLog.read({ topic: ASSETS_TOPIC })].filter((x) => classify(x).kind === "command");
      expect(commands.length).toBeGreaterThan(0);
    } finally {
      log.close();
      refLog.close();
    }
  });

  test("time travel before the cut reads the archive; after it, starts from a checkpoint", () => {
    const log = SqliteLog.open(dir, { readonly: true });
    const refLog = SqliteLog.open(ref, { readonly: true });
    try {
      expect(log.firstOffset(ASSETS_TOPIC)).toBeGreaterThan(0);
      for (const at of [T0 + 30 * MIN + 500, T0 + 150 * MIN, T0 + 400 * MIN + 2]) {
        const want = stateAt(ir, refLog.read({ topic: ASSETS_TOPIC }), at);
        const got = stateAtLog(ir, log, at, { checkpoints: new CheckpointStore(dir), warn: (m) => expect.fail(m) });
        expect(JSON.stringify(got.snapshot)).toBe(JSON.stringify(want.snapshot));
        if (at === T0 + 400 * MIN + 2) expect(got.fromOffset).toBeDefined();
      }
    } finally {
      log.close();
      refLog.close();
    }
  });

  test("each archive file is a session: its records, then the next file's, in order", () => {
    const archive = new Archive(dir);
    const ix = archive.index()!;
    expect(ix.files.length).toBeGreaterThan(0);
    let offset = 0;
    for (const f of ix.files) {
      const s = openSession(join(archive.dir, f.name));
      expect(s.header?.program).toBe("plant");
      const recs = [...s.records()].map((x) => x.record).filter((x) => x.topic === ASSETS_TOPIC);
      expect(recs[0]!.offset).toBe(offset);
      offset = recs.at(-1)!.offset + 1;
      expect(offset).toBe(f.toOffset);
    }
  });

  test("a step torn by a crash is repaired: bytes past the index are cut, records archived but not yet deleted are deleted", async () => {
    const d = join(tmp, "torn");
    const p = open(d, HOUR);
    feed(p, 0, 200);
    await p.stop();
    const archive = new Archive(d);
    const store = new CheckpointStore(d);
    let log = SqliteLog.open(d);
    const cut = store.list(ir).filter((f) => f.horizon !== null && f.horizon < T0 + 200 * MIN - HOUR && f.offset > 200).at(-1)!;
    const cutSeq = log.seqOf(ASSETS_TOPIC, cut.offset)!;
    log.close();
    // one step, after which the log file is put back as it was before the step's delete (a crash
    // between writing the index and deleting), and a torn member is appended (a crash mid-write)
    const file = join(d, "log.sqlite");
    copyFileSync(file, `${file}.before`);
    log = SqliteLog.open(d);
    expect(await archive.move(log, cutSeq, "plant", 50)).toBe(50);
    log.close();
    copyFileSync(`${file}.before`, file);
    const f = archive.index()!.files[0]!;
    appendFileSync(join(archive.dir, f.name), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    log = SqliteLog.open(d);
    expect(log.firstSeq()).toBe(0);
    archive.recover(log);
    expect(log.firstSeq()).toBe(f.toSeq);
    expect(statSync(join(archive.dir, f.name)).size).toBe(f.bytes);
    expect([...archive.records()].length).toBe(50);
    // the rest moves in further steps; the archive then ends where the live log starts
    while ((await archive.move(log, cutSeq, "plant", 50)) > 0);
    expect(log.firstSeq()).toBe(cutSeq);
    expect(archive.endSeq()).toBe(cutSeq);
    expect(readdirSync(archive.dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    log.close();
  });

  test("offsets and seqs continue after every record was moved out", () => {
    const d = join(tmp, "empty");
    const log = SqliteLog.open(d);
    log.append(minute(0));
    log.append([{ topic: "ofl_deadletter", key: null, ts: T0, value: { reason: "x" } }]);
    expect(log.deleteBefore(log.endSeq())).toBe(5);
    expect(log.endOffset(ASSETS_TOPIC)).toBe(4);
    expect(log.endOffset("ofl_deadletter")).toBe(1);
    const [a, b] = log.append([...minute(1).slice(0, 1), { topic: "ofl_deadletter", key: null, ts: T0, value: { reason: "y" } }]);
    expect([a!.offset, a!.seq, b!.offset, b!.seq]).toEqual([4, 5, 1, 6]);
    expect(log.firstOffset(ASSETS_TOPIC)).toBe(4);
    log.close();
  });
});
