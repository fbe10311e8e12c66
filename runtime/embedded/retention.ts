// Retention of the embedded runtime (issue 12 item 4): `ofl run --retain 30d` (ofl.json
// "retain"). Records older than the window move out of the live log into the archive
// (runtime/log/archive.ts), never deleted silently.
//
// Where the log is cut: at a checkpoint of the program, the newest whose horizon (the largest
// event time of the inputs before it) is older than stream time minus the window. Every record
// before the cut is then older than the window, and the checkpoint makes the cut a valid start:
// the runtime opens from it and replays the rest, exactly as before the cut. Checkpoints before
// the cut are deleted (their tails are archived; time travel there replays the archive).
// Checkpoints are written at least once per event-time hour, so the live log holds the window
// plus at most about an hour.
//
// Stream time, not the wall clock, decides what is old: the same log is cut at the same points.
import type { IrProgram } from "../../compiler/ir/types.js";
import { Archive } from "../log/archive.js";
import type { CheckpointStore } from "../log/checkpoints.js";
import type { SqliteLog } from "../log/sqlite.js";
import { ASSETS_TOPIC } from "../wire/records.js";

export interface RetentionOptions {
  /** the window, ms */
  retainMs: number;
  log: SqliteLog;
  store: CheckpointStore;
  program: IrProgram;
  report?: (level: "info" | "warn", message: string) => void;
}

export class Retention {
  readonly archive: Archive;
  /** records moved out since start */
  moved = 0;
  private busy = false;

  constructor(private readonly o: RetentionOptions) {
    this.archive = new Archive(o.store.dataDir);
  }

  /** The seq and offset the log may be cut at for stream time `now`, or undefined (nothing old enough). */
  cutPoint(now: number): { seq: number; offset: number } | undefined {
    if (!Number.isFinite(now)) return undefined;
    const { log, store, program, retainMs } = this.o;
    const first = log.firstOffset(ASSETS_TOPIC);
    const cp = store.newest(program, { atMs: now - retainMs - 1, maxOffset: log.endOffset(ASSETS_TOPIC), minOffset: first + 1, warn: (m) => this.o.report?.("warn", m) });
    if (cp === undefined) return undefined;
    const offset = cp.header.offset;
    const seq = offset === log.endOffset(ASSETS_TOPIC) ? log.endSeq() : log.seqOf(ASSETS_TOPIC, offset);
    return seq === undefined ? undefined : { seq, offset };
  }

  /**
   * Moves what is older than the window, one bounded step at a time (returns between steps, so
   * the plant keeps ingesting); resolves with the records moved. One run at a time.
   */
  async run(now: number): Promise<number> {
    if (this.busy) return 0;
    this.busy = true;
    try {
      const cut = this.cutPoint(now);
      if (cut === undefined) return 0;
      let n = 0;
      for (;;) {
        const k = await this.archive.move(this.o.log, cut.seq, this.o.program.program);
        if (k === 0) break;
        n += k;
        await new Promise((r) => setImmediate(r));
      }
      this.o.store.dropBefore(cut.offset);
      this.moved += n;
      if (n > 0) this.o.report?.("info", `retention: moved ${n} record${n === 1 ? "" : "s"} older than the window to ${this.archive.dir} (the live log starts at offset ${cut.offset} of ofa_assets)`);
      return n;
    } finally {
      this.busy = false;
    }
  }
}
