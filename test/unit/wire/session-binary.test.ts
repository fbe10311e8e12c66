// The binary session form (runtime/replay/binary.ts, docs/session-binary.md): JSON Lines →
// binary → replay gives the same records and the same decisions; a truncated or corrupt file is
// an error naming the byte offset; `ofl record --format binary` writes it and `ofl test --replay`
// and `ofl state --session` read it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import * as fs from "node:fs";
import * as os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { main } from "../../../runtime/cli/main.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { BINARY_MAGIC, writeBinarySessionSync } from "../../../runtime/replay/binary.js";
import { replaySession } from "../../../runtime/replay/runner.js";
import { openSession, SessionError, sessionLine, toLogRecord } from "../../../runtime/replay/session.js";
import type { LogRecord } from "../../../runtime/wire/types.js";

const here = fileURLToPath(import.meta.url);
const root = resolve(here, "../../../..");
const fixtures = join(root, "test/fixtures/bench-decisions");
const tmp = fs.mkdtempSync(join(os.tmpdir(), "ofl-session-binary-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const header = { program: "bench", recorded: "2026-11-20T09:00:00Z" };

/** Writes records as a binary session; returns its path. */
function binary(records: Iterable<LogRecord>): string {
  const p = join(tmp, `b${n++}.oflb`);
  const fd = fs.openSync(p, "w");
  try {
    writeBinarySessionSync(records, fd, header, sessionLine);
  } finally {
    fs.closeSync(fd);
  }
  return p;
}
const records = (path: string): LogRecord[] => [...openSession(path).records()].map((r) => r.record);
function errorOf(f: () => unknown): SessionError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SessionError);
    return e as SessionError;
  }
  throw new Error("no error");
}
function program(name: string): IrProgram {
  if (name === "engine-small") return JSON.parse(fs.readFileSync(join(fixtures, "engine-small.ir.json"), "utf8")) as IrProgram;
  const path = join(fixtures, `${name}.ofl`);
  return compile([{ path, text: fs.readFileSync(path, "utf8") }], { name: "bench" }).ir!;
}

describe("round trip JSON Lines → binary", () => {
  it.each(["replay-small", "engine-small"])("%s: the same records and the same decisions on replay", (name) => {
    const jsonl = join(fixtures, `${name}.jsonl`);
    const bin = binary(records(jsonl));
    expect(fs.readFileSync(bin).subarray(0, 8).equals(BINARY_MAGIC)).toBe(true);
    expect(fs.statSync(bin).size).toBeLessThan(fs.statSync(jsonl).size / 2);
    const s = openSession(bin);
    expect(s.format).toBe("binary");
    expect(s.header).toEqual({ ofl_session: 1, ...header });
    expect(records(bin)).toStrictEqual(records(jsonl));
    const ir = program(name);
    const a = replaySession(ir, jsonl);
    const b = replaySession(ir, bin);
    expect(a.passed).toBe(true);
    expect({ ...b, session: "" }).toStrictEqual({ ...a, session: "" });
    expect(b.commands.matched).toBeGreaterThan(20);
  });

  it("keeps every other record exactly as JSON Lines gives it (seeded property)", () => {
    const str = fc.string({ unit: fc.constantFrom(..."aZ0 .-\"\\\té€😀\u0001".split("")), maxLength: 8 });
    const stamp = fc.oneof(fc.date({ min: new Date(0), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true }).map((d) => d.toISOString()), str);
    const value = fc.oneof(
      { weight: 4, arbitrary: fc.record({ ID: str, VALUE: str, TAG: str, TYPE: str, attributes: fc.record({ timestamp: stamp }) }) },
      fc.record({ ID: str, VALUE: fc.oneof(str, fc.integer()), attributes: fc.record({ timestamp: stamp, extra: str }) }),
      fc.record({ TYPE: str, ID: str, VALUE: str, TAG: str, attributes: fc.record({ timestamp: stamp }) }),
      fc.constant(null),
      str,
      fc.jsonValue(),
    );
    const rec = fc.record({
      topic: fc.oneof(fc.constant("ofa_assets"), str.filter((s) => s.length > 0)),
      partition: fc.oneof(fc.nat({ max: 3 }), fc.constant(2 ** 31)),
      offset: fc.oneof(fc.nat(), fc.constant(2 ** 40)),
      ts: fc.oneof(fc.nat(), fc.double({ noNaN: true, noDefaultInfinity: true })),
      key: fc.oneof(fc.constant(null), str),
      value,
    });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 30 }), (rs) => {
        // what a reader of the JSON Lines form would give for these records
        const want = rs.map((r) => toLogRecord(JSON.parse(sessionLine(r))) as LogRecord);
        expect(records(binary(rs))).toStrictEqual(want);
      }),
      { seed: 15, numRuns: 300 },
    );
  });

  it("starts the string table afresh past its limit and spans many blocks", () => {
    const rs: LogRecord[] = [];
    for (let i = 0; i < 120_000; i++) {
      const t = 1795161600000 + i;
      rs.push({ topic: "ofa_assets", partition: 0, offset: i, ts: t, key: `K-${i}`, value: { ID: "v", VALUE: String(i), TAG: "", TYPE: "Samples", attributes: { timestamp: new Date(t).toISOString() } } });
    }
    const got = records(binary(rs));
    expect(got).toHaveLength(rs.length);
    expect(got[119_999]).toStrictEqual(rs[119_999]);
    expect(got[50_001]).toStrictEqual(rs[50_001]);
  });
});

