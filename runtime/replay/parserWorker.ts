// Session input off the replaying thread: a worker thread reads the file, decodes and splits it
// into lines, and parses the lines of the OFL session form itself (`fastLine`, a strict scanner of
// exactly what sessionLine writes); the replaying thread receives compact columns (columns.ts)
// in a ring of slots in a SharedArrayBuffer, and new strings of the string table, raw lines and
// errors through a MessagePort it reads synchronously (receiveMessageOnPort). So a replay costs
// about max(input, engine) instead of their sum. Any line that is not in the fast shape travels
// as its text and is parsed with JSON.parse on the replaying thread, as before: errors, line
// numbers and `--skip-bad-lines` behave exactly as with the in-thread reader (session.ts).
//
// The worker's code is this module's functions as text (`Function.prototype.toString`), run with
// `eval: true`: no separate bundle entry, the same code from the sources (tests) and from dist/.
// So the functions below that run in the worker use nothing from outside their own text but
// globals and `require` (fastLine and its helpers are also used directly by tests and binary.ts).

import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { columnBytes, columnViews, type Batch } from "./columns.js";

/** ms of a canonical ISO time (exactly what `new Date(ms).toISOString()` gives for years
 * 0000–9999: `YYYY-MM-DDTHH:MM:SS.sssZ`), or NaN for anything else. */
export function isoMillis(s: string): number {
  if (s.length !== 24) return NaN;
  const b = new Uint8Array(24);
  for (let k = 0; k < 24; k++) {
    const c = s.charCodeAt(k);
    if (c > 127) return NaN;
    b[k] = c;
  }
  return isoMillisBytes(b, 0);
}

/** Byte ranges and numbers of a line in the fast shape (see fastBytes). */
export interface FastFields {
  topicS: number;
  topicE: number;
  partition: number;
  offset: number;
  ts: number;
  /** -1 for a null key */
  keyS: number;
  keyE: number;
  idS: number;
  idE: number;
  valueS: number;
  valueE: number;
  tagS: number;
  tagE: number;
  typeS: number;
  typeE: number;
  stampS: number;
  /** ms of attributes.timestamp */
  time: number;
  /** FNV-1a hashes of the string fields' bytes (for the string table) */
  topicH: number;
  keyH: number;
  idH: number;
  valueH: number;
  tagH: number;
  typeH: number;
  /** the hash of the last string scanned by strEnd */
  h: number;
}

export function newFastFields(): FastFields {
  return { topicS: 0, topicE: 0, partition: 0, offset: 0, ts: 0, keyS: 0, keyE: 0, idS: 0, idE: 0, valueS: 0, valueE: 0, tagS: 0, tagE: 0, typeS: 0, typeE: 0, stampS: 0, time: 0, topicH: 0, keyH: 0, idH: 0, valueH: 0, tagH: 0, typeH: 0, h: 0 };
}

/**
 * The closing quote of a JSON string whose contents start at b[i], or -1 unless every byte
 * before it is printable ASCII other than a backslash (no escapes, nothing to decode). Leaves
 * the FNV-1a hash of the contents in `o.h`.
 */
export function strEnd(b: Uint8Array, i: number, e: number, o: FastFields): number {
  let h = 0x811c9dc5 | 0;
  for (let k = i; k < e; k++) {
    const c = b[k]!;
    if (c === 34) {
      o.h = h;
      return k;
    }
    if (c < 32 || c > 126 || c === 92) return -1;
    h = Math.imul(h ^ c, 16777619);
  }
  return -1;
}

/** Whether b[i…] starts with the ASCII text `lit`. */
export function bytesAre(b: Uint8Array, i: number, e: number, lit: string): boolean {
  if (i + lit.length > e) return false;
  for (let k = 0; k < lit.length; k++) if (b[i + k] !== lit.charCodeAt(k)) return false;
  return true;
}

/** End of a JSON number (RFC 8259 grammar) starting at b[i], or -1. */
export function numEnd(b: Uint8Array, i: number, e: number): number {
  let k = i;
  if (k < e && b[k] === 45) k++;
  let c = k < e ? b[k]! : 0;
  if (c === 48) k++;
  else if (c >= 49 && c <= 57) {
    k++;
    while (k < e && (c = b[k]!) >= 48 && c <= 57) k++;
  } else return -1;
  if (k < e && b[k] === 46) {
    k++;
    c = k < e ? b[k]! : 0;
    if (!(c >= 48 && c <= 57)) return -1;
    while (k < e && (c = b[k]!) >= 48 && c <= 57) k++;
  }
  c = k < e ? b[k]! : 0;
  if (c === 101 || c === 69) {
    k++;
    c = k < e ? b[k]! : 0;
    if (c === 43 || c === 45) k++;
    c = k < e ? b[k]! : 0;
    if (!(c >= 48 && c <= 57)) return -1;
    while (k < e && (c = b[k]!) >= 48 && c <= 57) k++;
  }
  return k;
}

