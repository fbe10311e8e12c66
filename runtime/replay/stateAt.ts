// Time travel: the state at T is the state after the longest prefix of the log whose input
// records all have event time ≤ T, with timers up to T fired (language spec §6). Rebuilt by
// replaying the engine over the log: never a cache.
import type { IrProgram, IrType } from "../../compiler/ir/types.js";
import { Engine, type EngineSnapshot } from "../engine/index.js";
import { classify, isFutureRecord, isInput } from "../wire/records.js";
import type { LogRecord } from "../wire/types.js";

export interface StateAt {
  atMs: number;
  snapshot: EngineSnapshot;
  /** records replayed (the prefix), and records of the log left after it */
  replayed: number;
  /** the first record after the prefix, if any */
  next?: LogRecord;
}

export function stateAt(ir: IrProgram, records: Iterable<LogRecord>, atMs: number): StateAt {
  const engine = new Engine({ program: ir, onOutput: () => {}, derivedOutputs: false });
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
  return out;
}

/** The display unit of a type (`degC`), or "" */
export function unitText(t: IrType | undefined): string {
  return t && (t.t === "int" || t.t === "float") && t.unit ? t.unit : t?.t === "duration" ? "ms" : "";
}
