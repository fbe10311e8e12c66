// The cross stage on Apache Kafka itself (issue 14, item 3): a program whose view sums the tanks
// of four partitions, a state and a rule reading it, built with `ofl build --partitions 4` and
// deployed: one rule worker decides the partitions, the cross worker what reads across them. The
// expected decisions come from docs/deploy.md ("Partitions"), not from the worker's output: the
// cross stage decides as the whole program would on the partitions' inputs (telemetry,
// availability, clock records, operator commands) merged by taking the head with the earliest
// event time (the lower partition on a tie), only while every partition has one. The test merges
// the records it reads back that way itself and sums the levels itself. The cross worker is
// SIGKILLed once it has checkpointed, and restarts from its checkpoint.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { KafkaLog, partitionOfKey, type KafkaRecord } from "../../../runtime/log/kafka.js";
import { CAUSE_HEADER, CROSS_CAUSE_HEADER, INPUT_TIME_HEADER } from "../../../runtime/worker/headers.js";
import { crossCheckpointTopic } from "../../../runtime/log/kafkaCheckpoints.js";
import { correlationId, offsetCause } from "../../../runtime/wire/correlation.js";
import { partitionProgram } from "../../../runtime/wire/partitions.js";
import { classify, telemetryValue } from "../../../runtime/wire/records.js";
import { ASSETS_TOPIC, type NewRecord, type WireEvent } from "../../../runtime/wire/types.js";
import { startKafka, type KafkaBroker } from "../../services/kafka/start.js";
import { waitFor } from "../../support/wait.js";
import { crossOutputs, documentedMerge } from "./merge.js";
import { startWorker, tearDown, type Worker } from "./workers.js";

const P = 4;
const TANKS = 8;
const CYCLE = 26;
const THRESHOLD = 150;
/** two tanks per partition */
const UUIDS: string[] = [];
for (let k = 1; UUIDS.length < TANKS; k++) {
  const p = partitionOfKey(`TANK-${k}`, P);
  if (UUIDS.filter((u) => partitionOfKey(u, P) === p).length < TANKS / P) UUIDS.push(`TANK-${k}`);
}

const SOURCE = `
model Tank {
  telemetry level: int in 0..1000
  state above = level * ${TANKS} > total
  command reset()
}
view total = sum(level) from Tank
${UUIDS.map((u, i) => `asset t${i + 1}: Tank { uuid "${u}" }`).join("\n")}
rule overfill {
  when total >= ${THRESHOLD}
  then t1.reset()
}
rule drain on Tank {
  when level >= 20
  then reset()
}
`;

let kafka: KafkaBroker;
let ir: IrProgram;
let dir: string;
let log: KafkaLog;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const broker = startKafka();
  // the name ofl build gives it (its file's): command correlation ids carry it
  const r = compile([{ path: "tanks.ofl", text: SOURCE }], { name: "tanks" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  ir = r.ir;
  dir = mkdtempSync(join(tmpdir(), "ofl-cross-"));
  kafka = await broker;
  log = new KafkaLog({ brokers: kafka.brokers });
}, 180_000);

afterAll(() => tearDown(children, [log, kafka], dir));

const partitionRecords = (p: number): Promise<KafkaRecord[]> => log.readRange(ASSETS_TOPIC, 0, undefined, p);
const overfills = (recs: KafkaRecord[]): KafkaRecord[] => recs.filter((r) => {
  const ev = classify(r);
  return ev.kind === "command" && ev.envelope.header.rule === "overfill";
});

