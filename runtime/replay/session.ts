// Session files (wire.md §4): JSON Lines, read in both forms (OFL and kcat), written in the OFL
// form; and the binary form (binary.ts, docs/session-binary.md), recognised by its magic bytes;
// a gzip file of JSON Lines (retention's archive, runtime/log/archive.ts) is decompressed in memory.
// Reading streams the file in fixed-size chunks with fs.readSync, so a file of millions of
// lines is read in constant memory (apart from the records the caller keeps). A large JSON Lines
// file is read and parsed by a worker thread (parserWorker.ts) while the caller replays.

import * as fs from "node:fs";
import { basename } from "node:path";
import { gunzipSync } from "node:zlib";
import { mergedOrder } from "../wire/merge.js";
import { classify } from "../wire/records.js";
import type { LogRecord } from "../wire/types.js";
import { BinarySessionError, binaryBatches, isBinarySession, readBinaryHeader } from "./binary.js";
import { ERROR, FAST, RecordBuilder, type Batch } from "./columns.js";
import { ParserWorkerError, startParserWorker } from "./parserWorker.js";

export { headerObject, type SessionHeader, type SessionHeaderFields } from "./header.js";
import { headerObject, type SessionHeader, type SessionHeaderFields } from "./header.js";

export interface SessionOptions {
  /** Turn malformed lines into counted warnings (`--skip-bad-lines`) instead of errors. */
  skipBadLines?: boolean;
  /** Read buffer size in bytes (tests); default 1 MiB. */
  chunkSize?: number;
  /**
   * Where JSON Lines are parsed: "worker" (a second thread), "thread" (the caller's), or "auto"
   * (default: the worker for files of 4 MiB and more, where its start-up is worth it).
   */
  parser?: "auto" | "worker" | "thread";
  /** records per slot of the worker's ring, and strings in its table before it starts afresh (tests) */
  workerSlotRecords?: number;
  workerTableLimit?: number;
  /**
   * Start the parser thread when the session is opened, not when its records are first read: it
   * parses ahead while the caller compiles its program (`ofl test --replay`). `close()` the
   * session when its records may never be read.
   */
  startNow?: boolean;
}

/** JSON Lines files from this size on are parsed in a worker thread (parser: "auto"). */
export const WORKER_MIN_BYTES = 4 << 20;

