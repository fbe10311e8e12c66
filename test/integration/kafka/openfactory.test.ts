// The OpenFactory side on Apache Kafka itself (issue 13, items 15–17): the rule worker next to
// what a real OpenFactory connector writes to ofa_assets — bound data items under their own ids,
// many undeclared ones, an MTConnect Condition item — with commands routed to `ofa_cmds`
// (key device uuid, value {cmd, args}) for an `openfactory(command_topic: "ofa_cmds")` source.
// Checked: undeclared items are counted, not dead-lettered; the Condition item drives a rule;
// the accepted command reaches ofa_cmds once (also across a restart), a rejected one never;
// `TYPE Method` records describe each command once, also after a restart from a checkpoint; a
// command decided live on an input received long ago is not routed (OFL_COMMAND_MAX_AGE_MS).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { KafkaLog, type KafkaRecord } from "../../../runtime/log/kafka.js";
import { CORRELATION_HEADER, RuleWorker } from "../../../runtime/worker/rule.js";
import { classify } from "../../../runtime/wire/records.js";
import { startKafka, type KafkaBroker } from "../../services/kafka/start.js";

const program = `
enum Cond { NORMAL, WARNING, FAULT }
model Mill {
  telemetry temperature: float<degC>
  telemetry spindle: Cond
  /// Stops the spindle.
  command stop(reason: int in 1..3) requires temperature < 200 degC
}
asset m1: Mill {
  uuid "CNC-7"
  source openfactory(command_topic: "ofa_cmds") {
    temperature <- id("Tspindle_01")
    spindle     <- id("Cspindle")
    stop        -> method("StopSpindle")
  }
}
rule stop_on_fault on Mill {
  when spindle == FAULT
  then stop(reason: 2)
}
`;

let kafka: KafkaBroker;
let log: KafkaLog;
let ir: IrProgram;

beforeAll(async () => {
  const r = compile([{ path: "/ofa.ofl", text: program }], { name: "ofa" });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  ir = r.ir!;
  kafka = await startKafka();
  log = new KafkaLog({ brokers: kafka.brokers });
  await log.ensureTopics(["ofa_assets", "ofl_deadletter"].map((name) => ({ name, partitions: 1, replication: 1 })));
}, 180_000);

afterAll(async () => {
  await log?.close();
  await kafka?.close();
});

let t = 0;
/**
 * A record as an OpenFactory (MTConnect) connector writes it: lower-case fields. Received (Kafka
 * time) `receivedAgo` ms ago; its event time a second after the last record's, and at most
 * 30 s old (a command is routed only while its input is recent: OFL_COMMAND_MAX_AGE_MS).
 */
const ofa = (id: string, value: string, type = "Samples", tag = "Temperature", receivedAgo = 0) => {
  t = Math.max(t + 1000, Date.now() - 30_000);
  return { topic: "ofa_assets", key: "CNC-7", ts: receivedAgo > 0 ? Date.now() - receivedAgo : t, value: { id, value, tag, type, attributes: { timestamp: new Date(t).toISOString() } } };
};

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The derived record of `temperature`'s sentinel value: once on the topic, every earlier input was processed. */
const sentinel = (value: string) => async (): Promise<true | undefined> => {
  const recs = await log.readRange("ofa_assets", 0);
  return recs.some((r) => {
    const ev = classify(r);
    return ev.kind === "derived" && ev.id === "hot_sentinel" && ev.value === value;
  })
    ? true
    : undefined;
};

