// Checkpointing policy of the embedded runtime (issue 12): open from the newest valid checkpoint
// of this program, then replay the tail; write a checkpoint every `everyRecords` input records
// or `everyMs` of wall time (whichever first), whenever stream time enters a new event-time hour
// (the time-travel grid), and at close. Storage: runtime/log/checkpoints.ts.
//
// Defaults: every 25,000 input records or 60 s. A checkpoint of 1,000 assets takes about 0.1 s to
// encode (bench/checkpoint-cost.mjs): at a plant's rates (a thousand records/s) 25k records
// are 25 s, under 1 %; when records arrive faster (an import, a backlog), the
// record count waits until 20 times the last checkpoint's cost has passed (COST_SHARE: ≤ 5 %).
// A restart replays at most ~25k inputs, and time travel (which starts from the kept
// checkpoints, runtime/log/checkpoints.ts) at most about 45,000 records of the log (inputs and
// their outputs): under a second. The price is disk: ~0.4 MB per 45,000 records for 1,000
// assets, about 5 % of the log (retention drops them with the records).
import type { Engine, EngineOptions } from "../engine/index.js";
import { Engine as EngineClass } from "../engine/index.js";
import { encodeCheckpoint, programHashOf } from "../engine/checkpoint.js";
import { CheckpointStore, HOUR_MS } from "../log/checkpoints.js";
import type { Log } from "../log/types.js";
import { ASSETS_TOPIC } from "../wire/records.js";

export const DEFAULT_CHECKPOINT_RECORDS = 25_000;
export const DEFAULT_CHECKPOINT_MS = 60_000;
/** a checkpoint due by record count waits until COST_SHARE times its last cost has passed since the previous (≤ 5 % of the time) */
export const COST_SHARE = 20;

export interface CheckpointOptions {
  store: CheckpointStore;
  /** input records between checkpoints (default 25,000) */
  everyRecords?: number;
  /** wall time between checkpoints, ms (default 60,000) */
  everyMs?: number;
  /** the record count's budget: wait COST_SHARE times the last checkpoint's cost (default 20; 0: no budget, tests) */
  costShare?: number;
  /** wall clock (ms), injectable for tests */
  now?: () => number;
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
  private readonly everyRecords: number;
  private readonly everyMs: number;
  private readonly now: () => number;
  private since: number;
  private lastAt: number;
  private lastHour: number;
  /** wall ms the last checkpoint took to encode and write */
  private lastCostMs = 0;
  private due = false;

  constructor(
    private readonly engine: Engine,
    private readonly log: Log,
    private readonly o: CheckpointOptions,
    replayed: number,
  ) {
    this.everyRecords = o.everyRecords ?? DEFAULT_CHECKPOINT_RECORDS;
    this.everyMs = o.everyMs ?? DEFAULT_CHECKPOINT_MS;
    this.now = o.now ?? (() => Date.now());
    this.lastAt = this.now();
    this.since = replayed;
    this.lastHour = this.hour();
    // a long tail replayed at open: checkpoint before the next batch
    if (replayed >= this.everyRecords) this.due = true;
  }

  private hour(): number {
    const st = this.engine.inputHorizon;
    return Number.isFinite(st) ? Math.floor(st / HOUR_MS) : -1;
  }

  /** After an appended batch of `inputs` input records. */
  appended(inputs: number): void {
    this.since += inputs;
    const now = this.now();
    // the record count asks for a checkpoint only within the cost budget: at most 1/COST_SHARE
    // of the wall time goes to checkpoints, however fast records arrive
    const affordable = now - this.lastAt >= (this.o.costShare ?? COST_SHARE) * this.lastCostMs;
    if ((this.since >= this.everyRecords && affordable) || now - this.lastAt >= this.everyMs || this.hour() !== this.lastHour) this.due = true;
  }

  maybeWrite(): void {
    if (this.due) this.write();
  }

  /** Writes a checkpoint at the log's end if anything was processed since the last one. */
  write(): boolean {
    this.due = false;
    if (this.since === 0) return false;
    const offset = this.log.endOffset(ASSETS_TOPIC);
    const started = this.now();
    const bytes = encodeCheckpoint(this.engine, offset, this.o.extra?.());
    try {
      this.o.store.write(bytes, this.engine.program, offset, this.engine.inputHorizon);
    } catch (e) {
      // a checkpoint is a cache: failing to write one costs restart time, never correctness
      this.o.report?.("warn", `cannot write a checkpoint: ${(e as Error).message}`);
      return false;
    }
    this.since = 0;
    this.lastAt = this.now();
    this.lastCostMs = this.lastAt - started;
    this.lastHour = this.hour();
    return true;
  }
}
