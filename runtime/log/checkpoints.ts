// Checkpoint storage of the embedded runtime: files beside the log, in DATA/checkpoints/.
//
//   cp-<program hash, 12 hex>-<offset, 16 digits>-<horizon ms, 16 digits or "none">.ckpt
//
// The horizon is the largest event time of the input records before the offset
// (Engine.inputHorizon): "state at T" may start from a checkpoint whose horizon is <= T.
//
// Each file is a whole checkpoint of runtime/engine/checkpoint.ts (header with format version,
// program hash, offset, sha256 of the body). Writes are atomic: a temporary file, fsync, rename,
// fsync of the folder; a crash leaves the old set plus at most a `.tmp` file (removed at open).
// The name carries what selection needs (program, offset, event time) so choosing a
// checkpoint reads no file; the chosen file is then fully verified, and a corrupt one is
// skipped with a warning, never trusted.
//
// Kept (per program): the newest KEEP_RECENT, plus the first checkpoint of every event-time
// hour, plus one every SPACING (40,000) records of the log: the first, then each at least that
// far after the last one kept (time travel starts from the newest checkpoint at or before T: a
// slider over a month replays at most about 45,000 records of the log, the checkpoints written
// every 25,000 inputs being ~45,000 records apart with their outputs). The kept ones cost about
// 0.4 MB per 45,000 records of 1,000 assets (~5 % of the log's size). Older recent ones are
// deleted: checkpoints are caches of the log, never the authority.
import * as fs from "node:fs";
import { join } from "node:path";
import type { IrProgram } from "../../compiler/ir/types.js";
import { replaceAtomically } from "./common.js";
import { CHECKPOINT_VERSION, CheckpointError, decodeCheckpoint, programHashOf, readCheckpointHeader, type Checkpoint } from "../engine/checkpoint.js";

export const CHECKPOINT_DIR = "checkpoints";
export const KEEP_RECENT = 3;
export const HOUR_MS = 3_600_000;
/** besides hourly: checkpoints at least SPACING records of the log apart are kept (bounds a time-travel replay at high rates) */
export const SPACING = 40_000;

export interface CheckpointFile {
  path: string;
  program: string;
  offset: number;
  /** Engine.inputHorizon at the checkpoint, null before any input */
  horizon: number | null;
}

const NAME = /^cp-([0-9a-f]{12})-(\d{16})-(\d{16}|none)\.ckpt$/;

