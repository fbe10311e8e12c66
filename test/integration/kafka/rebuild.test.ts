// How the rule worker rebuilds a partition, on Apache Kafka itself.
// 1. Partitions whose first records were deleted (retention, or an operator's deleteRecords): the
//    state is a projection of the records that are on the log; the worker rebuilds from the first
//    offset there is and says which offsets it did not see; a partition with no record left has
//    nothing to rebuild and is live at once (before, it waited for the next record to arrive:
//    `ready` stayed unresolved on a quiet partition).
// 2. A rebuild's memory is bounded: over a history with none of the program's outputs (a first
//    start) it held every recomputed output until the end; past `rebuildHoldLimit` it now looks
//    where the program's outputs end and produces the rest as it recomputes them. After a run
//    that stopped half-way, nothing is produced twice.
import { expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { partitionOfKey, type KafkaNewRecord, type KafkaRecord } from "../../../runtime/log/kafka.js";
import { CAUSE_HEADER, RuleWorker } from "../../../runtime/worker/rule.js";
import { partitionProgram } from "../../../runtime/wire/partitions.js";
import { classify, telemetryValue } from "../../../runtime/wire/records.js";
import type { NewRecord } from "../../../runtime/wire/types.js";
import { waitFor } from "../../support/wait.js";
import { brokerForFile } from "./broker.js";
import { CutLog } from "./test-logs.js";

const broker = brokerForFile();


const P = 2;
/** the first TANK-k on each partition */
const uuidOn = (p: number): string => {
  for (let k = 0; ; k++) if (partitionOfKey(`TANK-${k}`, P) === p) return `TANK-${k}`;
};
const [ON0, ON1] = [uuidOn(0), uuidOn(1)];
const r = compile([{ path: "/trimmed.ofl", text: `model Tank {\n  telemetry level: int in 0..1000\n  state doubled = level * 2\n}\nasset a: Tank { uuid "${ON0}" }\nasset b: Tank { uuid "${ON1}" }\n` }], { name: "trimmed" });
if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
const ir = r.ir;

let t = Date.parse("2026-12-04T08:00:00.000Z");
const level = (uuid: string, v: number): KafkaNewRecord => ({ topic: "ofa_assets", key: uuid, partition: partitionOfKey(uuid, P), ts: (t += 500), value: telemetryValue("level", v, "Level", "Samples", t) });
const strip = (x: { key: string | null; value: unknown }): string => JSON.stringify([x.key, x.value]);

test("a worker rebuilds from the first record there is, and a partition with none left is live at once", async () => {
  await broker.log.ensureTopics([
    { name: "ofa_assets", partitions: P, replication: 1 },
    { name: "ofl_deadletter", partitions: P, replication: 1 },
  ]);
  // partition 0: 4 records, all deleted; partition 1: 10 records, the first 5 deleted
  await broker.log.append([...[1, 2, 3, 4].map((v) => level(ON0, v)), ...Array.from({ length: 10 }, (_, i) => level(ON1, 10 + i))]);
  const admin = await broker.log.admin();
  await admin.fetchTopicMetadata({ topics: ["ofa_assets"] });
  await admin.deleteTopicRecords({ topic: "ofa_assets", partitions: [{ partition: 0, offset: "4" }, { partition: 1, offset: "5" }] });

  const reports: string[] = [];
  const w = new RuleWorker({ program: ir, log: broker.log, clockMs: 0, checkpoints: false, report: (l, m) => void reports.push(`${l}: ${m}`) });
  try {
    await w.start();
    let live = false;
    void w.ready.then(() => (live = true));
    await waitFor("both partitions live (partition 0 without any record to read)", () => live, { timeoutMs: 30_000, detail: () => reports.join("\n") });
    expect(reports).toContain("warn: partition 0: offsets 0 to 3 are no longer on the log (retention): rebuilding from 4");
    expect(reports).toContain("warn: partition 1: offsets 0 to 4 are no longer on the log (retention): rebuilding from 5");
    expect(reports).toContain("info: partition 0: rebuilt from 0 records from offset 4; live");
    expect(reports).toContain("info: partition 1: rebuilt from 5 records from offset 5 (5 unwritten outputs produced); live");

    // live on partition 0: a new record is decided
    await broker.log.append([level(ON0, 21)]);
    const outputs = async (p: number): Promise<KafkaRecord[]> => (await broker.log.readRange("ofa_assets", 0, undefined, p)).filter((x) => x.headers[CAUSE_HEADER] !== undefined);
    await waitFor("the output of the new record on partition 0", async () => (await outputs(0)).length > 0, { timeoutMs: 30_000 });
    await w.idle();

    // each partition's outputs: the engine over the records that are on the log, from the first
    for (const p of [0, 1]) {
      const recs = await broker.log.readRange("ofa_assets", 0, undefined, p);
      const expected: NewRecord[] = [];
      const engine = new Engine({ program: partitionProgram(ir, p, P), senderUuid: `OFL-${ir.program}`, onOutput: (o) => expected.push(o) });
      for (const x of recs) if (x.headers[CAUSE_HEADER] === undefined) engine.process(classify(x));
      expect((await outputs(p)).map(strip)).toEqual(expected.filter((o) => o.topic === "ofa_assets").map(strip));
    }
    // spelled out: partition 1 decided levels 15..19 alone (doubled 30..38), partition 0 the new 21 (42)
    const doubled = async (p: number): Promise<unknown[]> => (await outputs(p)).map((x) => (x.value as Record<string, unknown>)["VALUE"]);
    expect(await doubled(1)).toEqual(["30", "32", "34", "36", "38"]);
    expect(await doubled(0)).toEqual(["42"]);
  } finally {
    await w.stop();
  }
}, 120_000);

test("a first start over a history holds at most rebuildHoldLimit outputs and checkpoints as it goes; stopped half-way, the next run repeats nothing", async () => {
  // the partitions emptied (the first test's records deleted), then 3,000 records on partition 1
  const ends = [...(await broker.log.partitionOffsets("ofa_assets"))].map(([partition, o]) => ({ partition, offset: String(o.high) }));
  await (await broker.log.admin()).deleteTopicRecords({ topic: "ofa_assets", partitions: ends });
  await broker.log.append(Array.from({ length: 3000 }, (_, i) => level(ON1, i % 500)));
  const onTopic = (): Promise<KafkaRecord[]> => broker.log.readRange("ofa_assets", 0, undefined, 1);
  const outputs = async (): Promise<string[]> => (await onTopic()).filter((x) => x.headers[CAUSE_HEADER] !== undefined).map(strip);
  const options = { program: ir, clockMs: 0, checkpoints: { everyRecords: 200, costShare: 0 }, rebuildHoldLimit: 50 };

  // a first run: past 50 held outputs it finds no output of the program further on, so it produces
  // them, and the rest as it goes (before: all 3,000 held until the end); it dies after 2,500, in
  // its second fetched batch (a fetch brings 256 KB, about 2,000 of these records: FETCH_LIMITS),
  // so a checkpoint was taken after the first
  const cut = new CutLog(broker.kafka.brokers, 2500, CAUSE_HEADER);
  const reports: string[] = [];
  const first = new RuleWorker({ ...options, log: cut, report: (l, m) => void reports.push(`${l}: ${m}`), onFatal: () => {} });
  try {
    await first.start();
    await waitFor("the first run's death", () => reports.some((m) => m.includes("simulated death")), { timeoutMs: 60_000, detail: () => reports.join("\n") });
    const start1 = Number(ends.find((e) => e.partition === 1)!.offset);
    expect(reports).toContain(`info: partition 1: rebuilding: 51 recomputed outputs held; 0 output(s) of this program between offsets ${start1 + 51} and ${start1 + 2999}: the rest produced as they are recomputed`);
    expect(first.stats.heldMost).toBe(51); // a level record has one output here (doubled)
    expect(first.stats.checkpoints).toBeGreaterThan(0); // taken during the rebuild
  } finally {
    await first.stop().catch(() => {});
    await cut.close();
  }
  expect((await outputs()).length).toBe(2500);

  // 500 more inputs; a new run restores the newest checkpoint (taken before the death), finds past
  // 50 held outputs the ones the first run wrote after it, and produces every other one once
  await broker.log.append(Array.from({ length: 500 }, (_, i) => level(ON1, (i * 7) % 500)));
  const second: string[] = [];
  const w = new RuleWorker({ ...options, log: broker.log, report: (l, m) => void second.push(`${l}: ${m}`) });
  try {
    await w.start();
    let live = false;
    void w.ready.then(() => (live = true));
    await waitFor("the second run live", () => live, { timeoutMs: 60_000, detail: () => second.join("\n") });
    await w.idle();
    expect(w.stats.restoredFrom).toBeGreaterThan(0);
    expect(w.stats.heldMost).toBe(51);
    expect(second.join("\n")).toMatch(/^info: partition 1: rebuilding: 51 recomputed outputs held; [1-9]\d* output\(s\) of this program between offsets \d+ and \d+: the rest produced as they are recomputed$/m);
    // every output once, in the order of its cause: the engine from scratch over the inputs
    const recs = await onTopic();
    const fresh: NewRecord[] = [];
    const engine = new Engine({ program: partitionProgram(ir, 1, P), senderUuid: `OFL-${ir.program}`, onOutput: (o) => fresh.push(o) });
    for (const x of recs) if (x.headers[CAUSE_HEADER] === undefined) engine.process(classify(x));
    expect(fresh.filter((o) => o.topic === "ofa_assets").length).toBe(3500);
    expect(await outputs()).toEqual(fresh.filter((o) => o.topic === "ofa_assets").map(strip));
  } finally {
    await w.stop();
  }
}, 180_000);
