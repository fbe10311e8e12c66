// Records of a session as compact columns (a Batch): what the parser worker (parserWorker.ts)
// hands the replaying thread through a SharedArrayBuffer, and what a binary session file
// (binary.ts) stores. Most records have the OFL telemetry shape (wire.md §1):
//   {topic, partition, offset, ts, key, value: {ID, VALUE, TAG, TYPE, attributes: {timestamp}}}
// with a canonical timestamp (`new Date(ms).toISOString()`); those are numbers and string-table
// indices. Any other line travels as its text (`raw`) and is read with JSON.parse, exactly as
// before, so errors and unusual records behave as they always did.

import type { LogRecord } from "../wire/types.js";
import { IsoTimes } from "../wire/records.js";

/** A column entry's kind. */
export const FAST = 0;
/** the line's text is `raws[value[i]]`: JSON.parse it (anything but the fast shape) */
export const RAW = 1;
/** the file cannot be read past this point: `raws[value[i]]` is the reason, `line[i]` the line */
export const ERROR = 2;

/** `value[i]` when VALUE is the timestamp string itself (clock ticks) */
export const VALUE_IS_STAMP = -2;
/** `key[i]` for a null key */
export const NULL_KEY = -1;

export interface Batch {
  n: number;
  kind: Uint8Array;
  /** 1-based line of the session file (record number in a binary file) */
  line: Int32Array;
  partition: Int32Array;
  offset: Float64Array;
  ts: Float64Array;
  /** ms of attributes.timestamp (the canonical ISO string is regenerated from it) */
  time: Float64Array;
  topic: Int32Array;
  key: Int32Array;
  id: Int32Array;
  value: Int32Array;
  tag: Int32Array;
  type: Int32Array;
  /** strings added to the table by this batch, in index order */
  strings: string[];
  /** clear the string table before adding `strings` */
  reset: boolean;
  /** texts of RAW lines and reasons of ERROR entries */
  raws: string[];
}

/** Typed-array columns of `cap` entries over `buf` from byte `at` (8-byte aligned); returns them and the end. */
export function columnViews(buf: ArrayBufferLike, at: number, cap: number): { cols: Omit<Batch, "n" | "strings" | "reset" | "raws">; end: number } {
  const f64 = (): Float64Array => {
    const a = new Float64Array(buf, at, cap);
    at += cap * 8;
    return a;
  };
  const i32 = (): Int32Array => {
    const a = new Int32Array(buf, at, cap);
    at += cap * 4;
    return a;
  };
  const offset = f64();
  const ts = f64();
  const time = f64();
  const line = i32();
  const partition = i32();
  const topic = i32();
  const key = i32();
  const id = i32();
  const value = i32();
  const tag = i32();
  const type = i32();
  const kind = new Uint8Array(buf, at, cap);
  at += cap;
  at = (at + 7) & ~7;
  return { cols: { kind, line, partition, offset, ts, time, topic, key, id, value, tag, type }, end: at };
}

/** Bytes of the columns of `cap` entries (as laid out by columnViews). */
export function columnBytes(cap: number): number {
  return (cap * (3 * 8 + 9 * 4 + 1) + 7) & ~7;
}

/** The replaying side's string table and the records of a batch. */
export class RecordBuilder {
  private table: string[] = [];
  private readonly isoTimes = new IsoTimes();
  /** counts string-table resets: what a reader cached by string index is stale when it moves */
  generation = 0;

  /** the string table: a batch's key, id, value, tag, type and topic columns index it */
  get strings(): readonly string[] {
    return this.table;
  }

  /** Takes a batch's strings; call once per batch, before `record`. */
  begin(b: Batch): void {
    if (b.reset) {
      this.table = [];
      this.generation++;
    }
    const t = this.table;
    for (const s of b.strings) t.push(s);
  }

  private iso(ms: number): string {
    return this.isoTimes.of(ms);
  }

  /** The FAST entry `i` of `b` as the record JSON.parse would have given. */
  record(b: Batch, i: number): LogRecord {
    const S = this.table;
    const stamp = this.iso(b.time[i]!);
    const vi = b.value[i]!;
    const ki = b.key[i]!;
    return {
      topic: S[b.topic[i]!]!,
      partition: b.partition[i]!,
      offset: b.offset[i]!,
      ts: b.ts[i]!,
      key: ki === NULL_KEY ? null : S[ki]!,
      value: { ID: S[b.id[i]!]!, VALUE: vi === VALUE_IS_STAMP ? stamp : S[vi]!, TAG: S[b.tag[i]!]!, TYPE: S[b.type[i]!]!, attributes: { timestamp: stamp } },
    };
  }
}