/** The format version in a checkpoint file's header line (read alone), or undefined when it has none. */
function formatOf(path: string): number | undefined {
  try {
    const fd = fs.openSync(path, "r");
    try {
      const buf = Buffer.alloc(4096);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return readCheckpointHeader(buf.subarray(0, n)).version;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

export class CheckpointStore {
  readonly dir: string;
  constructor(readonly dataDir: string) {
    this.dir = join(dataDir, CHECKPOINT_DIR);
  }

  /** The checkpoint files (of one program hash, when given), by offset ascending. */
  list(program?: IrProgram): CheckpointFile[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const want = program === undefined ? undefined : programHashOf(program).slice(0, 12);
    const out: CheckpointFile[] = [];
    for (const n of names) {
      const m = NAME.exec(n);
      if (!m || (want !== undefined && m[1] !== want)) continue;
      out.push({ path: join(this.dir, n), program: m[1]!, offset: Number(m[2]), horizon: m[3] === "none" ? null : Number(m[3]) });
    }
    return out.sort((a, b) => a.offset - b.offset);
  }

  /** Writes checkpoint bytes atomically and prunes; returns the file. */
  write(bytes: Uint8Array, program: IrProgram, offset: number, horizon: number): CheckpointFile {
    fs.mkdirSync(this.dir, { recursive: true });
    const hash = programHashOf(program).slice(0, 12);
    // floor: a checkpoint is usable at T >= its horizon; flooring a fraction of a ms would make it
    // look usable too early, so fractions round up
    const time = Number.isFinite(horizon) && horizon >= 0 ? String(Math.ceil(horizon)).padStart(16, "0") : "none";
    const name = `cp-${hash}-${String(offset).padStart(16, "0")}-${time}.ckpt`;
    const path = join(this.dir, name);
    replaceAtomically(path, bytes);
    this.prune(program);
    return { path, program: hash, offset, horizon: time === "none" ? null : Math.ceil(horizon) };
  }

  /** Deletes what the keep policy does not keep (this program's files only), and stale `.tmp` files. */
  prune(program: IrProgram): void {
    // checkpoints of another format (an older OFL wrote them) can never be used by this one: gone,
    // so that choosing a checkpoint does not read them again and again
    const files = this.list(program).filter((f) => {
      if (formatOf(f.path) === CHECKPOINT_VERSION) return true;
      fs.rmSync(f.path, { force: true });
      return false;
    });
    const keep = new Set<string>(files.slice(-KEEP_RECENT).map((f) => f.path));
    const hours = new Set<number>();
    for (const f of files) {
      if (f.horizon === null) continue;
      const h = Math.floor(f.horizon / HOUR_MS);
      if (!hours.has(h)) {
        hours.add(h);
        keep.add(f.path);
      }
    }
    // spaced: the first, then each at least SPACING records of the log after the last one kept
    let last = -Infinity;
    for (const f of files) {
      if (f.offset - last < SPACING) continue;
      last = f.offset;
      keep.add(f.path);
    }
    for (const f of files) if (!keep.has(f.path)) fs.rmSync(f.path, { force: true });
    try {
      for (const n of fs.readdirSync(this.dir)) if (n.endsWith(".ckpt.tmp")) fs.rmSync(join(this.dir, n), { force: true });
    } catch {
      // nothing to clean
    }
  }

  /**
   * Deletes every checkpoint (of any program) before `offset`: retention moved the records after
   * them out of the live log, so they can no longer start a replay of it.
   */
  dropBefore(offset: number): void {
    for (const f of this.list()) if (f.offset < offset) fs.rmSync(f.path, { force: true });
  }

  /**
   * The newest valid checkpoint of `program` with offset <= maxOffset (and horizon <= atMs,
   * when given), verified; corrupt or unreadable files are reported through `warn` and skipped,
   * and so, silently, are those `usable` refuses (e.g. without what the caller stored beside).
   */
  newest(
    program: IrProgram,
    opts: { maxOffset?: number; minOffset?: number; atMs?: number; warn?: (m: string) => void; usable?: (cp: Checkpoint) => boolean } = {},
  ): (Checkpoint & { file: CheckpointFile; bytes: Buffer }) | undefined {
    const files = this.list(program).reverse();
    // checkpoints of another format (written by an older or newer OFL) are said once, not per file
    let otherFormat = 0;
    let formatWhy = "";
    const sayFormats = (): void => {
      if (otherFormat > 0) opts.warn?.(`${otherFormat} checkpoint${otherFormat === 1 ? "" : "s"} in ${this.dir} skipped: ${formatWhy} (written by another OFL; new ones replace them as the log grows)`);
    };
    for (const f of files) {
      if (opts.maxOffset !== undefined && f.offset > opts.maxOffset) continue;
      if (opts.minOffset !== undefined && f.offset < opts.minOffset) continue;
      if (opts.atMs !== undefined && (f.horizon ?? -Infinity) > opts.atMs) continue;
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(f.path);
        const cp = decodeCheckpoint(bytes, program);
        if (cp.header.offset !== f.offset) throw new CheckpointError(`header offset ${cp.header.offset} differs from the file name`, "corrupt");
        if (opts.usable !== undefined && !opts.usable(cp)) continue;
        sayFormats();
        return { ...cp, file: f, bytes };
      } catch (e) {
        if (e instanceof CheckpointError && e.kind === "version") {
          otherFormat++;
          formatWhy = e.message;
          continue;
        }
        const why = e instanceof CheckpointError ? e.message : `cannot read: ${(e as Error).message}`;
        opts.warn?.(`checkpoint ${f.path} skipped: ${why}`);
      }
    }
    sayFormats();
    return undefined;
  }
}
