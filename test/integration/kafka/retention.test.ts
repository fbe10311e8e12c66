// The rule worker on partitions whose first records were deleted (retention, or an operator's
// deleteRecords), on Apache Kafka itself. The state is a projection of the records that are on the
// log: the worker rebuilds from the first offset there is and says which offsets it did not see;
// a partition with no record left has nothing to rebuild and is live at once (before, it waited
// for the next record to arrive: `ready` stayed unresolved on a quiet partition).
import { afterAll, beforeAll, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { KafkaLog, partitionOfKey, type KafkaNewRecord, type KafkaRecord } from "../../../runtime/log/kafka.js";
import { CAUSE_HEADER, RuleWorker } from "../../../runtime/worker/rule.js";
import { partitionProgram } from "../../../runtime/wire/partitions.js";
import { classify, telemetryValue } from "../../../runtime/wire/records.js";
import type { NewRecord } from "../../../runtime/wire/types.js";
import { startKafka, type KafkaBroker } from "../../services/kafka/start.js";
import { waitFor } from "../../support/wait.js";

let kafka: KafkaBroker;
let log: KafkaLog;

beforeAll(async () => {
  kafka = await startKafka();
  log = new KafkaLog({ brokers: kafka.brokers });
}, 180_000);

afterAll(async () => {
  await log?.close();
  await kafka?.close();
});

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
  await log.ensureTopics([
    { name: "ofa_assets", partitions: P, replication: 1 },
    { name: "ofl_deadletter", partitions: P, replication: 1 },
  ]);
  // partition 0: 4 records, all deleted; partition 1: 10 records, the first 5 deleted
  await log.append([...[1, 2, 3, 4].map((v) => level(ON0, v)), ...Array.from({ length: 10 }, (_, i) => level(ON1, 10 + i))]);
  const admin = await log.admin();
  await admin.fetchTopicMetadata({ topics: ["ofa_assets"] });
  await admin.deleteTopicRecords({ topic: "ofa_assets", partitions: [{ partition: 0, offset: "4" }, { partition: 1, offset: "5" }] });

  const reports: string[] = [];
  const w = new RuleWorker({ program: ir, log, clockMs: 0, checkpoints: false, report: (l, m) => void reports.push(`${l}: ${m}`) });
  try {
    await w.start();
    let live = false;
    void w.ready.then(() => (live = true));
    await waitFor("both partitions live (partition 0 without any record to read)", () => live, { timeoutMs: 30_000, detail: () => reports.join("\n") });
    expect(reports).toContain("warn: partition 0: offsets 0 to 3 are no longer on the log (retention): rebuilding from 4");
    expect(reports).toContain("warn: partition 1: offsets 0 to 4 are no longer on the log (retention): rebuilding from 5");
    expect(reports).toContain("info: partition 0: rebuilt from 0 records from offset 4; live");
    expect(w.stats.consumed).toBe(5);

    // live on partition 0: a new record is decided
    await log.append([level(ON0, 21)]);
    const outputs = async (p: number): Promise<KafkaRecord[]> => (await log.readRange("ofa_assets", 0, undefined, p)).filter((x) => x.headers[CAUSE_HEADER] !== undefined);
    await waitFor("the output of the new record on partition 0", async () => (await outputs(0)).length > 0, { timeoutMs: 30_000 });
    await w.idle();

    // each partition's outputs: the engine over the records that are on the log, from the first
    for (const p of [0, 1]) {
      const recs = await log.readRange("ofa_assets", 0, undefined, p);
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
