// A connector worker's restart reads its partition from its checkpoint, not from offset 0
// (runtime/worker/connector.ts; docs/deploy.md, "Connector workers"). Before, every start read
// the whole partition (every asset hashed to it, weeks of history) before dispatching anything.
// What the checkpoint must carry so that the shorter read decides as the whole one did:
// - an operator command waiting for the rule worker's verdict when the connector stopped is
//   dispatched once the verdict comes after the restart (it lies before the checkpoint's offset);
// - a command answered before the checkpoint and written again after the restart (the same
//   correlation id: a produce on the wire while a rule worker was killed can land twice) is not
//   sent again: the restart also reads the results of the last minutes before its checkpoint;
// - write-ahead: a command is sent only once a checkpoint naming it open is on the log, so the
//   newest checkpoint is exact: a command after it (written while the worker was down) is sent
//   by the restart; one open in it with no result is answered `failed` (interrupted), never sent;
//   a checkpoint that cannot be written stops the worker before it sends anything;
// - a checkpoint of a topic since created again is skipped;
// - claims: a second worker of the same source (a supervisor's mistake, a host cut off and
//   replaced) supersedes the first, which sends nothing after the second's claim, not even a
//   command whose write-ahead checkpoint it had written, and stops; a checkpoint written by a
//   superseded worker after the newer claim is not trusted by the next start; a send whose
//   checkpoint is not read back in time is not made (the worker stops; the restart answers the
//   command interrupted); a worker's deletion
//   of older runs' claims (tombstones, read back by itself) supersedes nobody (each test's workers
//   write them, and go on sending).
// On Apache Kafka itself; the device is the simulator, which answers `completed`.
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { ConnectorWorker } from "../../../runtime/worker/connector.js";
import { SupersededError } from "../../../runtime/worker/main.js";
import { INPUT_TIME_HEADER, PROCESSED_HEADER } from "../../../runtime/worker/headers.js";
import { ConnectorCheckpoints, connectorCheckpointTopic } from "../../../runtime/log/kafkaCheckpoints.js";
import { operatorCommandRecord } from "../../../runtime/wire/operator.js";
import { clockValue, classify, commandValue, telemetryValue } from "../../../runtime/wire/records.js";
import { KafkaLog, type KafkaNewRecord, type Tail, type TailOptions } from "../../../runtime/log/kafka.js";
import type { LogRecord } from "../../../runtime/wire/types.js";
import { waitFor } from "../../support/wait.js";
import { brokerForFile } from "./broker.js";
import { pulseTank } from "./program.js";

const broker = brokerForFile();
const UUID = "TANK-CP";

const PROGRAM = pulseTank(UUID);

function program(): IrProgram {
  const r = compile([{ path: "/cp.ofl", text: PROGRAM }], { name: "conncp" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.ir;
}

/** A rule worker's accepted `reset` command to the tank, decided now (its input received now). */
function command(id: string): KafkaNewRecord {
  const t = Date.now();
  const env = { header: { correlation_id: id, sender_uuid: "OFL-conncp", timestamp: new Date(t).toISOString(), signature: null, rule: "r", cause_offset: 0, shadow: false, verdict: "accepted" as const }, arguments: {} };
  return { topic: "ofa_assets", key: UUID, ts: t, value: commandValue("reset", env, t), headers: { "ofl-cause": "0", [INPUT_TIME_HEADER]: String(t) } };
}

async function resultOf(id: string): Promise<string | undefined> {
  for (const r of await broker.log.readRange("ofa_assets", 0)) {
    const ev = classify(r);
    if (ev.kind === "command_result" && ev.result.correlation_id === id) return ev.result.status;
  }
  return undefined;
}

/** A restart of the tank's connector worker: the result it gives or finds for command `id` and what it dispatched, once that result is on the topic. */
async function restarted(ir: IrProgram, id: string): Promise<{ status: string | undefined; dispatched: string[] }> {
  const w = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: broker.log });
  try {
    await w.start();
    await w.ready;
    await waitFor(`the result of ${id}`, async () => (await resultOf(id)) !== undefined, { timeoutMs: 20_000, intervalMs: 100 });
    return { status: await resultOf(id), dispatched: [...w.dispatchedIds] };
  } finally {
    await w.stop();
  }
}

