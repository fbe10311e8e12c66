// End to end on Apache Kafka itself (test/services/kafka/start.ts starts a KRaft broker): the
// bundled workers, run with plain `node` from a folder without node_modules, as `ofl deploy
// --local` runs them. A simulated tank → connector worker → ofa_assets → rule worker → a
// `reset` command record → connector worker → the simulated device obeys (its level drops to 0).
//
// Faults on the way: SIGKILL of the rule worker mid-stream (after it wrote a checkpoint) and a
// restart from that checkpoint; a broker restart.
// Then the recorded topic is replayed with the embedded engine (`ofl test --replay` and the
// Engine directly): the derived, alarm and command records on the topic are exactly what the
// engine computes from the recorded inputs, and no correlation id was dispatched twice.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { emitWorkers } from "../../../runtime/deploy/entries.js";
import type { IrProgram } from "../../../compiler/index.js";
import { bundleWorkers } from "../../../runtime/deploy/bundle.js";
import { Engine } from "../../../runtime/engine/index.js";
import { KafkaLog, type KafkaRecord } from "../../../runtime/log/kafka.js";
import { replaySession } from "../../../runtime/replay/runner.js";
import { sessionLine } from "../../../runtime/replay/session.js";
import { CAUSE_HEADER } from "../../../runtime/worker/rule.js";
import { checkpointTopic } from "../../../runtime/log/kafkaCheckpoints.js";
import { classify } from "../../../runtime/wire/records.js";
import { operatorCommandRecord } from "../../../runtime/wire/operator.js";
import type { NewRecord } from "../../../runtime/wire/types.js";
import { startKafka, type KafkaBroker } from "../../services/kafka/start.js";
import { startWorker, tearDown, type Worker } from "./workers.js";
import { waitFor } from "../../support/wait.js";
import { tankProgram } from "./program.js";

let kafka: KafkaBroker;
let ir: IrProgram;
let dir: string;
let log: KafkaLog;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const broker = startKafka();
  ir = tankProgram();
  dir = mkdtempSync(join(tmpdir(), "ofl-workers-")); // no node_modules anywhere above it
  for (const b of await bundleWorkers(emitWorkers(ir))) writeFileSync(join(dir, `${b.name}.mjs`), b.code);
  kafka = await broker;
  log = new KafkaLog({ brokers: kafka.brokers });
}, 180_000);

afterAll(() => tearDown(children, [log, kafka], dir));

function worker(name: string, env: Record<string, string> = {}): Worker {
  return startWorker(dir, name, kafka.brokers, children, env);
}

/** the rule worker checkpoints every 200 inputs (the clock alone brings 20 a second) */
const RULE_ENV = { OFL_CHECKPOINT_RECORDS: "200" };

async function topic(): Promise<KafkaRecord[]> {
  return log.readRange("ofa_assets", 0);
}

/** The rule worker's checkpoints (its topic also holds each run's claim). */
async function checkpoints(): Promise<KafkaRecord[]> {
  return (await log.readRange(checkpointTopic(ir.program), 0)).filter((r) => r.key === `${ir.program}/0`);
}

function results(recs: KafkaRecord[]): { id: string; status: string; result?: unknown }[] {
  return recs.flatMap((r) => {
    const ev = classify(r);
    return ev.kind === "command_result" ? [{ id: ev.result.correlation_id, status: ev.result.status, result: ev.result.result }] : [];
  });
}

/** Appends an operator command to t1; returns its correlation id. */
async function send(command: string): Promise<string> {
  const asset = ir.assets.find((a) => a.name === "t1")!;
  const rec = operatorCommandRecord(ir, asset, command, [], Date.now(), await log.endOffset("ofa_assets"));
  await log.append([{ topic: rec.topic, key: rec.key, ts: rec.ts, value: rec.value }]);
  return JSON.parse((rec.value as { VALUE: string }).VALUE).header.correlation_id as string;
}

function answered(ids: string[]) {
  return async (): Promise<boolean> => {
    const got = new Set(results(await topic()).map((r) => r.id));
    return ids.every((id) => got.has(id));
  };
}

async function untilCompleted(n: number, ms: number, what: () => string): Promise<void> {
  const done = async (): Promise<number> => results(await topic()).filter((r) => r.status === "completed").length;
  await waitFor(`${n} completed commands`, async () => (await done()) >= n, {
    timeoutMs: ms,
    intervalMs: 300,
    detail: async () => `(have ${await done()})\n${what()}`,
  });
}

