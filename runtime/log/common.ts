// Helpers shared by the Log implementations and the files beside the embedded log.

import * as fs from "node:fs";
import { dirname } from "node:path";
import { parseTime } from "../wire/records.js";
import type { LogRecord, NewRecord } from "../wire/types.js";

/** Event time of a record value: `attributes.timestamp` (any case) when parseable, else `ts`. */
export function eventTime(value: unknown, ts: number): number {
  if (typeof value === "object" && value !== null) {
    const a = (value as Record<string, unknown>).attributes;
    if (typeof a === "object" && a !== null) {
      const t = (a as Record<string, unknown>).timestamp;
      if (typeof t === "string") {
        const ms = parseTime(t);
        if (ms !== null) return ms;
      }
    }
  }
  return ts;
}

export function checkNewRecord(r: NewRecord, i: number): void {
  if (typeof r !== "object" || r === null) throw new TypeError(`append: record ${i} is not an object`);
  if (typeof r.topic !== "string" || r.topic.length === 0) throw new TypeError(`append: record ${i} has no topic`);
  if (typeof r.ts !== "number" || !Number.isFinite(r.ts)) throw new TypeError(`append: record ${i} (${r.topic}) has no finite ts`);
  if (r.key !== null && typeof r.key !== "string") throw new TypeError(`append: record ${i} (${r.topic}) key must be a string or null`);
}

/** Runs listeners; a throwing listener never fails the append (its error surfaces asynchronously). */
export function notify(listeners: Iterable<{ fromSeq: number; fn: (recs: LogRecord[]) => void }>, recs: LogRecord[]): void {
  for (const l of [...listeners]) {
    const batch = recs[0]!.seq! >= l.fromSeq ? recs : recs.filter((r) => r.seq! >= l.fromSeq);
    if (batch.length === 0) continue;
    try {
      l.fn(batch);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}

/** Writes `bytes` (a string is UTF-8) to `path` and fsyncs, with `flag` "w" (replace) or "a" (append). */
export function writeDurably(path: string, bytes: Uint8Array | string, flag: "w" | "a" = "w"): void {
  const fd = fs.openSync(path, flag);
  try {
    fs.writeSync(fd, typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `path` atomically: a temporary file beside it, fsync, rename, fsync of the folder. A
 * crash leaves the old file or the new one, plus at most `path.tmp`.
 */
export function replaceAtomically(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.tmp`;
  writeDurably(tmp, bytes);
  fs.renameSync(tmp, path);
  syncFolder(dirname(path));
}

/** fsync of a folder (a new or renamed entry in it is durable); not possible everywhere, where the rename is still atomic. */
export function syncFolder(dir: string): void {
  try {
    const d = fs.openSync(dir, "r");
    fs.fsyncSync(d);
    fs.closeSync(d);
  } catch {
    // not possible on every platform
  }
}
