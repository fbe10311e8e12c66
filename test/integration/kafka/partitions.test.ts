// A partitioned deployment on Apache Kafka itself (issue 14): `ofl build --partitions 4`, `ofl
// deploy` creating the topics, two bundled rule workers sharing the four partitions of
// `ofa_assets` as one consumer group, a SIGKILL of one mid-run and the survivor taking its
// partitions. Each partition is decided alone (docs/deploy.md, Partitions): its records replayed
// by the embedded engine over the partition's assets give exactly the outputs on it.
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { KafkaLog, partitionOfKey, type KafkaRecord } from "../../../runtime/log/kafka.js";
import { CAUSE_HEADER, PROCESSED_HEADER } from "../../../runtime/worker/headers.js";
import { crossPartition, partitionProgram } from "../../../runtime/wire/partitions.js";
import { classify, telemetryValue } from "../../../runtime/wire/records.js";
import { checkpointTopic } from "../../../runtime/log/kafkaCheckpoints.js";
import { ASSETS_TOPIC, type NewRecord } from "../../../runtime/wire/types.js";
import { ensureKafkaJars, startKafka, type KafkaBroker } from "../../services/kafka/start.js";
import { waitFor } from "../../support/wait.js";
import { DRAIN_RULE, TANK_MODEL } from "./program.js";
import { startWorker, tearDown, type Worker } from "./workers.js";

const P = 4;
const TANKS = 8;
/** levels 0..25 again and again: the rule fires once per cycle per tank, when the level reaches 20 */
const CYCLE = 26;
const ROUNDS = 3 * CYCLE;
/** two tanks per partition: the first uuids TANK-k that Kafka's partitioner puts on each */
const UUIDS: string[] = [];
for (let k = 1; UUIDS.length < TANKS; k++) {
  const p = partitionOfKey(`TANK-${k}`, P);
  if (UUIDS.filter((u) => partitionOfKey(u, P) === p).length < TANKS / P) UUIDS.push(`TANK-${k}`);
}

const SOURCE = `${TANK_MODEL}
${UUIDS.map((u, i) => `asset t${i + 1}: Tank { uuid "${u}" }`).join("\n")}
asset sim: Tank {
  uuid "TANK-SIM"
  source simulate(seed: 1) {
    level <- counter(0, 1, every: 20ms)
    reset -> set(level, 0)
  }
}
${DRAIN_RULE}`;

let kafka: KafkaBroker;
let ir: IrProgram;
let dir: string;
let log: KafkaLog;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const broker = startKafka();
  const r = compile([{ path: "tanks.ofl", text: SOURCE }], { name: "tanks" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  ir = r.ir;
  dir = mkdtempSync(join(tmpdir(), "ofl-partitions-"));
  kafka = await broker;
  log = new KafkaLog({ brokers: kafka.brokers });
}, 180_000);

afterAll(() => tearDown(children, [log, kafka], dir));

test("an asset's partition is the one Kafka's Java client gives its key (murmur2), for any partition count", () => {
  const keys = [...ir.assets.map((a) => a.uuid), ...Array.from({ length: 200 }, (_, i) => `asset-${i * 7919}-Ω${i % 13}`), "", "x"];
  const java = join(dir, "Partition.java");
  // the producer's own code path for a keyed record (KafkaProducer → BuiltInPartitioner.partitionForKey)
  writeFileSync(
    java,
    `import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
     public class Partition {
       public static void main(String[] a) throws Exception {
         for (String n : new String[] {"1", "2", "3", "4", "7", "16"})
           for (String k : java.nio.file.Files.readAllLines(java.nio.file.Path.of(a[0])))
             System.out.println(BuiltInPartitioner.partitionForKey(k.getBytes(java.nio.charset.StandardCharsets.UTF_8), Integer.parseInt(n)));
       }
     }`,
  );
  writeFileSync(join(dir, "keys.txt"), keys.join("\n") + "\n");
  const run = spawnSync("java", ["-cp", `${ensureKafkaJars()}/*`, java, join(dir, "keys.txt")], { encoding: "utf8", timeout: 60_000 });
  expect(run.status, run.stderr).toBe(0);
  const expected = run.stdout.trim().split("\n").map(Number);
  const ours = [1, 2, 3, 4, 7, 16].flatMap((n) => keys.map((k) => partitionOfKey(k, n)));
  expect(ours).toEqual(expected);
}, 60_000);