test("a restarted connector reads from its checkpoint and decides as a read from offset 0 would", async () => {
  const ir = program();
  await broker.log.ensureTopics([{ name: "ofa_assets", partitions: 1, replication: 1 }]);
  // history: 3,000 records of other assets on the partition
  const t0 = Date.now() - 3_600_000;
  const filler = Array.from({ length: 3000 }, (_, i) => ({ topic: "ofa_assets", key: `OTHER-${i % 30}`, ts: t0 + i, value: telemetryValue("x", i, "X", "Samples", t0 + i) }));
  await broker.log.append(filler);

  const first = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: broker.log });
  await first.start();
  await first.ready;
  expect(first.restoredFrom).toBeUndefined();
  // a command, dispatched and answered
  const [first1] = await broker.log.append([command("11111111-1111-4111-8111-111111111111")]);
  await waitFor("the first command's result", async () => (await resultOf("11111111-1111-4111-8111-111111111111")) === "completed", { timeoutMs: 20_000, intervalMs: 100 });
  // an operator command: no rule worker has given its verdict yet, so it waits
  const asset = ir.assets[0]!;
  const op = operatorCommandRecord(ir, asset, "reset", [], Date.now(), await broker.log.endOffset("ofa_assets"));
  await broker.log.append([{ topic: op.topic, key: op.key, ts: op.ts, value: op.value }]);
  const opId = JSON.parse((op.value as { VALUE: string }).VALUE).header.correlation_id as string;
  const opOffset = (await broker.log.endOffset("ofa_assets")) - 1;
  // read by the worker: a record after it came back
  const sentinel = { topic: "ofa_assets", key: "OTHER-0", ts: Date.now(), value: telemetryValue("x", -1, "X", "Samples", Date.now()) };
  await broker.log.append([sentinel]);
  const afterSentinel = await broker.log.endOffset("ofa_assets");
  await waitFor("the first worker to read past the operator command", () => first.position().offset >= afterSentinel, { timeoutMs: 20_000, intervalMs: 50 });
  await first.stop(); // writes its checkpoint
  expect(first.dispatchedIds).toEqual(["11111111-1111-4111-8111-111111111111"]);

  // its checkpoints: the one written before it sent the first command (naming it open, at the
  // offset after it), and the one written as it stopped
  const cps = (await broker.log.readRange(connectorCheckpointTopic("conncp"), 0)).filter((r) => r.key === `conncp/${UUID}/0`).map((r) => r.value as { offset: number; operator: { id: string }[]; open: { id: string }[] });
  expect(cps.length).toBe(2);
  expect(cps[0]).toMatchObject({ open: [{ id: "11111111-1111-4111-8111-111111111111", command: "reset" }], operator: [] });
  expect(cps[0]!.offset).toBeGreaterThan(first1!.offset);
  expect(cps[1]).toMatchObject({ offset: afterSentinel, open: [], operator: [{ id: opId }] });
  // the topic is compacted, and soon (a start reads it whole)
  const admin = new Kafka({ brokers: broker.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const names = ["cleanup.policy", "segment.ms", "min.cleanable.dirty.ratio"];
    const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: connectorCheckpointTopic("conncp"), configNames: names }], includeSynonyms: false });
    expect(Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]))).toEqual({ "cleanup.policy": "compact", "segment.ms": "600000", "min.cleanable.dirty.ratio": "0.1" });
  } finally {
    await admin.disconnect();
  }

  // a command decided while it was stopped (a rolling restart): after its newest checkpoint, so
  // never sent by it (it sends only what a checkpoint names), and the restart sends it
  await broker.log.append([command("55555555-5555-4555-8555-555555555555")]);
  // the restart
  const end = await broker.log.endOffset("ofa_assets");
  const reports: string[] = [];
  const second = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: broker.log, report: (l, m) => void reports.push(`${l}: ${m}`) });
  try {
    await second.start();
    await second.ready;
    expect(second.restoredFrom).toBe(afterSentinel);
    // it read from a little before its checkpoint (the records of the last two minutes, from the
    // first command: the history before it is an hour old), not from 0
    const m = /^(\d[\d,]*) of (\d[\d,]*) records read, 100 % from offset (\d[\d,]*) \(its checkpoint is at (\d[\d,]*)\)$/.exec(second.startingUp());
    expect(m, second.startingUp()).not.toBeNull();
    const from = Number(m![3]!.replace(/,/g, ""));
    expect(from).toBe(3000);
    expect(Number(m![2]!.replace(/,/g, ""))).toBe(end - from);
    expect(reports.join("\n")).toContain(`t: reading its partition from its checkpoint at offset ${afterSentinel} (the results from offset ${from}: the last 2m), not from offset 0`);

    // the same command id again, live (a duplicate write)
    await broker.log.append([command("11111111-1111-4111-8111-111111111111")]);
    // the rule worker's verdict on the operator command comes: a clock record past it
    const clock = { topic: "ofa_assets", key: "OFL-conncp", ts: Date.now(), value: clockValue(Date.now()), headers: { [PROCESSED_HEADER]: String(opOffset) } };
    await broker.log.append([clock]);
    await waitFor("the operator command's result", async () => (await resultOf(opId)) === "completed", { timeoutMs: 20_000, intervalMs: 100 });
    expect(await resultOf("55555555-5555-4555-8555-555555555555")).toBe("completed");
    // sentinel: a new command, dispatched after anything before it was
    await broker.log.append([command("22222222-2222-4222-8222-222222222222")]);
    await waitFor("the new command's result", async () => (await resultOf("22222222-2222-4222-8222-222222222222")) === "completed", { timeoutMs: 20_000, intervalMs: 100 });
    // the duplicate was not sent again
    expect(second.dispatchedIds).toEqual(["55555555-5555-4555-8555-555555555555", opId, "22222222-2222-4222-8222-222222222222"]);
  } finally {
    await second.stop();
  }
}, 90_000);

