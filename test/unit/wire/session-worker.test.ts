// The session parser worker (runtime/replay/parserWorker.ts) against the reference: JSON.parse
// of each line on the replaying thread (session.ts, parser: "thread"). The fast path must give
// exactly the record JSON.parse + toLogRecord gives, and the worker path the same records, line
// numbers, errors and skipped-line warnings, across chunk, slot and string-table boundaries.
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fastBytes, isoMillis, newFastFields } from "../../../runtime/replay/parserWorker.js";
import { openSession, SessionError, toLogRecord, type SessionOptions } from "../../../runtime/replay/session.js";
import type { LogRecord } from "../../../runtime/wire/types.js";
import { parseTime } from "../../../runtime/wire/records.js";

const here = fileURLToPath(import.meta.url);
const sessions = join(here, "../../../conformance/sessions");
const fixtures = join(here, "../../../fixtures/bench-decisions");
const tmp = fs.mkdtempSync(join(os.tmpdir(), "ofl-session-worker-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function file(content: string | Buffer): string {
  const p = join(tmp, `w${n++}.jsonl`);
  fs.writeFileSync(p, content);
  return p;
}

/** What a reader gives: its records, then its skipped lines, or the error that stopped it. */
function readAll(path: string, opts: SessionOptions): { records: { line: number; record: LogRecord }[]; skipped: unknown[]; error?: string; errorLine?: number } {
  const s = openSession(path, opts);
  const records: { line: number; record: LogRecord }[] = [];
  try {
    for (const { line, record, time } of s.records()) {
      // a reader that gives the stamp's ms gives exactly what parsing the stamp gives
      if (time !== undefined) expect(time).toBe(parseTime((record.value as { attributes: { timestamp: string } }).attributes.timestamp));
      records.push({ line, record });
    }
  } catch (e) {
    if (!(e instanceof SessionError)) throw e;
    return { records, skipped: [...s.skipped], error: e.message, errorLine: e.line };
  }
  return { records, skipped: [...s.skipped] };
}

/** The record the fast path read from `line`, or null when it left the line to JSON.parse. */
function fast(line: string): LogRecord | null {
  const b = Buffer.from(line, "utf8");
  const o = newFastFields();
  if (!fastBytes(b, 0, b.length, o)) return null;
  const str = (s: number, e: number): string => b.toString("latin1", s, e);
  const stamp = new Date(o.time).toISOString();
  const value = str(o.valueS, o.valueE);
  return {
    topic: str(o.topicS, o.topicE),
    partition: o.partition,
    offset: o.offset,
    ts: o.ts,
    key: o.keyS < 0 ? null : str(o.keyS, o.keyE),
    value: { ID: str(o.idS, o.idE), VALUE: value, TAG: str(o.tagS, o.tagE), TYPE: str(o.typeS, o.typeE), attributes: { timestamp: stamp } },
  };
}

function reference(line: string): LogRecord | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  const r = toLogRecord(parsed);
  return typeof r === "string" ? null : r;
}

