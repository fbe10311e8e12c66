// The log: an ordered, durable sequence of Kafka-shaped records (wire.md). Synchronous on
// purpose: better-sqlite3 is synchronous and the engine is a synchronous fold over records; a
// Kafka implementation wraps its async client around the same shape.

import type { LogRecord, NewRecord } from "../wire/types.js";

export interface ReadOptions {
  /** one topic (records in offset order), or every topic (records in global `seq` order) */
  topic?: string;
  /** first offset (needs `topic`) */
  fromOffset?: number;
  /** first global sequence number (with or without `topic`) */
  fromSeq?: number;
  /** at most this many records */
  limit?: number;
}

export interface TimeRangeOptions {
  /** one topic, or every topic */
  topic?: string;
  /** inclusive, ms; default: from the start */
  fromMs?: number;
  /** inclusive, ms; default: to the end */
  toMs?: number;
}

export interface Log {
  /**
   * Appends a batch atomically and returns the records as stored (partition 0, offsets assigned per
   * topic, contiguous from 0; `seq` assigned globally, contiguous from 0). With SqliteLog the batch
   * is durable (fsynced) when this returns. Subscribers are notified before it returns.
   */
  append(records: NewRecord[]): LogRecord[];
  /** Records in order; safe to append while iterating (reads in pages). */
  read(opts?: ReadOptions): Iterable<LogRecord>;
  /**
   * Records whose event time lies in [fromMs, toMs], in log (`seq`) order. Event time is
   * `value.attributes.timestamp` when present and parseable (ofa_assets records), else `ts`.
   */
  readByTime(opts?: TimeRangeOptions): Iterable<LogRecord>;
  /** The first offset of a topic still on the log (retention moves older records out); absent: 0 (nothing is ever moved out). */
  firstOffset?(topic: string): number;
  /** The next offset of a topic (= its record count, archived ones included); 0 for an unknown topic. */
  endOffset(topic: string): number;
  /** The next global sequence number (= the number of records in the log). OFL addition. */
  endSeq(): number;
  /**
   * Delivers, synchronously within this call, the existing records with `seq >= fromSeq`, then
   * each later append batch of this process (only records with seq >= fromSeq). Returns an
   * unsubscribe function. A listener that throws does not fail the append: the error is rethrown
   * asynchronously (an uncaught exception).
   */
  subscribe(fromSeq: number, listener: (recs: LogRecord[]) => void): () => void;
  close(): void;
}

export type { LogRecord, NewRecord };