/** A session file problem, naming the file and line: `shift.jsonl:12: not valid JSON (…)`. */
export class SessionError extends Error {
  readonly file: string;
  /** 1-based; 0 when the problem is the file itself (missing, unreadable) */
  readonly line: number;
  /** the message without the `file:line:` prefix */
  readonly reason: string;
  constructor(file: string, line: number, reason: string) {
    super(line > 0 ? `${basename(file)}:${line}: ${reason}` : `${basename(file)}: ${reason}`);
    this.name = "SessionError";
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

export interface SessionRecord {
  line: number;
  record: LogRecord;
  /** ms of the record's attributes.timestamp when the reader already has it (columns: the stamp is regenerated from it); classify(record, time) then skips parsing it */
  time?: number;
}

export interface OpenSession {
  path: string;
  /** "jsonl" or "binary" (docs/session-binary.md); in the binary form `line` is the record number */
  format: "jsonl" | "binary";
  /** the `{"ofl_session": …}` line, or null when the file has none */
  header: SessionHeader | null;
  /**
   * Streams the records (may be called again to re-read from the start). `fast`: offered each
   * record the reader has as columns (the binary form, JSON Lines read by the worker) before it
   * is built; one it takes (returns true) is not yielded.
   */
  records(fast?: FastRows): Generator<SessionRecord>;
  /** lines skipped with `skipBadLines`, filled while `records()` runs */
  skipped: { line: number; message: string }[];
  /** Ends a parser thread started by `startNow` whose records were not read (otherwise nothing). */
  close(): void;
}

/** A consumer of records still in columns: entry `i` of `b` (strings in `rb.strings`); true when it took it. */
export type FastRows = (b: Batch, i: number, rb: RecordBuilder) => boolean;

const DEFAULT_CHUNK = 1 << 20;

function openFd(path: string): number {
  try {
    return fs.openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such session file"
        : code === "EISDIR"
          ? "is a directory, not a session file"
          : code === "EACCES"
            ? "permission denied"
            : `cannot open (${(e as Error).message})`;
    throw new SessionError(path, 0, why);
  }
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true });

/** A gzip file is decompressed whole, in memory, up to this size (retention's archive files are far smaller). */
export const MAX_GUNZIPPED = 1 << 30;

/** Whether a file starts with gzip's magic bytes. */
function isGzip(path: string): boolean {
  const fd = openFd(path);
  try {
    const b = Buffer.alloc(2);
    return fs.readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

/** The bytes of a session file: read from the file, or (gzip, e.g. retention's archive) from its decompressed content. */
function openSource(path: string): { read(buf: Buffer, n: number): number; close(): void } {
  if (isGzip(path)) {
    let data: Buffer;
    try {
      data = gunzipSync(fs.readFileSync(path), { maxOutputLength: MAX_GUNZIPPED });
    } catch (e) {
      const big = (e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError;
      throw new SessionError(path, 0, big ? `decompressed it is larger than ${MAX_GUNZIPPED >> 20} MiB: decompress it first (gunzip -k ${basename(path)}) and read the .jsonl` : `not a valid gzip file (${(e as Error).message})`);
    }
    let at = 0;
    return {
      read: (buf, n) => {
        const k = data.copy(buf, 0, at, Math.min(data.length, at + n));
        at += k;
        return k;
      },
      close: () => {},
    };
  }
  const fd = openFd(path);
  return { read: (buf, n) => fs.readSync(fd, buf, 0, n, null), close: () => fs.closeSync(fd) };
}

/**
 * Raw lines of a file as strings with 1-based numbers; blank lines are skipped. Throws
 * SessionError for invalid UTF-8 (naming the line). A leading BOM and trailing `\r` are dropped.
 */
function* lines(path: string, chunkSize: number): Generator<{ line: number; text: string }> {
  const src = openSource(path);
  try {
    const buf = Buffer.allocUnsafe(chunkSize);
    let carry: Buffer | null = null; // an incomplete line from the previous chunk
    let lineNo = 0;
    let first = true;
    for (;;) {
      let n: number;
      try {
        n = src.read(buf, chunkSize);
      } catch (e) {
        throw new SessionError(path, 0, `cannot read (${(e as Error).message})`);
      }
      let data: Buffer = n === 0 ? Buffer.alloc(0) : buf.subarray(0, n);
      if (carry !== null) {
        data = Buffer.concat([carry, data]);
        carry = null;
      }
      if (first && data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) data = data.subarray(3);
      if (first && data.length > 0) first = false;
      const eof = n === 0;
      const last = eof ? data.length : data.lastIndexOf(10);
      if (last < 0) {
        // no newline in this chunk: keep it all (a copy: buf is reused)
        carry = Buffer.from(data);
        continue;
      }
      const whole = data.subarray(0, last);
      if (!eof) carry = last + 1 < data.length ? Buffer.from(data.subarray(last + 1)) : null;
      let text: string | null;
      try {
        text = fatalDecoder.decode(whole);
      } catch {
        text = null; // locate the offending line below
      }
      if (text !== null) {
        let start = 0;
        for (;;) {
          const nl = text.indexOf("\n", start);
          const end = nl < 0 ? text.length : nl;
          lineNo++;
          let t = text.slice(start, end);
          if (t.length > 0 && t.charCodeAt(t.length - 1) === 13) t = t.slice(0, -1);
          if (!blank(t)) yield { line: lineNo, text: t };
          if (nl < 0) break;
          start = nl + 1;
        }
      } else {
        let start = 0;
        for (;;) {
          const nl = whole.indexOf(10, start);
          const end = nl < 0 ? whole.length : nl;
          lineNo++;
          let t: string;
          try {
            t = fatalDecoder.decode(whole.subarray(start, end));
          } catch {
            throw new SessionError(path, lineNo, "not valid UTF-8");
          }
          if (t.length > 0 && t.charCodeAt(t.length - 1) === 13) t = t.slice(0, -1);
          if (!blank(t)) yield { line: lineNo, text: t };
          if (nl < 0) break;
          start = nl + 1;
        }
      }
      if (eof) return;
    }
  } finally {
    src.close();
  }
}

/** Whether a line is empty or whitespace only (without copying it, unlike trim()). */
function blank(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

function isHeader(o: Record<string, unknown>): boolean {
  return o.ofl_session !== undefined && o.topic === undefined;
}

function kindOf(x: unknown): string {
  return x === null ? "null" : Array.isArray(x) ? "array" : typeof x;
}

/** A parsed line → LogRecord, or a reason it is not one. Exported for tests and other readers. */
export function toLogRecord(o: unknown): LogRecord | string {
  if (typeof o !== "object" || o === null || Array.isArray(o)) return `not a record (a JSON ${kindOf(o)}, expected an object)`;
  const r = o as Record<string, unknown>;
  const topic = r.topic;
  if (typeof topic !== "string" || topic.length === 0) return `not a record (${topic === undefined ? "missing" : "bad"} "topic")`;
  const partition = r.partition === undefined ? 0 : r.partition;
  if (typeof partition !== "number" || !Number.isInteger(partition) || partition < 0) return `not a record ("partition" must be a non-negative integer)`;
  const offset = r.offset;
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    return `not a record (${offset === undefined ? "missing" : "bad"} "offset": a non-negative integer is needed)`;
  }
  const ts = r.ts;
  if (typeof ts !== "number" || !Number.isFinite(ts)) return `not a record (${ts === undefined ? "missing" : "bad"} "ts": the record time in ms is needed)`;
  const key = r.key === undefined ? null : r.key;
  if (key !== null && typeof key !== "string") return `not a record ("key" must be a string or null)`;
  let value: unknown;
  if ("value" in r) value = r.value;
  else if ("payload" in r) {
    const p = r.payload;
    if (typeof p === "string") {
      try {
        value = JSON.parse(p);
      } catch {
        value = p; // not JSON: kept as text, classify() makes it `bad`
      }
    } else value = p; // null (tombstone) or already parsed
  } else return `not a record (no "value" or "payload")`;
  return { topic, partition, offset, ts, key, value };
}

/** A line of JSON Lines → its record, null for a header line, or the reason it is not a record. */
function lineRecord(text: string): LogRecord | null | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `not valid JSON (${jsonError(text)})`;
  }
  if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && isHeader(parsed as Record<string, unknown>)) return null;
  return toLogRecord(parsed);
}

/** The format of a session file by its first bytes. */
function formatOf(path: string): "jsonl" | "binary" {
  const fd = openFd(path);
  try {
    return isBinarySession(fd) ? "binary" : "jsonl";
  } catch (e) {
    throw new SessionError(path, 0, `cannot read (${(e as Error).message})`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens a session file: reads the header eagerly; `records()` streams the rest. */
export function openSession(path: string, opts: SessionOptions = {}): OpenSession {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
  const skip = opts.skipBadLines === true;
  const format = formatOf(path);
  const header = format === "binary" ? binaryHeader(path) : readSessionHeader(path, chunkSize);
  const gz = format === "jsonl" && isGzip(path);
  let worker = opts.parser === "worker" && !gz;
  if (format === "jsonl" && !gz && (opts.parser ?? "auto") === "auto") {
    try {
      worker = fs.statSync(path).size >= WORKER_MIN_BYTES;
    } catch {
      worker = false;
    }
  }
  /** A bad line: an error, or a counted warning with --skip-bad-lines. */
  const badLine = (line: number, reason: string): void => {
    if (!skip) throw new SessionError(path, line, reason);
    session.skipped.push({ line, message: new SessionError(path, line, reason).message });
  };
  /** The records of batches of columns (binary form, or JSON Lines parsed by the worker). */
  function* fromBatches(batches: Generator<Batch>, fast: FastRows | undefined): Generator<SessionRecord> {
    const rb = new RecordBuilder();
    for (const b of batches) {
      rb.begin(b);
      const kind = b.kind;
      for (let i = 0; i < b.n; i++) {
        const k = kind[i];
        if (k === FAST) {
          if (fast !== undefined && fast(b, i, rb)) continue;
          yield { line: b.line[i]!, record: rb.record(b, i), time: b.time[i]! };
          continue;
        }
        const text = b.raws[b.value[i]!]!;
        if (k === ERROR) throw new SessionError(path, b.line[i]!, text);
        const rec = lineRecord(text);
        if (rec === null) continue;
        if (typeof rec !== "string") yield { line: b.line[i]!, record: rec };
        else badLine(b.line[i]!, rec);
      }
    }
  }
  const workerOptions = { chunkSize, slotRecords: opts.workerSlotRecords, tableLimit: opts.workerTableLimit };
  /** the parser thread started at open (startNow), for the first read */
  let started = worker && opts.startNow === true ? startParserWorker(path, workerOptions) : undefined;
  const session: OpenSession = {
    path,
    format,
    header,
    skipped: [],
    close: () => {
      started?.stop();
      started = undefined;
    },
    records: function* (fast?: FastRows) {
      session.skipped.length = 0;
      if (format === "binary") {
        const fd = openFd(path);
        try {
          yield* fromBatches(binaryBatches(fd), fast);
        } catch (e) {
          if (e instanceof BinarySessionError) throw new SessionError(path, 0, e.message);
          throw e;
        } finally {
          fs.closeSync(fd);
        }
        return;
      }
      if (worker) {
        try {
          const parser = started ?? startParserWorker(path, workerOptions);
          started = undefined;
          try {
            yield* fromBatches(parser.batches, fast);
          } finally {
            parser.stop();
          }
        } catch (e) {
          if (e instanceof ParserWorkerError) throw new SessionError(path, 0, e.message);
          throw e;
        }
        return;
      }
      for (const { line, text } of lines(path, chunkSize)) {
        const rec = lineRecord(text);
        if (rec === null) continue;
        if (typeof rec !== "string") yield { line, record: rec };
        else badLine(line, rec);
      }
    },
  };
  return session;
}

function binaryHeader(path: string): SessionHeader {
  const fd = openFd(path);
  try {
    return readBinaryHeader(fd).header as SessionHeader;
  } catch (e) {
    if (e instanceof BinarySessionError) throw new SessionError(path, 0, e.message);
    throw new SessionError(path, 0, `cannot read (${(e as Error).message})`);
  } finally {
    fs.closeSync(fd);
  }
}

function jsonError(text: string): string {
  try {
    JSON.parse(text);
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

/** Streams the records of a session file with their 1-based line numbers. */
export function* readSession(path: string, opts?: { skipBadLines?: boolean; chunkSize?: number }): Generator<SessionRecord> {
  yield* openSession(path, opts).records();
}

/** The header line of a session file, or null when its first non-blank line is not one. Cheap. */
export function readSessionHeader(path: string, chunkSize = 64 * 1024): SessionHeader | null {
  if (formatOf(path) === "binary") return binaryHeader(path);
  for (const { text } of lines(path, chunkSize)) {
    try {
      const o = JSON.parse(text);
      if (typeof o === "object" && o !== null && !Array.isArray(o) && isHeader(o)) return o as SessionHeader;
    } catch {
      /* the record reader reports it */
    }
    return null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Writing (OFL form)

/** One session line for a record: topic, partition, offset, ts, key, value (never `seq`). */
export function sessionLine(r: LogRecord): string {
  return JSON.stringify({ topic: r.topic, partition: r.partition, offset: r.offset, ts: r.ts, key: r.key, value: r.value === undefined ? null : r.value });
}

function headerLine(header: SessionHeaderFields): string {
  return JSON.stringify(headerObject(header));
}

const FLUSH_AT = 256 * 1024;

/** Writes a session in the OFL form to a file descriptor, synchronously. */
export function writeSessionSync(records: Iterable<LogRecord>, fd: number, header: SessionHeaderFields): number {
  let chunk = headerLine(header) + "\n";
  let count = 0;
  for (const r of records) {
    chunk += sessionLine(r) + "\n";
    count++;
    if (chunk.length >= FLUSH_AT) {
      writeAllSync(fd, chunk);
      chunk = "";
    }
  }
  if (chunk.length > 0) writeAllSync(fd, chunk);
  return count;
}

function writeAllSync(fd: number, s: string): void {
  const b = Buffer.from(s, "utf8");
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

/**
 * Writes a session in the OFL form: a header line, then one line per record. To an fd it writes
 * synchronously; to a stream it honours back-pressure. Resolves with the number of records when
 * everything is handed to the stream/fd (the stream is not ended).
 */
export async function writeSession(
  records: Iterable<LogRecord>,
  out: NodeJS.WritableStream | number,
  header: SessionHeaderFields,
): Promise<number> {
  if (typeof out === "number") return writeSessionSync(records, out, header);
  const write = (s: string): Promise<void> | null => {
    if (out.write(s)) return null;
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        out.removeListener("error", onError);
        resolve();
      };
      const onError = (e: Error) => {
        out.removeListener("drain", onDrain);
        reject(e);
      };
      out.once("drain", onDrain);
      out.once("error", onError);
    });
  };
  let chunk = headerLine(header) + "\n";
  let count = 0;
  for (const r of records) {
    chunk += sessionLine(r) + "\n";
    count++;
    if (chunk.length >= FLUSH_AT) {
      const p = write(chunk);
      chunk = "";
      if (p) await p;
    }
  }
  if (chunk.length > 0) {
    const p = write(chunk);
    if (p) await p;
  }
  return count;
}

/**
 * The records of a session in the order one log would hold them: as read, except for a session
 * of every partition of a partitioned topic (header `partitions` and no `partition`; `ofl record
 * --kafka` writes it merged already, a hand-made one may hold one partition after the other),
 * which is put in the cross stage's order
 * (runtime/wire/merge.ts): inputs by earliest event time, the lower partition on a tie, each
 * followed by the records after it on its partition; where the stage would wait for a partition
 * with no input left, the others go on (the session is all there is). `ofl state` and `ofl
 * import` read such a session this way, holding only what the merge waits on (mergedOrder).
 */
export function* inLogOrder(session: OpenSession): Generator<SessionRecord> {
  const h = session.header;
  const partitions = typeof h?.partitions === "number" && h.partitions > 1 && h.partition === undefined ? h.partitions : 1;
  if (partitions === 1) {
    yield* session.records();
    return;
  }
  yield* mergedOrder(session.records(), partitions, (r) => ({ partition: r.record.partition, ev: classify(r.record, r.time) }));
}
