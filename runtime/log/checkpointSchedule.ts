// When to write a checkpoint (issue 12): shared by the embedded runtime
// (runtime/embedded/checkpointing.ts) and the Kafka rule worker (runtime/worker/rule.ts).
//
// A checkpoint is due every `everyRecords` input records or `everyMs` of wall time, whichever
// first, and whenever the input's event time enters a new hour (when `hour` is given: the
// embedded runtime's time-travel grid). The record count asks only within a cost budget: it
// waits until `costShare` times the last checkpoint's cost has passed since the previous one, so
// at most 1/costShare of the wall time goes to checkpoints however fast records arrive.
//
// Defaults: every 25,000 input records or 60 s, cost share 20 (≤ 5 %). A checkpoint of 1,000
// assets takes about 0.1 s to encode (bench/checkpoint-cost.mjs): at a plant's rates (a thousand
// records/s) 25k records are 25 s, under 1 %. A restart replays at most ~25k inputs.
// The wall clock here decides only *when* a checkpoint is taken, never what the engine computes.

export const DEFAULT_CHECKPOINT_RECORDS = 25_000;
export const DEFAULT_CHECKPOINT_MS = 60_000;
/** a checkpoint due by record count waits until COST_SHARE times its last cost has passed since the previous (≤ 5 % of the time) */
export const COST_SHARE = 20;

export interface ScheduleOptions {
  /** input records between checkpoints (default 25,000) */
  everyRecords?: number;
  /** wall time between checkpoints, ms (default 60,000) */
  everyMs?: number;
  /** the record count's budget: wait COST_SHARE times the last checkpoint's cost (default 20; 0: no budget, tests) */
  costShare?: number;
  /** wall clock (ms), injectable for tests */
  now?: () => number;
}

export class CheckpointSchedule {
  private readonly everyRecords: number;
  private readonly everyMs: number;
  private readonly costShare: number;
  private readonly now: () => number;
  /** input records since the last checkpoint */
  private since: number;
  private lastAt: number;
  private lastHour: number;
  /** wall ms the last checkpoint took */
  private lastCostMs = 0;
  private isDue = false;

  /**
   * `replayed`: inputs replayed at start since the checkpoint restored (a long tail: due at once).
   * `hour`: the current event-time hour of the input (-1: none yet), for an hourly grid.
   */
  constructor(
    o: ScheduleOptions,
    replayed: number,
    private readonly hour: () => number = () => -1,
  ) {
    this.everyRecords = o.everyRecords ?? DEFAULT_CHECKPOINT_RECORDS;
    this.everyMs = o.everyMs ?? DEFAULT_CHECKPOINT_MS;
    this.costShare = o.costShare ?? COST_SHARE;
    this.now = o.now ?? (() => Date.now());
    this.lastAt = this.now();
    this.since = replayed;
    this.lastHour = hour();
    if (replayed >= this.everyRecords) this.isDue = true;
  }

  /** After `inputs` more input records were processed. */
  counted(inputs: number): void {
    this.since += inputs;
    const now = this.now();
    const affordable = now - this.lastAt >= this.costShare * this.lastCostMs;
    if ((this.since >= this.everyRecords && affordable) || now - this.lastAt >= this.everyMs || this.hour() !== this.lastHour) this.isDue = true;
  }

  /** A checkpoint is due and something was processed since the last one. */
  get due(): boolean {
    return this.isDue && this.since > 0;
  }

  /** Something was processed since the last checkpoint (a final one at close is worth it). */
  get pending(): boolean {
    return this.since > 0;
  }

  /** A checkpoint was written; `startedAt` is when its encoding began (this clock). */
  written(startedAt: number): void {
    this.isDue = false;
    this.since = 0;
    this.lastAt = this.now();
    this.lastCostMs = this.lastAt - startedAt;
    this.lastHour = this.hour();
  }

  /** Writing failed: try again when the schedule next says so (a checkpoint is a cache). */
  failed(): void {
    this.isDue = false;
  }

  /** This schedule's clock (to time a checkpoint with it). */
  clock(): number {
    return this.now();
  }
}
