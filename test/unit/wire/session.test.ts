import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import { openSession, readSession, readSessionHeader, SessionError, writeSession, writeSessionSync } from "../../../runtime/replay/session.js";
import type { LogRecord } from "../../../runtime/wire/types.js";
import { classify, telemetryValue } from "../../../runtime/wire/records.js";

const sessions = join(fileURLToPath(import.meta.url), "../../../conformance/sessions");
const tmp = fs.mkdtempSync(join(os.tmpdir(), "ofl-session-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function file(content: string | Buffer): string {
  const p = join(tmp, `s${n++}.jsonl`);
  fs.writeFileSync(p, content);
  return p;
}
function errorOf(f: () => unknown): SessionError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SessionError);
    return e as SessionError;
  }
  throw new Error("no error");
}

const REC = '{"topic":"ofa_assets","partition":0,"offset":0,"ts":1,"key":"M-1","value":{"ID":"t","VALUE":"1","TAG":"","TYPE":"Samples","attributes":{"timestamp":"2026-11-20T08:00:00.000Z"}}}';

describe("readSession", () => {
  it("reads both forms of the conformance session to identical records", () => {
    const ofl = [...readSession(join(sessions, "mill-shift.jsonl"))];
    const kcat = [...readSession(join(sessions, "mill-shift.kcat.jsonl"))];
    expect(ofl).toHaveLength(12);
    expect(kcat.map((r) => r.record)).toEqual(ofl.map((r) => r.record));
    expect(ofl[0]!.line).toBe(2); // after the header
    expect(kcat[0]!.line).toBe(1);
    expect(ofl[0]!.record).toEqual({
      topic: "ofa_assets",
      partition: 0,
      offset: 0,
      ts: 1795161600000,
      key: "M-1",
      value: { ID: "temperature", VALUE: "85.0", TAG: "degC", TYPE: "Samples", attributes: { timestamp: "2026-11-20T08:00:00.000Z" } },
    });
  });

  it("reads the header when there is one", () => {
    expect(readSessionHeader(join(sessions, "mill-shift.jsonl"))).toEqual({ ofl_session: 1, program: "mill-line", recorded: "2026-11-20T09:00:00Z" });
    expect(readSessionHeader(join(sessions, "mill-shift.kcat.jsonl"))).toBeNull();
    expect(openSession(join(sessions, "mill-shift.jsonl")).header?.program).toBe("mill-line");
  });

  it("skips blank lines, CRLF and a BOM, and counts lines from 1", () => {
    const p = file("\uFEFF\r\n" + REC + "\r\n\n   \n" + REC.replace('"offset":0', '"offset":1'));
    const got = [...readSession(p)];
    expect(got.map((r) => [r.line, r.record.offset])).toEqual([
      [2, 0],
      [5, 1],
    ]);
  });

  it("works across chunk boundaries, with long lines", () => {
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const v = telemetryValue("t" + "x".repeat(i % 50), i, "u", "Samples", i);
      lines.push(JSON.stringify({ topic: "ofa_assets", partition: 0, offset: i, ts: i, key: "é€😀", value: v }));
    }
    const p = file(lines.join("\n"));
    for (const chunkSize of [7, 64, 1000, 1 << 20]) {
      const got = [...readSession(p, { chunkSize })];
      expect(got.length, String(chunkSize)).toBe(300);
      expect(got[299]!.line).toBe(300);
      expect(got[123]!.record.key).toBe("é€😀");
      expect(got[123]!.record.offset).toBe(123);
    }
  });

  it("names the line of a line that is not JSON", () => {
    const p = file(REC + "\n" + REC + "\n{oops\n" + REC);
    const e = errorOf(() => [...readSession(p)]);
    expect(e.line).toBe(3);
    expect(e.file).toBe(p);
    expect(e.message).toMatch(new RegExp(`^s\\d+\\.jsonl:3: not valid JSON \\(.+\\)$`));
  });

  it("names the line of a line that is not a record", () => {
    const cases: [string, RegExp][] = [
      ["[1,2]", /not a record \(a JSON array, expected an object\)/],
      ['"text"', /not a record/],
      ['{"partition":0,"offset":1,"ts":1,"key":null,"value":{}}', /missing "topic"/],
      ['{"topic":"a","ts":1,"key":null,"value":{}}', /missing "offset"/],
      ['{"topic":"a","offset":-1,"ts":1,"key":null,"value":{}}', /bad "offset"/],
      ['{"topic":"a","offset":1,"key":null,"value":{}}', /missing "ts"/],
      ['{"topic":"a","offset":1,"ts":1,"key":5,"value":{}}', /"key" must be a string or null/],
      ['{"topic":"a","offset":1,"ts":1,"key":null}', /no "value" or "payload"/],
    ];
    for (const [line, re] of cases) {
      const e = errorOf(() => [...readSession(file(REC + "\n\n" + line + "\n"))]);
      expect(e.line, line).toBe(3);
      expect(e.message, line).toMatch(re);
    }
  });

  it("keeps a kcat payload that is not JSON as text (classify makes it bad)", () => {
    const p = file('{"topic":"ofa_assets","partition":0,"offset":0,"tstype":"create","ts":5,"broker":1,"key":null,"payload":"not json"}');
    const [r] = [...readSession(p)];
    expect(r!.record).toEqual({ topic: "ofa_assets", partition: 0, offset: 0, ts: 5, key: null, value: "not json" });
    expect(classify(r!.record).kind).toBe("bad");
  });

  it("reports invalid UTF-8 with its line", () => {
    const p = file(Buffer.concat([Buffer.from(REC + "\n" + REC + "\n"), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), Buffer.from(REC)]));
    const e = errorOf(() => [...readSession(p)]);
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/:3: not valid UTF-8/);
  });

  it("skipBadLines turns errors into counted warnings", () => {
    const p = file(REC + "\n{oops\n" + REC + "\n[1]\n");
    const s = openSession(p, { skipBadLines: true });
    const got = [...s.records()];
    expect(got.map((r) => r.line)).toEqual([1, 3]);
    expect(s.skipped.map((x) => x.line)).toEqual([2, 4]);
    expect(s.skipped[0]!.message).toMatch(/:2: not valid JSON/);
    expect(s.skipped[1]!.message).toMatch(/:4: not a record/);
    // a second pass re-reads from the start and recounts
    expect([...s.records()]).toHaveLength(2);
    expect(s.skipped).toHaveLength(2);
  });

  it("a missing file is a clear SessionError", () => {
    const e = errorOf(() => [...readSession(join(tmp, "nope.jsonl"))]);
    expect(e.message).toBe("nope.jsonl: no such session file");
    expect(e.line).toBe(0);
    expect(() => openSession(join(tmp, "nope.jsonl"))).toThrow(SessionError);
  });

  it("an empty file has no records and no header", () => {
    const p = file("");
    expect([...readSession(p)]).toEqual([]);
    expect(readSessionHeader(p)).toBeNull();
  });
});