describe("truncated or corrupt files", () => {
  const good = (): Buffer => fs.readFileSync(binary(records(join(fixtures, "replay-small.jsonl"))));
  const write = (b: Buffer): string => {
    const p = join(tmp, `c${n++}.oflb`);
    fs.writeFileSync(p, b);
    return p;
  };
  const readAll = (p: string) => errorOf(() => [...openSession(p).records()]);

  it("a truncated file is an error naming the byte where it ends", () => {
    const b = good();
    const headerEnd = 16 + b.readUInt32LE(12);
    const firstBody = b.readUInt32LE(headerEnd + 4);
    const second = headerEnd + 16 + firstBody;
    for (const cut of [headerEnd, headerEnd + 7, headerEnd + 16 + 100, second, second + 3, b.length - 16, b.length - 5]) {
      const e = readAll(write(b.subarray(0, cut)));
      expect(e.message, String(cut)).toMatch(new RegExp(`^c\\d+\\.oflb: truncated: .* at byte ${cut}$`));
    }
    // inside the preamble or the header: already when the session is opened
    for (const cut of [10, 20]) {
      const e = errorOf(() => openSession(write(b.subarray(0, cut))));
      expect(e.message).toMatch(new RegExp(`truncated: .* at byte ${cut}$`));
    }
  });

  it("a changed byte is an error naming the block it is in", () => {
    const b = good();
    const headerEnd = 16 + b.readUInt32LE(12);
    const c = Buffer.from(b);
    c[headerEnd + 16 + 500]! ^= 0x20;
    expect(readAll(write(c)).message).toMatch(new RegExp(`corrupt: the block's checksum does not match its contents at byte ${headerEnd}$`));
    const d = Buffer.from(b);
    d[headerEnd]! ^= 1;
    expect(readAll(write(d)).message).toMatch(new RegExp(`corrupt: no block starts here at byte ${headerEnd}$`));
    const v = Buffer.from(b);
    v.writeUInt16LE(2, 8);
    expect(errorOf(() => openSession(write(v))).message).toMatch(/binary session version 2 is not supported \(this ofl reads version 1\) at byte 8$/);
  });
});

describe("the CLI", () => {
  let data = "";
  const ofl = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = "";
    let err = "";
    const code = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s), cwd: root, color: false });
    return { code, out, err };
  };
  const prog = "test/conformance/pass/06_replay.ofl";
  const session = "test/conformance/sessions/mill-shift.jsonl";
  beforeAll(() => {
    data = join(tmp, "data");
    const log = SqliteLog.open(data, { program: "mill-line" });
    log.append(records(join(root, session)).map((r) => ({ topic: r.topic, key: r.key, value: r.value, ts: r.ts })));
    log.close();
  });

  it("ofl record --format binary writes a session that ofl test --replay and ofl state --session read", async () => {
    const out = join(tmp, "shift.oflb");
    const r = await ofl(["record", "--data", data, "--format", "binary", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/12 records written/);
    expect(fs.readFileSync(out).subarray(0, 8).equals(BINARY_MAGIC)).toBe(true);
    expect(records(out)).toStrictEqual(records(join(root, session)).map((x, i) => ({ ...x, offset: i })));
    const replay = await ofl(["test", prog, "--replay", out]);
    expect(replay.code).toBe(0);
    expect(replay.out).toMatch(/commands\s+1\s+1\s+1\s+✓/);
    for (const at of ["2026-11-20T08:00:14.999Z", "2026-11-20T08:00:45Z"]) {
      const a = await ofl(["state", prog, "--session", out, "--at", at, "--json"]);
      const b = await ofl(["state", prog, "--session", session, "--at", at, "--json"]);
      expect(a.code).toBe(0);
      expect(JSON.parse(a.out)).toEqual(JSON.parse(b.out));
    }
  });

  it("a bad --format is a usage error; a truncated binary session a clear error, not a stack trace", async () => {
    const bad = await ofl(["record", "--data", data, "--format", "xml", "--out", join(tmp, "x")]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--format: xml is neither jsonl nor binary/);
    const out = join(tmp, "cut.oflb");
    await ofl(["record", "--data", data, "--format", "binary", "--out", out]);
    const b = fs.readFileSync(out);
    fs.writeFileSync(out, b.subarray(0, b.length - 40));
    const r = await ofl(["test", prog, "--replay", out]);
    expect(r.code).toBe(1);
    expect(r.err + r.out).toMatch(new RegExp(`cut\\.oflb: truncated: .* at byte ${b.length - 40}`));
    expect(r.err + r.out).not.toMatch(/\n\s+at /);
  });
});
