// Issue 12 item 6 on Apache Kafka itself (test/services/kafka/start.ts): the rule worker's
// checkpoints on the compacted topic `ofl_<program>_checkpoints`.
//
// A worker processes inputs and checkpoints; then it "dies" in the middle of a batch: the broker
// received the outputs of some inputs after the checkpoint, not the rest (a log whose append
// writes a prefix and then fails stands in for the process dying between two produce requests;
// the SIGKILL of the bundled worker is in e2e.test.ts). A new worker restores the checkpoint,
// replays only the tail, and produces exactly the outputs that never reached the log: the
// outputs on the topic are, each once and in order, what the engine computes from scratch over
// the recorded inputs. Then: a corrupt checkpoint record, and one taken after another record than
// the one before its offset (the topic created again), are skipped with a warning (an older one
// is used), and a changed program rebuilds from offset 0 and says so.
import { expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { KafkaCheckpoints, checkpointTopic } from "../../../runtime/log/kafkaCheckpoints.js";
import { KafkaLog, type KafkaNewRecord, type KafkaRecord, type Tail, type TailOptions } from "../../../runtime/log/kafka.js";
import { SupersededError } from "../../../runtime/worker/main.js";
import { CAUSE_HEADER, RuleWorker } from "../../../runtime/worker/rule.js";
import { classify, telemetryValue } from "../../../runtime/wire/records.js";
import type { LogRecord, NewRecord } from "../../../runtime/wire/types.js";
import { waitFor } from "../../support/wait.js";
import { brokerForFile } from "./broker.js";

const SOURCE = `
model Tank {
  telemetry level: int in 0..1000
  state doubled = level * 2
  state high = level > 10 for 2s
  alarm full severity high
    when level >= 15
    clear when level < 5
  command reset()
}
asset t1: Tank { uuid "TANK-1" }
asset t2: Tank { uuid "TANK-2" }
rule drain on Tank {
  when level >= 20
  then reset()
}
`;

function program(text = SOURCE): IrProgram {
  const r = compile([{ path: "/tank.ofl", text }], { name: "ckpt" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return r.ir;
}

/**
 * A log that loses `ofa_assets` once armed: the first `allow` outputs still reach the broker,
 * then nothing but the checkpoint topic does (so a checkpoint written after the death would
 * show; the worker must not write one).
 */
class DyingLog extends KafkaLog {
  allow: number | undefined;
  dead = false;
  override async append(records: KafkaNewRecord[]): Promise<LogRecord[]> {
    const isOutput = (r: KafkaNewRecord): boolean => r.headers?.[CAUSE_HEADER] !== undefined;
    if (this.dead && records.some((r) => r.topic !== checkpointTopic("ckpt"))) throw new Error("simulated death: ofa_assets unreachable");
    const outputs = records.filter(isOutput).length;
    if (this.allow === undefined || outputs <= this.allow) {
      if (this.allow !== undefined) this.allow -= outputs;
      return super.append(records);
    }
    let k = 0;
    for (let n = 0; k < records.length; k++) if (isOutput(records[k]!) && n++ === this.allow) break;
    if (k > 0) await super.append(records.slice(0, k));
    this.allow = 0;
    this.dead = true;
    throw new Error("simulated death between two produce requests");
  }
}

const broker = brokerForFile();
let t = Date.parse("2026-12-01T08:00:00.000Z");
/** telemetry of `level`, event time 500 ms after the previous one */
const level = (uuid: string, v: number): KafkaNewRecord => ({ topic: "ofa_assets", key: uuid, ts: (t += 500), value: telemetryValue("level", v, "Level", "Samples", t) });
/** a ramp 0..24 on both tanks: alarms raise and clear, `high` fires after 2 s, the rule drains at 20 */
const ramp = (from: number, n: number): KafkaNewRecord[] => Array.from({ length: n }, (_, i) => [level("TANK-1", (from + i) % 25), level("TANK-2", (from + 2 * i) % 25)]).flat();


const topic = (): Promise<KafkaRecord[]> => broker.log.readRange("ofa_assets", 0);
/** a program's checkpoints (the topic also holds the claims of the workers that started: RuleWorker.claim) */
const checkpointsOf = async (program: string): Promise<KafkaRecord[]> => (await broker.log.readRange(checkpointTopic(program), 0)).filter((r) => !r.key?.endsWith("#claim"));
const checkpoints = (): Promise<KafkaRecord[]> => checkpointsOf("ckpt");

/** Waits until the worker has processed every record on the topic, its outputs and checkpoints acknowledged. */
async function settled(w: RuleWorker, what: string): Promise<void> {
  await waitFor(
    `${what}: every input processed`,
    async () => {
      await w.idle(); // appends issued so far are on the topic: the end offset below includes them
      return w.stats.consumed + w.stats.restoredFrom >= (await broker.log.endOffset("ofa_assets"));
    },
    { timeoutMs: 30_000, intervalMs: 100, detail: () => JSON.stringify(w.stats) },
  );
}

/** The outputs on the topic (records with a cause; from offset `from`: this program's) against the engine's outputs from scratch over the recorded records. */
async function outputsMatchFromScratch(ir: IrProgram, from = 0): Promise<{ recorded: number }> {
  const recs = await topic();
  const fresh: NewRecord[] = [];
  const engine = new Engine({ program: ir, senderUuid: `OFL-${ir.program}`, onOutput: (r) => fresh.push(r) });
  for (const r of recs) engine.process(classify(r));
  const strip = (r: { key: string | null; value: unknown }): string => JSON.stringify([r.key, r.value]);
  const recorded = recs.filter((r) => r.offset >= from && r.headers[CAUSE_HEADER] !== undefined).map(strip);
  expect(recorded).toEqual(fresh.filter((r) => r.topic === "ofa_assets").map(strip));
  return { recorded: recorded.length };
}

test("restart from a checkpoint after a death mid-batch: only the tail is replayed, every output once; corrupt and other-program checkpoints", async () => {
  const ir = program();
  const reports: string[] = [];
  const report = (level: string, m: string): void => void reports.push(`${level}: ${m}`);
  const dying = new DyingLog({ brokers: broker.kafka.brokers });
  const w1 = new RuleWorker({ program: ir, log: dying, clockMs: 0, report, checkpoints: { everyRecords: 20, costShare: 0 } });
  await w1.start();
  await w1.ready;
  await broker.log.append(ramp(0, 40));
  await settled(w1, "first worker");
  expect(w1.stats.checkpoints).toBeGreaterThan(0);
  const cps = await checkpoints();
  expect(cps.length).toBe(w1.stats.checkpoints);
  const last = cps[cps.length - 1]!.value as { offset: number };
  // the checkpoint is at the next input offset: everything before it was processed
  expect(last.offset).toBeGreaterThan(0);
  expect(last.offset).toBeLessThanOrEqual(await broker.log.endOffset("ofa_assets"));

  // the inputs after it: the broker gets 5 of their outputs, then the worker "dies"
  dying.allow = 5;
  await broker.log.append(ramp(40, 30));
  await waitFor("the simulated death", () => dying.dead, { timeoutMs: 30_000 });
  await expect(w1.ready).resolves.toBeUndefined(); // it was live; the death shows in its report
  const written = w1.stats.checkpoints;
  await w1.stop();
  await dying.close();
  expect(reports.join("\n")).toMatch(/^error: cannot produce to the log: simulated death between two produce requests; stopping/m);
  // no checkpoint after the death (its state holds inputs whose outputs never reached the log),
  // not even the one a stop writes
  expect(w1.stats.checkpoints).toBe(written);
  const cpsAfterDeath = await checkpoints();
  expect(cpsAfterDeath.length).toBe(written);
  const restartAt = (cpsAfterDeath[cpsAfterDeath.length - 1]!.value as { offset: number }).offset;

  // the restart: restores that checkpoint, replays the tail only, produces what is missing
  const w2 = new RuleWorker({ program: ir, log: broker.log, clockMs: 0, report, checkpoints: { everyRecords: 20, costShare: 0 } });
  await w2.start();
  await w2.ready;
  await settled(w2, "restarted worker");
  const end = await broker.log.endOffset("ofa_assets");
  expect(w2.stats.restoredFrom).toBe(restartAt);
  expect(w2.stats.consumed).toBe(end - restartAt);
  expect(w2.stats.resent).toBeGreaterThan(0);
  const { recorded } = await outputsMatchFromScratch(ir);
  expect(recorded).toBeGreaterThan(100);
  // commands among them: each correlation id once
  const ids = (await topic()).flatMap((r) => {
    const ev = classify(r);
    return ev.kind === "command" ? [ev.envelope.header.correlation_id] : [];
  });
  expect(ids.length).toBeGreaterThan(2);
  expect(new Set(ids).size).toBe(ids.length);

  // live after the restart, with further checkpoints
  await broker.log.append(ramp(70, 20));
  await settled(w2, "restarted worker, live");
  await w2.stop(); // a last checkpoint at the end: a graceful restart replays nothing
  await outputsMatchFromScratch(ir);
  const graceful = (await checkpoints()).at(-1)!.value as { offset: number };
  expect(graceful.offset).toBe(await broker.log.endOffset("ofa_assets"));

  // a corrupt record under the key: skipped with a warning, the one before it is used
  const key = (await checkpoints()).at(-1)!.key;
  await broker.log.append([{ topic: checkpointTopic("ckpt"), key, ts: t, value: { format: "ofl-kafka-checkpoint", offset: 3, last: null, checkpoint: "bm90IGEgY2hlY2twb2ludA==" } }]);
  // and, newer, an earlier checkpoint as if taken after another record than the one before its
  // offset (its topic created again since, with as many records): skipped, said
  const earlier = (await checkpoints()).find((c) => (c.value as { offset: number }).offset > 0 && (c.value as { offset: number }).offset < graceful.offset)!.value as { offset: number; last: { ts: number; key: string } };
  await broker.log.append([{ topic: checkpointTopic("ckpt"), key, ts: t, value: { ...earlier, last: { ...earlier.last, ts: earlier.last.ts + 1 } } }]);
  reports.length = 0;
  const w3 = new RuleWorker({ program: ir, log: broker.log, clockMs: 0, report, checkpoints: { everyRecords: 20, costShare: 0 } });
  await w3.start();
  await w3.ready;
  expect(reports.join("\n")).toContain(`the record before offset ${earlier.offset} of ofa_assets is not the one it was taken after (was the topic created again?)`);
  expect(reports.join("\n")).toMatch(/^warn: checkpoint at ofl_ckpt_checkpoints offset \d+ skipped: not a checkpoint \(no header line\)$/m);
  expect(w3.stats.restoredFrom).toBe(graceful.offset);
  expect(w3.stats.consumed).toBe(0);
  expect(w3.stats.resent).toBe(0);
  await w3.stop();

  // a changed program: no checkpoint of it, a rebuild from offset 0 that says why
  reports.length = 0;
  const changed = program(SOURCE.replace("state doubled = level * 2", "state doubled = level * 2\n  state tripled = level * 3"));
  const w4 = new RuleWorker({ program: changed, log: broker.log, clockMs: 0, report, checkpoints: { everyRecords: 20, costShare: 0 } });
  await w4.start();
  await w4.ready;
  expect(reports.join("\n")).toMatch(/^info: the program changed since the last checkpoint \(program hash [0-9a-f]{12}\): rebuilding from offset 0 \(\d+ records\)$/m);
  expect(w4.stats.restoredFrom).toBe(0);
  await settled(w4, "changed program");
  await w4.stop();
}, 180_000);

test("a checkpoint larger than the broker's default 1 MB record limit (10,000 assets) is written and restored", async () => {
  const assets = 10_000;
  const text = `model Pump {\n  telemetry flow: float in 0..1000\n  state avg_flow = avg(flow) over hopping 1h every 10m\n  state high = flow > 500 for 10s\n}\n${Array.from({ length: assets }, (_, i) => `asset p${i}: Pump { uuid "PUMP-${i}" }`).join("\n")}\n`;
  const r = compile([{ path: "/pumps.ofl", text }], { name: "pumps" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  const ir = r.ir;
  const inputs: KafkaNewRecord[] = [];
  for (let round = 0; round < 2; round++)
    for (let i = 0; i < assets; i++) inputs.push({ topic: "ofa_assets", key: `PUMP-${i}`, ts: (t += 1), value: telemetryValue("flow", (i * 7 + round * 13) % 1000, "Flow", "Samples", t) });
  const before = await broker.log.endOffset("ofa_assets");
  const w1 = new RuleWorker({ program: ir, log: broker.log, clockMs: 0, checkpoints: { everyRecords: 1_000_000, costShare: 0 } });
  await w1.start();
  await w1.ready;
  await broker.log.append(inputs);
  await settled(w1, "10,000 pumps");
  await w1.stop(); // the checkpoint at stop: every pump with a value, an open window and a pending `for`
  const cps = await checkpointsOf("pumps");
  expect(cps.length).toBe(1);
  const size = JSON.stringify(cps[0]!.value).length;
  expect(size).toBeGreaterThan(1024 * 1024);
  const w2 = new RuleWorker({ program: ir, log: broker.log, clockMs: 0 });
  await w2.start();
  await w2.ready;
  expect(w2.stats.restoredFrom).toBe(await broker.log.endOffset("ofa_assets"));
  expect(w2.stats.restoredFrom).toBeGreaterThan(before);
  expect(w2.stats.consumed).toBe(0);
  await w2.stop();
}, 180_000);

/** A log that counts what its worker appends to `ofa_assets` and how far its reads of `ofa_assets` have been delivered. */
class WatchedLog extends KafkaLog {
  assetAppends = 0;
  delivered = -1;
  override append(records: KafkaNewRecord[]): Promise<LogRecord[]> {
    if (records.some((r) => r.topic === "ofa_assets")) this.assetAppends++;
    return super.append(records);
  }
  override tail(opts: TailOptions): Promise<Tail> {
    if (opts.topic !== "ofa_assets") return super.tail(opts);
    return super.tail({
      ...opts,
      onBatch: async (recs, info) => {
        await opts.onBatch(recs, info);
        this.delivered = Math.max(this.delivered, ...recs.map((r) => r.offset));
      },
    });
  }
}

test("one rule worker per single partition: a second one claims it, the first writes nothing more and stops; every output once; claims in a row do not hide the checkpoint before them", async () => {
  const r = compile([{ path: "/tank.ofl", text: SOURCE.replaceAll('uuid "TANK-', 'uuid "CLAIM-') }], { name: "claim" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  const ir = r.ir;
  const rampOf = (from: number, n: number): KafkaNewRecord[] => Array.from({ length: n }, (_, i) => [level("CLAIM-1", (from + i) % 25), level("CLAIM-2", (from + 2 * i) % 25)]).flat();
  const from = await broker.log.endOffset("ofa_assets");
  const options = { program: ir, clockMs: 0, checkpoints: { everyRecords: 20, costShare: 0 } };
  const firstLog = new WatchedLog({ brokers: broker.kafka.brokers });
  let fatal: Error | undefined;
  const first = new RuleWorker({ ...options, log: firstLog, onFatal: (e) => (fatal = e) });
  await first.start();
  await first.ready;
  await broker.log.append(rampOf(0, 30));
  await settled(first, "first worker");
  expect(first.stats.produced).toBeGreaterThan(0);

  // a second worker of the program (a copy started by hand): its claim supersedes the first
  const secondLog = new KafkaLog({ brokers: broker.kafka.brokers });
  const second = new RuleWorker({ ...options, log: secondLog });
  await second.start();
  await waitFor("the first worker superseded", () => fatal !== undefined, { timeoutMs: 10_000 });
  const claims = (await broker.log.readRange(checkpointTopic("claim"), 0)).filter((c) => c.key === "claim/0#claim");
  expect(claims.length).toBe(2);
  expect(fatal).toBeInstanceOf(SupersededError);
  expect(first.supersededBy).toBe(claims[1]!.offset);
  expect(fatal!.message).toBe(
    `another rule worker of claim started: its claim is at ofl_claim_checkpoints offset ${claims[1]!.offset}; this one stops and writes nothing more (the other decides from the log, what this one had not written included)`,
  );
  await second.ready;
  const appendsBefore = firstLog.assetAppends;
  const producedBefore = first.stats.produced;

  // inputs after the claim: decided by the second alone; the first reads them and writes nothing
  await broker.log.append(rampOf(30, 30));
  const inputsEnd = await broker.log.endOffset("ofa_assets");
  await settled(second, "second worker");
  await waitFor("the first worker's read past the new inputs", () => firstLog.delivered >= inputsEnd - 1, { timeoutMs: 20_000, detail: () => `delivered ${firstLog.delivered}, inputs end at ${inputsEnd}` });
  expect(firstLog.assetAppends).toBe(appendsBefore);
  expect(first.stats.produced).toBe(producedBefore);
  const { recorded } = await outputsMatchFromScratch(ir, from);
  expect(recorded).toBeGreaterThan(second.stats.produced);
  expect(second.stats.produced).toBeGreaterThan(0);
  await first.stop();
  await firstLog.close();
  await second.stop(); // a last checkpoint at the end of the topic
  await secondLog.close();
  const graceful = (await checkpointsOf("claim")).at(-1)!.value as { offset: number };
  expect(graceful.offset).toBe(await broker.log.endOffset("ofa_assets"));

  // starts that died before their first checkpoint, one after the other: 20 claims after it
  const cps = new KafkaCheckpoints(broker.log, ir, 0);
  for (let i = 0; i < 20; i++) await cps.claim(`crashed-${i}`, t);
  const third = new RuleWorker({ ...options, log: broker.log });
  await third.start();
  await third.ready;
  expect(third.stats.restoredFrom).toBe(graceful.offset);
  expect(third.stats.consumed).toBe(0);
  await third.stop();
}, 120_000);
