// The embedded durable log: one SQLite file (better-sqlite3, WAL, synchronous = FULL), one
// transaction per append batch, so a batch is on disk when append() returns and a crash keeps
// every acknowledged record. Users can inspect it: `sqlite3 .ofl/log/log.sqlite
// 'select topic, "offset", ts, event_time, key, value from records limit 10'`.

import Database from "better-sqlite3";
import * as fs from "node:fs";
import { join } from "node:path";
import type { LogRecord, NewRecord } from "../wire/types.js";
import { checkNewRecord, eventTime, notify } from "./common.js";
import type { Log, ReadOptions, TimeRangeOptions } from "./types.js";

export const SCHEMA_VERSION = 1;
export const LOG_FILE = "log.sqlite";

const PAGE = 2000;
/** rows per multi-row INSERT */
const MULTI = 50;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  name  TEXT PRIMARY KEY,
  value TEXT
);
CREATE TABLE IF NOT EXISTS records (
  seq         INTEGER PRIMARY KEY,   -- global append order, from 0, gap-free
  topic       TEXT    NOT NULL,
  "partition" INTEGER NOT NULL DEFAULT 0,
  "offset"    INTEGER NOT NULL,      -- per topic and partition, from 0, gap-free
  ts          INTEGER NOT NULL,      -- record time, ms (Kafka ts)
  event_time  INTEGER,               -- attributes.timestamp in ms, else ts
  key         TEXT,
  value       TEXT    NOT NULL       -- JSON
);
-- partition is always 0 in the embedded log, so (topic, offset) is the record's identity
CREATE UNIQUE INDEX IF NOT EXISTS records_topic_offset ON records(topic, "offset");
CREATE INDEX IF NOT EXISTS records_event_time ON records(event_time, seq);
`;

/**
 * A row as read: an array (better-sqlite3's raw mode: about half the cost of an object per row on
 * a replay), [seq, offset, ts, key, value, topic]; `topic` is only selected when the query does not
 * fix it, and `partition` never (always 0 in the embedded log).
 */
type Row = [seq: number, offset: number, ts: number, key: string | null, value: string, topic?: string];

/** A row whose stored value is not JSON (a torn or damaged write): where it is and why. */
export interface CorruptRow {
  seq: number;
  topic: string;
  offset: number;
  why: string;
}

/** Reading met a damaged row (and the log was not opened to skip them). */
export class CorruptRecordError extends Error {
  constructor(
    readonly path: string,
    readonly row: CorruptRow,
  ) {
    super(`${path}: the record at seq ${row.seq} (${row.topic} offset ${row.offset}) is damaged: its value is not JSON (${row.why})`);
    this.name = "CorruptRecordError";
  }
}

/** internal: thrown by parseValue, turned into CorruptRecordError (with the path) or skipped */
class DamagedValue extends Error {}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DamagedValue((e as Error).message);
  }
}

export interface SqliteLogOptions {
  /** the program name, stored in `meta` on first open */
  program?: string;
  /** open read-only (e.g. `ofl state`, `ofl record` next to a running `ofl run`) */
  readonly?: boolean;
  /**
   * Called for each damaged row met while reading, which is then skipped (`ofl record` exports
   * what is readable). Without it, reading a damaged row throws CorruptRecordError.
   */
  onCorrupt?: (row: CorruptRow) => void;
}

/** Row's columns; COLS_TOPIC adds the topic for reads across topics */
const COLS = `seq, "offset", ts, key, value`;
const COLS_TOPIC = `${COLS}, topic`;

export class SqliteLog implements Log {
  readonly path: string;
  private db: Database.Database;
  private listeners = new Set<{ fromSeq: number; fn: (recs: LogRecord[]) => void }>();
  private insert: Database.Statement;
  private insertMulti: Database.Statement;
  private maxOffset: Database.Statement;
  private maxSeq: Database.Statement;
  private appendTx: Database.Transaction<(records: NewRecord[]) => LogRecord[]>;
  private stmts = new Map<string, Database.Statement>();
  private readonly onCorrupt: ((row: CorruptRow) => void) | undefined;

  /** Opens (creating) `dir/log.sqlite`; `dir` is created as needed. */
  static open(dir: string, opts: SqliteLogOptions = {}): SqliteLog {
    if (!opts.readonly) fs.mkdirSync(dir, { recursive: true });
    return new SqliteLog(join(dir, LOG_FILE), opts);
  }

  private constructor(path: string, opts: SqliteLogOptions) {
    this.path = path;
    this.onCorrupt = opts.onCorrupt;
    const db = new Database(path, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true });
    this.db = db;
    try {
      db.pragma("busy_timeout = 10000");
      if (!opts.readonly) {
        db.pragma("journal_mode = WAL");
        db.pragma("synchronous = FULL");
      // checkpoint the WAL into the main file every ~40 MB rather than 4 MB: index pages at the
      // right edge are copied once per checkpoint instead of ten times (≈ +20% append rate)
      db.pragma("wal_autocheckpoint = 10000");
        db.exec(SCHEMA);
      }
      const version = this.meta("schema_version");
      if (version === null) {
        if (!opts.readonly) this.setMeta("schema_version", String(SCHEMA_VERSION));
      } else if (Number(version) > SCHEMA_VERSION) {
        throw new Error(`${path} has log schema ${version}; this OFL reads up to ${SCHEMA_VERSION} (upgrade OFL)`);
      }
      if (opts.program !== undefined && !opts.readonly && this.meta("program") === null) this.setMeta("program", opts.program);
    } catch (e) {
      db.close();
      throw e;
    }
    this.insert = db.prepare(`INSERT INTO records (seq, topic, "partition", "offset", ts, event_time, key, value) VALUES (?, ?, 0, ?, ?, ?, ?, ?)`);
    // records moved out by retention (deleteBefore) leave floors in `meta`: offsets and seqs
    // continue after them even when every record of a topic (or of the log) was moved out
    this.maxOffset = db.prepare(
      `SELECT MAX(m) AS m FROM (SELECT MAX("offset") AS m FROM records WHERE topic = :t UNION ALL SELECT CAST(value AS INTEGER) - 1 FROM meta WHERE name = 'floor_offset:' || :t)`,
    );
    this.maxSeq = db.prepare(`SELECT MAX(m) AS m FROM (SELECT MAX(seq) AS m FROM records UNION ALL SELECT CAST(value AS INTEGER) - 1 FROM meta WHERE name = 'floor_seq')`);
    // The next offsets are read inside the (IMMEDIATE, i.e. write-locked) transaction, so two
    // processes appending to one file still get contiguous offsets.
    // Rows go in MULTI at a time (one statement call per MULTI rows roughly halves the per-row
    // cost of better-sqlite3), the rest one by one.
    const row = `(?, ?, 0, ?, ?, ?, ?, ?)`;
    this.insertMulti = db.prepare(`INSERT INTO records (seq, topic, "partition", "offset", ts, event_time, key, value) VALUES ${Array(MULTI).fill(row).join(", ")}`);
    const args: unknown[] = new Array(7 * MULTI);
    this.appendTx = db.transaction((records: NewRecord[]) => {
      const next = new Map<string, number>();
      let lastTopic = "";
      let lastOff = 0; // the next offset of lastTopic
      let seq = ((this.maxSeq.get() as { m: number | null }).m ?? -1) + 1;
      const out: LogRecord[] = new Array(records.length);
      const n = records.length;
      const multiEnd = n - (n % MULTI);
      for (let i = 0; i < n; i++) {
        const r = records[i]!;
        let off: number;
        if (r.topic === lastTopic) off = lastOff;
        else {
          if (lastTopic !== "") next.set(lastTopic, lastOff);
          const known = next.get(r.topic);
          off = known !== undefined ? known : ((this.maxOffset.get({ t: r.topic }) as { m: number | null }).m ?? -1) + 1;
          lastTopic = r.topic;
        }
        lastOff = off + 1;
        const value = r.value === undefined ? null : r.value;
        const text = JSON.stringify(value);
        const et = eventTime(value, r.ts);
        if (i < multiEnd) {
          const o = (i % MULTI) * 7;
          args[o] = seq;
          args[o + 1] = r.topic;
          args[o + 2] = off;
          args[o + 3] = r.ts;
          args[o + 4] = et;
          args[o + 5] = r.key;
          args[o + 6] = text;
          if (o === 7 * (MULTI - 1)) this.insertMulti.run(args);
        } else {
          this.insert.run(seq, r.topic, off, r.ts, et, r.key, text);
        }
        out[i] = { topic: r.topic, partition: 0, offset: off, ts: r.ts, key: r.key, value, seq };
        seq++;
      }
      return out;
    });
  }

  /** A value of the `meta` table (schema_version, program, …), or null. */
  meta(name: string): string | null {
    const row = this.db.prepare(`SELECT value FROM meta WHERE name = ?`).get(name) as { value: string | null } | undefined;
    return row?.value ?? null;
  }

  setMeta(name: string, value: string): void {
    this.db.prepare(`INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`).run(name, value);
  }

  append(records: NewRecord[]): LogRecord[] {
    if (records.length === 0) return [];
    records.forEach(checkNewRecord);
    const out = this.appendTx.immediate(records);
    notify(this.listeners, out);
    return out;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (s === undefined) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  private rawStmt(sql: string): Database.Statement {
    let s = this.stmts.get(`raw:${sql}`);
    if (s === undefined) this.stmts.set(`raw:${sql}`, (s = this.db.prepare(sql).raw(true)));
    return s;
  }

  /** Reads in pages (never holds a cursor open), so appending while iterating is fine. */
  *read(opts: ReadOptions = {}): Generator<LogRecord> {
    let limit = opts.limit ?? Infinity;
    if (opts.topic !== undefined) {
      const topic = opts.topic;
      let off = Math.max(0, opts.fromOffset ?? 0);
      const fromSeq = opts.fromSeq ?? 0;
      const s = this.rawStmt(`SELECT ${COLS} FROM records WHERE topic = ? AND "offset" >= ? AND seq >= ? ORDER BY "offset" LIMIT ?`);
      while (limit > 0) {
        const rows = s.all(topic, off, fromSeq, Math.min(PAGE, limit)) as Row[];
        for (const r of rows) {
          const rec = this.toRecord(r, topic);
          if (rec !== null) yield rec;
        }
        if (rows.length < Math.min(PAGE, limit)) return;
        limit -= rows.length;
        off = rows[rows.length - 1]![1] + 1;
      }
    } else {
      if (opts.fromOffset !== undefined) throw new Error("read: fromOffset needs a topic (use fromSeq across topics)");
      let seq = Math.max(0, opts.fromSeq ?? 0);
      const s = this.rawStmt(`SELECT ${COLS_TOPIC} FROM records WHERE seq >= ? ORDER BY seq LIMIT ?`);
      while (limit > 0) {
        const rows = s.all(seq, Math.min(PAGE, limit)) as Row[];
        for (const r of rows) {
          const rec = this.toRecord(r);
          if (rec !== null) yield rec;
        }
        if (rows.length < Math.min(PAGE, limit)) return;
        limit -= rows.length;
        seq = rows[rows.length - 1]![0] + 1;
      }
    }
  }

  /**
   * In log order: the index on (event_time, seq) bounds the seq range, then pages walk that
   * range by seq, filtering on topic and event time (unary `+` keeps SQLite on the rowid order).
   */
  *readByTime(opts: TimeRangeOptions = {}): Generator<LogRecord> {
    const from = opts.fromMs ?? Number.MIN_SAFE_INTEGER;
    const to = opts.toMs ?? Number.MAX_SAFE_INTEGER;
    const args = opts.topic !== undefined ? [opts.topic] : [];
    const bounds = this.stmt(`SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM records WHERE event_time BETWEEN ? AND ?`).get(from, to) as {
      lo: number | null;
      hi: number | null;
    };
    if (bounds.lo === null || bounds.hi === null) return;
    const page = this.rawStmt(
      `SELECT ${COLS_TOPIC} FROM records WHERE seq >= ? AND seq <= ? AND ${opts.topic !== undefined ? "+topic = ? AND " : ""}+event_time BETWEEN ? AND ? ORDER BY seq LIMIT ${PAGE}`,
    );
    let seq = bounds.lo;
    for (;;) {
      const rows = page.all(seq, bounds.hi, ...args, from, to) as Row[];
      for (const r of rows) {
        const rec = this.toRecord(r);
        if (rec !== null) yield rec;
      }
      if (rows.length < PAGE) return;
      seq = rows[rows.length - 1]![0] + 1;
    }
  }

  /** A row as a record (of `topic` when the query fixed it); a damaged one throws CorruptRecordError, or is reported and skipped (null) with `onCorrupt`. */
  private toRecord(r: Row, topic: string = r[5]!): LogRecord | null {
    let value: unknown;
    try {
      value = parseValue(r[4]);
    } catch (e) {
      if (!(e instanceof DamagedValue)) throw e;
      const row: CorruptRow = { seq: r[0], topic, offset: r[1], why: e.message };
      if (this.onCorrupt) {
        this.onCorrupt(row);
        return null;
      }
      throw new CorruptRecordError(this.path, row);
    }
    return { topic, partition: 0, offset: r[1], ts: r[2], key: r[3], value, seq: r[0] };
  }

  endOffset(topic: string): number {
    return ((this.maxOffset.get({ t: topic }) as { m: number | null }).m ?? -1) + 1;
  }

  endSeq(): number {
    return ((this.maxSeq.get() as { m: number | null }).m ?? -1) + 1;
  }

  subscribe(fromSeq: number, listener: (recs: LogRecord[]) => void): () => void {
    let seq = Math.max(0, fromSeq);
    for (;;) {
      const batch = [...this.read({ fromSeq: seq, limit: PAGE })];
      if (batch.length === 0) break;
      listener(batch);
      seq = batch[batch.length - 1]!.seq! + 1;
    }
    const l = { fromSeq: seq, fn: listener };
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }

  /** The first global sequence number still on the log (records before it were moved out by retention); endSeq() when empty. */
  firstSeq(): number {
    const m = (this.stmt(`SELECT MIN(seq) AS m FROM records`).get() as { m: number | null }).m;
    return m ?? this.endSeq();
  }

  /** The first offset of a topic still on the log; endOffset(topic) when it has none. */
  firstOffset(topic: string): number {
    const m = (this.stmt(`SELECT MIN("offset") AS m FROM records WHERE topic = ?`).get(topic) as { m: number | null }).m;
    return m ?? this.endOffset(topic);
  }

  /** The seq of a topic's record at `offset`, or undefined (not on the log, or moved out). */
  seqOf(topic: string, offset: number): number | undefined {
    const r = this.stmt(`SELECT seq FROM records WHERE topic = ? AND "offset" = ?`).get(topic, offset) as { seq: number } | undefined;
    return r?.seq;
  }

  /**
   * Deletes every record with seq < `seq` (retention, runtime/log/archive.ts: only after they are
   * durably archived), in one transaction. Offsets and seqs continue after the deleted ones: the
   * next of each topic and of the log is kept in `meta` (floor_offset:TOPIC, floor_seq).
   * Returns the number of records deleted. The file does not shrink; SQLite reuses the pages.
   */
  deleteBefore(seq: number): number {
    return this.db.transaction((cut: number) => {
      const tops = this.stmt(`SELECT topic, MAX("offset") AS m FROM records WHERE seq < ? GROUP BY topic`).all(cut) as { topic: string; m: number }[];
      const floor = (name: string, next: number): void => {
        const old = Number(this.meta(name) ?? 0);
        if (next > old) this.setMeta(name, String(next));
      };
      for (const t of tops) floor(`floor_offset:${t.topic}`, t.m + 1);
      floor("floor_seq", Math.min(cut, this.endSeq()));
      return this.stmt(`DELETE FROM records WHERE seq < ?`).run(cut).changes;
    }).immediate(seq);
  }

  /** Checkpoints the WAL into the main file and closes. */
  close(): void {
    this.listeners.clear();
    if (this.db.open) {
      try {
        if (!this.db.readonly) this.db.pragma("wal_checkpoint(TRUNCATE)");
      } catch {
        /* another process holds the database; the WAL stays, which is fine */
      }
      this.db.close();
    }
  }
}
