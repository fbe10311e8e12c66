// Starts Apache Kafka's own broker for tests: one node in KRaft mode (broker and controller) on
// 127.0.0.1, its jars resolved from Maven Central by Maven (test/services/kafka/pom.xml, cached in
// ~/.m2 and in test/services/kafka/lib). Resolves once the broker answers Kafka requests.
//
//   const kafka = await startKafka();   // in beforeAll; kafka.brokers = ["127.0.0.1:PORT"]
//   await kafka.restart();              // broker restart tests (same port, same data)
//   await kafka.close();                // in afterAll
//
// When the jars are missing, the helper runs Maven itself; when Java, Maven or the broker cannot
// start, startKafka() throws: tests fail, they do not skip. `.ci/run` prefetches the jars.
// OFL_KAFKA=HOST:PORT uses a broker that is already running instead (nothing is started).
// `{ secured: true }` adds a second listener, SASL_SSL with a user known to PLAIN and to
// SCRAM-SHA-256, its certificate made by Java's keytool (self-signed, for 127.0.0.1):
// `kafka.secured` says how to reach it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { freePorts } from "../../support/ports.js";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const KAFKA_LIB = join(HERE, "lib");
const POM = join(HERE, "pom.xml");

export interface KafkaBroker {
  /** ["127.0.0.1:PORT"] */
  brokers: string[];
  port: number;
  /** what the broker printed (for failing tests) */
  output(): string;
  /** stops the broker (SIGTERM, then SIGKILL after 10 s); data stays for start() */
  stop(): Promise<void>;
  /** starts it again after stop(), same port, same data */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** stops it and removes its data */
  close(): Promise<void>;
  /** with `secured`: the SASL_SSL listener, a PLAIN user of it and the CA to trust (PEM) */
  secured?: { brokers: string[]; username: string; password: string; caPem: string };
  /** the broker's process id while it runs (benchmarks read its CPU time); undefined for OFL_KAFKA */
  pid(): number | undefined;
}