test("P = 4: the cross worker decides the view's readers over the merged partitions, once, across a SIGKILL and a restart from its checkpoint; the partitions decide the rest", async () => {
  const { buildCommand } = await import("../../../runtime/cli/build.js");
  const { deployCommand } = await import("../../../runtime/cli/deploy.js");
  const { startKsqlStub } = await import("../../unit/deploy/ksqldb-stub.js");
  let out = "";
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (out += s), cwd: dir, color: false };
  writeFileSync(join(dir, "tanks.ofl"), SOURCE);
  const build = join(dir, "build");
  expect(await buildCommand.run([join(dir, "tanks.ofl"), "--out", build, "--partitions", String(P), "--explain"], io), out).toBe(0);
  expect(out).toContain(`Decided by the cross worker (they read across the ${P} partitions):\n  state Tank.above: reads view total\n  rule overfill: reads view total\n`);
  const plan = JSON.parse(readFileSync(join(build, "plan.json"), "utf8")) as { program: string; workers: { name: string; kind: string }[] };
  expect(plan.program).toBe(ir.program);
  expect(plan.workers.map((w) => [w.name, w.kind])).toEqual([
    ["rule", "rule"],
    ["cross", "cross"],
  ]);
  expect(readFileSync(join(build, "stack.yml"), "utf8")).toContain("The cross worker decides what reads across partitions: one runs it at a time");
  const stub = await startKsqlStub();
  try {
    expect(await deployCommand.run(["--build", build, "--kafka", kafka.brokers.join(","), "--ksqldb", stub.url], io), out).toBe(0);
  } finally {
    await stub.close();
  }
  // deploy made the cross stage's checkpoint topic (with the plan's replication), before any worker ran
  expect([...(await log.partitionOffsets(crossCheckpointTopic(ir.program))).keys()]).toEqual([0]);

  const workers = join(build, "workers");
  const start = (name: string): Worker => startWorker(workers, name, kafka.brokers, children, { OFL_CHECKPOINT_RECORDS: "100" });
  const rule = start("rule");
  let cross = start("cross");
  await Promise.all([rule.ready, cross.ready]);
  expect(cross.output()).toContain("state Tank.above: reads view total");
  const outputs = (): string => `--- rule\n${rule.output()}\n--- cross\n${cross.output()}`;

  // round r: every tank's level is `level(r)`, all at one event time (ties go to the lower
  // partition), later than the round before: two rounds in one millisecond would merge partition
  // by partition (p0's two rounds, then p1's, …), and the total would not fall between them (a
  // run on a fast machine lost the sentinel's falling edge so)
  let lastTs = 0;
  const round = (level: number): Promise<unknown> => {
    const ts = (lastTs = Math.max(Date.now(), lastTs + 1));
    // received (Kafka time) 7 ms after the reading (event time): a command carries its input's receive time
    return log.append(UUIDS.map((u) => ({ topic: ASSETS_TOPIC, key: u, ts: ts + 7, value: telemetryValue("level", String(level), "Sample", "Samples", ts) })));
  };
  const allOverfills = async (): Promise<number> => (await Promise.all([0, 1, 2, 3].map(partitionRecords))).reduce((n, recs) => n + overfills(recs).length, 0);
  // cycle 1, then a SIGKILL of the cross worker once it has decided the cycle's overfill, cycles 2 and 3 while it restarts
  for (let r = 0; r < CYCLE; r++) await round(r);
  await waitFor("the first overfill command", async () => (await allOverfills()) >= 1, { timeoutMs: 30_000, intervalMs: 100, detail: outputs });
  await waitFor("a checkpoint of the cross worker", async () => (await log.endOffset(crossCheckpointTopic(ir.program))) > 0, { timeoutMs: 30_000, intervalMs: 100, detail: outputs });
  cross.child.kill("SIGKILL");
  await cross.exited;
  for (let r = CYCLE; r < 2 * CYCLE; r++) await round(r % CYCLE);
  cross = start("cross");
  await cross.ready;
  // from its checkpoint: only what came after it is read again
  expect(cross.output()).toMatch(/rebuilt from the checkpoint after \d+ merged inputs and the \d+ records after it of 4 partitions/);
  for (let r = 2 * CYCLE; r < 3 * CYCLE; r++) await round(r % CYCLE);
  // sentinel: total falls to 0 and rises to 200: a fourth overfill; everything merged before its cause is decided
  await round(0);
  await round(25);
  await waitFor("the sentinel overfill command", async () => (await allOverfills()) >= 4, { timeoutMs: 30_000, intervalMs: 100, detail: outputs });
  // and the partitions' sentinel: the drain of the last rise, on every tank
  const drains = async (): Promise<number> =>
    (await Promise.all([0, 1, 2, 3].map(partitionRecords))).reduce((n, recs) => n + recs.filter((r) => r.headers[CAUSE_HEADER] !== undefined && classify(r).kind === "command").length, 0);
  await waitFor("the last drain of every tank", async () => (await drains()) >= TANKS * 4, { timeoutMs: 30_000, intervalMs: 100, detail: outputs });
  cross.child.kill("SIGTERM");
  rule.child.kill("SIGTERM");
  await Promise.all([cross.exited, rule.exited]);

  const parts = await Promise.all([0, 1, 2, 3].map(partitionRecords));
  const merged = documentedMerge(parts);
  // the spec's overfills: `total >= 150` becoming true, with total summed by the test in merge order
  const levels = new Map<string, number>();
  let above = false;
  const expectedIds: string[] = [];
  for (const { partition, rec, ev } of merged) {
    if (ev.kind !== "telemetry") continue;
    levels.set(rec.key!, Number(ev.value));
    const total = [...levels.values()].reduce((a, b) => a + b, 0);
    if (total >= THRESHOLD && !above) expectedIds.push(correlationId(ir.program, "overfill", UUIDS[0]!, offsetCause(partition, rec.offset), 0));
    above = total >= THRESHOLD;
  }
  // one per rise of the total: three cycles and the sentinel
  expect(expectedIds.length).toBe(4);
  const t1 = partitionOfKey(UUIDS[0]!, P);
  const logged = overfills(parts[t1]!).map((r) => (classify(r) as Extract<WireEvent, { kind: "command" }>).envelope.header.correlation_id);
  expect(logged, outputs()).toEqual(expectedIds);
  // each names its input and carries that input's Kafka time (a connector judges a command's age by it)
  const inputTs = new Map(merged.map((m) => [`${m.partition}:${m.rec.offset}`, m.rec.ts]));
  for (const r of overfills(parts[t1]!)) expect(Number(r.headers[INPUT_TIME_HEADER])).toBe(inputTs.get(r.headers[CROSS_CAUSE_HEADER]!));

  // every output of the cross worker up to the sentinel's input, exactly once: the whole program
  // over the documented merge, its cross-partition declarations' outputs, on their assets' partitions
  const sentinel = merged.findIndex((m) => correlationId(ir.program, "overfill", UUIDS[0]!, offsetCause(m.partition, m.rec.offset), 0) === expectedIds[3]);
  const position = new Map(merged.map((m, i) => [`${m.partition}:${m.rec.offset}`, i]));
  const expected = crossOutputs(ir, merged.slice(0, sentinel + 1), P);
  for (let q = 0; q < P; q++) {
    const written = parts[q]!.filter((r) => r.headers[CROSS_CAUSE_HEADER] !== undefined && position.get(r.headers[CROSS_CAUSE_HEADER]!)! <= sentinel);
    expect(written.map((r) => JSON.stringify([r.key, r.value])), `partition ${q}`).toEqual(expected[q]);
    for (const r of written) expect(partitionOfKey(r.key!, P)).toBe(q);
  }
  const aboveChanges = expected.flat().filter((s) => s.includes('"ID":"above"')).length;
  expect(aboveChanges).toBeGreaterThan(TANKS);

  // each partition's own outputs (the drain rule) are its replay's, and none of the cross stage's
  for (let p = 0; p < P; p++) {
    const replayed: NewRecord[] = [];
    const local = new Engine({ program: partitionProgram(ir, p, P), onOutput: (o) => replayed.push(o) });
    for (const r of parts[p]!) local.process(classify(r));
    const recorded = parts[p]!.filter((r) => r.headers[CAUSE_HEADER] !== undefined).map((r) => JSON.stringify([r.key, r.value]));
    expect(recorded, `partition ${p}`).toEqual(replayed.filter((o) => o.topic === ASSETS_TOPIC).map((o) => JSON.stringify([o.key, o.value])));
    expect(recorded.filter((s) => s.includes("reset_CMD")).length, `partition ${p}: drain fires once per cycle per tank`).toBe((TANKS / P) * 4);
    const ts = new Map(parts[p]!.map((r) => [r.offset, r.ts]));
    for (const r of parts[p]!.filter((r) => r.headers[CAUSE_HEADER] !== undefined && classify(r).kind === "command"))
      expect(Number(r.headers[INPUT_TIME_HEADER]), `partition ${p}: a drain's input time`).toBe(ts.get(Number(r.headers[CAUSE_HEADER])));
  }

  // recorded whole as a user does and replayed: the same decisions, the cross stage's included
  const { recordCommand } = await import("../../../runtime/cli/record.js");
  const { replaySession } = await import("../../../runtime/replay/runner.js");
  const session = join(dir, "tanks.jsonl");
  expect(await recordCommand.run(["--kafka", kafka.brokers.join(","), "--out", session], io), out).toBe(0);
  const report = replaySession(ir, session);
  expect(report.divergence, JSON.stringify(report.divergence)).toBeUndefined();
  // the drains of every tank and the overfills (the replay goes as far as the merge goes: past the sentinel)
  expect(report.commands.matched).toBe(report.commands.recorded);
  expect(report.commands.recorded).toBeGreaterThanOrEqual(TANKS * 4 + 4);
  // a changed threshold is found, on t1's partition, as the cross stage's
  const changed = compile([{ path: "tanks.ofl", text: SOURCE.replace(`total >= ${THRESHOLD}`, `total >= ${THRESHOLD + 30}`) }], { name: "tanks" }).ir!;
  const diverged = replaySession(changed, session);
  expect(diverged.passed).toBe(false);
  expect(diverged.divergence?.expected).toMatch(new RegExp(`^partition ${t1} \\(cross stage\\): recorded command #1: ${UUIDS[0]} reset\\(\\) at .* by rule overfill$`));
}, 170_000);