const printable = fc.string({ unit: fc.constantFrom(..."abcXYZ019 .-_:/{}[],é€😀\"\\\t\u0001".split("")), maxLength: 12 });
const plain = fc.string({ unit: fc.constantFrom(..."abcXYZ019 .-_:/{}[],".split("")), maxLength: 12 });
const number = fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 2 ** 31 + 5 }) }, fc.integer({ min: -3, max: 3 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(2 ** 53 + 2), fc.constant(1e21));
const stamp = fc.oneof(
  { weight: 8, arbitrary: fc.date({ min: new Date(Date.UTC(2000, 0, 1)), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true }).map((d) => d.toISOString()) },
  fc.date({ min: new Date(Date.UTC(0, 0, 1) - 1000), max: new Date(Date.UTC(10000, 0, 1) + 1000), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("2026-11-20T08:00:00Z", "2026-02-29T08:00:00.000Z", "2024-02-29T23:59:59.999Z", "2026-11-20T24:00:00.000Z", "2026-13-20T08:00:00.000Z", "2026-11-20 08:00:00.000Z"),
  plain,
);
const record = fc.record({
  topic: fc.oneof({ weight: 5, arbitrary: plain }, printable),
  partition: number,
  offset: number,
  ts: number,
  key: fc.oneof(fc.constant(null), { weight: 5, arbitrary: plain }, printable),
  value: fc.record({ ID: fc.oneof({ weight: 5, arbitrary: plain }, printable), VALUE: fc.oneof({ weight: 5, arbitrary: plain }, printable), TAG: plain, TYPE: plain, attributes: fc.record({ timestamp: stamp }) }),
});
/** a line as sessionLine writes it, sometimes with one character deleted, inserted or replaced */
const line = fc.tuple(record, fc.option(fc.tuple(fc.nat(), fc.constantFrom("delete", "insert", "replace"), fc.constantFrom(" ", '"', "\\", ",", "0", "-", "}", "x", "\t", "é")), { freq: 2 })).map(([r, edit]) => {
  const t = JSON.stringify(r);
  if (edit === null) return t;
  const [at, what, ch] = edit;
  const i = at % (t.length + 1);
  return what === "delete" ? t.slice(0, i) + t.slice(i + 1) : what === "insert" ? t.slice(0, i) + ch + t.slice(i) : t.slice(0, i) + ch + t.slice(i + 1);
});

describe("fast path", () => {
  it("gives exactly what JSON.parse + toLogRecord gives, wherever it takes a line (seeded property)", () => {
    let taken = 0;
    fc.assert(
      fc.property(line, (l) => {
        const got = fast(l);
        if (got === null) return;
        taken++;
        expect(got).toStrictEqual(reference(l));
      }),
      { seed: 15, numRuns: 20_000 },
    );
    expect(taken).toBeGreaterThan(2000); // the property is about the fast path: it must be taken
  });

  it("takes every line as sessionLine writes OFL telemetry, clock ticks and a null key included", () => {
    const stamp = "2026-11-20T08:00:00.125Z";
    for (const r of [
      { topic: "ofa_assets", partition: 0, offset: 12, ts: 1795161600125, key: "M-1", value: { ID: "temperature", VALUE: "71.5", TAG: "degC", TYPE: "Samples", attributes: { timestamp: stamp } } },
      { topic: "ofa_assets", partition: 3, offset: 0, ts: 1.5, key: null, value: { ID: "clock", VALUE: stamp, TAG: "Clock", TYPE: "OpenFactory", attributes: { timestamp: stamp } } },
    ]) {
      expect(fast(JSON.stringify(r))).toStrictEqual(r);
    }
  });

  it("leaves escapes, non-ASCII, spaces, other key orders and non-canonical times to JSON.parse", () => {
    const base = '{"topic":"ofa_assets","partition":0,"offset":1,"ts":1,"key":"K","value":{"ID":"t","VALUE":"1","TAG":"u","TYPE":"Samples","attributes":{"timestamp":"2026-11-20T08:00:00.000Z"}}}';
    expect(fast(base)).not.toBeNull();
    for (const l of [
      base.replace('"K"', '"K\\n"'),
      base.replace('"K"', '"é"'),
      base.replace('"key":', '"key": '),
      base.replace('"partition":0,"offset":1', '"offset":1,"partition":0'),
      base.replace(".000Z", "Z"),
      base.replace('"offset":1', '"offset":-0'),
      base.replace('"offset":1', '"offset":1.5'),
      base.replace("}}}", "},\"x\":1}}"),
      base + " ",
    ]) {
      expect(fast(l), l).toBeNull();
    }
  });

  it("reads canonical ISO times as Date does, and nothing else", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(Date.UTC(0, 0, 1)), max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)), noInvalidDate: true }), (d) => {
        expect(isoMillis(d.toISOString())).toBe(d.getTime());
      }),
      { seed: 15, numRuns: 5000 },
    );
    for (const bad of ["2026-02-29T00:00:00.000Z", "2026-11-31T00:00:00.000Z", "2026-11-20T08:60:00.000Z", "+2026-11-20T08:00:00.00Z", "2026-11-20T08:00:00.000z"]) expect(isoMillis(bad), bad).toBeNaN();
  });
});

