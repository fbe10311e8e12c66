// Checkpointing of the embedded runtime (issue 12): open from the newest valid checkpoint of this
// program, then replay the tail; write a checkpoint when runtime/log/checkpointSchedule.ts says
// (every 25,000 input records or 60 s within a cost budget, and whenever the input's event time
// enters a new hour: the time-travel grid), and at close. Storage: runtime/log/checkpoints.ts.
//
// A restart replays at most ~25k inputs, and time travel (which starts from the kept
// checkpoints, runtime/log/checkpoints.ts) at most about 45,000 records of the log (inputs and
// their outputs): under a second. The price is disk: ~0.4 MB per 45,000 records for 1,000
// assets, about 5 % of the log (retention drops them with the records).
import type { Engine, EngineOptions } from "../engine/index.js";
import { Engine as EngineClass } from "../engine/index.js";
import { encodeCheckpoint, programHashOf } from "../engine/checkpoint.js";
import { CheckpointSchedule, type ScheduleOptions } from "../log/checkpointSchedule.js";
import { CheckpointStore, HOUR_MS } from "../log/checkpoints.js";
import type { Log } from "../log/types.js";
import { ASSETS_TOPIC } from "../wire/records.js";

export interface CheckpointOptions extends ScheduleOptions {
  store: CheckpointStore;
  /** warnings (corrupt checkpoint skipped) and notes (program changed: rebuilding) */
  report?: (level: "info" | "warn", message: string) => void;
  /** what the owner stores with each checkpoint (JSON), given back as `restoredExtra` */
  extra?: () => unknown;
}

/** Restores the newest valid checkpoint of the program at or before the log's end, if any. */
export function openWithCheckpoint(engineOpts: EngineOptions, log: Log, o: CheckpointOptions): { engine: Engine; offset: number; extra: unknown } | undefined {
  const end = log.endOffset(ASSETS_TOPIC);
  // retention moves old records out (runtime/log/archive.ts): a checkpoint before the first
  // record still on the log cannot start a replay of it
  const first = log.firstOffset?.(ASSETS_TOPIC) ?? 0;
  const say = o.report ?? (() => {});
  const cp = o.store.newest(engineOpts.program, { maxOffset: end, minOffset: first, warn: (m) => say("warn", m) });
  if (cp === undefined) {
    const oldest = first > 0 ? `the oldest record still on the log (offset ${first}; older ones are archived, and what depends on them starts unknown)` : "the oldest record of the log";
    if (end > 0 && o.store.list().length > 0 && o.store.list(engineOpts.program).length === 0) {
      say("info", `the program changed since the last checkpoint (program hash ${programHashOf(engineOpts.program).slice(0, 12)}): rebuilding from ${oldest} (${end - first} records)`);
    } else if (first > 0) say("warn", `no checkpoint of this program at or after the oldest record still on the log: rebuilding from ${oldest}`);
    return undefined;
  }
  const engine = new EngineClass(engineOpts);
  try {
    engine.loadState(cp.state);
  } catch (e) {
    say("warn", `checkpoint ${cp.file.path} skipped: ${(e as Error).message}`);
    return undefined;
  }
  return { engine, offset: cp.header.offset, extra: cp.extra };
}

export class Checkpointer {
  private readonly schedule: CheckpointSchedule;

  constructor(
    private readonly engine: Engine,
    private readonly log: Log,
    private readonly o: CheckpointOptions,
    replayed: number,
  ) {
    this.schedule = new CheckpointSchedule(o, replayed, () => {
      const st = this.engine.inputHorizon;
      return Number.isFinite(st) ? Math.floor(st / HOUR_MS) : -1;
    });
  }

  /** After an appended batch of `inputs` input records. */
  appended(inputs: number): void {
    this.schedule.counted(inputs);
  }

  maybeWrite(): void {
    if (this.schedule.due) this.write();
  }

  /** Writes a checkpoint at the log's end if anything was processed since the last one. */
  write(): boolean {
    if (!this.schedule.pending) return false;
    const offset = this.log.endOffset(ASSETS_TOPIC);
    const started = this.schedule.clock();
    const bytes = encodeCheckpoint(this.engine, offset, this.o.extra?.());
    try {
      this.o.store.write(bytes, this.engine.program, offset, this.engine.inputHorizon);
    } catch (e) {
      // a checkpoint is a cache: failing to write one costs restart time, never correctness
      this.o.report?.("warn", `cannot write a checkpoint: ${(e as Error).message}`);
      this.schedule.failed();
      return false;
    }
    this.schedule.written(started);
    return true;
  }
}
