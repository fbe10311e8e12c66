// End to end on Apache Kafka with a real OPC UA device (issue #5): a node-opcua server started
// in-process (test/integration/opcua/device.ts) and a simulated mill → their bundled connector
// workers → ofa_assets → the bundled rule worker → `stop` command records → the connector
// workers → the OPC UA server's Stop method is called (once), the simulated mill stops.
// Every worker runs with plain `node` from a temp folder with no node_modules anywhere above it,
// as `ofl deploy --local` runs them: node-opcua is in the bundle. The OPC UA session is
// SignAndEncrypt and the connector worker's HOME is empty, so the bundle creates its own client
// certificate (node-opcua's PKI) too.
//
// Then the recorded topic is replayed with the embedded engine (`ofl test --replay` and the
// Engine directly): the derived, alarm and command records on the topic are what it computes.
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { emitWorkers } from "../../../runtime/deploy/entries.js";
import type { IrProgram } from "../../../compiler/index.js";
import { bundleWorkers } from "../../../runtime/deploy/bundle.js";
import { Engine } from "../../../runtime/engine/index.js";
import { KafkaLog, type KafkaRecord } from "../../../runtime/log/kafka.js";
import { replaySession } from "../../../runtime/replay/runner.js";
import { sessionLine } from "../../../runtime/replay/session.js";
import { CAUSE_HEADER } from "../../../runtime/worker/rule.js";
import { classify } from "../../../runtime/wire/records.js";
import type { CommandResult, NewRecord } from "../../../runtime/wire/types.js";
import { startKafka, type KafkaBroker } from "../../services/kafka/start.js";
import { startWorker, untilProcessed, type Worker } from "./workers.js";
import { waitFor } from "../../support/wait.js";
import { MessageSecurityMode } from "node-opcua-client";
import { startDevice, type Device } from "../opcua/device.js";
import { millCellProgram } from "./program.js";

let kafka: KafkaBroker;
let dev: Device;
let ir: IrProgram;
let dir: string;
let log: KafkaLog;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // both settle before afterAll runs, so that neither is left running when the other fails
  const [k, d] = await Promise.allSettled([startKafka().then((b) => (kafka = b)), startDevice({ temperature: 20, execution: 1 }).then((x) => (dev = x))]);
  for (const r of [k, d]) if (r.status === "rejected") throw r.reason;
  ir = millCellProgram(dev.endpoint);
  dir = mkdtempSync(join(tmpdir(), "ofl-opcua-workers-")); // no node_modules anywhere above it
  for (const b of await bundleWorkers(emitWorkers(ir))) writeFileSync(join(dir, `${b.name}.mjs`), b.code);
  log = new KafkaLog({ brokers: kafka.brokers });
}, 180_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await log?.close();
  await kafka?.close();
  await dev?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function worker(name: string): Worker {
  return startWorker(dir, name, kafka.brokers, children);
}

async function until(what: string, f: (recs: KafkaRecord[]) => boolean, ms: number, outputs: () => string): Promise<KafkaRecord[]> {
  let recs: KafkaRecord[] = [];
  return waitFor(
    what,
    async () => {
      recs = await log.readRange("ofa_assets", 0);
      return f(recs) && recs;
    },
    { timeoutMs: ms, intervalMs: 200, detail: () => `--- topic\n${recs.map((r) => JSON.stringify([r.key, r.value])).join("\n")}\n${outputs()}` },
  );
}

const telemetry = (recs: KafkaRecord[], key: string, id: string): string[] =>
  recs.flatMap((r) => {
    const ev = classify(r);
    return ev.kind === "telemetry" && r.key === key && ev.id === id ? [ev.value] : [];
  });

const results = (recs: KafkaRecord[], key: string): CommandResult[] =>
  recs.flatMap((r) => {
    const ev = classify(r);
    return ev.kind === "command_result" && r.key === key ? [ev.result] : [];
  });

const alarms = (recs: KafkaRecord[], key: string): string[] =>
  recs.flatMap((r) => {
    const ev = classify(r);
    return ev.kind === "alarm" && r.key === key ? [ev.value] : [];
  });

const completed = (recs: KafkaRecord[], key: string): CommandResult[] => results(recs, key).filter((r) => r.status === "completed");