describe("worker path", () => {
  const both = (path: string, opts: SessionOptions = {}) => {
    const want = readAll(path, { ...opts, parser: "thread" });
    const got = readAll(path, { ...opts, parser: "worker" });
    expect(got).toStrictEqual(want);
    return want;
  };

  it("reads the conformance sessions (OFL and kcat forms) as the in-thread reader does", () => {
    expect(both(join(sessions, "mill-shift.jsonl")).records).toHaveLength(12);
    expect(both(join(sessions, "mill-shift.kcat.jsonl"), { chunkSize: 100, workerSlotRecords: 5 }).records).toHaveLength(12);
  });

  it("reads the benchmark fixture sessions to the same records", () => {
    for (const f of ["replay-small.jsonl", "engine-small.jsonl"]) expect(both(join(fixtures, f)).records.length).toBeGreaterThan(12_000);
  });

  it("agrees on mixed files across chunk, slot and string-table boundaries (seeded)", () => {
    const mixed = fc.array(fc.oneof({ weight: 6, arbitrary: line }, fc.constantFrom("", "   ", "\t", '{"ofl_session":1,"program":"p"}', '{"topic":"ofa_assets","partition":0,"offset":9,"tstype":"create","ts":5,"key":"k","payload":"{\\"ID\\":\\"t\\"}"}')), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(mixed, fc.boolean(), fc.boolean(), fc.constantFrom(3, 16, 64, 4096), fc.constantFrom(1, 2, 7, 8192), fc.constantFrom(0, 3, 100_000), (ls, crlf, bom, chunkSize, slot, limit) => {
        const p = file((bom ? "\uFEFF" : "") + ls.join(crlf ? "\r\n" : "\n"));
        for (const skipBadLines of [false, true]) both(p, { skipBadLines, chunkSize, workerSlotRecords: slot, workerTableLimit: limit });
      }),
      { seed: 15, numRuns: 40 },
    );
  }, 180_000);

  it("names the same line for invalid UTF-8, after the same records", () => {
    const rec = '{"topic":"ofa_assets","partition":0,"offset":0,"ts":1,"key":"M-1","value":{"ID":"t","VALUE":"1","TAG":"","TYPE":"Samples","attributes":{"timestamp":"2026-11-20T08:00:00.000Z"}}}';
    const p = file(Buffer.concat([Buffer.from(rec + "\n" + rec + "\n"), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), Buffer.from(rec)]));
    const r = both(p, { workerSlotRecords: 1 });
    expect(r.records).toHaveLength(2);
    expect(r.errorLine).toBe(3);
    expect(r.error).toMatch(/:3: not valid UTF-8$/);
  });

  it("counts bad lines as warnings with --skip-bad-lines, with their line numbers", () => {
    const rec = '{"topic":"ofa_assets","partition":0,"offset":0,"ts":1,"key":"M-1","value":{"ID":"t","VALUE":"1","TAG":"","TYPE":"Samples","attributes":{"timestamp":"2026-11-20T08:00:00.000Z"}}}';
    const p = file([rec, "{oops", rec, "[1,2]", rec].join("\n"));
    const r = both(p, { skipBadLines: true, workerSlotRecords: 2 });
    expect(r.records.map((x) => x.line)).toEqual([1, 3, 5]);
    expect((r.skipped as { line: number }[]).map((x) => x.line)).toEqual([2, 4]);
    const e = both(p, { workerSlotRecords: 2 });
    expect(e.errorLine).toBe(2);
  });

  it("is used by default for large files, and stops its thread when the reader stops early", () => {
    const rec = (i: number) => `{"topic":"ofa_assets","partition":0,"offset":${i},"ts":${i},"key":"M-${i % 7}","value":{"ID":"t","VALUE":"${i % 100}","TAG":"","TYPE":"Samples","attributes":{"timestamp":"2026-11-20T08:00:00.000Z"}}}`;
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) lines.push(rec(i));
    const p = file(lines.join("\n")); // > 4 MiB: the worker
    expect(fs.statSync(p).size).toBeGreaterThan(4 << 20);
    let k = 0;
    for (const r of openSession(p).records()) {
      expect(r.record.offset).toBe(k);
      if (++k === 20_000) break;
    }
    const all = [...openSession(p).records()];
    expect(all).toHaveLength(40_000);
    expect(all[39_999]!.line).toBe(40_000);
  });

  it("started at open (startNow) it reads ahead and gives the same records; a closed one's session reads again with a new thread", () => {
    const path = join(fixtures, "replay-small.jsonl");
    const want = readAll(path, { parser: "thread" });
    const early = openSession(path, { parser: "worker", startNow: true, workerSlotRecords: 300 });
    expect([...early.records()].map(({ line, record }) => ({ line, record }))).toStrictEqual(want.records);
    const closed = openSession(path, { parser: "worker", startNow: true, workerSlotRecords: 300 });
    closed.close();
    expect([...closed.records()].map(({ line, record }) => ({ line, record }))).toStrictEqual(want.records);
  });

  it("works in a process started with --input-type=module (the eval worker inherits the flag)", () => {
    const rec = (i: number) => `{"topic":"ofa_assets","partition":0,"offset":${i},"ts":${i},"key":"M-1","value":{"ID":"temperature","VALUE":"${i % 100}","TAG":"degC","TYPE":"Samples","attributes":{"timestamp":"2026-11-20T08:00:00.000Z"}}}`;
    const lines: string[] = [];
    for (let i = 0; i < 30_000; i++) lines.push(rec(i));
    const p = file(lines.join("\n"));
    expect(fs.statSync(p).size).toBeGreaterThan(4 << 20);
    const dist = join(here, "../../../../dist/ofl.mjs");
    const prog = join(here, "../../../conformance/pass/06_replay.ofl");
    const driver = `const { main } = await import(${JSON.stringify(dist)}); let out = ""; await main(["test", ${JSON.stringify(prog)}, "--replay", ${JSON.stringify(p)}], { out: (s) => { out += s; }, err: (s) => { out += s; }, cwd: process.cwd(), color: false }); process.stdout.write(out);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", driver], { encoding: "utf8", timeout: 120_000 });
    expect(r.error).toBeUndefined();
    expect(r.stdout).toMatch(/30000 records/);
  }, 150_000);
});