test("a command open in the checkpoint with no result is answered interrupted, not sent; one after it is sent; a checkpoint taken on another topic's records is skipped", async () => {
  const ir = program();
  // written as by a run of the source: its claim first
  const cps = new ConnectorCheckpoints(broker.log, "conncp", UUID, 0, "test-run");
  await cps.claim(Date.now());
  const end = await broker.log.endOffset("ofa_assets");
  const last = (await broker.log.readRange("ofa_assets", end - 1, end))[0]!;
  const open = { partition: 0, offset: end, processed: -1, open: [{ id: "33333333-3333-4333-8333-333333333333", command: "reset" }], operator: [] };
  // taken after a record that is not the one at end - 1: the topic was created again since
  await broker.log.append([cps.record({ ...open, last: { ts: last.ts + 1, key: last.key } }, Date.now())]);
  const reports: string[] = [];
  const skipped = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: broker.log, report: (l, m) => void reports.push(`${l}: ${m}`) });
  await skipped.start();
  await skipped.ready;
  await skipped.stop();
  expect(skipped.restoredFrom).toBeUndefined();
  expect(reports.join("\n")).toMatch(/warn: checkpoint at ofl_conncp_connector_checkpoints offset \d+ skipped: the record before offset \d+ of ofa_assets is not the one it was taken after \(was the topic created again\?\)/);

  // the right one, newer than the one the worker wrote at its stop (by a run that claimed the source after that worker)
  await cps.claim(Date.now());
  const at = await broker.log.endOffset("ofa_assets");
  const before = (await broker.log.readRange("ofa_assets", at - 1, at))[0]!;
  await broker.log.append([cps.record({ ...open, offset: at, last: { ts: before.ts, key: before.key } }, Date.now())]);
  // after the newest checkpoint: the run that wrote it never sent this one (it would have written a newer one first)
  await broker.log.append([command("66666666-6666-4666-8666-666666666666")]);
  const w = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: broker.log });
  try {
    await w.start();
    await w.ready;
    expect(w.restoredFrom).toBe(at);
    await waitFor("the open command's answer", async () => (await resultOf("33333333-3333-4333-8333-333333333333")) !== undefined, { timeoutMs: 20_000, intervalMs: 100 });
    expect(await resultOf("33333333-3333-4333-8333-333333333333")).toBe("failed");
    expect(w.stats.interrupted).toBe(1);
    await waitFor("the later command's answer", async () => (await resultOf("66666666-6666-4666-8666-666666666666")) !== undefined, { timeoutMs: 20_000, intervalMs: 100 });
    expect(await resultOf("66666666-6666-4666-8666-666666666666")).toBe("completed");
    expect(w.dispatchedIds).toEqual(["66666666-6666-4666-8666-666666666666"]);
  } finally {
    await w.stop();
  }
}, 60_000);