test("ofl build --partitions gives a program that reads across partitions a cross worker, and refuses an interlock that does, saying what reads what", async () => {
  const { buildCommand } = await import("../../../runtime/cli/build.js");
  // t1 and t2 are on different partitions of 4 (asserted): a state of t1's model reading t2 cannot be decided by one partition
  const [a, b] = [partitionOfKey("TANK-1", P), partitionOfKey("TANK-2", P)];
  expect(a).not.toBe(b);
  const text = `model M {\n  telemetry level: int\n}\nmodel N {\n  telemetry level: int\n  state lower = t2.level > level\n}\nasset t1: N { uuid "TANK-1" }\nasset t2: M { uuid "TANK-2" }\n`;
  writeFileSync(join(dir, "across.ofl"), text);
  let err = "";
  const io = { out: (s: string) => void (err += s), err: (s: string) => void (err += s), cwd: dir, color: false };
  expect(await buildCommand.run([join(dir, "across.ofl"), "--out", join(dir, "b1"), "--partitions", String(P), "--explain"], io), err).toBe(0);
  expect(err).toContain(`state N.lower: reads another partition's asset: t1 (partition ${a}), t2 (partition ${b})`);
  const plan = JSON.parse(readFileSync(join(dir, "b1", "plan.json"), "utf8")) as { workers: { name: string }[] };
  expect(plan.workers.map((w) => w.name)).toEqual(["rule", "cross"]);
  // an interlock is checked on its asset's partition (an operator's command is decided there): refused
  writeFileSync(join(dir, "interlock.ofl"), text.replace("state lower = t2.level > level", "command drain() requires t2.level > level"));
  err = "";
  expect(await buildCommand.run([join(dir, "interlock.ofl"), "--out", join(dir, "b2"), "--partitions", String(P)], io)).toBe(1);
  expect(err).toContain(`command N.drain (requires): reads another partition's asset: t1 (partition ${a}), t2 (partition ${b})`);
  // one partition: the same program builds, with no cross worker
  expect(await buildCommand.run([join(dir, "interlock.ofl"), "--out", join(dir, "b2")], io), err).toBe(0);
  expect((JSON.parse(readFileSync(join(dir, "b2", "plan.json"), "utf8")) as { workers: { name: string }[] }).workers.map((w) => w.name)).toEqual(["rule"]);
}, 60_000);

/** The records of one partition of ofa_assets. */
function partitionRecords(p: number): Promise<KafkaRecord[]> {
  return log.readRange(ASSETS_TOPIC, 0, undefined, p);
}

