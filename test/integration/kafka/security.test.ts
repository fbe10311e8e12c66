// A secured Kafka cluster, on Apache Kafka itself: the broker gets a SASL_SSL listener (PLAIN
// users, a self-signed certificate made by keytool: test/services/kafka/start.ts), and the
// bundled workers, `ofl record --kafka` and `ofl deploy` reach it with the environment's
// settings (runtime/log/kafkaSecurity.ts): the simulated tank → connector worker → rule worker
// → command → device loop runs over it; a wrong password and settings that cannot be used are
// said clearly, and no password is ever printed.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { IrProgram } from "../../../compiler/index.js";
import { bundleWorkers } from "../../../runtime/deploy/bundle.js";
import { emitWorkers } from "../../../runtime/deploy/entries.js";
import { KafkaLog } from "../../../runtime/log/kafka.js";
import { classify } from "../../../runtime/wire/records.js";
import { startKafka, type KafkaBroker } from "../../services/kafka/start.js";
import { waitFor } from "../../support/wait.js";
import { tankProgram } from "./program.js";
import { startWorker, tearDown } from "./workers.js";

let kafka: KafkaBroker;
let log: KafkaLog;
let ir: IrProgram;
let dir: string;
let caFile: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const broker = startKafka({ secured: true });
  ir = tankProgram("secured");
  dir = mkdtempSync(join(tmpdir(), "ofl-secured-"));
  for (const b of await bundleWorkers(emitWorkers(ir))) writeFileSync(join(dir, `${b.name}.mjs`), b.code);
  kafka = await broker;
  caFile = join(dir, "ca.pem");
  writeFileSync(caFile, kafka.secured!.caPem);
  log = new KafkaLog({ brokers: kafka.brokers }); // the plaintext listener: the test's own view of the topics
}, 180_000);

afterAll(() => tearDown(children, [log, kafka], dir));

/** The environment of a worker or command on the secured listener. */
const secured = (over: Record<string, string> = {}): Record<string, string> => ({
  OFL_KAFKA_CA: caFile,
  OFL_KAFKA_SASL_MECHANISM: "plain",
  OFL_KAFKA_USERNAME: kafka.secured!.username,
  OFL_KAFKA_PASSWORD: kafka.secured!.password,
  ...over,
});

const completed = async (): Promise<number> =>
  (await log.readRange("ofa_assets", 0)).map(classify).filter((e) => e.kind === "command_result" && e.result.status === "completed").length;

test("the workers run the tank's loop over SASL_SSL with the environment's settings; the password is in no output", async () => {
  const connector = startWorker(dir, "connector-t1-simulate", kafka.secured!.brokers, children, secured());
  const rule = startWorker(dir, "rule", kafka.secured!.brokers, children, secured());
  const outputs = (): string => `--- connector\n${connector.output()}\n--- rule\n${rule.output()}\n--- broker\n${kafka.output().slice(-2000)}`;
  await Promise.all([connector.ready, rule.ready]);
  await waitFor("three commands completed", async () => (await completed()) >= 3, { timeoutMs: 20_000, intervalMs: 200, detail: outputs });
  for (const w of [connector, rule]) w.child.kill("SIGTERM");
  await Promise.all([connector.exited, rule.exited]);
  expect(connector.child.exitCode, outputs()).toBe(0);
  expect(rule.child.exitCode, outputs()).toBe(0);
  expect(outputs()).not.toContain(kafka.secured!.password);
}, 60_000);

test("ofl record --kafka and ofl deploy use the same settings (SCRAM-SHA-256; the CA given as PEM text, as a container's environment would)", async () => {
  const { recordCommand } = await import("../../../runtime/cli/record.js");
  const { buildCommand } = await import("../../../runtime/cli/build.js");
  const { deployCommand } = await import("../../../runtime/cli/deploy.js");
  const { startKsqlStub } = await import("../../unit/deploy/ksqldb-stub.js");
  let out = "";
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (out += s), cwd: dir, color: false };
  const saved = { ...process.env };
  Object.assign(process.env, secured({ OFL_KAFKA_CA: kafka.secured!.caPem, OFL_KAFKA_SASL_MECHANISM: "scram-sha-256" }));
  const stub = await startKsqlStub(); // stands in for ksqlDB's /ksql and /info (it cannot run here)
  try {
    const file = join(dir, "recorded.jsonl");
    expect(await recordCommand.run(["--kafka", kafka.secured!.brokers.join(","), "--out", file], io), out).toBe(0);
    const lines = readFileSync(file, "utf8").trim().split("\n").slice(1);
    expect(lines.length).toBe((await log.readRange("ofa_assets", 0)).length);
    writeFileSync(join(dir, "tank.ofl"), (await import("./program.js")).TANK);
    expect(await buildCommand.run([join(dir, "tank.ofl"), "--out", join(dir, "build")], io), out).toBe(0);
    expect(await deployCommand.run(["--build", join(dir, "build"), "--kafka", kafka.secured!.brokers.join(","), "--ksqldb", stub.url], io), out).toBe(0);
    expect(out).toContain("created _ofl_deploy_state");
    // the build passes the settings through from the deployer's environment, never their values
    const built = ["stack.yml", "plan.json"].map((f) => readFileSync(join(dir, "build", f), "utf8")).join("\n");
    expect(built).toContain('OFL_KAFKA_PASSWORD: "${OFL_KAFKA_PASSWORD:-}"');
    expect(built).not.toContain(kafka.secured!.password);
    expect(out).not.toContain(kafka.secured!.password);
  } finally {
    process.env = saved;
    await stub.close();
  }
}, 60_000);

test("a wrong password: the worker says the authentication failed, without the password, and exits 1 (its supervisor retries)", async () => {
  const wrong = `wrong-${kafka.secured!.password}`;
  const rule = startWorker(dir, "rule", kafka.secured!.brokers, children, secured({ OFL_KAFKA_PASSWORD: wrong }));
  await rule.exited;
  expect(rule.child.exitCode, rule.output()).toBe(1);
  expect(rule.output()).toMatch(/rule: error: SASL PLAIN authentication failed/);
  expect(rule.output()).not.toContain(wrong);
}, 60_000);

test("settings that cannot be used: the worker names them and exits 2 before it connects", async () => {
  const cases: [Record<string, string>, string][] = [
    [{ OFL_KAFKA_PASSWORD: "" }, "OFL_KAFKA_SASL_MECHANISM=plain needs OFL_KAFKA_USERNAME and OFL_KAFKA_PASSWORD (or OFL_KAFKA_PASSWORD_FILE)"],
    [{ OFL_KAFKA_SASL_MECHANISM: "gssapi" }, 'OFL_KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512 (got "gssapi")'],
    [{ OFL_KAFKA_CA: join(dir, "missing.pem") }, `OFL_KAFKA_CA: cannot read ${join(dir, "missing.pem")}: ENOENT (give a PEM file, or the PEM text itself)`],
  ];
  for (const [env, message] of cases) {
    const rule = startWorker(dir, "rule", kafka.secured!.brokers, children, secured(env));
    await rule.exited;
    expect(rule.child.exitCode, rule.output()).toBe(2);
    expect(rule.output()).toContain(`rule: error: ${message}\n`);
  }
}, 60_000);
