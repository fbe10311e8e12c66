// The binary session form (docs/session-binary.md): the records of a session as blocks of
// compact columns (columns.ts), so a replay of a long recording reads it in a few tens of ms
// and is bound by the engine. Written by `ofl record --format binary`; every reader of sessions
// (openSession) recognises it by its magic bytes. Records in the OFL telemetry shape are numbers
// and string-table indices; any other record is kept as its session line (JSON text), so every
// record reads back exactly as from the JSON Lines form.
//
// Layout (little-endian):
//   file   = magic (8 bytes: 89 4F 46 4C 53 0D 0A 1A) version:u16 flags:u16 headerLen:u32
//            header (UTF-8 JSON, the `{"ofl_session": 1, …}` object) block* end
//   block  = "OFLB" bodyLen:u32 records:u32 checksum:u32 body (bodyLen bytes, a multiple of 8)
//   body   = flags:u32 (bit 0: start the string table afresh) strings:u32 (len:u32 UTF-8)*
//            raws:u32 (len:u32 UTF-8)* padding to 8, then the columns of columns.ts for
//            `records` entries: offset ts time (f64), line partition topic key id value tag
//            type (i32), kind (u8), padding to 8
//   end    = "OFLE" 0:u32 totalRecords:u32 0:u32
// checksum: FNV-1a over the body's 32-bit words. A file that ends before `end`, a block whose
// checksum or structure is wrong, is an error naming the byte offset.

import * as fs from "node:fs";
import type { LogRecord } from "../wire/types.js";
import { headerObject, type SessionHeaderFields } from "./header.js";
import { columnBytes, columnViews, FAST, NULL_KEY, RAW, VALUE_IS_STAMP, type Batch } from "./columns.js";
import { isoMillis } from "./parserWorker.js";

export const BINARY_MAGIC = Buffer.from([0x89, 0x4f, 0x46, 0x4c, 0x53, 0x0d, 0x0a, 0x1a]);
export const BINARY_VERSION = 1;
const BLOCK = 0x424c464f; // "OFLB" read as a little-endian u32
const END = 0x454c464f; // "OFLE"
const BLOCK_RECORDS = 8192;
/** the writer starts the string table afresh above this many strings (bounded memory) */
const TABLE_LIMIT = 100_000;