test("simulated tank → connector worker → rule worker → command → device, through SIGKILL and a broker restart", async () => {
  const connector = worker("connector-t1-simulate");
  let rule = worker("rule", RULE_ENV);
  const outputs = (): string => `--- connector\n${connector.output()}\n--- rule\n${rule.output()}\n--- broker\n${kafka.output().slice(-2000)}`;
  await Promise.all([connector.ready, rule.ready]);
  await untilCompleted(3, 20_000, outputs);

  // SIGKILL the rule worker mid-stream, once it has written a checkpoint; the device keeps
  // reporting; restart it: it restores the checkpoint and replays only the records after it
  const checkpoint = await waitFor("a checkpoint of the rule worker", async () => (await checkpoints()).at(-1), {
    timeoutMs: 30_000,
    intervalMs: 200,
    detail: outputs,
  });
  rule.child.kill("SIGKILL");
  await rule.exited;
  const end = await log.endOffset("ofa_assets");
  rule = worker("rule", RULE_ENV);
  await rule.ready;
  const restored = /rebuilt from the checkpoint at offset (\d+) and the (\d+) records after it/.exec(rule.output());
  expect(restored, rule.output()).not.toBeNull();
  expect(Number(restored![1])).toBeGreaterThanOrEqual((checkpoint.value as { offset: number }).offset);
  expect(Number(restored![1]) + Number(restored![2])).toBeGreaterThanOrEqual(end);
  const before = results(await topic()).filter((r) => r.status === "completed").length;
  await untilCompleted(before + 3, 20_000, outputs);

  // broker restart: both workers reconnect and continue
  const t0 = Date.now();
  await kafka.restart();
  console.log(`broker restarted in ${Date.now() - t0} ms`);
  const afterRestart = results(await topic()).filter((r) => r.status === "completed").length;
  await untilCompleted(afterRestart + 3, 45_000, outputs);

  // stop the device, then wait for the rule worker's answer to a sentinel (an operator command
  // its interlock rejects): it decided every input before it, so the topic (which the `ofl
  // record` test below records) has no undecided telemetry at its end; then stop the worker
  connector.child.kill("SIGTERM");
  await connector.exited;
  const sentinel = await send("hold");
  await waitFor("the answer to the sentinel", answered([sentinel]), { timeoutMs: 20_000, intervalMs: 200, detail: outputs });
  rule.child.kill("SIGTERM");
  await rule.exited;
  // what the rule worker decided: a stopping worker checkpoints after the last record it
  // processed; the clock records it wrote after that are left out (its outputs all stay)
  const last = (await checkpoints()).at(-1)!.value as { offset: number };
  const recs = (await topic()).filter((r) => r.offset < last.offset || r.headers[CAUSE_HEADER] !== undefined);

  // the device got every command exactly once: one completed result per correlation id
  const commands = recs.flatMap((r) => {
    const ev = classify(r);
    return ev.kind === "command" && ev.envelope.header.correlation_id !== sentinel ? [ev.envelope.header.correlation_id] : [];
  });
  const res = results(recs).filter((r) => r.id !== sentinel);
  expect(commands.length).toBeGreaterThanOrEqual(9);
  expect(new Set(commands).size).toBe(commands.length);
  expect(new Set(res.map((r) => r.id)).size).toBe(res.length);
  for (const r of res) expect(r, JSON.stringify(r)).toMatchObject({ status: "completed", result: { level: 0 } });
  expect(res.length).toBeGreaterThanOrEqual(commands.length - 1); // the last one may be in flight at the stop

  // the outputs on the topic are what the embedded engine computes from the recorded inputs
  const replayed: NewRecord[] = [];
  const engine = new Engine({ program: ir, onOutput: (r) => replayed.push(r) });
  for (const r of recs) engine.process(classify(r));
  const recorded = recs.filter((r) => r.headers[CAUSE_HEADER] !== undefined);
  const strip = (r: { key: string | null; value: unknown }): string => JSON.stringify([r.key, r.value]);
  const engineOut = replayed.filter((r) => r.topic === "ofa_assets").map(strip);
  expect(recorded.map(strip)).toEqual(engineOut);

  // and `ofl test --replay` of the recorded topic agrees on every decision
  const session = join(dir, "recorded.jsonl");
  writeFileSync(session, recs.map((r) => sessionLine(r) + "\n").join(""));
  const report = replaySession(ir, session);
  expect(report.divergence, JSON.stringify(report.divergence)).toBeUndefined();
  expect(report.commands.recorded).toBe(commands.length);
  expect(report.passed).toBe(true);
}, 170_000);

