// Time travel: the state at T is the state after the longest prefix of the log whose input
// records all have event time ≤ T, with timers up to T fired (language spec §6). Rebuilt by
// replaying the engine over the log: never a cache. With checkpoints (stateAtLog), the replay
// starts from the newest checkpoint whose inputs all have event time ≤ T (its horizon): the
// records before it are then all in the prefix, so the result is the same as from offset 0.
import type { IrProgram, IrType } from "../../compiler/ir/types.js";
import { Engine, type EngineSnapshot, type EngineState } from "../engine/index.js";
import { wholeHistory } from "../log/archive.js";
import type { CheckpointStore } from "../log/checkpoints.js";
import type { Log } from "../log/types.js";
import { ASSETS_TOPIC, classify, isFutureRecord, isInput } from "../wire/records.js";
import type { LogRecord } from "../wire/types.js";

export interface StateAt {
  atMs: number;
  snapshot: EngineSnapshot;
  /** records replayed (the prefix, after the checkpoint when one was used), and records of the log left after it */
  replayed: number;
  /** the first record after the prefix, if any */
  next?: LogRecord;
  /** the offset of the checkpoint the replay started from (absent: from the first record given) */
  fromOffset?: number;
}

/** Where a replay starts: an engine state (a checkpoint's, horizon <= T) and its offset. */
export interface StateAtStart {
  state: EngineState;
  offset: number;
}

/**
 * A fresh engine for one time-travel question (no outputs kept). Building one costs about 0.1 s
 * for 1,000 assets, more than restoring a checkpoint into it: the time-travel worker builds the
 * next one while idle and passes it to stateAt.
 */
export function timeTravelEngine(ir: IrProgram): Engine {
  return new Engine({ program: ir, onOutput: () => {}, derivedOutputs: false });
}

/**
 * The state at `atMs` from `records` (the log's input topic in offset order). With `start`,
 * `records` must begin at `start.offset`. `fresh`: an engine of timeTravelEngine(ir) that
 * nothing has used (it is used up here).
 */
export function stateAt(ir: IrProgram, records: Iterable<LogRecord>, atMs: number, start?: StateAtStart, fresh?: Engine): StateAt {
  if (fresh !== undefined && fresh.program !== ir) throw new Error("stateAt: the engine given is of another program");
  const engine = fresh ?? timeTravelEngine(ir);
  if (start !== undefined) engine.loadState(start.state);
  let replayed = 0;
  let next: LogRecord | undefined;
  for (const rec of records) {
    const ev = classify(rec);
    if (isInput(ev) && ev.kind !== "bad" && ev.time > atMs && !isFutureRecord(ev, ir.futureToleranceMs)) {
      next = rec;
      break;
    }
    engine.process(ev);
    replayed++;
  }
  engine.advanceTo(atMs);
  const out: StateAt = { atMs, snapshot: engine.snapshot(), replayed };
  if (next) out.next = next;
  if (start !== undefined) out.fromOffset = start.offset;
  return out;
}

/**
 * The state at `atMs` of an embedded log, starting from the newest checkpoint of the program
 * usable at `atMs` (horizon <= atMs) when `checkpoints` is given; corrupt checkpoints are
 * skipped (reported through `warn`). Safe in a worker thread with its own read-only log.
 */
export function stateAtLog(ir: IrProgram, log: Log, atMs: number, opts: { checkpoints?: CheckpointStore; warn?: (m: string) => void } = {}): StateAt {
  const first = log.firstOffset?.(ASSETS_TOPIC) ?? 0;
  const cp = opts.checkpoints?.newest(ir, { atMs, maxOffset: log.endOffset(ASSETS_TOPIC), minOffset: first, warn: opts.warn });
  if (cp === undefined) {
    // before every usable checkpoint: from the first record, archived ones included (retention)
    const records = first > 0 && opts.checkpoints ? wholeHistory(opts.checkpoints.dataDir, log) : log.read({ topic: ASSETS_TOPIC });
    return stateAt(ir, records, atMs);
  }
  return stateAt(ir, log.read({ topic: ASSETS_TOPIC, fromOffset: cp.header.offset }), atMs, { state: cp.state, offset: cp.header.offset });
}

/** The display unit of a type (`degC`), or "" */
export function unitText(t: IrType | undefined): string {
  return t && (t.t === "int" || t.t === "float") && t.unit ? t.unit : t?.t === "duration" ? "ms" : "";
}
