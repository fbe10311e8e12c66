import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import * as fs from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { MemoryLog } from "../../../runtime/log/memory.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import type { Log } from "../../../runtime/log/types.js";
import { deadLetterValue, telemetryValue } from "../../../runtime/wire/records.js";
import type { LogRecord, NewRecord } from "../../../runtime/wire/types.js";

const tmp = fs.mkdtempSync(join(os.tmpdir(), "ofl-log-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(tmp, `d${dirs++}`, "nested");

const T0 = Date.parse("2026-11-20T08:00:00.000Z");
const tel = (i: number, key = "M-1"): NewRecord => ({ topic: "ofa_assets", key, ts: T0 + i * 1000 + 7, value: telemetryValue("temperature", 70 + i, "degC", "Samples", T0 + i * 1000) });

const impls: [string, () => { log: Log; reopen?: () => Log }][] = [
  ["MemoryLog", () => ({ log: new MemoryLog() })],
  [
    "SqliteLog",
    () => {
      const d = newDir();
      return { log: SqliteLog.open(d), reopen: () => SqliteLog.open(d) };
    },
  ],
];

describe.each(impls)("%s", (_name, make) => {
  it("assigns offsets per topic and a global seq", () => {
    const { log } = make();
    const a = log.append([tel(0), tel(1), { topic: "ofl_deadletter", key: null, ts: T0, value: deadLetterValue("bad_json", "d", "x", "s") }, tel(2)]);
    expect(a.map((r) => [r.topic, r.partition, r.offset, r.seq])).toEqual([
      ["ofa_assets", 0, 0, 0],
      ["ofa_assets", 0, 1, 1],
      ["ofl_deadletter", 0, 0, 2],
      ["ofa_assets", 0, 2, 3],
    ]);
    const b = log.append([tel(3)]);
    expect(b[0]).toMatchObject({ offset: 3, seq: 4 });
    expect(log.endOffset("ofa_assets")).toBe(4);
    expect(log.endOffset("ofl_deadletter")).toBe(1);
    expect(log.endOffset("nope")).toBe(0);
    expect(log.endSeq()).toBe(5);
    expect(log.append([])).toEqual([]);
    log.close();
  });

  it("reads by topic, offset, seq and limit", () => {
    const { log } = make();
    const batch: NewRecord[] = [];
    for (let i = 0; i < 5000; i++) batch.push(i % 10 === 0 ? { topic: "other", key: "x", ts: i, value: { n: i } } : tel(i));
    const stored = log.append(batch);
    const assets = stored.filter((r) => r.topic === "ofa_assets");
    expect([...log.read({ topic: "ofa_assets" })]).toEqual(assets);
    expect([...log.read({ topic: "ofa_assets", fromOffset: 4000 })]).toEqual(assets.slice(4000));
    expect([...log.read({ topic: "ofa_assets", fromOffset: 10, limit: 3 })]).toEqual(assets.slice(10, 13));
    expect([...log.read()]).toEqual(stored);
    expect([...log.read({ fromSeq: 4990 })]).toEqual(stored.slice(4990));
    expect([...log.read({ fromSeq: 2, limit: 2500 })]).toEqual(stored.slice(2, 2502));
    expect(() => [...log.read({ fromOffset: 3 })]).toThrow(/needs a topic/);
    log.close();
  });

  it("allows appending while reading", () => {
    const { log } = make();
    log.append(Array.from({ length: 4500 }, (_, i) => tel(i)));
    let n = 0;
    for (const r of log.read({ topic: "ofa_assets" })) {
      if (r.offset % 1000 === 0) log.append([{ topic: "ofl_deadletter", key: null, ts: 0, value: r.offset }]);
      n++;
    }
    expect(n).toBe(4500);
    expect(log.endOffset("ofl_deadletter")).toBe(5);
    log.close();
  });

  it("reads by event time (attributes.timestamp, else ts), in log order", () => {
    const { log } = make();
    log.append([
      tel(5),
      tel(1),
      tel(3),
      { topic: "ofa_assets", key: "OFL", ts: T0 + 2000, value: "no timestamp" },
      { topic: "ofl_deadletter", key: null, ts: T0 + 3000, value: { reason: "bad_json" } },
      tel(2),
    ]);
    const at = (o: Parameters<Log["readByTime"]>[0]) => [...log.readByTime(o)].map((r) => r.seq);
    expect(at({ topic: "ofa_assets", fromMs: T0 + 2000, toMs: T0 + 3000 })).toEqual([2, 3, 5]);
    expect(at({ fromMs: T0 + 2000, toMs: T0 + 3000 })).toEqual([2, 3, 4, 5]);
    expect(at({ topic: "ofa_assets", fromMs: T0 + 4000 })).toEqual([0]);
    expect(at({ topic: "ofa_assets", toMs: T0 + 1000 })).toEqual([1]);
    expect(at({})).toEqual([0, 1, 2, 3, 4, 5]);
    expect(at({ topic: "ofa_assets", fromMs: T0 + 9000 })).toEqual([]);
    log.close();
  });

  it("subscribers catch up, then see each append", () => {
    const { log } = make();
    log.append([tel(0), tel(1), tel(2)]);
    const seen: number[][] = [];
    const off = log.subscribe(1, (recs) => seen.push(recs.map((r) => r.seq!)));
    expect(seen).toEqual([[1, 2]]);
    log.append([tel(3)]);
    log.append([tel(4), tel(5)]);
    expect(seen).toEqual([[1, 2], [3], [4, 5]]);
    const late: number[][] = [];
    log.subscribe(10, (recs) => late.push(recs.map((r) => r.seq!)));
    off();
    log.append([tel(6)]);
    expect(seen).toHaveLength(3);
    expect(late).toEqual([]);
    for (let i = 7; i < 12; i++) log.append([tel(i)]);
    expect(late).toEqual([[10], [11]]);
    log.close();
  });

  it("rejects malformed records", () => {
    const { log } = make();
    expect(() => log.append([{ topic: "", key: null, ts: 1, value: 1 }])).toThrow(/no topic/);
    expect(() => log.append([{ topic: "a", key: null, ts: NaN, value: 1 }])).toThrow(/finite ts/);
    expect(() => log.append([tel(0), { topic: "a", key: 3 as unknown as string, ts: 1, value: 1 }])).toThrow(/key/);
    expect(log.endSeq()).toBe(0); // nothing of a rejected batch is appended
    log.close();
  });
});

describe("SqliteLog", () => {
  it("continues offsets after reopening, and keeps meta", () => {
    const d = newDir();
    let log = SqliteLog.open(d, { program: "plant" });
    log.append([tel(0), tel(1), { topic: "x", key: null, ts: 0, value: null }]);
    log.close();
    log = SqliteLog.open(d, { program: "other" });
    expect(log.meta("program")).toBe("plant");
    expect(log.meta("schema_version")).toBe("1");
    expect(log.endOffset("ofa_assets")).toBe(2);
    const r = log.append([tel(2), { topic: "x", key: null, ts: 0, value: 1 }]);
    expect(r.map((x) => [x.offset, x.seq])).toEqual([
      [2, 3],
      [1, 4],
    ]);
    expect([...log.read({ topic: "x" })].map((x) => x.value)).toEqual([null, 1]);
    log.close();
  });

  it("is WAL with synchronous FULL, with obvious columns for the sqlite3 CLI", () => {
    const d = newDir();
    const log = SqliteLog.open(d);
    log.append([tel(0, "CNC-001")]);
    const db = new Database(join(d, "log.sqlite"), { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const row = db.prepare(`SELECT topic, partition, "offset", ts, event_time, key, value FROM records`).get() as Record<string, unknown>;
    expect(row).toMatchObject({ topic: "ofa_assets", partition: 0, offset: 0, ts: T0 + 7, event_time: T0, key: "CNC-001" });
    expect(JSON.parse(row.value as string).ID).toBe("temperature");
    db.close();
    log.close();
  });

  it("refuses a log from a newer schema", () => {
    const d = newDir();
    SqliteLog.open(d).setMeta("schema_version", "99");
    expect(() => SqliteLog.open(d)).toThrow(/schema 99/);
  });

  it("two handles on one file keep offsets contiguous", () => {
    const d = newDir();
    const a = SqliteLog.open(d);
    const b = SqliteLog.open(d);
    a.append([tel(0)]);
    b.append([tel(1)]);
    a.append([tel(2)]);
    expect([...a.read({ topic: "ofa_assets" })].map((r) => [r.offset, r.seq])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    a.close();
    b.close();
  });

  it("opens read-only next to a writer", () => {
    const d = newDir();
    const w = SqliteLog.open(d);
    w.append([tel(0), tel(1)]);
    const r = SqliteLog.open(d, { readonly: true });
    expect([...r.read()].length).toBe(2);
    expect(() => r.append([tel(2)])).toThrow();
    r.close();
    w.close();
  });

  it("property: any sequence of batches reads back as appended, across close and reopen", () => {
    const record = fc.record({
      topic: fc.constantFrom("ofa_assets", "ofl_deadletter", "t3"),
      key: fc.option(fc.string(), { nil: null }),
      ts: fc.integer({ min: 0, max: 4_000_000_000_000 }),
      value: fc.oneof(fc.jsonValue(), fc.record({ ID: fc.string(), VALUE: fc.string(), attributes: fc.record({ timestamp: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()) }) })),
    });
    const norm = (v: unknown) => JSON.parse(JSON.stringify(v ?? null));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(record, { maxLength: 20 }), fc.boolean()), { maxLength: 12 }), (batches) => {
        const d = newDir();
        let log = SqliteLog.open(d);
        const mem = new MemoryLog();
        const expected: LogRecord[] = [];
        for (const [batch, reopen] of batches) {
          const got = log.append(batch);
          mem.append(batch);
          expected.push(...got.map((r) => ({ ...r, value: norm(r.value) })));
          if (reopen) {
            log.close();
            log = SqliteLog.open(d);
          }
        }
        const all = [...log.read()];
        expect(all).toEqual(expected);
        expect(all.map((r) => r.seq)).toEqual(expected.map((_, i) => i));
        for (const t of ["ofa_assets", "ofl_deadletter", "t3"]) {
          const mine = [...log.read({ topic: t })];
          expect(mine).toEqual(expected.filter((r) => r.topic === t));
          expect(mine.map((r) => r.offset)).toEqual(mine.map((_, i) => i));
          expect(log.endOffset(t)).toBe(mine.length);
          expect(mine.map((r) => r.seq)).toEqual([...mem.read({ topic: t })].map((r) => r.seq));
        }
        expect([...log.readByTime({ fromMs: 1e12, toMs: 3e12 })].map((r) => r.seq)).toEqual([...mem.readByTime({ fromMs: 1e12, toMs: 3e12 })].map((r) => r.seq));
        log.close();
        fs.rmSync(d, { recursive: true });
      }),
      { numRuns: 40 },
    );
  });
});