test("P = 4, two rule workers: a SIGKILL mid-run, the survivor takes its partitions; every partition's outputs are its replay's, no command twice", async () => {
  expect(crossPartition(ir, P)).toEqual([]);
  const byPartition = ir.assets.map((a) => partitionOfKey(a.uuid, P));
  for (let p = 0; p < P; p++) expect(byPartition, `an asset on partition ${p}`).toContain(p);

  // build and deploy as a user does (a stub stands in for ksqlDB, which cannot run here)
  const { buildCommand } = await import("../../../runtime/cli/build.js");
  const { deployCommand } = await import("../../../runtime/cli/deploy.js");
  const { startKsqlStub } = await import("../../unit/deploy/ksqldb-stub.js");
  let out = "";
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (out += s), cwd: dir, color: false };
  writeFileSync(join(dir, "tanks.ofl"), SOURCE);
  const build = join(dir, "build");
  expect(await buildCommand.run([join(dir, "tanks.ofl"), "--out", build, "--partitions", String(P)], io), out).toBe(0);
  const plan = JSON.parse(readFileSync(join(build, "plan.json"), "utf8")) as { partitions: number; topics: { name: string; partitions: number }[] };
  expect(plan.partitions).toBe(P);
  expect(plan.topics.find((t) => t.name === ASSETS_TOPIC)!.partitions).toBe(P);
  // ofl deploy --local runs up to P rule workers of such a build
  await expect(deployCommand.run(["--build", build, "--local", "--rule-workers", String(P + 1)], io)).rejects.toThrow(`--rule-workers: ${P + 1} is not a whole number from 1 to ${P}`);
  await expect(deployCommand.run(["--build", build, "--rule-workers", "2"], io)).rejects.toThrow("--rule-workers goes with --local");
  const stub = await startKsqlStub();
  try {
    expect(await deployCommand.run(["--build", build, "--kafka", kafka.brokers.join(","), "--ksqldb", stub.url], io), out).toBe(0);
  } finally {
    await stub.close();
  }
  expect(await log.partitions(ASSETS_TOPIC)).toBe(P);

  const workers = join(build, "workers");
  const env = { OFL_CHECKPOINT_RECORDS: "100" };
  const start = (name: string): Worker => startWorker(workers, name, kafka.brokers, children, env);
  const a = start("rule");
  await a.ready;
  expect(a.output()).toContain(`ofa_assets has ${P} partitions; this worker decides partitions 0, 1, 2, 3`);
  const b = start("rule");
  await b.ready;
  const sim = start("connector-sim-simulate");
  await sim.ready;
  const outputs = (): string => `--- a\n${a.output()}\n--- b\n${b.output()}\n--- sim\n${sim.output()}`;
  const bOwns = /this worker decides partitions? ([\d, ]+)/.exec(b.output())?.[1]?.split(", ").map(Number);
  expect(bOwns?.length, outputs()).toBe(P / 2);
  const aOwns = [0, 1, 2, 3].filter((p) => !bOwns!.includes(p));

  // the tanks' levels, produced by the test: round r gives every tank level r mod 26, event time 100 ms apart
  const t0 = Date.now();
  const round = (r: number): Promise<unknown> =>
    log.append(
      Array.from({ length: TANKS }, (_, i) => {
        const ts = t0 + r * 100;
        return { topic: ASSETS_TOPIC, key: UUIDS[i]!, ts, value: telemetryValue("level", String(r % CYCLE), "Sample", "Samples", ts) };
      }),
    );
  for (let r = 0; r < CYCLE; r++) await round(r);
  // SIGKILL a mid-run, once it has checkpointed each of its partitions, while the rounds go on
  for (const p of aOwns)
    await waitFor(`a checkpoint of partition ${p}`, async () => (await log.readRange(checkpointTopic(ir.program), 0, undefined, p)).length > 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
      detail: outputs,
    });
  a.child.kill("SIGKILL");
  await a.exited;
  for (let r = CYCLE; r < ROUNDS; r++) await round(r);

  // the survivor is assigned a's partitions (after the group's session timeout) and rebuilds each
  await waitFor(
    "worker b to decide every partition",
    () => aOwns.every((p) => new RegExp(`partition ${p}: rebuilt from`).test(b.output())),
    { timeoutMs: 40_000, intervalMs: 200, detail: outputs },
  );
  // from the checkpoints a wrote: only the tail after them is replayed
  for (const p of aOwns) expect(b.output(), outputs()).toMatch(new RegExp(`partition ${p}: rebuilt from the checkpoint at offset \\d+`));
  // the simulated tank is drained by its connector, on its partition, also after the takeover
  const simResults = async (): Promise<string[]> =>
    (await partitionRecords(partitionOfKey("TANK-SIM", P))).flatMap((r) => {
      const ev = classify(r);
      return ev.kind === "command_result" && r.key === "TANK-SIM" ? [ev.result.status] : [];
    });
  const before = (await simResults()).length;
  await waitFor("two more completed commands of the simulated tank", async () => (await simResults()).length >= before + 2, { timeoutMs: 30_000, intervalMs: 200, detail: outputs });
  sim.child.kill("SIGTERM");
  await sim.exited;
  // sentinel: each partition's clock says its last input was processed
  const ends = await Promise.all([0, 1, 2, 3].map(async (p) => (await partitionRecords(p)).filter((r) => r.key?.startsWith("TANK-") && r.headers[CAUSE_HEADER] === undefined).at(-1)!.offset));
  for (let p = 0; p < P; p++)
    await waitFor(`partition ${p} processed to offset ${ends[p]}`, async () => (await partitionRecords(p)).some((r) => Number(r.headers[PROCESSED_HEADER] ?? -1) >= ends[p]!), {
      timeoutMs: 30_000,
      intervalMs: 200,
      detail: outputs,
    });
  b.child.kill("SIGTERM");
  await b.exited;

  const strip = (r: { key: string | null; value: unknown }): string => JSON.stringify([r.key, r.value]);
  const commandIds: string[] = [];
  let tankCommands = 0;
  for (let p = 0; p < P; p++) {
    const recs = await partitionRecords(p);
    // everything on a partition is of its own assets (or its clock)
    for (const r of recs) if (r.key?.startsWith("TANK-")) expect(partitionOfKey(r.key, P), `${r.key} on partition ${p}`).toBe(p);
    const replayed: NewRecord[] = [];
    const engine = new Engine({ program: partitionProgram(ir, p, P), onOutput: (o) => replayed.push(o) });
    for (const r of recs) engine.process(classify(r));
    const recorded = recs.filter((r) => r.headers[CAUSE_HEADER] !== undefined);
    const engineOut = replayed.filter((o) => o.topic === ASSETS_TOPIC).map(strip);
    expect(recorded.map(strip), `partition ${p}`).toEqual(engineOut);
    for (const r of recs) {
      const ev = classify(r);
      if (ev.kind !== "command") continue;
      commandIds.push(ev.envelope.header.correlation_id);
      if (r.key !== "TANK-SIM") tankCommands++;
    }
  }
  // the spec's count: `drain` fires when level >= 20 becomes true, once per cycle of each tank
  expect(tankCommands).toBe(TANKS * (ROUNDS / CYCLE));
  expect(new Set(commandIds).size).toBe(commandIds.length);
  const results = await simResults();
  expect(results.length).toBeGreaterThanOrEqual(2);
  expect(new Set(results)).toEqual(new Set(["completed"]));

  // the topic recorded as a user does, whole and one partition at a time, and replayed: the same
  // decisions (ofl test --replay decides a partition's session by its assets alone, as its header says)
  const { recordCommand } = await import("../../../runtime/cli/record.js");
  const { replaySession } = await import("../../../runtime/replay/runner.js");
  let err = "";
  const rio = { out: () => {}, err: (x: string) => void (err += x), cwd: dir, color: false };
  // the whole topic: every partition, decided by its own assets
  expect(await recordCommand.run(["--kafka", kafka.brokers.join(","), "--out", join(dir, "all.jsonl")], rio), err).toBe(0);
  expect(JSON.parse(readFileSync(join(dir, "all.jsonl"), "utf8").split("\n")[0]!)).toMatchObject({ ofl_session: 1, partitions: P });
  const whole = replaySession(ir, join(dir, "all.jsonl"));
  expect(whole.divergence, JSON.stringify(whole.divergence)).toBeUndefined();
  expect(whole.commands.replayed).toBe(commandIds.length);
  let replayedCommands = 0;
  for (let p = 0; p < P; p++) {
    const file = join(dir, `partition-${p}.jsonl`);
    expect(await recordCommand.run(["--kafka", kafka.brokers.join(","), "--partition", String(p), "--out", file], rio), err).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8").split("\n")[0]!)).toMatchObject({ ofl_session: 1, partition: p, partitions: P });
    const report = replaySession(ir, file);
    expect(report.divergence, `partition ${p}: ${JSON.stringify(report.divergence)}`).toBeUndefined();
    expect(report.passed).toBe(true);
    replayedCommands += report.commands.replayed;
  }
  expect(replayedCommands).toBe(commandIds.length);
}, 170_000);