function canConnect(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The broker jars: copied by Maven into lib/ when absent (the first run downloads ~46 MB). */
export function ensureKafkaJars(): string {
  const have = existsSync(KAFKA_LIB) && readdirSync(KAFKA_LIB).some((f) => f.startsWith("kafka_2.13-"));
  if (have) return KAFKA_LIB;
  const mvn = spawnSync("mvn", ["-q", "-B", "-f", POM, "dependency:copy-dependencies", `-DoutputDirectory=${KAFKA_LIB}`], { encoding: "utf8", timeout: 600_000 });
  if (mvn.error || mvn.status !== 0)
    throw new Error(
      `cannot fetch the Kafka broker jars with Maven (${mvn.error?.message ?? `exit ${mvn.status}`}): run \`mvn -q -f test/services/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory=\$PWD/test/services/kafka/lib\` (a relative directory is taken from the pom's folder)\n${mvn.stdout ?? ""}${mvn.stderr ?? ""}`,
    );
  return KAFKA_LIB;
}

/**
 * Starts a single-node KRaft broker on 127.0.0.1 (free ports), or uses OFL_KAFKA when set.
 * `jvm`: "test" (default) starts fast (C1 compiler only, serial GC, 512 MB); "server" runs the JVM
 * as Kafka's own kafka-server-start.sh does (full JIT, G1, 1 GB), for benchmarks: the test flags
 * make every request cost the broker more CPU, which the workers share the machine with.
 */
export async function startKafka(opts: { port?: number; jvm?: "test" | "server"; secured?: boolean } = {}): Promise<KafkaBroker> {
  const external = process.env.OFL_KAFKA;
  if (external) {
    const [host, p] = external.split(":");
    if (!(await canConnect(Number(p), host))) throw new Error(`OFL_KAFKA=${external}: nothing answers there`);
    const none = async (): Promise<void> => {};
    return { brokers: [external], port: Number(p), output: () => "", stop: none, start: none, restart: none, close: none, pid: () => undefined };
  }
  const lib = ensureKafkaJars();
  // the listener's and the controller's, distinct (also from a port given for a restart)
  const [a, b, c] = await freePorts(3);
  const port = opts.port ?? a!;
  const controller = b !== port ? b! : a!;
  const dir = mkdtempSync(join(tmpdir(), "ofl-kafka-"));
  const data = join(dir, "data");
  mkdirSync(data);
  const secured = opts.secured ? securedListener(dir, c !== port ? c! : a!) : undefined;
  const props = join(dir, "server.properties");
  writeFileSync(
    props,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}${secured ? `,SASL_SSL://127.0.0.1:${secured.port}` : ""}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}${secured ? `,SASL_SSL://127.0.0.1:${secured.port}` : ""}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${secured ? ",SASL_SSL:SASL_SSL" : ""}`,
      ...(secured?.properties ?? []),
      `log.dirs=${data}`,
      "num.partitions=1",
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=1",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      `group.initial.rebalance.delay.ms=${process.env["OFL_TEST_KAFKA_GROUP_DELAY_MS"] ?? 0}`,
      "auto.create.topics.enable=true",
      "log.flush.interval.messages=9223372036854775807",
      // no deletion by age: the tests' records carry fixed dates, and with Kafka's 7 days the broker's
      // first retention pass (30 s after it starts) deleted those over a week old, measured, under a
      // test still reading them; retention is tested with deleteRecords
      "log.retention.ms=-1",
      "num.network.threads=2",
      "num.io.threads=2",
      "background.threads=2",
      "log.cleaner.dedupe.buffer.size=4194304",
      "",
    ].join("\n"),
  );
  // log4j: warnings only, to stdout (kept in `output()` for failing tests)
  const log4j = join(dir, "log4j.properties");
  writeFileSync(
    log4j,
    "log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\nlog4j.logger.kafka=WARN\nlog4j.logger.org.apache.kafka=WARN\n",
  );
  const cp = `${lib}/*`;
  const jvm = [
    ...(opts.jvm === "server"
      ? ["-Xmx1G", "-Xms1G", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent"]
      : ["-Xmx512m", "-Xms128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"]),
    `-Dlog4j.configuration=file:${log4j}`,
    "-Djava.awt.headless=true",
  ];
  // a SCRAM user is stored in the cluster's metadata: written when the storage is formatted (KRaft)
  const scram = secured ? ["--add-scram", `SCRAM-SHA-256=[name=${secured.username},password=${secured.password}]`] : [];
  const format = spawnSync("java", [...jvm, "-cp", cp, "kafka.tools.StorageTool", "format", "-t", "ofl-test-cluster-0000001", "-c", props, "--ignore-formatted", ...scram], {
    encoding: "utf8",
    timeout: 120_000,
  });
  if (format.error || format.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`kafka-storage format failed (${format.error?.message ?? `exit ${format.status}`}): is Java 17 installed?\n${format.stdout}${format.stderr}`);
  }

  let proc: ChildProcess | undefined;
  let out = "";
  const launch = async (): Promise<void> => {
    const child = spawn("java", [...jvm, "-cp", cp, "kafka.Kafka", props], { stdio: ["ignore", "pipe", "pipe"] });
    proc = child;
    let exited: number | null | undefined;
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => (exited = code));
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (exited !== undefined) throw new Error(`the Kafka broker exited (${exited}) while starting:\n${out.slice(-4000)}`);
      if (await canConnect(port)) {
        if (await answersMetadata(port)) return;
      }
      await sleep(200);
    }
    child.kill("SIGKILL");
    throw new Error(`the Kafka broker did not answer on 127.0.0.1:${port} within 90 s:\n${out.slice(-4000)}`);
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(t);
  };
  await launch();
  const broker: KafkaBroker = {
    brokers: [`127.0.0.1:${port}`],
    port,
    output: () => out,
    stop,
    start: launch,
    restart: async () => {
      await stop();
      await launch();
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    pid: () => proc?.pid,
    ...(secured ? { secured: { brokers: [`127.0.0.1:${secured.port}`], username: secured.username, password: secured.password, caPem: secured.caPem } } : {}),
  };
  return broker;
}

/** A SASL_SSL listener on `port`: a self-signed certificate for 127.0.0.1 (keytool), PLAIN users `ofl` and `admin` with random passwords, and `ofl` for SCRAM-SHA-256 too (added when the storage is formatted). */
function securedListener(dir: string, port: number): { port: number; properties: string[]; username: string; password: string; caPem: string } {
  const keystore = join(dir, "broker.p12");
  const storePass = randomUUID();
  const keytool = (args: string[]): string => {
    const r = spawnSync("keytool", args, { encoding: "utf8", timeout: 60_000 });
    if (r.error || r.status !== 0) throw new Error(`keytool ${args[0]} failed (${r.error?.message ?? `exit ${r.status}`}): is Java 17's keytool on PATH?\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  keytool(["-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1", "-keystore", keystore, "-storetype", "PKCS12", "-storepass", storePass, "-keypass", storePass]);
  const caPem = keytool(["-exportcert", "-rfc", "-alias", "broker", "-keystore", keystore, "-storetype", "PKCS12", "-storepass", storePass]);
  const password = `pw-${randomUUID()}`;
  const admin = `pw-${randomUUID()}`;
  return {
    port,
    username: "ofl",
    password,
    caPem,
    properties: [
      "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256",
      `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${admin}" user_admin="${admin}" user_ofl="${password}";`,
      "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
      `ssl.keystore.location=${keystore}`,
      "ssl.keystore.type=PKCS12",
      `ssl.keystore.password=${storePass}`,
      `ssl.key.password=${storePass}`,
    ],
  };
}

/** True when the broker answers a metadata request with itself as a broker (it is serving). */
async function answersMetadata(port: number): Promise<boolean> {
  const { Kafka, logLevel } = await import("kafkajs");
  const admin = new Kafka({ clientId: "ofl-test-probe", brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    return c.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
