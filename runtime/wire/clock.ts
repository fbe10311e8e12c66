// The clock of both runtimes (issue 16 item 6): a clock record every `periodMs` of wall time, so
// that timers fire while devices are silent (language.md §5: clock records advance stream time).
// The embedded plant (runtime/run/plant.ts) ingests them; the Kafka rule worker
// (runtime/worker/rule.ts) produces them with its `ofl-processed` header. Clock times never go
// backwards, even when the wall clock does (each is at least 1 ms after the previous one).
// The wall clock is read here, at the edge, never inside the engine: replays read the records.
import { ASSETS_TOPIC, clockValue } from "./records.js";
import type { NewRecord } from "./types.js";

export interface ClockOptions {
  /** the period, ms (0: no clock) */
  periodMs: number;
  /** the key of the records: the writer's uuid (`OFL-<program>`) */
  key: string;
  /** wall clock (ms), injectable for tests */
  now?: () => number;
  /** each clock record, as it is made */
  onTick(record: NewRecord): void;
}

export class Clock {
  private timer: ReturnType<typeof setInterval> | undefined;
  private last = 0;
  private readonly now: () => number;

  constructor(private readonly o: ClockOptions) {
    this.now = o.now ?? (() => Date.now());
  }

  /** Starts ticking every period (no-op with period 0 or when started). */
  start(): void {
    if (this.o.periodMs <= 0 || this.timer) return;
    this.timer = setInterval(() => this.tick(), this.o.periodMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Makes one clock record now (time never goes backwards) and hands it to `onTick`. */
  tick(): void {
    const t = Math.max(this.now(), this.last + 1);
    this.last = t;
    this.o.onTick({ topic: ASSETS_TOPIC, key: this.o.key, ts: t, value: clockValue(t) });
  }
}
