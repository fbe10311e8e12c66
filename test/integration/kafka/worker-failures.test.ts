// How a rule worker fails safe, on Apache Kafka itself.
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
import { expect, test } from "vitest";
import { KafkaLog, type KafkaNewRecord } from "../../../runtime/log/kafka.js";
import { CAUSE_HEADER, PROCESSED_HEADER, RuleWorker } from "../../../runtime/worker/rule.js";
import { telemetryValue } from "../../../runtime/wire/records.js";
import type { LogRecord } from "../../../runtime/wire/types.js";
import { waitFor } from "../../support/wait.js";
import { brokerForFile } from "./broker.js";
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