test("a connector worker given a bad OFL_COMMAND_MAX_AGE_MS says so and exits 2, before it produces anything", async () => {
  const end = await log.endOffset("ofa_assets");
  const w = worker("connector-t1-simulate", { OFL_COMMAND_MAX_AGE_MS: "1m" });
  await w.exited;
  expect(w.child.exitCode, w.output()).toBe(2);
  expect(w.output()).toMatch(/connector-t1-simulate: error: OFL_COMMAND_MAX_AGE_MS must be a number, 0 or more \(got "1m"\)\n$/);
  expect(await log.endOffset("ofa_assets")).toBe(end);
}, 30_000);

test("ofl deploy on the real broker: topics created, statements submitted in order, a re-run does nothing, --plan shows it", async () => {
  const { buildCommand } = await import("../../../runtime/cli/build.js");
  const { deployCommand } = await import("../../../runtime/cli/deploy.js");
  const { startKsqlStub } = await import("../../unit/deploy/ksqldb-stub.js");
  const stub = await startKsqlStub(); // stands in for ksqlDB's /ksql and /info (it cannot run here)
  let out = "";
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (out += s), cwd: dir, color: false };
  try {
    const build = join(dir, "build");
    writeFileSync(join(dir, "tank.ofl"), (await import("./program.js")).TANK);
    expect(await buildCommand.run([join(dir, "tank.ofl"), "--out", build], io), out).toBe(0);
    const args = ["--build", build, "--kafka", kafka.brokers.join(","), "--ksqldb", stub.url];
    expect(await deployCommand.run(args, io), out).toBe(0);
    expect(out).toContain("created _ofl_deploy_state");
    const n = stub.requests.length;
    expect(n).toBeGreaterThan(3);
    out = "";
    expect(await deployCommand.run(args, io), out).toBe(0);
    expect(out).toMatch(/ksqlDB: no changes/);
    expect(stub.requests.length).toBe(n);
    out = "";
    expect(await deployCommand.run([...args, "--plan"], io), out).toBe(0);
    expect(out).toMatch(/no changes/);
  } finally {
    await stub.close();
  }
}, 60_000);

test("ofl record --kafka writes the topic as a session that replays to the same decisions", async () => {
  const { recordCommand } = await import("../../../runtime/cli/record.js");
  let err = "";
  const io = { out: () => {}, err: (s: string) => void (err += s), cwd: dir, color: false };
  const file = join(dir, "recorded.jsonl");
  expect(await recordCommand.run(["--kafka", kafka.brokers.join(","), "--out", file], io), err).toBe(0);
  const recs = await log.readRange("ofa_assets", 0);
  expect(err).toContain(`${recs.length} records written`);
  const lines = readFileSync(file, "utf8").trim().split("\n");
  expect(JSON.parse(lines[0]!)).toMatchObject({ ofl_session: 1 });
  expect(lines.slice(1)).toEqual(recs.map((r) => sessionLine(r)));
  const report = replaySession(ir, file);
  expect(report.divergence).toBeUndefined();
  expect(report.commands.recorded).toBeGreaterThan(0);
  // a time window selects by event time
  const first = Date.parse((recs[0]!.value as { attributes: { timestamp: string } }).attributes.timestamp);
  err = "";
  expect(await recordCommand.run(["--kafka", kafka.brokers.join(","), "--until", new Date(first).toISOString(), "--out", file], io), err).toBe(0);
  expect(readFileSync(file, "utf8").trim().split("\n").length).toBeGreaterThan(1);
  expect(readFileSync(file, "utf8").trim().split("\n").length).toBeLessThan(lines.length);
}, 60_000);

