// What docs/deploy.md ("Partitions") says the cross stage decides, computed by the tests from the
// records they read back: the partitions' inputs merged by event time, and the whole program's
// outputs over that merge of the declarations that read across partitions.
import type { IrProgram } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { partitionOfKey, type KafkaRecord } from "../../../runtime/log/kafka.js";
import { crossOutputFilter } from "../../../runtime/wire/partitions.js";
import { classify } from "../../../runtime/wire/records.js";
import type { NewRecord, WireEvent } from "../../../runtime/wire/types.js";

export interface Merged {
  partition: number;
  rec: KafkaRecord;
  ev: WireEvent & { time: number };
}

/** The documented merge: inputs only; the head with the earliest event time, the lower partition on a tie; only while every partition has one. */
export function documentedMerge(parts: KafkaRecord[][]): Merged[] {
  const inputs = parts.map((recs) =>
    recs.flatMap((rec) => {
      const ev = classify(rec);
      return ev.kind === "telemetry" || ev.kind === "avail" || ev.kind === "clock" || ev.kind === "operator_command" ? [{ rec, ev }] : [];
    }),
  );
  const at = parts.map(() => 0);
  const out: Merged[] = [];
  while (inputs.every((q, p) => at[p]! < q.length)) {
    let best = 0;
    for (let p = 1; p < parts.length; p++) if (inputs[p]![at[p]!]!.ev.time < inputs[best]![at[best]!]!.ev.time) best = p;
    const x = inputs[best]![at[best]!++]!;
    out.push({ partition: best, ...x });
  }
  return out;
}

/** The cross stage's outputs over `merged`, as `[key, value]` JSON, by the partition of their asset (P partitions), in merge order. */
export function crossOutputs(ir: IrProgram, merged: Merged[], P: number): string[][] {
  const isCross = crossOutputFilter(ir, P);
  const expected: string[][] = Array.from({ length: P }, () => []);
  let batch: NewRecord[] = [];
  const engine = new Engine({ program: ir, onOutput: (o) => batch.push(o) });
  for (const m of merged) {
    batch = [];
    engine.process(m.ev);
    const keep = isCross(batch);
    batch.forEach((o, i) => keep[i] && expected[partitionOfKey(o.key!, P)]!.push(JSON.stringify([o.key, o.value])));
  }
  return expected;
}