test("answered ids older than the age bound and its margin are forgotten: a long-running connector's memory stays bounded", async () => {
  const ir = program();
  let skew = 0;
  const w = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: broker.log, checkpointMs: 100, now: () => Date.now() + skew });
  try {
    await w.start();
    await w.ready;
    const known = w.remembered;
    expect(known).toBeGreaterThanOrEqual(4); // the ids answered in the tests before, all recent
    await broker.log.append([command("44444444-4444-4444-8444-444444444444")]);
    await waitFor("the command's result", async () => (await resultOf("44444444-4444-4444-8444-444444444444")) === "completed", { timeoutMs: 20_000, intervalMs: 100 });
    await waitFor("its result read back", () => w.remembered === known + 1, { timeoutMs: 20_000, intervalMs: 20 });
    // two minutes and a little later (OFL_COMMAND_MAX_AGE_MS 1 min + the 1 min margin): all forgotten
    skew = 2 * 60_000 + 1000;
    await waitFor("the old ids forgotten", () => w.remembered === 0, { timeoutMs: 5_000, intervalMs: 20 });
  } finally {
    await w.stop();
  }
}, 60_000);

/**
 * A log whose appends of checkpoints to the connector checkpoint topic wait for `release()`, or
 * fail once `refuse` is set (claims go through); and, while `readsHeld`, whose reads of that topic
 * wait for `releaseReads()`.
 */
class GatedCheckpointsLog extends KafkaLog {
  holding = false;
  /** checkpoints acknowledged by the broker */
  appended = 0;
  refuse = false;
  release: () => void = () => {};
  private gate: Promise<void> | undefined = new Promise((r) => (this.release = () => ((this.gate = undefined), r())));
  readsHeld: Promise<void> | undefined;
  releaseReads: () => void = () => {};
  holdReads(): void {
    this.readsHeld = new Promise((r) => (this.releaseReads = () => ((this.readsHeld = undefined), r())));
  }
  override tail(opts: TailOptions): Promise<Tail> {
    if (opts.topic !== connectorCheckpointTopic("conncp")) return super.tail(opts);
    return super.tail({ ...opts, onBatch: async (recs, info) => {
        await this.readsHeld;
        return opts.onBatch(recs, info);
      } });
  }
  override async append(records: KafkaNewRecord[]): Promise<LogRecord[]> {
    if (!records.some((r) => r.topic === connectorCheckpointTopic("conncp") && r.key === `conncp/${UUID}/0`)) return super.append(records);
    if (this.refuse) throw new Error("simulated refusal of the checkpoint topic");
    if (this.gate) {
      this.holding = true;
      await this.gate;
    }
    const out = await super.append(records);
    this.appended++; // before the worker's own continuation runs
    return out;
  }
}