test("ofl record --kafka --since reads from the records received a day before it (Kafka's offsets for times), and selects by event time", async () => {
  const { recordCommand, SINCE_MARGIN_MS } = await import("../../../runtime/cli/record.js");
  const { telemetryValue } = await import("../../../runtime/wire/records.js");
  const topic = "ofl_record_since";
  await log.ensureTopics([{ name: topic, partitions: 1, replication: 1 }]);
  // a week of history ending a day and an hour before the shift, then the shift: received as
  // they happened (record time = event time)
  const now = Date.parse("2026-12-04T12:00:00Z");
  const at = (ms: number, v: number): { topic: string; key: string; ts: number; value: unknown } => ({ topic, key: "TANK-1", ts: ms, value: telemetryValue("level", v, "Level", "Samples", ms) });
  const week = Array.from({ length: 7 * 24 }, (_, h) => at(now - 8 * 86_400_000 + h * 3_600_000, h % 50));
  const shift = Array.from({ length: 8 }, (_, h) => at(now - 8 * 3_600_000 + h * 3_600_000, 100 + h));
  await log.append([...week, ...shift]);
  let err = "";
  const io = { out: () => {}, err: (s: string) => void (err += s), cwd: dir, color: false };
  const file = join(dir, "shift.jsonl");
  const since = now - 8 * 3_600_000;
  expect(await recordCommand.run(["--kafka", kafka.brokers.join(","), "--topic", topic, "--since", new Date(since).toISOString(), "--out", file], io), err).toBe(0);
  // what the file holds: the shift, by event time
  const values = readFileSync(file, "utf8").trim().split("\n").slice(1).map((l) => String((JSON.parse(l) as { value: { VALUE: unknown } }).value.VALUE));
  expect(values).toEqual(shift.map((r) => String((r.value as { VALUE: string }).VALUE)));
  // what was read: the week's last 8 hours (the day before --since) and the shift
  const read = [...week, ...shift].filter((r) => r.ts >= since - SINCE_MARGIN_MS).length;
  expect(read).toBe(8 + 8);
  expect(err).toContain(`ofl record: ${read} records read, from the first stamped a day before --since\n`);
}, 60_000);

test("operator commands over Kafka: accepted ones reach the device once, rejected ones never", async () => {
  const connector = worker("connector-t1-simulate");
  const rule = worker("rule");
  const outputs = (): string => `--- connector\n${connector.output()}\n--- rule\n${rule.output()}`;
  await Promise.all([connector.ready, rule.ready]);
  const accepted = await send("reset");
  const rejected = await send("hold"); // its interlock (level > 5000) never holds
  await waitFor("answers to the operator commands", answered([accepted, rejected]), { timeoutMs: 20_000, intervalMs: 200, detail: outputs });
  // sentinel: a later command, answered; the connector dispatches in log order, so a second
  // dispatch of the first one would have answered before it
  const sentinel = await send("reset");
  await waitFor("the answer to a later command", answered([sentinel]), { timeoutMs: 20_000, intervalMs: 200, detail: outputs });
  for (const w of [connector, rule]) w.child.kill("SIGTERM");
  await Promise.all([connector.exited, rule.exited]);
  const res = results(await topic());
  expect(res.filter((r) => r.id === accepted)).toEqual([{ id: accepted, status: "completed", result: { level: 0 } }]);
  expect(res.filter((r) => r.id === rejected).map((r) => r.status)).toEqual(["rejected"]);
}, 60_000);