test("undeclared items counted, a Condition item drives a rule, the command reaches ofa_cmds once, TYPE Method written once", async () => {
  // a state whose derived record is the sentinel: written after the inputs before it are processed
  const withSentinel: IrProgram = compile([{ path: "/ofa.ofl", text: program.replace("/// Stops", "state hot_sentinel = temperature\n  /// Stops") }], { name: "ofa" }).ir!;
  ir = withSentinel;
  // the worker is live first (a command issued while it rebuilds history is never routed late)
  let w = new RuleWorker({ program: ir, log, clockMs: 0 });
  await w.start();
  await w.ready;
  await log.append([
    ofa("Tspindle_01", "150"),
    ofa("Xact", "12.5", "Samples", "Position"),
    ofa("execution", "ACTIVE", "Events", "Execution"),
    ofa("Cspindle", "NORMAL", "Condition", "SYSTEM"),
    ofa("Cspindle", "FAULT", "Condition", "SYSTEM"), // the rule fires: stop(reason: 2), interlock passes
    ofa("Tspindle_01", "250"),
    ofa("Cspindle", "NORMAL", "Condition", "SYSTEM"),
    ofa("Cspindle", "FAULT", "Condition", "SYSTEM"), // fires again: interlock rejects (250 degC)
    ofa("Tspindle_01", "1"), // the sentinel
  ]);
  await until("the sentinel's derived record", sentinel("1"));
  expect(w.engine.ignoredCounts()).toEqual({ m1: 2 });
  const dead = (await log.readRange("ofl_deadletter", 0)).map((r) => (r.value as { reason: string }).reason);
  expect(dead).toEqual([]);
  // two commands issued (one accepted, one rejected by the interlock): only the accepted one is routed
  const issued = (await log.readRange("ofa_assets", 0)).map(classify).filter((e) => e.kind === "command");
  expect(issued.map((e) => (e.kind === "command" ? e.envelope.header.verdict : ""))).toEqual(["accepted", "rejected"]);
  const cmds = await until("the ofa_cmds record", async () => {
    const r = await log.readRange("ofa_cmds", 0);
    return r.length >= 1 ? r : undefined;
  });
  expect(cmds.map((r) => [r.key, r.value])).toEqual([["CNC-7", { cmd: "StopSpindle", args: { reason: "2" } }]]);
  const accepted = issued[0]!;
  expect(cmds[0]!.headers[CORRELATION_HEADER]).toBe(accepted.kind === "command" ? accepted.envelope.header.correlation_id : "");
  // TYPE Method: one description per asset command
  const descriptions = (): Promise<KafkaRecord[]> => log.readRange("ofa_assets", 0).then((rs) => rs.filter((r) => classify(r).kind === "command_description"));
  const d1 = await until("the command description", async () => ((await descriptions()).length > 0 ? descriptions() : undefined));
  expect(d1.map((r) => [r.key, (r.value as { ID: string }).ID, JSON.parse((r.value as { VALUE: string }).VALUE)])).toEqual([
    ["CNC-7", "stop", { description: "Stops the spindle.", arguments: [{ name: "reason", description: "int in 1..3" }] }],
  ]);
  await w.stop();

  // a restart from the whole log (no checkpoints): the command is found in history and not
  // routed again, no second description
  await log.append([ofa("Tspindle_01", "2")]);
  w = new RuleWorker({ program: ir, log, clockMs: 0, checkpoints: false });
  await w.start();
  await w.ready;
  await until("the second sentinel", sentinel("2"));
  await log.append([ofa("Tspindle_01", "3")]);
  await until("the third sentinel", sentinel("3"));
  expect((await log.readRange("ofa_cmds", 0)).length).toBe(1);
  expect((await descriptions()).length).toBe(1);
  expect(w.stats.restoredFrom).toBe(0);
  expect(w.stats.notRouted).toBe(1);
  await w.stop();

  // a restart from the checkpoint the first worker wrote when it stopped: the history before it
  // is not read again, and the descriptions it had seen come with the checkpoint (none written twice)
  await log.append([ofa("Tspindle_01", "4")]);
  w = new RuleWorker({ program: ir, log, clockMs: 0 });
  await w.start();
  await w.ready;
  await until("the fourth sentinel", sentinel("4"));
  expect(w.stats.restoredFrom).toBeGreaterThan(0);
  expect(w.stats.notRouted).toBe(0);
  expect((await log.readRange("ofa_cmds", 0)).length).toBe(1);
  expect((await descriptions()).length).toBe(1);
  expect(w.stats.described).toBe(0);

  // live, but its input was received five minutes ago (a worker far behind the log): written to
  // ofa_assets as decided, not routed
  await log.append([ofa("Cspindle", "NORMAL", "Condition", "SYSTEM", 300_000), ofa("Cspindle", "FAULT", "Condition", "SYSTEM", 300_000), ofa("Tspindle_01", "5")]);
  await until("the fifth sentinel", sentinel("5"));
  const stops = (await log.readRange("ofa_assets", 0)).map(classify).filter((e) => e.kind === "command");
  expect(stops.map((e) => (e.kind === "command" ? e.envelope.header.verdict : ""))).toEqual(["accepted", "rejected", "accepted"]);
  expect(w.staleNotRouted).toBe(1);
  expect((await log.readRange("ofa_cmds", 0)).length).toBe(1);
  await w.stop();
}, 240_000);

test("ofl deploy makes a missing command topic of an openfactory source and leaves an existing one as it is, whatever its partitions", async () => {
  const { buildCommand } = await import("../../../runtime/cli/build.js");
  const { deployCommand } = await import("../../../runtime/cli/deploy.js");
  const { startKsqlStub } = await import("../../unit/deploy/ksqldb-stub.js");
  const dir = mkdtempSync(join(tmpdir(), "ofl-ofa-deploy-"));
  let out = "";
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (out += s), cwd: dir, color: false };
  // two devices: one whose command topic OpenFactory made (3 partitions), one whose topic is not there yet
  const text = program.replace('command_topic: "ofa_cmds"', 'command_topic: "ofa_cmds_made"') + program.slice(program.indexOf("asset m1")).split("rule stop_on_fault")[0]!.replace("asset m1", "asset m2").replace('"CNC-7"', '"CNC-8"').replace('command_topic: "ofa_cmds"', 'command_topic: "ofa_cmds_missing"');
  writeFileSync(join(dir, "ofa.ofl"), text);
  await log.ensureTopics([{ name: "ofa_cmds_made", partitions: 3, replication: 1 }]);
  const build = join(dir, "build");
  const stub = await startKsqlStub(); // stands in for ksqlDB's /ksql and /info (it cannot run here)
  try {
    expect(await buildCommand.run([join(dir, "ofa.ofl"), "--out", build], io), out).toBe(0);
    expect(await deployCommand.run(["--build", build, "--kafka", kafka.brokers.join(","), "--ksqldb", stub.url], io), out).toBe(0);
  } finally {
    await stub.close();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(out).toMatch(/created [^\n]*ofa_cmds_missing/);
  expect(out).not.toMatch(/created [^\n]*ofa_cmds_made/);
  expect([...(await log.partitionOffsets("ofa_cmds_made")).keys()].sort()).toEqual([0, 1, 2]);
  expect([...(await log.partitionOffsets("ofa_cmds_missing")).keys()]).toEqual([0]);
}, 60_000);
