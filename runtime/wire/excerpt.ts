// Bounded copies of large records (issue 11, item 6): a dead letter refers to its record by
// `source` (topic:partition:offset, where the original is stored once) and carries the record
// itself only when it is small; a large one is replaced by an excerpt of its JSON text, its size
// and its SHA-256. Deterministic (the same record gives the same excerpt on replay).
import { createHash } from "node:crypto";

/** records whose JSON text is longer than this are copied as an excerpt */
export const COPY_LIMIT = 4096;
/** characters of JSON text kept in an excerpt */
export const EXCERPT_CHARS = 1024;

export interface RecordExcerpt {
  excerpt: string;
  /** length of the record's JSON text (UTF-16 code units; bytes for ASCII) */
  length: number;
  sha256: string;
  truncated: true;
}

/** The record as is when its JSON text is at most COPY_LIMIT long, else an excerpt with a hash. */
export function boundedCopy<T>(record: T): T | RecordExcerpt {
  let text: string;
  try {
    text = JSON.stringify(record) ?? "null";
  } catch (e) {
    return { excerpt: `(not serialisable: ${(e as Error).message})`, length: -1, sha256: "", truncated: true };
  }
  if (text.length <= COPY_LIMIT) return record;
  return { excerpt: text.slice(0, EXCERPT_CHARS), length: text.length, sha256: createHash("sha256").update(text).digest("hex"), truncated: true };
}

/** A long text cut to EXCERPT_CHARS with a note of its full length. */
export function textExcerpt(text: string): string {
  return text.length <= EXCERPT_CHARS ? text : `${text.slice(0, EXCERPT_CHARS)}… (${text.length} characters)`;
}
