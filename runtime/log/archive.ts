// Retention's archive (issue 12 item 4): records moved out of the live log, never deleted.
//
//   DATA/archive/index.json                 what is archived, written atomically after each step
//   DATA/archive/log-<first seq, 16>.jsonl.gz   the OFL session form (wire.md §4), gzip
//
// Each file is a valid session (`ofl test --replay FILE`, `ofl state --session FILE`); the first
// starts at the log's first record, so the files in order and then the live log are the whole
// history (`ofl state --data` reads them so when T is before the live log). A file holds at most
// FILE_RECORDS records; each step appends one gzip member (gzip allows several in one file).
//
// Crash safety, a step is: (1) append the member to the file and fsync, (2) write the index
// (temporary file, fsync, rename), (3) delete the records from the log. A crash after (1) leaves
// bytes past the index's length: cut at the next step (`recover`). After (2), the records are in
// both places: the next step deletes them from the log. Readers count records by the index, so
// they never see a record twice.
import * as fs from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { openSession, sessionLine } from "../replay/session.js";
import { ASSETS_TOPIC, classify } from "../wire/records.js";
import type { LogRecord } from "../wire/types.js";
import { replaceAtomically, syncFolder, writeDurably } from "./common.js";
import type { SqliteLog } from "./sqlite.js";
import type { Log } from "./types.js";

export const ARCHIVE_DIR = "archive";
/** records per archive file (a reader decompresses one file at a time in memory: ~50 MB) */
export const FILE_RECORDS = 200_000;
/** records per step (one gzip member): small enough that a step never holds the plant up for long */
export const STEP_RECORDS = 20_000;

const gzipAsync = promisify(gzip);

export interface ArchiveFile {
  name: string;
  /** global seqs [fromSeq, toSeq) of the live log it holds */
  fromSeq: number;
  toSeq: number;
  /** ofa_assets offsets [fromOffset, toOffset) */
  fromOffset: number;
  toOffset: number;
  records: number;
  /** bytes of the file that are whole members (anything after is a torn step) */
  bytes: number;
  /** event time (ms) of its first and last ofa_assets record, null when it has none */
  firstTime: number | null;
  lastTime: number | null;
}

export interface ArchiveIndex {
  version: 1;
  program: string;
  files: ArchiveFile[];
}

export class Archive {
  readonly dir: string;
  private readonly indexPath: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, ARCHIVE_DIR);
    this.indexPath = join(this.dir, "index.json");
  }

  index(): ArchiveIndex | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.indexPath, "utf8");
    } catch {
      return undefined;
    }
    const ix = JSON.parse(text) as ArchiveIndex;
    if (ix.version !== 1 || !Array.isArray(ix.files)) throw new Error(`${this.indexPath}: not an archive index of this OFL`);
    return ix;
  }

  /** Seq where the archive ends (the live log starts there or later); 0 without an archive. */
  endSeq(): number {
    return this.index()?.files.at(-1)?.toSeq ?? 0;
  }

  private writeIndex(ix: ArchiveIndex): void {
    replaceAtomically(this.indexPath, JSON.stringify(ix, null, 1) + "\n");
  }

  /** Makes the files and the log agree with the index after a crash (see the top of this file). */
  recover(log: SqliteLog): void {
    const ix = this.index();
    if (!ix) return;
    for (const f of ix.files) {
      const path = join(this.dir, f.name);
      if (fs.statSync(path).size > f.bytes) fs.truncateSync(path, f.bytes);
    }
    for (const n of fs.readdirSync(this.dir)) if (n.endsWith(".jsonl.gz") && !ix.files.some((f) => f.name === n)) fs.rmSync(join(this.dir, n));
    const end = this.endSeq();
    if (log.firstSeq() < end) log.deleteBefore(end);
  }

  /**
   * Moves the log's records with seq < `cutSeq` into the archive, at most `max` of them (one
   * step); returns how many moved. Compression runs off the event loop (zlib's thread pool).
   */
  async move(log: SqliteLog, cutSeq: number, program: string, max = STEP_RECORDS): Promise<number> {
    fs.mkdirSync(this.dir, { recursive: true });
    this.recover(log);
    const from = log.firstSeq();
    if (from >= cutSeq) return 0;
    const recs: LogRecord[] = [];
    for (const r of log.read({ fromSeq: from, limit: Math.min(max, cutSeq - from) })) if (r.seq! < cutSeq) recs.push(r);
    if (recs.length === 0) return 0;
    const ix: ArchiveIndex = this.index() ?? { version: 1, program, files: [] };
    let f = ix.files.at(-1);
    let text = "";
    if (!f || f.records >= FILE_RECORDS) {
      f = { name: `log-${String(recs[0]!.seq).padStart(16, "0")}.jsonl.gz`, fromSeq: recs[0]!.seq!, toSeq: recs[0]!.seq!, fromOffset: -1, toOffset: -1, records: 0, bytes: 0, firstTime: null, lastTime: null };
      ix.files.push(f);
      text = JSON.stringify({ ofl_session: 1, program, recorded: new Date().toISOString(), archived_from_seq: f.fromSeq }) + "\n";
    }
    for (const r of recs) {
      text += sessionLine(r) + "\n";
      if (r.topic !== ASSETS_TOPIC) continue;
      if (f.fromOffset < 0) f.fromOffset = r.offset;
      f.toOffset = r.offset + 1;
      const ev = classify(r);
      const t = ev.kind === "bad" ? r.ts : ev.time;
      f.firstTime ??= t;
      f.lastTime = t;
    }
    const member = await gzipAsync(Buffer.from(text, "utf8"), { level: 6 });
    const path = join(this.dir, f.name);
    writeDurably(path, member, "a");
    if (f.bytes === 0) syncFolder(this.dir);
    f.bytes += member.length;
    f.records += recs.length;
    f.toSeq = recs.at(-1)!.seq! + 1;
    this.writeIndex(ix);
    log.deleteBefore(f.toSeq);
    return recs.length;
  }

  /** The archived records of a topic (every topic when absent), oldest first, as the index counts them. */
  *records(topic?: string): Generator<LogRecord> {
    const ix = this.index();
    if (!ix) return;
    for (const f of ix.files) {
      let n = 0;
      for (const { record } of openSession(join(this.dir, f.name)).records()) {
        if (n++ >= f.records) break;
        if (topic === undefined || record.topic === topic) yield record;
      }
    }
  }

  /** Bytes of the archive files. */
  bytes(): number {
    return (this.index()?.files ?? []).reduce((a, f) => a + f.bytes, 0);
  }
}

/**
 * The whole history of a topic of an embedded log: the archived records, then the live log's
 * from where the archive ends (records of a step not yet deleted from the log are read once).
 */
export function* wholeHistory(dataDir: string, log: Pick<Log, "read">, topic = ASSETS_TOPIC): Generator<LogRecord> {
  const archive = new Archive(dataDir);
  yield* archive.records(topic);
  yield* log.read({ topic, fromSeq: archive.endSeq() });
}