test("a connector worker restarted after SIGTERM and after SIGKILL resumes from its newest checkpoint; a second process of its source, and one of the rule worker, supersede the first; each command decided once, answered once, none dispatched twice", async () => {
  const from = await log.endOffset("ofa_assets");
  // the previous test stopped its connector with SIGTERM: it checkpointed as it stopped
  let connector = worker("connector-t1-simulate");
  let rule = worker("rule");
  const outputs = (): string => `--- connector\n${connector.output()}\n--- rule\n${rule.output()}`;
  await Promise.all([connector.ready, rule.ready]);
  const restored = /t1: reading its partition from its checkpoint at offset (\d+)/.exec(connector.output());
  expect(restored, connector.output()).not.toBeNull();
  const completed = async (): Promise<number> => results((await topic()).filter((r) => r.offset >= from)).filter((r) => r.status === "completed").length;
  await waitFor("two commands completed", async () => (await completed()) >= 2, { timeoutMs: 20_000, intervalMs: 200, detail: outputs });
  connector.child.kill("SIGKILL");
  await connector.exited;
  const before = await completed();
  // the killed run wrote a checkpoint before each command it sent (write-ahead): the restart
  // reads from its last one
  connector = worker("connector-t1-simulate");
  await connector.ready;
  const resumed = /t1: reading its partition from its checkpoint at offset (\d+)/.exec(connector.output());
  expect(resumed, connector.output()).not.toBeNull();
  expect(Number(resumed![1])).toBeGreaterThan(Number(restored![1]));
  await waitFor("two more commands completed", async () => (await completed()) >= before + 2, { timeoutMs: 20_000, intervalMs: 200, detail: outputs });
  // a second process of the same source (a supervisor's mistake): it claims the source, and the
  // one running stops, exit 3 (its supervisor does not restart it); the second goes on
  const second = worker("connector-t1-simulate");
  await second.ready;
  await connector.exited;
  expect(connector.child.exitCode, outputs()).toBe(3);
  expect(connector.output()).toMatch(/another connector worker of t1 \(source #0, simulate\) started: its claim is at ofl_\w+_connector_checkpoints offset \d+; this one stops/);
  const sofar = await completed();
  connector = second;
  await waitFor("a command completed by the second process", async () => (await completed()) > sofar, { timeoutMs: 20_000, intervalMs: 200, detail: outputs });
  // and a second rule worker (one partition): it claims the partition, the first stops, exit 3;
  // the commands the second decides are dispatched
  const secondRule = worker("rule");
  await secondRule.ready;
  await rule.exited;
  expect(rule.child.exitCode, outputs()).toBe(3);
  expect(rule.output()).toMatch(/another rule worker of \w+ started: its claim is at ofl_\w+_checkpoints offset \d+; this one stops and writes nothing more/);
  const decided = await completed();
  rule = secondRule;
  await waitFor("a command decided by the second rule worker completed", async () => (await completed()) > decided, { timeoutMs: 20_000, intervalMs: 200, detail: outputs });
  for (const w of [connector, rule]) w.child.kill("SIGTERM");
  await Promise.all([connector.exited, rule.exited]);

  // every command of this window has at most one result, and a completed one at most once
  const recs = (await topic()).filter((r) => r.offset >= from);
  const commands = recs.flatMap((r) => {
    const ev = classify(r);
    return ev.kind === "command" ? [ev.envelope.header.correlation_id] : [];
  });
  const res = results(recs);
  expect(commands.length).toBeGreaterThanOrEqual(4);
  expect(new Set(commands).size, "each command decided once").toBe(commands.length);
  expect(new Set(res.map((r) => r.id)).size, JSON.stringify(res)).toBe(res.length);
  for (const r of res) expect(commands).toContain(r.id);
}, 90_000);

test("ofl deploy --local runs the build's workers supervised; a rule worker started by hand supersedes the supervised one, which is not restarted; Ctrl-C stops the rest", async () => {
  const { buildCommand } = await import("../../../runtime/cli/build.js");
  const { startKsqlStub } = await import("../../unit/deploy/ksqldb-stub.js");
  let built = "";
  const io = { out: (s: string) => void (built += s), err: (s: string) => void (built += s), cwd: dir, color: false };
  const build = join(dir, "build-local");
  writeFileSync(join(dir, "tank.ofl"), (await import("./program.js")).TANK);
  expect(await buildCommand.run([join(dir, "tank.ofl"), "--out", build], io), built).toBe(0);
  const stub = await startKsqlStub(); // stands in for ksqlDB's /ksql and /info (it cannot run here)
  const ofl = join(new URL(".", import.meta.url).pathname, "../../../bin/ofl.mjs");
  const deploy = spawn(process.execPath, [ofl, "deploy", "--build", build, "--kafka", kafka.brokers.join(","), "--ksqldb", stub.url, "--local"], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: join(dir, "home"), OFL_STATUS_MS: "0", OFL_CLOCK_MS: "50" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(deploy);
  let out = "";
  deploy.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  deploy.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => deploy.once("exit", (code) => r(code)));
  let hand: Worker | undefined;
  try {
    await waitFor("the supervised workers ready", () => out.includes("[rule] ready") && out.includes("[connector-t1-simulate] ready"), { timeoutMs: 30_000, intervalMs: 100, detail: () => out });
    expect(out).toContain("running 2 workers locally; stop with Ctrl-C");
    hand = startWorker(join(build, "workers"), "rule", kafka.brokers, children);
    await hand.ready;
    await waitFor("the supervised rule worker superseded", () => out.includes("[rule] exited (3): another worker does its job (above); not restarted"), { timeoutMs: 20_000, intervalMs: 100, detail: () => out });
    expect(out).toMatch(/\[rule\] \[[^\]]+\] rule: error: another rule worker of \w+ started: its claim is at ofl_\w+_checkpoints offset \d+; this one stops/);
    deploy.kill("SIGINT");
    expect(await exited, out).toBe(0);
    expect(out).toMatch(/stopping the workers \(each writes a last checkpoint\)…\nworkers stopped\n$/);
    expect(out).not.toContain("restarting");
  } finally {
    hand?.child.kill("SIGTERM");
    await hand?.exited;
    await stub.close();
  }
}, 90_000);