test("OPC UA and simulated mills → connector workers → rule worker → stop commands → the devices, then a replay agrees", async () => {
  // the workers truly run without node_modules: none in their folder or any folder above it
  for (let d = dir; ; d = dirname(d)) {
    expect(existsSync(join(d, "node_modules")), join(d, "node_modules")).toBe(false);
    if (dirname(d) === d) break;
  }
  mkdirSync(join(dir, "home"));

  const t0 = Date.now();
  const opcua = worker("connector-mill-opcua");
  const sim = worker("connector-sim-simulate");
  const rule = worker("rule");
  const workers = [opcua, sim, rule];
  const outputs = (): string =>
    `--- opcua connector\n${opcua.output()}\n--- simulate connector\n${sim.output()}\n--- rule\n${rule.output()}\n--- broker\n${kafka.output().slice(-2000)}`;
  await Promise.all(workers.map((w) => w.ready));
  console.log(`workers ready in ${Date.now() - t0} ms`);
  expect(opcua.output()).toContain(`${dev.endpoint} connected`);
  expect(opcua.output()).toContain("security SignAndEncrypt/Basic256Sha256");
  const modes = dev.server.endpoints.flatMap((e) => e.getChannels().map((ch) => MessageSecurityMode[ch.securityMode]));
  expect(modes).toContain("SignAndEncrypt");
  // the project's PKI under the worker's data folder (OFL_DATA unset: .ofl/data in its working
  // directory), the server pinned there; nothing in the shared store of the home folder
  expect(existsSync(join(dir, ".ofl", "data", "pki", "opcua", "own", "certs", "client_certificate.pem")), "the PKI in the worker's data folder").toBe(true);
  expect(JSON.parse(readFileSync(join(dir, ".ofl", "data", "pki", "opcua", "servers.json"), "utf8")).servers[dev.endpoint].how).toBe("first use");
  expect(existsSync(join(dir, "home", ".config")), "node-opcua's shared PKI in the worker's HOME").toBe(false);

  // the device's initial values reach the log through the connector worker
  await until("the initial temperature", (recs) => telemetry(recs, "MILL-1", "temperature").includes("20"), 20_000, outputs);
  expect(dev.calls).toEqual([]);

  // hot: the rule fires once (an edge), the connector calls Stop, the device reports execution 3
  // (STOPPED: the connector carries the raw value, the `map` applies in the engine)
  const t1 = Date.now();
  dev.set("Temperature", 95);
  await until("a completed stop on MILL-1", (recs) => completed(recs, "MILL-1").length > 0, 20_000, outputs);
  console.log(`temperature 95 → Stop called → result on the log in ${Date.now() - t1} ms`);
  // still hot: no new edge, no second call; cooler but still hot: the alarm clears, no call
  dev.set("Temperature", 96);
  await until("temperature 96 from MILL-1", (recs) => telemetry(recs, "MILL-1", "temperature").includes("96"), 20_000, outputs);
  dev.set("Temperature", 84);
  // MILL-SIM's counter passes 80 (hot: stopped) about 0.6 s after its start and 90 (the alarm)
  // about 1.6 s after: on a fast machine the steps above can end in between, so wait for both
  await until(
    "execution 3 and temperature 84 from MILL-1, a completed stop and the overtemp alarm on MILL-SIM",
    (recs) =>
      telemetry(recs, "MILL-1", "execution").includes("3") &&
      telemetry(recs, "MILL-1", "temperature").includes("84") &&
      completed(recs, "MILL-SIM").length > 0 &&
      alarms(recs, "MILL-SIM").includes("ACTIVE"),
    20_000,
    outputs,
  );

  // the connectors first; then, sentinel: the rule worker has processed every record they wrote
  // (a second command would be on the topic by then, and the checks below would see it)
  for (const w of [opcua, sim]) w.child.kill("SIGTERM");
  await Promise.all([opcua.exited, sim.exited]);
  await untilProcessed(log, (await log.endOffset("ofa_assets")) - 1, outputs);
  rule.child.kill("SIGTERM");
  await rule.exited;
  const recs = await log.readRange("ofa_assets", 0);
  for (const w of workers) expect(w.child.exitCode, w.output()).toBe(0);

  // the OPC UA server's Stop method was called exactly once
  expect(dev.calls).toEqual([{ method: "Stop", args: [] }]);
  // one command per mill, by the rule, each answered once, completed
  const commands = recs.flatMap((r) => {
    const ev = classify(r);
    return ev.kind === "command" ? [{ key: r.key, command: ev.command, header: ev.envelope.header }] : [];
  });
  expect(commands.map((c) => [c.key, c.command, c.header.rule, c.header.verdict]).sort()).toEqual([
    ["MILL-1", "stop", "stop_hot", "accepted"],
    ["MILL-SIM", "stop", "stop_hot", "accepted"],
  ]);
  for (const key of ["MILL-1", "MILL-SIM"]) {
    const id = commands.find((c) => c.key === key)!.header.correlation_id;
    expect(results(recs, key), key).toEqual([expect.objectContaining({ correlation_id: id, status: "completed" })]);
  }
  expect(telemetry(recs, "MILL-1", "temperature")).toEqual(expect.arrayContaining(["20", "95", "96", "84"]));
  expect(telemetry(recs, "MILL-SIM", "execution")).toContain("STOPPED");

  // the outputs on the topic (derived `hot`, alarm `overtemp` raised and cleared, the two
  // commands) are exactly what the embedded engine computes from the recorded inputs
  const replayed: NewRecord[] = [];
  const engine = new Engine({ program: ir, onOutput: (r) => replayed.push(r) });
  for (const r of recs) engine.process(classify(r));
  const recorded = recs.filter((r) => r.headers[CAUSE_HEADER] !== undefined);
  const kinds = recorded.map((r) => classify(r).kind);
  expect(kinds).toEqual(expect.arrayContaining(["derived", "alarm", "command"]));
  expect(kinds.filter((k) => k === "alarm").length).toBeGreaterThanOrEqual(3); // MILL-1 raised + cleared, MILL-SIM raised
  const strip = (r: { key: string | null; value: unknown }): string => JSON.stringify([r.key, r.value]);
  expect(recorded.map(strip)).toEqual(replayed.filter((r) => r.topic === "ofa_assets").map(strip));

  // and `ofl test --replay` of the recorded topic agrees on every decision
  const session = join(dir, "recorded.jsonl");
  writeFileSync(session, recs.map((r) => sessionLine(r) + "\n").join(""));
  const report = replaySession(ir, session);
  expect(report.divergence, JSON.stringify(report.divergence)).toBeUndefined();
  expect(report.commands).toEqual({ recorded: 2, replayed: 2, matched: 2 });
  expect(report.alarms.matched).toBe(report.alarms.recorded);
  expect(report.passed).toBe(true);
  console.log(`test body ${Date.now() - t0} ms, ${recs.length} records`);
}, 60_000);