test("write-ahead: a command reaches the device only once a checkpoint naming it is on the log; when that cannot be written the worker stops and the restart sends it", async () => {
  const ir = program();
  const gated = new GatedCheckpointsLog({ brokers: broker.kafka.brokers });
  let fatal: Error | undefined;
  const w = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: gated, onFatal: (e) => void (fatal = e) });
  try {
    await w.start();
    await w.ready;
    const [cmd] = await broker.log.append([command("77777777-7777-4777-8777-777777777777")]);
    await waitFor("the checkpoint before the dispatch", () => gated.holding, { timeoutMs: 20_000, intervalMs: 20 });
    expect(w.dispatchedIds).toEqual([]); // the device has not been contacted
    gated.release();
    await waitFor("the command's result", async () => (await resultOf("77777777-7777-4777-8777-777777777777")) === "completed", { timeoutMs: 20_000, intervalMs: 100 });
    const newest = (await broker.log.readRange(connectorCheckpointTopic("conncp"), 0)).filter((r) => r.key === `conncp/${UUID}/0`).at(-1)!.value as { offset: number; open: { id: string }[] };
    expect(newest.open.map((o) => o.id)).toContain("77777777-7777-4777-8777-777777777777");
    expect(newest.offset).toBeGreaterThan(cmd!.offset);

    // the checkpoint topic refuses: the worker stops, and sends nothing
    gated.refuse = true;
    await broker.log.append([command("88888888-8888-4888-8888-888888888888")]);
    await waitFor("the worker to stop", () => fatal !== undefined, { timeoutMs: 20_000, intervalMs: 20 });
    expect(fatal!.message).toBe("simulated refusal of the checkpoint topic");
    expect(w.dispatchedIds).toEqual(["77777777-7777-4777-8777-777777777777"]);
  } finally {
    gated.release();
    await w.stop();
    await gated.close();
  }
  // its restart: the command is after the newest checkpoint, never sent: it sends it
  expect(await restarted(ir, "88888888-8888-4888-8888-888888888888")).toEqual({ status: "completed", dispatched: ["88888888-8888-4888-8888-888888888888"] });
}, 90_000);

test("a second worker of the same source supersedes the first: the first sends nothing after the second's claim, not even a command its write-ahead checkpoint names, and stops", async () => {
  const ir = program();
  const gated = new GatedCheckpointsLog({ brokers: broker.kafka.brokers });
  let fatal: Error | undefined;
  const first = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: gated, onFatal: (e) => void (fatal = e) });
  const second = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: broker.log });
  const id = "99999999-9999-4999-8999-999999999999";
  try {
    await first.start();
    await first.ready;
    // the first worker reads the checkpoint topic no further for now: it cannot see a newer claim
    gated.holdReads();
    await broker.log.append([command(id)]);
    await waitFor("the first worker's write-ahead checkpoint", () => gated.holding, { timeoutMs: 20_000, intervalMs: 20 });
    // the second starts meanwhile: it claims the source, and sends the command (after its newest checkpoint)
    await second.start();
    await second.ready;
    await waitFor("the command's result", async () => (await resultOf(id)) === "completed", { timeoutMs: 20_000, intervalMs: 100 });
    expect(second.dispatchedIds).toEqual([id]);
    // the first one's checkpoint now lands after the second's claim; its send waits until its read
    // of the topic has passed that checkpoint, and meets the claim on the way
    gated.release();
    await waitFor("the first worker's checkpoint acknowledged", () => gated.appended > 0, { timeoutMs: 20_000, intervalMs: 20 });
    expect(first.dispatchedIds).toEqual([]); // (a send that did not wait would be done by now)
    gated.releaseReads();
    await waitFor("the first worker to stop", () => fatal !== undefined, { timeoutMs: 20_000, intervalMs: 20 });
    expect(fatal).toBeInstanceOf(SupersededError);
    const claims = (await broker.log.readRange(connectorCheckpointTopic("conncp"), 0)).filter((r) => r.key?.startsWith(`conncp/${UUID}/0#claim/`) && r.value !== null);
    expect(first.supersededBy).toBe(claims.at(-1)!.offset);
    expect(fatal!.message).toContain(`another connector worker of t (source #0, simulate) started: its claim is at ofl_conncp_connector_checkpoints offset ${first.supersededBy}`);
    expect(first.dispatchedIds).toEqual([]);
    // sentinel: a later command, sent by the second alone
    await broker.log.append([command("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")]);
    await waitFor("the later command's result", async () => (await resultOf("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")) === "completed", { timeoutMs: 20_000, intervalMs: 100 });
    expect(first.dispatchedIds).toEqual([]);
    expect(second.dispatchedIds).toEqual([id, "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"]);
    const results = (await broker.log.readRange("ofa_assets", 0)).map(classify).filter((e) => e.kind === "command_result" && e.result.correlation_id === id);
    expect(results.length).toBe(1);
  } finally {
    gated.release();
    gated.releaseReads();
    await first.stop();
    await second.stop();
    await gated.close();
  }
}, 90_000);

