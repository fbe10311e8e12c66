// Time travel off the main thread. `GET /api/state?at=T` replays the log up to T and
// `GET /api/history` scans a window of it: on a large log that is seconds of work, which on the
// plant's event loop would delay every ingest, rule and command behind it. Here the work runs in
// worker threads (timeTravelWorker.ts, bundled as dist/time-travel-worker.mjs), each over its
// own read-only handle of the log file; the main thread only posts the question and sends back
// the answer, already serialized as JSON text.
//
// Bounded: `workers` threads (default 1: the plant keeps a core), and at most `queue` requests
// waiting; past that a request is refused (`TimeTravelBusy`, answered 503 with Retry-After). A
// request whose client went away before its turn is dropped. Each job reads only the records that
// were on the log when it was asked (`endSeq`), so its answer does not depend on when it ran.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { IrProgram } from "../../compiler/ir/types.js";

export type TimeTravelJob =
  | { kind: "state"; atMs: number; endSeq: number; endOffset: number }
  | { kind: "history"; asset: string; fromMs: number; toMs: number; endSeq: number };

export interface TimeTravelOptions {
  /** worker threads (default 1) */
  workers?: number;
  /** requests waiting beyond the running ones before new ones are refused (default 64: a page asks one per chart it shows) */
  queue?: number;
}

/** Too many time-travel requests are waiting: try again later (503). */
export class TimeTravelBusy extends Error {}

/** The worker failed (a fault of the server, not of the request). */
export class TimeTravelFailed extends Error {}

/** What the worker answers: the JSON text of the result, or null (no such asset). */
export type JobResult = string | null;

interface Pending {
  job: TimeTravelJob;
  cancelled: () => boolean;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  busy: Pending | undefined;
  seq: number;
}

/** Where the built worker is: beside the bundle (dist/), from a chunk (dist/chunks/), or from the sources. */
export function findWorkerScript(): string | undefined {
  const candidates = [
    new URL("./time-travel-worker.mjs", import.meta.url),
    new URL("../time-travel-worker.mjs", import.meta.url),
    new URL("../../dist/time-travel-worker.mjs", import.meta.url),
  ].map((u) => fileURLToPath(u));
  return candidates.find((f) => existsSync(f));
}

export class TimeTravel {
  private readonly slots: Slot[];
  private readonly waiting: Pending[] = [];
  private readonly maxQueue: number;
  private closed = false;
  /** counters, for /api/health and the benchmark */
  readonly stats = { done: 0, refused: 0, dropped: 0, failed: 0 };

  constructor(
    private readonly ir: IrProgram,
    /** the log's folder (SqliteLog.open(dir, {readonly: true}) in each worker) */
    private readonly logDir: string,
    private readonly script: string,
    opts: TimeTravelOptions = {},
    /** the data folder whose checkpoints/ a state job may start from (undefined: always from the first record) */
    private readonly checkpointsDir?: string,
  ) {
    const n = Math.max(1, Math.floor(opts.workers ?? 1));
    this.maxQueue = Math.max(0, Math.floor(opts.queue ?? 64));
    this.slots = Array.from({ length: n }, () => ({ worker: undefined, busy: undefined, seq: 0 }));
  }

  /** Starts the workers now (they load the engine and open the log), so the first request does not wait for that. */
  warm(): void {
    for (const s of this.slots) s.worker ??= this.spawn(s);
  }

  /** Runs a job in a worker; `cancelled()` is asked before it starts (the client went away). */
  run(job: TimeTravelJob, cancelled: () => boolean = () => false): Promise<JobResult> {
    if (this.closed) return Promise.reject(new TimeTravelFailed("the server is closing"));
    return new Promise((resolve, reject) => {
      const p: Pending = { job, cancelled, resolve, reject };
      const free = this.slots.find((s) => !s.busy);
      if (free) return this.start(free, p);
      if (this.waiting.length >= this.maxQueue) {
        this.stats.refused++;
        return reject(new TimeTravelBusy(`time travel is busy: ${this.slots.length} running, ${this.waiting.length} waiting; try again in a moment`));
      }
      this.waiting.push(p);
    });
  }

  /** Requests running or waiting. */
  get load(): { running: number; waiting: number } {
    return { running: this.slots.filter((s) => s.busy).length, waiting: this.waiting.length };
  }

  private start(slot: Slot, p: Pending): void {
    slot.busy = p;
    const id = ++slot.seq;
    const w = (slot.worker ??= this.spawn(slot));
    w.ref(); // keep the process alive while a request waits for its answer
    w.postMessage({ id, job: p.job });
  }

  private spawn(slot: Slot): Worker {
    const w = new Worker(this.script, { workerData: { ir: this.ir, logDir: this.logDir, checkpointsDir: this.checkpointsDir }, name: "ofl time travel" });
    w.unref();
    w.postMessage({ id: 0, warm: true });
    w.on("message", (m: { id: number; result?: JobResult; error?: string }) => {
      const p = slot.busy;
      if (!p || m.id !== slot.seq) return;
      slot.busy = undefined;
      w.unref();
      if (m.error !== undefined) {
        this.stats.failed++;
        p.reject(new TimeTravelFailed(m.error));
      } else {
        this.stats.done++;
        p.resolve(m.result ?? null);
      }
      this.next(slot);
    });
    const died = (e: Error): void => {
      if (slot.worker !== w) return;
      slot.worker = undefined;
      const p = slot.busy;
      slot.busy = undefined;
      if (p) {
        this.stats.failed++;
        p.reject(new TimeTravelFailed(`the time-travel worker stopped: ${e.message}`));
      }
      if (!this.closed) this.next(slot);
    };
    w.on("error", died);
    w.on("exit", (code) => died(new Error(`exit code ${code}`)));
    return w;
  }

  private next(slot: Slot): void {
    while (this.waiting.length > 0) {
      const p = this.waiting.shift()!;
      if (p.cancelled()) {
        this.stats.dropped++;
        p.reject(new TimeTravelFailed("the client went away"));
        continue;
      }
      return this.start(slot, p);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.waiting.splice(0)) p.reject(new TimeTravelFailed("the server is closing"));
    await Promise.all(
      this.slots.map(async (s) => {
        const w = s.worker;
        s.worker = undefined;
        if (s.busy) s.busy.reject(new TimeTravelFailed("the server is closing"));
        s.busy = undefined;
        if (w) await w.terminate();
      }),
    );
  }
}
