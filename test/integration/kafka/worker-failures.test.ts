// How the workers fail safe, on Apache Kafka itself.
// 1. A rule worker whose outputs cannot be produced writes nothing after them. Its clock records
//    carry `ofl-processed` (every output of the inputs up to that offset is on the topic before
//    the clock record: a connector worker concludes from it that an operator command was
//    accepted). Clock ticks queue their appends behind the batch being produced; before the fix,
//    when that batch failed, the queued clock records were still written, claiming inputs
//    processed whose outputs never reached the log: an operator command the interlock rejected,
//    its rejection lost, was then taken as accepted and dispatched by the connector worker
//    (runtime/worker/connector.ts, `release`). Here three or more ticks queue behind a produce
//    that is then refused; before the fix each of them was written.
// 2. A stuck Kafka consumer (records wait on the log, none is delivered) stops the worker after
//    `stallMs` instead of leaving its rules undecided while it looks healthy; its supervisor
//    restarts it. kafkajs consumers started just after a topic was deleted and created again were
//    seen fetching nothing; here the worker's consumer is paused, which starves it the same way.
// 3. A connector worker whose produce fails produces nothing after it and stops: its MQTT device
//    redelivers what was not acknowledged to the restarted worker, in order. Before, the next
//    batches were produced while the failed one's messages waited unacknowledged (the connector
//    acknowledges nothing after a refusal): after the restart they came again, out of order and
//    twice.
// 4. A rule worker rebuilding, and a connector worker reading the commands on the log at start,
//    say how far (their status lines), so a long start does not look like a hung worker.
import mqtt from "mqtt";
import { afterAll, beforeAll, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { KafkaLog, type KafkaNewRecord } from "../../../runtime/log/kafka.js";
import { ConnectorWorker } from "../../../runtime/worker/connector.js";
import { CAUSE_HEADER, PROCESSED_HEADER, RuleWorker } from "../../../runtime/worker/rule.js";
import { telemetryValue } from "../../../runtime/wire/records.js";
import type { LogRecord } from "../../../runtime/wire/types.js";
import { waitFor } from "../../support/wait.js";
import { startMosquitto, type Mosquitto } from "../../services/mosquitto/start.js";
import { brokerForFile } from "./broker.js";
import { GatedReadLog } from "./test-logs.js";
import { tankProgram } from "./program.js";

const broker = brokerForFile();

/** A log on which producing outputs (records with a cause) hangs until `refuse()`, then fails; clock records go through. */
class OutputsFailLog extends KafkaLog {
  outputsPending = false;
  refuse!: () => void;
  private readonly refused = new Promise<void>((r) => (this.refuse = r));
  override async append(records: KafkaNewRecord[]): Promise<LogRecord[]> {
    if (!records.some((r) => r.headers?.[CAUSE_HEADER] !== undefined)) return super.append(records);
    this.outputsPending = true;
    await this.refused;
    throw new Error("simulated broker refusal");
  }
}

test("after a batch's outputs fail, no clock record claims its inputs processed", async () => {
  await broker.log.ensureTopics([
    { name: "ofa_assets", partitions: 1, replication: 1 },
    { name: "ofl_deadletter", partitions: 1, replication: 1 },
  ]);
  const failing = new OutputsFailLog({ brokers: broker.kafka.brokers });
  const reports: string[] = [];
  const w = new RuleWorker({ program: tankProgram(), log: failing, clockMs: 10, checkpoints: false, report: (l, m) => void reports.push(`${l}: ${m}`), onFatal: () => {} });
  try {
    await w.start();
    await w.ready; // live on the empty topic: clock records with ofl-processed -1
    const [input] = await broker.log.append([{ topic: "ofa_assets", key: "TANK-1", ts: Date.parse("2026-12-04T08:00:00Z"), value: telemetryValue("level", 3, "Level", "Samples", Date.parse("2026-12-04T08:00:00Z")) }]);
    // its outputs' produce under way, three clock ticks queue behind it; then the broker refuses it
    await waitFor("the outputs' produce", () => failing.outputsPending, { timeoutMs: 30_000 });
    const ticks = w.stats.clock;
    await waitFor("three clock ticks behind it", () => w.stats.clock >= ticks + 3, { timeoutMs: 30_000 });
    failing.refuse();
    await waitFor("the failed produce", () => reports.some((m) => m.includes("simulated broker refusal")), { timeoutMs: 30_000, detail: () => reports.join("\n") });
    await w.stop(); // every append queued so far has run (or refused) when this resolves: the sentinel
    const clocks = (await broker.log.readRange("ofa_assets", 0)).filter((r) => r.headers[PROCESSED_HEADER] !== undefined);
    expect(clocks.length).toBeGreaterThan(0); // the clock ran before the input
    expect(clocks.filter((r) => Number(r.headers[PROCESSED_HEADER]) >= input!.offset)).toEqual([]);
    expect(reports.join("\n")).toMatch(/^warn: clock: outputs before these could not be produced: nothing more is written$/m);
  } finally {
    await failing.close();
  }
}, 120_000);

test("a consumer that delivers nothing while records wait stops the worker after stallMs; a working one does not", async () => {
  await broker.log.ensureTopics([
    { name: "ofa_assets", partitions: 1, replication: 1 },
    { name: "ofl_deadletter", partitions: 1, replication: 1 },
  ]);
  const own = new KafkaLog({ brokers: broker.kafka.brokers }); // the worker's: its consumers are the ones paused below
  const reports: string[] = [];
  let fatal: Error | undefined;
  const w = new RuleWorker({ program: tankProgram("stall"), log: own, clockMs: 0, checkpoints: false, stallMs: 2000, report: (l, m) => void reports.push(`${l}: ${m}`), onFatal: (e) => void (fatal = e) });
  let t = Date.parse("2026-12-04T09:00:00Z");
  const level = (v: number): KafkaNewRecord => ({ topic: "ofa_assets", key: "TANK-1", ts: (t += 500), value: telemetryValue("level", v, "Level", "Samples", t) });
  try {
    await w.start();
    await w.ready;
    // working, for longer than stallMs: one input after another, each read with its outputs (the
    // worker idle: its outputs on the log, and the log read to its end)
    const settled = async (): Promise<boolean> => {
      await w.idle();
      return w.stats.consumed + w.stats.restoredFrom >= (await broker.log.endOffset("ofa_assets"));
    };
    for (let i = 0, t0 = Date.now(); Date.now() - t0 < 3000; i++) {
      await broker.log.append([level((i % 25) + 1)]);
      await waitFor("the input and its outputs read", settled, { timeoutMs: 30_000, detail: () => JSON.stringify(w.stats) });
    }
    const at = (await broker.log.endOffset("ofa_assets")) - 1;
    // stuck: the consumer paused; 3 inputs wait
    for (const c of own.consumers) c.pause([{ topic: "ofa_assets" }]);
    await broker.log.append([level(1), level(2), level(3)]);
    await waitFor("the watchdog", () => fatal !== undefined, { timeoutMs: 30_000, detail: () => reports.join("\n") });
    // it fired on the paused consumer, not before: at the offset processed when it was paused
    expect(fatal!.message).toMatch(new RegExp(`^partition 0: 3 record\\(s\\) on the log after offset ${at} and none delivered for \\d+ s: the Kafka consumer is stuck$`));
    expect(reports.filter((m) => m.startsWith("error: "))).toEqual([`error: ${fatal!.message}; stopping (a restart rebuilds from the checkpoint)`]);
  } finally {
    await w.stop();
    await own.close();
  }
}, 120_000);

test("while it rebuilds, the rule worker says how far; live, it says nothing of it", async () => {
  await broker.log.ensureTopics([{ name: "ofa_assets", partitions: 1, replication: 1 }]);
  await broker.log.append([1, 2, 3].map((v) => ({ topic: "ofa_assets", key: "TANK-1", ts: Date.parse("2026-12-04T10:00:00Z") + v, value: telemetryValue("level", v, "Level", "Samples", Date.parse("2026-12-04T10:00:00Z") + v) })));
  const { low, high } = await broker.log.offsets("ofa_assets");
  const gated = new GatedReadLog(broker.kafka.brokers, "ofa_assets");
  const w = new RuleWorker({ program: tankProgram("progress"), log: gated, clockMs: 0, checkpoints: false });
  try {
    const started = w.start();
    await waitFor("the first batch held", () => gated.holding, { timeoutMs: 30_000 });
    await started;
    // nothing processed yet: 0 of the records on the log at start
    expect(w.rebuilding()).toBe(`0 of ${(high - low).toLocaleString("en-US")} records read, 0 %`);
    gated.release();
    await w.ready;
    expect(w.rebuilding()).toBe("");
  } finally {
    await w.stop();
    await gated.close();
  }
}, 60_000);

test("a connector worker says how far its start-up read of the commands is", async () => {
  await broker.log.ensureTopics([{ name: "ofa_assets", partitions: 1, replication: 1 }]);
  await broker.log.append([{ topic: "ofa_assets", key: "TANK-1", ts: Date.parse("2026-12-04T11:00:00Z"), value: telemetryValue("level", 1, "Level", "Samples", Date.parse("2026-12-04T11:00:00Z")) }]);
  const end = await broker.log.endOffset("ofa_assets");
  const r = compile([{ path: "/tank.ofl", text: `model Tank {\n  telemetry level: int\n}\nasset t: Tank {\n  uuid "TANK-S"\n  source simulate(seed: 1) {\n    level <- constant(1, every: 1h)\n  }\n}\n` }], { name: "startup" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  const gated = new GatedReadLog(broker.kafka.brokers, "ofa_assets");
  const w = new ConnectorWorker({ program: r.ir, asset: "t", source: 0, log: gated });
  try {
    await w.start();
    await waitFor("the first batch held", () => gated.holding, { timeoutMs: 30_000 });
    expect(w.startingUp()).toBe(`0 of ${end.toLocaleString("en-US")} records read, 0 %`);
    gated.release();
    await w.ready;
    expect(w.startingUp()).toBe(`${end.toLocaleString("en-US")} of ${end.toLocaleString("en-US")} records read, 100 %`);
  } finally {
    await w.stop();
    await gated.close();
  }
}, 60_000);

/** A log that refuses the produce of the one batch holding a temperature of `refuse` (a transient broker error); the others go through. */
class RefuseOnceLog extends KafkaLog {
  failed = 0;
  constructor(
    brokers: string[],
    private readonly refuse: string,
  ) {
    super({ brokers });
  }
  override async append(records: KafkaNewRecord[]): Promise<LogRecord[]> {
    if (this.failed > 0 || !records.some((r) => (r.value as { VALUE?: unknown } | null)?.VALUE === this.refuse)) return super.append(records);
    this.failed = records.length;
    throw new Error("simulated broker refusal");
  }
}

let mosquitto: Mosquitto;
beforeAll(async () => void (mosquitto = await startMosquitto()), 60_000);
afterAll(() => mosquitto?.close());

test("a connector worker whose produce fails produces nothing after it; restarted, its MQTT device's messages are on the log once each, in order", async () => {
  await broker.log.ensureTopics([{ name: "ofa_assets", partitions: 1, replication: 1 }]);
  const r = compile([{ path: "/mill.ofl", text: `model Mill {\n  telemetry temperature: float<degC> in 0..500\n}\nasset m1: Mill {\n  uuid "MILL-F1"\n  source mqtt("${mosquitto.url}") {\n    temperature <- topic("mill/f1", json: "$.v")\n  }\n}\n` }], { name: "connfail" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  const temperatures = async (): Promise<string[]> =>
    (await broker.log.readRange("ofa_assets", 0)).filter((x) => x.key === "MILL-F1").map((x) => x.value as { ID?: string; VALUE?: string } | null).filter((v) => v?.ID === "temperature").map((v) => v!.VALUE!);
  const all = ["1", "2", "3", "4", "5", "6", "7", "8"];
  const device = await mqtt.connectAsync(mosquitto.url, { clientId: "device-f1" });
  const failing = new RefuseOnceLog(broker.kafka.brokers, "3");
  const reports: string[] = [];
  let fatal: Error | undefined;
  const first = new ConnectorWorker({ program: r.ir, asset: "m1", source: 0, log: failing, report: (l, m) => void reports.push(`${l}: ${m}`), onFatal: (e) => void (fatal = e) });
  try {
    await first.start();
    await first.ready;
    // subscribed once a value it got is on the topic
    await waitFor("1 on the topic", async () => (await device.publishAsync("mill/f1", JSON.stringify({ v: 1 }), { qos: 1 }), (await temperatures()).includes("1")), { timeoutMs: 30_000, intervalMs: 300, detail: () => reports.join("\n") });
    const before = (await temperatures()).length; // (1 published again until it was there)
    // one message a batch: each is published once the one before is produced, or refused (in the failed batch or after it)
    for (const [i, v] of all.slice(1).entries()) {
      await device.publishAsync("mill/f1", JSON.stringify({ v: Number(v) }), { qos: 1 });
      await waitFor(`${v} handed to the log`, async () => (await temperatures()).length - before + first.stats.refused >= i + 1, { timeoutMs: 30_000, detail: () => reports.join("\n") });
    }
    expect(fatal?.message).toBe("simulated broker refusal");
    await first.stop(); // every batch handed over is produced or refused when this resolves
    const once = await temperatures();
    const produced = once.slice(before - 1);
    expect(produced).toEqual(all.slice(0, produced.length)); // nothing from after the refused batch
    expect(produced).not.toContain("3");
    expect(reports.filter((m) => m.startsWith("error: ") && m.includes("cannot produce"))).toHaveLength(1);
  } finally {
    await failing.close();
  }

  // the restarted worker (its supervisor's): Mosquitto redelivers what was never acknowledged
  const second = new ConnectorWorker({ program: r.ir, asset: "m1", source: 0, log: broker.log, onFatal: (e) => void (fatal = e) });
  try {
    await second.start();
    await second.ready;
    await waitFor("8 on the topic", async () => (await temperatures()).includes("8"), { timeoutMs: 30_000, intervalMs: 200 });
    await device.publishAsync("mill/f1", JSON.stringify({ v: 9 }), { qos: 1 }); // the sentinel: after any redelivery
    await waitFor("9 on the topic", async () => (await temperatures()).includes("9"), { timeoutMs: 30_000, intervalMs: 200 });
  } finally {
    await second.stop();
    await device.endAsync();
  }
  const values = await temperatures();
  expect(values.slice(values.lastIndexOf("1"))).toEqual([...all, "9"]);
}, 120_000);