test("a checkpoint written by a superseded worker after the newer claim is not trusted: the next start does not read from it", async () => {
  const ir = program();
  const older = new ConnectorCheckpoints(broker.log, "conncp", UUID, 0, "older-run");
  const newer = new ConnectorCheckpoints(broker.log, "conncp", UUID, 0, "newer-run");
  await older.claim(Date.now());
  const newerClaim = await newer.claim(Date.now());
  // the older run, not knowing yet, writes a checkpoint (it names nothing open: after it, a restart would send)
  const at = await broker.log.endOffset("ofa_assets");
  const before = (await broker.log.readRange("ofa_assets", at - 1, at))[0]!;
  await broker.log.append([older.record({ partition: 0, offset: at, last: { ts: before.ts, key: before.key }, processed: -1, open: [], operator: [] }, Date.now())]);
  const reports: string[] = [];
  const w = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: broker.log, report: (l, m) => void reports.push(`${l}: ${m}`) });
  try {
    await w.start();
    await w.ready;
    expect(reports.join("\n")).toMatch(new RegExp(`warn: checkpoint at ofl_conncp_connector_checkpoints offset \\d+ skipped: written by a worker of this source that had been superseded \\(another claimed the source at offset ${newerClaim}\\)`));
    expect(w.restoredFrom).toBeUndefined();
  } finally {
    await w.stop();
  }
}, 60_000);

test("a send whose write-ahead checkpoint cannot be read back in time (no newer claim ruled out) is not made: the worker stops", async () => {
  const ir = program();
  const gated = new GatedCheckpointsLog({ brokers: broker.kafka.brokers });
  gated.release(); // checkpoints are written at once
  let fatal: Error | undefined;
  const w = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: gated, claimsWaitMs: 500, onFatal: (e) => void (fatal = e) });
  const id = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
  try {
    await w.start();
    await w.ready;
    gated.holdReads();
    await broker.log.append([command(id)]);
    await waitFor("the worker to stop", () => fatal !== undefined, { timeoutMs: 20_000, intervalMs: 20 });
    expect(fatal!.message).toMatch(/^the checkpoint topic was not read back up to offset \d+ within 500ms: no other worker's claim of the source can be ruled out$/);
    expect(fatal).not.toBeInstanceOf(SupersededError); // exit 1: restarted
    expect(w.dispatchedIds).toEqual([]);
  } finally {
    gated.releaseReads();
    await w.stop();
    await gated.close();
  }
  // its restart: the command is named open in the checkpoint written for it, so it is answered interrupted, never sent
  expect(await restarted(ir, id)).toEqual({ status: "failed", dispatched: [] });
}, 60_000);
