// The time-travel worker thread (see timeTravel.ts): its own read-only handle of the log, the
// dashboard's state-at-T and history functions over the records that were on the log when the
// question was asked, the answer as JSON text. Bundled as dist/time-travel-worker.mjs.
import { readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import type { IrProgram } from "../../compiler/ir/types.js";
import { historyInfo, stateInfoAt } from "../dashboard/api.js";
import type { Engine } from "../engine/index.js";
import { CheckpointStore } from "../log/checkpoints.js";
import { timeTravelEngine } from "../replay/stateAt.js";
import { SqliteLog } from "../log/sqlite.js";
import type { Log, ReadOptions, TimeRangeOptions } from "../log/types.js";
import type { LogRecord } from "../wire/types.js";
import type { TimeTravelJob } from "./timeTravel.js";

const { ir, logDir, checkpointsDir } = workerData as { ir: IrProgram; logDir: string; checkpointsDir?: string };
const store = checkpointsDir === undefined ? undefined : new CheckpointStore(checkpointsDir);

// Below the plant in the CPU's queue: on Linux a thread has its own id and niceness, so this
// lowers only this worker (nice 10), never the thread that ingests, decides and dispatches.
// Elsewhere (no /proc/thread-self) the worker keeps the process's priority.
try {
  const tid = Number(/task\/(\d+)$/.exec(readlinkSync("/proc/thread-self"))?.[1]);
  if (tid > 0) setPriority(tid, Math.max(getPriority(tid), 10));
} catch {
  /* not Linux, or not allowed: same priority as the plant */
}
let log: SqliteLog | undefined;
/** the engine for the next question, built while idle (building one is most of a question at a checkpoint) */
let spare: Engine | undefined;
const prepare = (): void => void setImmediate(() => (spare ??= timeTravelEngine(ir)));

parentPort!.on("message", (m: { id: number; job: TimeTravelJob; warm?: boolean }) => {
  try {
    log ??= SqliteLog.open(logDir, { readonly: true });
    if (m.warm) {
      // ready for the first question: the log open, an engine built, the checkpoint decoder run once
      store?.newest(ir);
      return prepare();
    }
    const prefix = logPrefix(log, m.job.endSeq);
    const job = m.job;
    let result: string | null;
    // from the newest checkpoint usable at T (ofl run writes them beside the log), else from the start
    if (job.kind === "state") {
      const fresh = spare;
      spare = undefined;
      result = JSON.stringify(stateInfoAt(ir, prefix, job.atMs, store && { checkpoints: store, maxOffset: job.endOffset }, fresh));
    } else {
      const h = historyInfo(ir, prefix, job.asset, job.fromMs, job.toMs);
      result = h ? JSON.stringify(h) : null;
    }
    parentPort!.postMessage({ id: m.id, result });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
  prepare();
});

/** The log as it was when it held `endSeq` records: later appends are not read. */
export function logPrefix(log: Log, endSeq: number): Log {
  function* upTo(it: Iterable<LogRecord>): Generator<LogRecord> {
    for (const r of it) {
      if (r.seq !== undefined && r.seq >= endSeq) return;
      yield r;
    }
  }
  return {
    append: () => {
      throw new Error("read-only");
    },
    read: (opts?: ReadOptions) => upTo(log.read(opts)),
    // in seq order too (Log.readByTime)
    readByTime: (opts?: TimeRangeOptions) => upTo(log.readByTime(opts)),
    endOffset: (topic: string) => log.endOffset(topic),
    firstOffset: (topic: string) => log.firstOffset?.(topic) ?? 0,
    endSeq: () => Math.min(endSeq, log.endSeq()),
    subscribe: () => () => {},
    close: () => {},
  };
}
