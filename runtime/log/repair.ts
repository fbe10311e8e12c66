// Recovery of a log with a damaged record (`ofl run --repair`): keeps a copy of the file, then
// removes the first damaged record and everything after it, back to the start of the input
// whose batch it belonged to (the log then ends on a whole batch, as after a crash).
//
// Correlation ids are derived from the offset of their cause (wire.md §2), so new inputs will
// reuse the removed offsets. The ids of the commands found in the removed tail are kept in
// `meta.retired_correlation_ids`; `ofl run` never dispatches them again (at most once).
import Database from "better-sqlite3";
import * as fs from "node:fs";
import { CheckpointStore } from "./checkpoints.js";
import { join } from "node:path";
import { classify, isInput } from "../wire/records.js";
import type { LogRecord } from "../wire/types.js";
import { LOG_FILE } from "./sqlite.js";

export interface RepairResult {
  /** the first damaged seq, or null when the log had none (nothing changed) */
  damagedSeq: number | null;
  /** records from this seq on were removed */
  cutSeq?: number;
  removed?: number;
  /** the copy of the file as it was */
  backup?: string;
  /** command correlation ids found in the removed records (never dispatched again) */
  retired?: string[];
}

/** Finds the first record whose value is not JSON (SQLite's json_valid), or null. */
export function firstDamagedSeq(db: Database.Database): number | null {
  const row = db.prepare(`SELECT MIN(seq) AS s FROM records WHERE NOT json_valid(value)`).get() as { s: number | null };
  return row.s;
}

export function repairLog(dir: string, now = new Date()): RepairResult {
  const path = join(dir, LOG_FILE);
  const db = new Database(path, { fileMustExist: true, timeout: 10_000 });
  try {
    const damaged = firstDamagedSeq(db);
    if (damaged === null) return { damagedSeq: null };
    db.pragma("wal_checkpoint(TRUNCATE)");
    const backup = `${path}.damaged-${now.toISOString().replace(/[:.]/g, "-")}`;
    fs.copyFileSync(path, backup);
    // back to the last input before the damaged record: its outputs may be among the removed
    type Row = { seq: number; topic: string; partition: number; offset: number; ts: number; key: string | null; value: string };
    const before = db.prepare(`SELECT seq, topic, "partition" AS partition, "offset" AS offset, ts, key, value FROM records WHERE seq < ? ORDER BY seq DESC LIMIT 10000`).all(damaged) as Row[];
    let cut = damaged;
    for (const r of before) {
      if (r.topic !== "ofa_assets") continue;
      const rec: LogRecord = { topic: r.topic, partition: r.partition, offset: r.offset, ts: r.ts, key: r.key, value: JSON.parse(r.value) };
      if (isInput(classify(rec))) {
        cut = r.seq;
        break;
      }
    }
    const retired: string[] = [];
    for (const r of db.prepare(`SELECT topic, "partition" AS partition, "offset" AS offset, ts, key, value FROM records WHERE seq >= ? AND json_valid(value)`).iterate(cut) as IterableIterator<Row>) {
      const ev = classify({ topic: r.topic, partition: r.partition, offset: r.offset, ts: r.ts, key: r.key, value: JSON.parse(r.value) });
      if (ev.kind === "command" || ev.kind === "operator_command") retired.push(ev.envelope.header.correlation_id);
    }
    const old = db.prepare(`SELECT value FROM meta WHERE name = 'retired_correlation_ids'`).get() as { value: string } | undefined;
    const all = [...new Set([...(old ? (JSON.parse(old.value) as string[]) : []), ...retired])];
    // checkpoints describe a prefix of the log: one past the cut describes records that are gone
    const firstRemoved = db.prepare(`SELECT MIN("offset") AS o FROM records WHERE seq >= ? AND topic = 'ofa_assets'`).get(cut) as { o: number | null };
    const removed = db.transaction(() => {
      const n = db.prepare(`DELETE FROM records WHERE seq >= ?`).run(cut).changes;
      db.prepare(`INSERT INTO meta (name, value) VALUES ('retired_correlation_ids', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`).run(JSON.stringify(all));
      return n;
    }).immediate();
    if (firstRemoved.o !== null) for (const c of new CheckpointStore(dir).list()) if (c.offset > firstRemoved.o) fs.rmSync(c.path, { force: true });
    return { damagedSeq: damaged, cutSeq: cut, removed, backup, retired };
  } finally {
    db.close();
  }
}