/** The value of the JSON number b[i, j): short digit strings by hand, else as JSON.parse reads it. */
export function numValue(b: Uint8Array, i: number, j: number): number {
  if (j - i <= 15) {
    let v = 0;
    let k = i;
    for (; k < j; k++) {
      const c = b[k]! - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
    }
    if (k === j) return v;
  }
  let t = "";
  for (let k = i; k < j; k++) t += String.fromCharCode(b[k]!);
  return Number(t);
}

/** ms of a canonical ISO time in b[i, i+24) (as isoMillis), or NaN. */
export function isoMillisBytes(b: Uint8Array, i: number): number {
  const d = (k: number): number => {
    const c = b[i + k]! - 48;
    return c >= 0 && c <= 9 ? c : -1000000;
  };
  if (b[i + 4] !== 45 || b[i + 7] !== 45 || b[i + 10] !== 84 || b[i + 13] !== 58 || b[i + 16] !== 58 || b[i + 19] !== 46 || b[i + 23] !== 90) return NaN;
  let y = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
  const m = d(5) * 10 + d(6);
  const day = d(8) * 10 + d(9);
  const h = d(11) * 10 + d(12);
  const mi = d(14) * 10 + d(15);
  const sec = d(17) * 10 + d(18);
  const ms = d(20) * 100 + d(21) * 10 + d(22);
  if (y < 0 || m < 1 || m > 12 || day < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0) return NaN;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const dim = m === 2 ? (leap ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  if (day > dim) return NaN;
  // days from 1970-01-01 (H. Hinnant's days_from_civil)
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms;
}

/**
 * Parses the line b[s, e) if it is written in the OFL session form as sessionLine writes it
 * (printable ASCII without escapes, no spaces, keys in its order, a canonical timestamp) into
 * `o`; false for anything else (the caller then decodes the line and uses JSON.parse). Where it
 * returns true, the record equals toLogRecord(JSON.parse(line)).
 */
export function fastBytes(b: Uint8Array, s: number, e: number, o: FastFields): boolean {
  // {"topic":"S","partition":N,"offset":N,"ts":N,"key":"S"|null,"value":{"ID":"S","VALUE":"S","TAG":"S","TYPE":"S","attributes":{"timestamp":"S"}}}
  // strings of printable ASCII without backslashes (no escapes, nothing to decode); the rest of
  // the line is matched byte for byte
  if (!bytesAre(b, s, e, '{"topic":"')) return false;
  let i = s + 10;
  let j = strEnd(b, i, e, o);
  if (j <= i) return false;
  o.topicH = o.h;
  o.topicS = i;
  o.topicE = j;
  i = j + 1;
  if (!bytesAre(b, i, e, ',"partition":')) return false;
  i += 13;
  j = numEnd(b, i, e);
  if (j < 0 || b[i] === 45) return false;
  const p = numValue(b, i, j);
  if (!Number.isInteger(p) || p > 2147483647) return false;
  o.partition = p;
  i = j;
  if (!bytesAre(b, i, e, ',"offset":')) return false;
  i += 10;
  j = numEnd(b, i, e);
  if (j < 0 || b[i] === 45) return false;
  const off = numValue(b, i, j);
  if (!Number.isInteger(off)) return false;
  o.offset = off;
  i = j;
  if (!bytesAre(b, i, e, ',"ts":')) return false;
  i += 6;
  j = numEnd(b, i, e);
  if (j < 0) return false;
  const ts = numValue(b, i, j);
  if (!Number.isFinite(ts)) return false;
  o.ts = ts;
  i = j;
  if (!bytesAre(b, i, e, ',"key":')) return false;
  i += 7;
  if (bytesAre(b, i, e, "null")) {
    o.keyS = -1;
    o.keyE = -1;
    i += 4;
  } else {
    if (b[i] !== 34) return false;
    j = strEnd(b, i + 1, e, o);
    if (j < 0) return false;
    o.keyH = o.h;
    o.keyS = i + 1;
    o.keyE = j;
    i = j + 1;
  }
  if (!bytesAre(b, i, e, ',"value":{"ID":"')) return false;
  i += 16;
  j = strEnd(b, i, e, o);
  if (j < 0) return false;
  o.idH = o.h;
  o.idS = i;
  o.idE = j;
  i = j + 1;
  if (!bytesAre(b, i, e, ',"VALUE":"')) return false;
  i += 10;
  j = strEnd(b, i, e, o);
  if (j < 0) return false;
  o.valueH = o.h;
  o.valueS = i;
  o.valueE = j;
  i = j + 1;
  if (!bytesAre(b, i, e, ',"TAG":"')) return false;
  i += 8;
  j = strEnd(b, i, e, o);
  if (j < 0) return false;
  o.tagH = o.h;
  o.tagS = i;
  o.tagE = j;
  i = j + 1;
  if (!bytesAre(b, i, e, ',"TYPE":"')) return false;
  i += 9;
  j = strEnd(b, i, e, o);
  if (j < 0) return false;
  o.typeH = o.h;
  o.typeS = i;
  o.typeE = j;
  i = j + 1;
  if (!bytesAre(b, i, e, ',"attributes":{"timestamp":"')) return false;
  i += 28;
  if (i + 24 + 4 !== e || b[i + 24] !== 34 || b[i + 25] !== 125 || b[i + 26] !== 125 || b[i + 27] !== 125) return false;
  const time = isoMillisBytes(b, i);
  if (time !== time) return false;
  o.stampS = i;
  o.time = time;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The worker (runs in its own thread; see the note at the top)

/** Control words per slot: state (0 free, 1 filled), count. Then one word: stop requested. */
const CTL_STATE = 0;
const CTL_COUNT = 1;

interface WorkerData {
  path: string;
  chunkSize: number;
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  slots: number;
  cap: number;
  /** byte offsets of each slot's columns in `data`, in the order of `columnNames` */
  layout: number[][];
  port: MessagePort;
  tableLimit: number;
}

/** The worker's program; `files` is node:fs (passed in: a bundler rewrites `require` in modules). */
function parserWorkerMain(wd: WorkerData, files: typeof import("node:fs")): void {
  // control words: per slot [state (0 free, 1 filled), count], as CTL_STATE/CTL_COUNT say
  const fs = files;
  const ctl = new Int32Array(wd.control);
  const K = wd.slots;
  const cap = wd.cap;
  const cols = wd.layout.map((l) => ({
    offset: new Float64Array(wd.data, l[0], cap),
    ts: new Float64Array(wd.data, l[1], cap),
    time: new Float64Array(wd.data, l[2], cap),
    line: new Int32Array(wd.data, l[3], cap),
    partition: new Int32Array(wd.data, l[4], cap),
    topic: new Int32Array(wd.data, l[5], cap),
    key: new Int32Array(wd.data, l[6], cap),
    id: new Int32Array(wd.data, l[7], cap),
    value: new Int32Array(wd.data, l[8], cap),
    tag: new Int32Array(wd.data, l[9], cap),
    type: new Int32Array(wd.data, l[10], cap),
    kind: new Uint8Array(wd.data, l[11], cap),
  }));
  let strings: string[] = [];
  let raws: string[] = [];
  let reset = false;
  let slot = 0;
  let n = 0;
  let c = cols[0]!;
  const o = newFastFields();
  // the string table, keyed by bytes: a hash of the bytes → ids of the strings with that hash
  let byHash = new Map<number, number | number[]>();
  let table: string[] = [];
  let buf = Buffer.allocUnsafe(Math.max(wd.chunkSize, 16));
  const same = (id: number, s: number, e: number): boolean => {
    const t = table[id]!;
    if (t.length !== e - s) return false;
    for (let k = 0; k < t.length; k++) if (t.charCodeAt(k) !== buf[s + k]) return false;
    return true;
  };
  const intern = (s: number, e: number, h: number): number => {
    const at = byHash.get(h);
    if (at !== undefined) {
      if (typeof at === "number") {
        if (same(at, s, e)) return at;
      } else for (const id of at) if (same(id, s, e)) return id;
    }
    const id = table.length;
    const str = buf.toString("latin1", s, e); // printable ASCII (fastBytes checked)
    table.push(str);
    strings.push(str);
    if (at === undefined) byHash.set(h, id);
    else if (typeof at === "number") byHash.set(h, [at, id]);
    else at.push(id);
    return id;
  };
  const begin = (): void => {
    while (Atomics.load(ctl, slot * 2) !== 0) Atomics.wait(ctl, slot * 2, 1);
    c = cols[slot]!;
    n = 0;
    strings = [];
    raws = [];
    reset = false;
    if (table.length > wd.tableLimit) {
      byHash = new Map();
      table = [];
      reset = true;
    }
  };
  const flush = (done: boolean): void => {
    ctl[slot * 2 + 1] = n;
    port.postMessage({ strings, raws, reset, done });
    Atomics.store(ctl, slot * 2, 1);
    Atomics.notify(ctl, slot * 2);
    slot = (slot + 1) % K;
  };
  const port = wd.port;
  const room = (): void => {
    if (n === cap) {
      flush(false);
      begin();
    }
  };
  const decoder = new TextDecoder("utf-8", { fatal: true });
  /** the line buf[s, e) (no newline, no trailing CR, not blank); false if it is not UTF-8 */
  const emit = (lineNo: number, s: number, e: number): boolean => {
    room();
    c.line[n] = lineNo;
    if (fastBytes(buf, s, e, o)) {
      c.kind[n] = 0;
      c.topic[n] = intern(o.topicS, o.topicE, o.topicH);
      c.partition[n] = o.partition;
      c.offset[n] = o.offset;
      c.ts[n] = o.ts;
      c.key[n] = o.keyS < 0 ? -1 : intern(o.keyS, o.keyE, o.keyH);
      c.id[n] = intern(o.idS, o.idE, o.idH);
      let v = -2;
      if (o.valueE - o.valueS !== 24) v = intern(o.valueS, o.valueE, o.valueH);
      else {
        for (let k = 0; k < 24; k++) {
          if (buf[o.valueS + k] !== buf[o.stampS + k]) {
            v = intern(o.valueS, o.valueE, o.valueH);
            break;
          }
        }
      }
      c.value[n] = v;
      c.tag[n] = intern(o.tagS, o.tagE, o.tagH);
      c.type[n] = intern(o.typeS, o.typeE, o.typeH);
      c.time[n] = o.time;
    } else {
      let text: string;
      try {
        text = decoder.decode(buf.subarray(s, e));
      } catch {
        return false;
      }
      c.kind[n] = 1;
      c.value[n] = raws.length;
      raws.push(text);
    }
    n++;
    return true;
  };
  const fail = (lineNo: number, reason: string): void => {
    room();
    c.line[n] = lineNo;
    c.kind[n] = 2;
    c.value[n] = raws.length;
    raws.push(reason);
    n++;
  };
  begin();
  // lines as lines() in session.ts splits them: a leading BOM dropped, a trailing CR dropped,
  // blank lines (spaces, tabs, CRs) skipped, the first line that is not UTF-8 an error
  let fd = -1;
  try {
    fd = fs.openSync(wd.path, "r");
  } catch (e) {
    fail(0, `cannot open (${(e as Error).message})`);
  }
  if (fd >= 0) {
    let have = 0; // bytes in buf: an incomplete line carried over, then what was read
    let lineNo = 0;
    let first = true;
    for (;;) {
      if (have === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2); // a line longer than the buffer
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      let got: number;
      try {
        got = fs.readSync(fd, buf, have, Math.min(wd.chunkSize, buf.length - have), null);
      } catch (e) {
        fail(0, `cannot read (${(e as Error).message})`);
        break;
      }
      const eof = got === 0;
      const end = have + got;
      let s = 0;
      if (first && end >= 3) {
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) s = 3;
        first = false;
      } else if (first && eof) first = false;
      else if (first && end < 3) {
        have = end;
        continue; // too short to tell whether a BOM starts the file
      }
      let bad = false;
      for (;;) {
        let nl = buf.indexOf(10, s);
        if (nl >= end) nl = -1;
        if (nl < 0 && !eof) break;
        const lineEnd = nl < 0 ? end : nl;
        if (nl < 0 && s === end) break; // nothing after the last newline
        lineNo++;
        let e = lineEnd;
        if (e > s && buf[e - 1] === 13) e--;
        let blank = true;
        for (let k = s; k < e; k++) {
          const ch = buf[k];
          if (ch !== 32 && ch !== 9 && ch !== 13) {
            blank = false;
            break;
          }
        }
        if (!blank && !emit(lineNo, s, e)) {
          fail(lineNo, "not valid UTF-8");
          bad = true;
          break;
        }
        s = nl < 0 ? end : nl + 1;
        if (nl < 0) break;
      }
      if (bad || eof) break;
      // keep the incomplete last line at the start of the buffer (only its bytes are copied)
      buf.copy(buf, 0, s, end);
      have = end - s;
    }
    fs.closeSync(fd);
  }
  flush(true);
}

let source: string | undefined;
/** The worker's program: the functions above, as text. */
function workerSource(): string {
  if (source === undefined) {
    const fns = [newFastFields, strEnd, bytesAre, numEnd, numValue, isoMillisBytes, fastBytes, parserWorkerMain].map((f) => f.toString()).join("\n");
    // a failure anywhere (even a missing global) reaches the replaying thread as a message
    // dynamic import(): the code runs as CommonJS, or as ES module code when the process was
    // started with --input-type=module (an eval worker inherits that flag)
    source = `"use strict";
import("node:worker_threads").then(async (wt) => {
  const wd = wt.workerData;
  try {
    const files = await import("node:fs");
${fns}
    ${parserWorkerMain.name}(wd, files);
  } catch (e) {
    const ctl = new Int32Array(wd.control);
    wd.port.postMessage({ fatal: String((e && e.stack) || e) });
    for (let s = 0; s < wd.slots; s++) { Atomics.store(ctl, s * 2, 2); Atomics.notify(ctl, s * 2); }
  }
});
`;
  }
  return source;
}

/** Thrown by a parser's batches when the worker itself fails (not the file: that is an ERROR entry). */
export class ParserWorkerError extends Error {}

export interface WorkerBatchOptions {
  chunkSize: number;
  /** records per slot (tests use small ones to cross slot boundaries) */
  slotRecords?: number;
  slots?: number;
  /** size of the string table above which the worker starts it afresh */
  tableLimit?: number;
}

/**
 * The parser thread, started now (it begins reading at once, up to its slots, while the caller
 * does something else: `ofl test --replay` compiles the program meanwhile). `batches`: the lines
 * of the session file as batches of columns; a batch is valid until the generator is resumed
 * (its slot is then handed back to the worker). `stop` ends the thread (also when `batches` was
 * never read).
 */
export function startParserWorker(path: string, opts: WorkerBatchOptions): { batches: Generator<Batch>; stop(): void } {
  const K = opts.slots ?? 4;
  const cap = opts.slotRecords ?? 8192;
  const control = new SharedArrayBuffer(K * 2 * 4);
  const data = new SharedArrayBuffer(K * columnBytes(cap));
  const ctl = new Int32Array(control);
  const views = [];
  const layout: number[][] = [];
  for (let s = 0; s < K; s++) {
    const { cols } = columnViews(data, s * columnBytes(cap), cap);
    views.push(cols);
    layout.push([cols.offset, cols.ts, cols.time, cols.line, cols.partition, cols.topic, cols.key, cols.id, cols.value, cols.tag, cols.type, cols.kind].map((a) => a.byteOffset));
  }
  const { port1, port2 } = new MessageChannel();
  const wd: WorkerData = { path, chunkSize: opts.chunkSize, control, data, slots: K, cap, layout, port: port2, tableLimit: opts.tableLimit ?? 100_000 };
  const worker = new Worker(workerSource(), { eval: true, workerData: wd, transferList: [port2] });
  worker.unref();
  port1.unref();
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const stop = (): void => {
    port1.close();
    void worker.terminate();
  };
  return { batches: batchesOf(ctl, views, port1, nap, K), stop };
}

/** The slots the worker fills, in turn, as batches (`nap`: a short wait for a message posted just before its slot was marked). */
function* batchesOf(ctl: Int32Array, views: ReturnType<typeof columnViews>["cols"][], port1: MessagePort, nap: Int32Array, K: number): Generator<Batch> {
  for (let slot = 0; ; slot = (slot + 1) % K) {
    const at = slot * 2 + CTL_STATE;
    while (Atomics.load(ctl, at) === 0) Atomics.wait(ctl, at, 0, 1000);
    let msg = receiveMessageOnPort(port1);
    while (msg === undefined) {
      Atomics.wait(nap, 0, 0, 1); // posted before the slot was marked: it arrives at once
      msg = receiveMessageOnPort(port1);
    }
    const m = msg.message as { strings: string[]; raws: string[]; reset: boolean; done: boolean; fatal?: string };
    if (m.fatal !== undefined) throw new ParserWorkerError(`the session parser thread failed: ${m.fatal}`);
    const batch: Batch = { n: ctl[slot * 2 + CTL_COUNT]!, strings: m.strings, raws: m.raws, reset: m.reset, ...views[slot]! };
    yield batch;
    Atomics.store(ctl, at, 0);
    Atomics.notify(ctl, at);
    if (m.done) return;
  }
}
