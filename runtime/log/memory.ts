// An in-memory Log for tests and `ofl test`. Same semantics as SqliteLog, nothing durable.
// Values are stored as given (not copied): callers must not mutate what they appended.

import type { LogRecord, NewRecord } from "../wire/types.js";
import { checkNewRecord, eventTime, notify } from "./common.js";
import type { Log, ReadOptions, TimeRangeOptions } from "./types.js";

export class MemoryLog implements Log {
  private all: LogRecord[] = [];
  private times: number[] = [];
  private byTopic = new Map<string, LogRecord[]>();
  private listeners = new Set<{ fromSeq: number; fn: (recs: LogRecord[]) => void }>();
  private closed = false;

  append(records: NewRecord[]): LogRecord[] {
    this.check();
    records.forEach(checkNewRecord);
    const out: LogRecord[] = [];
    for (const r of records) {
      let t = this.byTopic.get(r.topic);
      if (t === undefined) this.byTopic.set(r.topic, (t = []));
      const rec: LogRecord = { topic: r.topic, partition: 0, offset: t.length, ts: r.ts, key: r.key, value: r.value === undefined ? null : r.value, seq: this.all.length };
      t.push(rec);
      this.all.push(rec);
      this.times.push(eventTime(rec.value, rec.ts));
      out.push(rec);
    }
    if (out.length > 0) notify(this.listeners, out);
    return out;
  }

  *read(opts: ReadOptions = {}): Generator<LogRecord> {
    this.check();
    const limit = opts.limit ?? Infinity;
    let n = 0;
    if (opts.topic !== undefined) {
      const t = this.byTopic.get(opts.topic) ?? [];
      for (let i = Math.max(0, opts.fromOffset ?? 0); i < t.length && n < limit; i++) {
        if (opts.fromSeq !== undefined && t[i]!.seq! < opts.fromSeq) continue;
        n++;
        yield t[i]!;
      }
    } else {
      if (opts.fromOffset !== undefined) throw new Error("read: fromOffset needs a topic (use fromSeq across topics)");
      for (let i = Math.max(0, opts.fromSeq ?? 0); i < this.all.length && n < limit; i++) {
        n++;
        yield this.all[i]!;
      }
    }
  }

  *readByTime(opts: TimeRangeOptions = {}): Generator<LogRecord> {
    this.check();
    const from = opts.fromMs ?? -Infinity;
    const to = opts.toMs ?? Infinity;
    for (let i = 0; i < this.all.length; i++) {
      const r = this.all[i]!;
      if (opts.topic !== undefined && r.topic !== opts.topic) continue;
      const t = this.times[i]!;
      if (t >= from && t <= to) yield r;
    }
  }

  endOffset(topic: string): number {
    return this.byTopic.get(topic)?.length ?? 0;
  }

  endSeq(): number {
    return this.all.length;
  }

  subscribe(fromSeq: number, listener: (recs: LogRecord[]) => void): () => void {
    this.check();
    if (fromSeq < this.all.length) listener(this.all.slice(Math.max(0, fromSeq)));
    const l = { fromSeq, fn: listener };
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }

  private check(): void {
    if (this.closed) throw new Error("the log is closed");
  }
}