/** A problem with a binary session file, at a byte offset. */
export class BinarySessionError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${reason} at byte ${offset}`);
  }
}

/** Whether the first bytes of a file are the binary session magic. */
export function isBinarySession(fd: number): boolean {
  const b = Buffer.alloc(8);
  const n = fs.readSync(fd, b, 0, 8, 0);
  return n === 8 && b.equals(BINARY_MAGIC);
}

function checksum(body: Uint8Array): number {
  const w = new Int32Array(body.buffer, body.byteOffset, body.byteLength >>> 2);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w[i]!, 16777619);
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** a lone surrogate: UTF-8 cannot carry it (JSON text escapes it), so such a record goes as text */
const LONE_SURROGATE = /\p{Surrogate}/u;
const storable = (s: string): boolean => !LONE_SURROGATE.test(s);

/** Whether a record has the fast shape; fills the fields. Anything else is written as JSON text. */
function fastRecord(r: LogRecord, o: { stamp: string; time: number }): boolean {
  if (typeof r.topic !== "string" || r.topic.length === 0) return false;
  const p = r.partition;
  if (!Number.isInteger(p) || p < 0 || p > 2147483647 || Object.is(p, -0)) return false;
  if (!Number.isInteger(r.offset) || r.offset < 0 || Object.is(r.offset, -0)) return false;
  if (typeof r.ts !== "number" || !Number.isFinite(r.ts) || Object.is(r.ts, -0)) return false;
  if (r.key !== null && (typeof r.key !== "string" || !storable(r.key))) return false;
  if (!storable(r.topic)) return false;
  const v = r.value as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const keys = Object.keys(v);
  if (keys.length !== 5 || keys[0] !== "ID" || keys[1] !== "VALUE" || keys[2] !== "TAG" || keys[3] !== "TYPE" || keys[4] !== "attributes") return false;
  if (typeof v.ID !== "string" || typeof v.VALUE !== "string" || typeof v.TAG !== "string" || typeof v.TYPE !== "string") return false;
  if (!storable(v.ID) || !storable(v.VALUE) || !storable(v.TAG) || !storable(v.TYPE)) return false;
  const a = v.attributes as Record<string, unknown> | null;
  if (typeof a !== "object" || a === null || Array.isArray(a) || Object.getPrototypeOf(a) !== Object.prototype) return false;
  const ak = Object.keys(a);
  if (ak.length !== 1 || ak[0] !== "timestamp" || typeof a.timestamp !== "string") return false;
  const time = isoMillis(a.timestamp);
  if (time !== time) return false;
  o.stamp = a.timestamp;
  o.time = time;
  return true;
}

/** Writes records as a binary session, synchronously; returns the number of records. */
export function writeBinarySessionSync(records: Iterable<LogRecord>, fd: number, header: SessionHeaderFields, line: (r: LogRecord) => string): number {
  const head = Buffer.from(JSON.stringify(headerObject(header)), "utf8");
  const pre = Buffer.alloc(16);
  BINARY_MAGIC.copy(pre, 0);
  pre.writeUInt16LE(BINARY_VERSION, 8);
  pre.writeUInt16LE(0, 10);
  pre.writeUInt32LE(head.length, 12);
  writeAll(fd, pre);
  writeAll(fd, head);
  const colBuf = new ArrayBuffer(columnBytes(BLOCK_RECORDS));
  const { cols } = columnViews(colBuf, 0, BLOCK_RECORDS);
  const table = new Map<string, number>();
  let strings: string[] = [];
  let raws: string[] = [];
  let reset = false;
  let n = 0;
  let total = 0;
  const o = { stamp: "", time: 0 };
  const intern = (s: string): number => {
    let k = table.get(s);
    if (k === undefined) {
      k = table.size;
      table.set(s, k);
      strings.push(s);
    }
    return k;
  };
  const flush = (): void => {
    if (n === 0) return;
    const enc = (list: string[]): Buffer[] => {
      const out: Buffer[] = [];
      const count = Buffer.alloc(4);
      count.writeUInt32LE(list.length);
      out.push(count);
      for (const s of list) {
        const b = Buffer.from(s, "utf8");
        const len = Buffer.alloc(4);
        len.writeUInt32LE(b.length);
        out.push(len, b);
      }
      return out;
    };
    const flags = Buffer.alloc(4);
    flags.writeUInt32LE(reset ? 1 : 0);
    const parts = [flags, ...enc(strings), ...enc(raws)];
    let size = parts.reduce((s, b) => s + b.length, 0);
    const pad = ((size + 7) & ~7) - size;
    if (pad > 0) parts.push(Buffer.alloc(pad));
    size += pad;
    // the columns of n records (columnViews' layout for cap = n)
    const body = Buffer.alloc(size + columnBytes(n));
    let at = 0;
    for (const p of parts) {
      p.copy(body, at);
      at += p.length;
    }
    const { cols: out } = columnViews(body.buffer, body.byteOffset + at, n);
    out.offset.set(cols.offset.subarray(0, n));
    out.ts.set(cols.ts.subarray(0, n));
    out.time.set(cols.time.subarray(0, n));
    out.line.set(cols.line.subarray(0, n));
    out.partition.set(cols.partition.subarray(0, n));
    out.topic.set(cols.topic.subarray(0, n));
    out.key.set(cols.key.subarray(0, n));
    out.id.set(cols.id.subarray(0, n));
    out.value.set(cols.value.subarray(0, n));
    out.tag.set(cols.tag.subarray(0, n));
    out.type.set(cols.type.subarray(0, n));
    out.kind.set(cols.kind.subarray(0, n));
    const bh = Buffer.alloc(16);
    bh.writeUInt32LE(BLOCK, 0);
    bh.writeUInt32LE(body.length, 4);
    bh.writeUInt32LE(n, 8);
    bh.writeUInt32LE(checksum(body), 12);
    writeAll(fd, bh);
    writeAll(fd, body);
    n = 0;
    strings = [];
    raws = [];
    reset = false;
    if (table.size > TABLE_LIMIT) {
      table.clear();
      reset = true;
    }
  };
  for (const r of records) {
    total++;
    cols.line[n] = total;
    if (fastRecord(r, o)) {
      const v = r.value as { ID: string; VALUE: string; TAG: string; TYPE: string };
      cols.kind[n] = FAST;
      cols.topic[n] = intern(r.topic);
      cols.partition[n] = r.partition;
      cols.offset[n] = r.offset;
      cols.ts[n] = r.ts;
      cols.key[n] = r.key === null ? NULL_KEY : intern(r.key);
      cols.id[n] = intern(v.ID);
      cols.value[n] = v.VALUE === o.stamp ? VALUE_IS_STAMP : intern(v.VALUE);
      cols.tag[n] = intern(v.TAG);
      cols.type[n] = intern(v.TYPE);
      cols.time[n] = o.time;
    } else {
      cols.kind[n] = RAW;
      cols.value[n] = raws.length;
      raws.push(line(r));
      cols.offset[n] = cols.ts[n] = cols.time[n] = 0;
      cols.partition[n] = cols.topic[n] = cols.key[n] = cols.id[n] = cols.tag[n] = cols.type[n] = 0;
    }
    n++;
    if (n === BLOCK_RECORDS) flush();
  }
  flush();
  const end = Buffer.alloc(16);
  end.writeUInt32LE(END, 0);
  end.writeUInt32LE(total, 8);
  writeAll(fd, end);
  return total;
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) {
    try {
      off += fs.writeSync(fd, b, off, b.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue; // non-blocking pipe (stdout)
      throw e;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads exactly `len` bytes at `pos` into a fresh buffer, or says how many there were. */
function readAt(fd: number, len: number, pos: number): { buf: Uint8Array; got: number } {
  const buf = new Uint8Array(new ArrayBuffer(len));
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return { buf, got };
}

/** The header object of a binary session (the file starts with the magic). */
export function readBinaryHeader(fd: number): { header: Record<string, unknown>; end: number } {
  const { buf, got } = readAt(fd, 16, 0);
  if (got < 16) throw new BinarySessionError(got, "truncated: the file ends inside its 16-byte preamble");
  const dv = new DataView(buf.buffer);
  const version = dv.getUint16(8, true);
  if (version !== BINARY_VERSION) throw new BinarySessionError(8, `binary session version ${version} is not supported (this ofl reads version ${BINARY_VERSION})`);
  const len = dv.getUint32(12, true);
  const h = readAt(fd, len, 16);
  if (h.got < len) throw new BinarySessionError(16 + h.got, `truncated: the file ends inside its ${len}-byte header`);
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(h.buf));
  } catch {
    throw new BinarySessionError(16, "corrupt: the header is not valid UTF-8 JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header) || (header as { ofl_session?: unknown }).ofl_session === undefined) {
    throw new BinarySessionError(16, 'corrupt: the header is not a {"ofl_session": …} object');
  }
  return { header: header as Record<string, unknown>, end: 16 + len };
}

/** The blocks of a binary session file as batches (each valid until the generator resumes). */
export function* binaryBatches(fd: number): Generator<Batch> {
  let pos = readBinaryHeader(fd).end;
  let total = 0;
  let tableSize = 0;
  for (;;) {
    const { buf: bh, got } = readAt(fd, 16, pos);
    if (got < 16) throw new BinarySessionError(pos + got, got === 0 ? "truncated: the file ends without its end marker (after record " + total + ")" : "truncated: the file ends inside a block header");
    const dv = new DataView(bh.buffer);
    const tag = dv.getUint32(0, true);
    if (tag === END) {
      const count = dv.getUint32(8, true);
      if (count !== total) throw new BinarySessionError(pos, `corrupt: the end marker counts ${count} records, the blocks hold ${total}`);
      return;
    }
    if (tag !== BLOCK) throw new BinarySessionError(pos, "corrupt: no block starts here");
    const len = dv.getUint32(4, true);
    const n = dv.getUint32(8, true);
    const sum = dv.getUint32(12, true);
    if (len % 8 !== 0 || len < columnBytes(n)) throw new BinarySessionError(pos, `corrupt: a block of ${n} records cannot be ${len} bytes`);
    const { buf: body, got: bodyGot } = readAt(fd, len, pos + 16);
    if (bodyGot < len) throw new BinarySessionError(pos + 16 + bodyGot, `truncated: the file ends inside the block at byte ${pos} (${bodyGot} of its ${len} bytes)`);
    if (checksum(body) !== sum) throw new BinarySessionError(pos, "corrupt: the block's checksum does not match its contents");
    const bv = new DataView(body.buffer);
    let at = 0;
    const bad = (why: string): never => {
      throw new BinarySessionError(pos + 16 + at, `corrupt: ${why}`);
    };
    const flags = bv.getUint32(at, true);
    at += 4;
    const list = (): string[] => {
      if (at + 4 > len) bad("a string list runs past the block");
      const count = bv.getUint32(at, true);
      at += 4;
      const out: string[] = [];
      for (let i = 0; i < count; i++) {
        if (at + 4 > len) bad("a string runs past the block");
        const l = bv.getUint32(at, true);
        at += 4;
        if (at + l > len) bad("a string runs past the block");
        try {
          out.push(utf8.decode(body.subarray(at, at + l)));
        } catch {
          bad("a string is not valid UTF-8");
        }
        at += l;
      }
      return out;
    };
    const strings = list();
    const raws = list();
    at = (at + 7) & ~7;
    if (at + columnBytes(n) !== len) bad("the columns do not fill the rest of the block");
    const { cols } = columnViews(body.buffer, at, n);
    const reset = (flags & 1) !== 0;
    if (reset) tableSize = 0;
    tableSize += strings.length;
    // every index in range, every kind known: a reader never yields garbage
    for (let i = 0; i < n; i++) {
      const k = cols.kind[i];
      if (k === RAW) {
        if (cols.value[i]! < 0 || cols.value[i]! >= raws.length) bad(`record ${total + i + 1} points past the block's lines`);
        continue;
      }
      if (k !== FAST) bad(`record ${total + i + 1} has an unknown kind ${k}`);
      const ok = (x: number, nullable: number): boolean => (x >= 0 && x < tableSize) || x === nullable;
      if (!ok(cols.topic[i]!, -9) || !ok(cols.key[i]!, NULL_KEY) || !ok(cols.id[i]!, -9) || !ok(cols.value[i]!, VALUE_IS_STAMP) || !ok(cols.tag[i]!, -9) || !ok(cols.type[i]!, -9)) {
        bad(`record ${total + i + 1} refers to a string that is not in the table`);
      }
      const t = cols.time[i]!;
      if (!Number.isFinite(cols.ts[i]!) || !Number.isInteger(cols.offset[i]!) || cols.offset[i]! < 0 || cols.partition[i]! < 0 || !Number.isInteger(t) || Math.abs(t) > 8.64e15) {
        bad(`record ${total + i + 1} has an impossible number`);
      }
    }
    total += n;
    pos += 16 + len;
    yield { n, strings, raws, reset, ...cols };
  }
}