describe("writeSession", () => {
  const records: LogRecord[] = [...readSession(join(sessions, "mill-shift.kcat.jsonl"))].map((r) => ({ ...r.record, seq: 99 }));

  it("round-trips through a file descriptor", async () => {
    const p = join(tmp, "w1.jsonl");
    const fd = fs.openSync(p, "w");
    expect(await writeSession(records, fd, { program: "mill-line", recorded: "2026-11-20T09:00:00Z" })).toBe(12);
    fs.closeSync(fd);
    const s = openSession(p);
    expect(s.header).toEqual({ ofl_session: 1, program: "mill-line", recorded: "2026-11-20T09:00:00Z" });
    expect([...s.records()].map((r) => r.record)).toEqual(records.map(({ seq: _s, ...r }) => r));
    expect(fs.readFileSync(p, "utf8")).not.toMatch(/seq/);
  });

  it("round-trips through a stream, honouring back-pressure", async () => {
    const many: LogRecord[] = [];
    for (let i = 0; i < 20000; i++) many.push({ topic: "ofa_assets", partition: 0, offset: i, ts: i, key: "k", value: telemetryValue("t", i, "u", "Samples", i) });
    const chunks: Buffer[] = [];
    const out = new Writable({
      highWaterMark: 1024,
      write(chunk, _enc, cb) {
        chunks.push(Buffer.from(chunk));
        setImmediate(cb);
      },
    });
    expect(await writeSession(many, out, { program: "p", recorded: "r" })).toBe(20000);
    const p = join(tmp, "w2.jsonl");
    fs.writeFileSync(p, Buffer.concat(chunks));
    const back = [...readSession(p)].map((r) => r.record);
    expect(back).toEqual(many);
  });

  it("writeSessionSync writes the same bytes", () => {
    const p = join(tmp, "w3.jsonl");
    const fd = fs.openSync(p, "w");
    writeSessionSync(records, fd, { program: "mill-line", recorded: "x" });
    fs.closeSync(fd);
    expect(fs.readFileSync(p, "utf8").split("\n")[1]).toBe(JSON.stringify({ topic: "ofa_assets", partition: 0, offset: 0, ts: 1795161600000, key: "M-1", value: records[0]!.value }));
  });
});
