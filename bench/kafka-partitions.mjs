// Benchmark: rule workers on a partitioned ofa_assets (issue 14), on a real KRaft broker
// (test/services/kafka/start.ts, or OFL_KAFKA=HOST:PORT).
//
// N telemetry records of 40 tanks, 10 on each of P = 4 partitions (level counters 0 … 24: the
// drain rule fires and the alarm turns on and off once per cycle, `doubled` changes on every
// record). A round: the topics are emptied, 1 or 2 rule worker processes start as one consumer
// group (the broker waits 3 s for a new group's members before the first assignment,
// group.initial.rebalance.delay.ms, Kafka's default; the test suite sets 0) and are live on the
// empty partitions; they are frozen (SIGSTOP) while the N records are produced, so the producer
// does not compete with them, then thawed together: they decide the backlog on the live path. The
// clock stops when the last output is on the topic, acknowledged (acks=all): reported, input
// records per second. The number of outputs to wait for is computed beforehand by the embedded
// engine over each partition's records, so the figure counts every output. Three unreported
// rounds with 1 worker first warm the broker's JIT; then R pairs of rounds, 1 worker then 2: this
// machine's speed drifts, so each ratio is of two adjacent rounds, and the medians are reported.
// Then, with the last 2 workers live, the command latency: a record that makes the rule fire →
// the command record read back, p50/p99 over M commands on all partitions.
// Targets: ≥ 1.6× with 2 workers, ≥ 50,000 records/s per worker, p99 < 100 ms.
//
// The broker runs with Kafka's production JVM flags (startKafka jvm "server"), and the CPU time
// of each round is reported per input (/proc): the workers' main threads and their other threads
// (GC, compiler, libuv), the broker, this process. On a machine with fewer cores than workers +
// broker, the ratio is bounded by CPU, and these figures say by how much.
//
//   node bench/kafka-partitions.mjs [N=1000000] [M=200] [R=3]
//   (N: a round of 1,000,000 inputs takes about 10 s; at 200,000 a fresh worker process's start-up,
//   its JIT warming up, added about 15 % to each input's CPU)
//   (OFL_BENCH_PROF=DIR: CPU profiles of the workers; OFL_BENCH_NODE_FLAGS="...": flags for the
//   workers' node, e.g. to compare GC settings; OFL_BENCH_VERBOSE=1: the workers' reports;
//   OFL_BENCH_REQUESTS=1: each worker's Kafka requests by kind, counted when it stops — with 1 or
//   2 workers: the same produce requests in all; twice the fetches, each half the bytes)
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleForKafka, root } from "../scripts/bundle-modules.mjs";

const N = Number(process.argv[2] ?? 1_000_000);
const M = Number(process.argv[3] ?? 200);
const R = Number(process.argv[4] ?? 3);
const P = 4;
const TANKS = 40;

const out = join(root, "bench/out/kafka-partitions-bench.mjs");
const isWorker = process.argv[2] === "--worker";
const modules = {
  compile: "compiler/index.ts",
  Engine: "runtime/engine/index.ts",
  KafkaLog: "runtime/log/kafka.ts",
  partitionOfKey: "runtime/log/kafka.ts",
  RuleWorker: "runtime/worker/rule.ts",
  partitionProgram: "runtime/wire/partitions.ts",
  classify: "runtime/wire/records.ts",
  telemetryValue: "runtime/wire/records.ts",
  startKafka: "test/services/kafka/start.ts",
  ruleGroupId: "runtime/log/kafkaGroup.ts",
};
// a worker process imports the bundle its parent wrote
if (!isWorker) await bundleForKafka(modules, out);
const lib = await import(pathToFileURL(out).href);
const { compile, Engine, KafkaLog, partitionOfKey, RuleWorker, partitionProgram, classify, telemetryValue, startKafka, ruleGroupId } = lib;

// 10 tanks per partition: the first uuids the partitioner puts on each
const uuids = [];
for (let k = 0; uuids.length < TANKS; k++) {
  const p = partitionOfKey(`TANK-${k}`, P);
  if (uuids.filter((u) => partitionOfKey(u, P) === p).length < TANKS / P) uuids.push(`TANK-${k}`);
}
const text = `
model Tank {
  telemetry level: int in 0..1000
  state high = level > 10 for 100ms
  state doubled = level * 2
  alarm full severity high when level >= 15 clear when level < 5
  command reset()
}
${uuids.map((u, i) => `asset t${i}: Tank { uuid "${u}" }`).join("\n")}
rule drain on Tank { when level >= 20 then reset() }
`;
const ir = compile([{ path: "bench.ofl", text }], { name: "bench" }).ir;
if (!ir) throw new Error("the bench program does not compile");

// ------------------------------------------------------------------ a worker process
if (isWorker) {
  const log = new KafkaLog({ brokers: process.argv[3].split(",") });
  // OFL_BENCH_REQUESTS=1: the worker counts its Kafka requests (kafkajs's REQUEST events) and prints them on SIGTERM
  const requests = new Map();
  if (process.env.OFL_BENCH_REQUESTS) {
    for (const make of ["consumer", "producer"]) {
      const orig = log.kafka[make].bind(log.kafka);
      log.kafka[make] = (o) => {
        const c = orig(o);
        c.on(c.events.REQUEST, (e) => {
          const k = `${make} ${e.payload.apiName}`;
          const r = requests.get(k) ?? { n: 0, bytes: 0, ms: 0 };
          r.n++, (r.bytes += e.payload.size), (r.ms += e.payload.duration);
          requests.set(k, r);
        });
        return c;
      };
    }
    process.on("SIGTERM", () => process.stderr.write(`worker ${process.pid} requests: ${[...requests].map(([k, r]) => `${k} ${r.n} (${Math.round(r.bytes / r.n)} B, ${(r.ms / r.n).toFixed(1)} ms)`).join("; ")}\n`));
  }
  // a consumer group of its own per round (argv[4]), which reads the round's records alone (the
  // records of the rounds before are deleted: the log starts after them)
  const w = new RuleWorker({ program: { ...ir, program: `${ir.program}-${process.argv[4]}` }, log, clockMs: 0, checkpoints: false, report: (l, m) => (l !== "info" || process.env.OFL_BENCH_VERBOSE) && process.stderr.write(`${m}\n`) });
  await w.start();
  await w.ready;
  process.stdout.write("live\n"); // every partition it owns is rebuilt (the topics are empty: at once)
  process.on("SIGTERM", () => void w.stop().finally(() => log.close().finally(() => process.exit(0))));
  await new Promise(() => {});
}

// an hour ago (the inputs span N ms): a fixed date, once older than Kafka's default retention (7
// days; the tests' broker has none now), had the broker delete them under the workers reading them
const base = Date.now() - 3_600_000;
const inputs = [];
for (let j = 0; j < N; j++) {
  const tank = j % TANKS;
  const k = Math.floor(j / TANKS);
  inputs.push({ topic: "ofa_assets", key: uuids[tank], ts: base + j, value: telemetryValue("level", String(k % 25), "level", "Samples", base + j) });
}
// the outputs to wait for: the embedded engine over each partition's records
let outputs = 0;
let commands = 0;
for (let p = 0; p < P; p++) {
  const engine = new Engine({ program: partitionProgram(ir, p, P), onOutput: (o) => (o.topic === "ofa_assets" && outputs++, o.value?.ID === "reset_CMD" && commands++) });
  let offset = 0;
  for (const r of inputs) if (partitionOfKey(r.key, P) === p) engine.process(classify({ ...r, partition: p, offset: offset++ }));
}
const perPartition = Array.from({ length: P }, (_, p) => inputs.filter((r) => partitionOfKey(r.key, P) === p).length);
console.log(
  `input: ${N.toLocaleString("en")} level records over ${TANKS} of ${TANKS} tanks, ${perPartition.map((n) => n.toLocaleString("en")).join(" / ")} on partitions 0-3; ` +
    `the engine expects ${outputs.toLocaleString("en")} outputs, ${commands.toLocaleString("en")} of them drain commands; ${cpus().length} cores`,
);

const t0 = Date.now();
process.env["OFL_TEST_KAFKA_GROUP_DELAY_MS"] = "3000";
const kafka = await startKafka({ jvm: "server" });
console.error(`broker ${kafka.brokers[0]} up in ${Date.now() - t0} ms`);
const log = new KafkaLog({ brokers: kafka.brokers });
const rows = [];
const children = [];
let round = 0;
const spawnWorker = () => {
  // OFL_BENCH_PROF=DIR: each worker writes a CPU profile there (node --cpu-prof)
  const prof = process.env.OFL_BENCH_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.OFL_BENCH_PROF}`] : [];
  const args = [...prof, ...(process.env.OFL_BENCH_NODE_FLAGS ? process.env.OFL_BENCH_NODE_FLAGS.split(" ") : []), fileURLToPath(import.meta.url), "--worker", kafka.brokers.join(","), String(round)];
  const c = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  children.push(c);
  return c;
};
/** the sum of ofa_assets's partitions' end offsets (one request, not KafkaLog.partitionOffsets's two: this is polled every 20 ms while the CPU is counted) */
const ends = async () => (await (await log.admin()).fetchTopicOffsets("ofa_assets")).reduce((n, o) => n + Number(o.high), 0);

/** CPU seconds (user + system) a process (all its threads), or one of its threads, has used so far (Linux /proc; 0 when unknown) */
const cpuOf = (pid, thread) => {
  try {
    const f = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
};
/** a process's peak resident memory in MB (Linux /proc: VmHWM; 0 when unknown) */
const peakMbOf = (pid) => {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
  } catch {
    return 0;
  }
};
/** the CPU seconds of the workers' main threads (JavaScript) and of their other threads (V8's GC and compiler helpers, libuv) */
const workersCpu = (cs) => {
  const main = cs.reduce((a, c) => a + cpuOf(c.pid, c.pid), 0);
  return { main, others: cs.reduce((a, c) => a + cpuOf(c.pid), 0) - main };
};

/**
 * The topics with P partitions, emptied; returns where the round starts. Emptied by deleting their
 * records (the log then starts at the old end, as after retention), not by deleting and making
 * the topics again: a topic made again at once under the same name made kafkajs consumers fetch
 * nothing, or from the wrong offsets, in about one round in four.
 */
async function emptyTopics() {
  const admin = await log.admin();
  await log.ensureTopics([{ name: "ofa_assets", partitions: P, replication: 1 }, { name: "ofl_deadletter", partitions: P, replication: 1 }]);
  for (const topic of ["ofa_assets", "ofl_deadletter"]) {
    await admin.fetchTopicMetadata({ topics: [topic] });
    const nonEmpty = [...(await log.partitionOffsets(topic))].filter(([, o]) => o.high > o.low).map(([partition, o]) => ({ partition, offset: String(o.high) }));
    if (nonEmpty.length > 0) await admin.deleteTopicRecords({ topic, partitions: nonEmpty });
  }
  return ends();
}

/** resolves when a worker process says it is live */
const live = (c) =>
  new Promise((res, rej) => {
    let text = "";
    c.stdout.on("data", (d) => {
      if (process.env.OFL_BENCH_VERBOSE) process.stderr.write(d); // e.g. --trace-gc's lines
      if ((text += d).includes("live\n")) res();
    });
    c.once("exit", (code) => rej(new Error(`a worker exited (${code}) before it was live`)));
  });

/** the rule workers' consumer group is stable with `n` members (each assigned its partitions) */
async function settled(n) {
  const admin = await log.admin();
  for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 5))) {
    const [g] = (await admin.describeGroups([ruleGroupId(`${ir.program}-${round}`)])).groups;
    if (g?.state === "Stable" && g.members.length === n) return;
  }
  throw new Error(`the consumer group did not settle with ${n} members within 60 s`);
}

async function throughput(workers) {
  round++;
  const start = await emptyTopics();
  const cs = Array.from({ length: workers }, spawnWorker);
  const lives = cs.map(live);
  await settled(workers);
  await Promise.all(lives);
  // the workers are live on empty partitions; frozen while the backlog is produced (so the producer
  // does not compete with them for the CPU), then thawed together: they decide it live
  for (const c of cs) c.kill("SIGSTOP");
  for (let i = 0; i < N; i += 20_000) await log.append(inputs.slice(i, i + 20_000));
  const cpu0 = { ...workersCpu(cs), broker: cpuOf(kafka.pid()), here: cpuOf(process.pid) };
  for (const c of cs) c.kill("SIGCONT");
  const s = performance.now();
  let said = performance.now();
  let moved = { n: -1, at: performance.now() };
  for (let n; (n = (await ends()) - start) < N + outputs; await new Promise((r) => setTimeout(r, 20))) {
    if (n !== moved.n) moved = { n, at: performance.now() };
    else if (performance.now() - moved.at > 60_000) throw new Error(`${workers} worker(s): no output for 60 s, ${(n - N).toLocaleString("en")} of ${outputs.toLocaleString("en")} on the topic`);
    if (performance.now() - said > 5000) (said = performance.now()), console.error(`  ${workers} worker(s): ${(n - N).toLocaleString("en")} of ${outputs.toLocaleString("en")} outputs on the topic`);
  }
  const secs = (performance.now() - s) / 1000;
  const w = workersCpu(cs);
  const cpu = { main: w.main - cpu0.main, others: w.others - cpu0.others, broker: cpuOf(kafka.pid()) - cpu0.broker, here: cpuOf(process.pid) - cpu0.here };
  return { cs, secs, rate: N / secs, cpu, peakMb: Math.max(...cs.map((c) => peakMbOf(c.pid))) };
}
const stopAll = async (cs) => {
  for (const c of cs) c.kill("SIGTERM");
  await Promise.all(cs.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once("exit", r)))));
};
/** where the CPU of a round went, per input: the workers' main threads and other threads, the broker, this process (polling the end offsets); the largest worker's peak memory */
const cpuText = ({ cpu, secs, peakMb }) => {
  const us = (s) => `${((s / N) * 1e6).toFixed(1)} µs`;
  const all = cpu.main + cpu.others + cpu.broker + cpu.here;
  return `CPU an input: workers' main threads ${us(cpu.main)} + their other threads ${us(cpu.others)}, broker ${us(cpu.broker)}, bench ${us(cpu.here)}: ${(all / secs).toFixed(2)} of ${cpus().length} cores busy; a worker's peak RSS ${Math.round(peakMb)} MB`;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const perSec = (x) => `${Math.round(x).toLocaleString("en")}/s`;

try {
  for (let k = 0; k < 3; k++) await stopAll((await throughput(1)).cs); // warm-up
  // 1 worker, then 2, R times: this machine's speed drifts (other tenants), so each ratio compares
  // two rounds run one after the other, and the median of the ratios is reported
  const pairs = [];
  for (let k = 0; k < R; k++) {
    const one = await throughput(1);
    await stopAll(one.cs);
    const two = await throughput(2);
    if (k < R - 1) await stopAll(two.cs); // the last pair's workers stay for the latency
    pairs.push({ one, two, ratio: two.rate / one.rate });
    console.error(`pair ${k + 1}: 1 worker ${perSec(one.rate)} (${cpuText(one)}); 2 workers ${perSec(two.rate)} (${cpuText(two)}): ${(two.rate / one.rate).toFixed(2)}×`);
  }
  const mid = (f) => pairs.find((x) => f(x) === median(pairs.map(f)));
  const m1 = mid((x) => x.one.rate);
  const m2 = mid((x) => x.ratio);
  rows.push([
    "1 rule worker, P = 4: inputs decided, every output acknowledged",
    `${perSec(median(pairs.map((x) => x.one.rate)))} (median)`,
    `${N.toLocaleString("en")} inputs, ${outputs.toLocaleString("en")} outputs; ${R} rounds: ${pairs.map((x) => perSec(x.one.rate)).join(", ")}; median round: ${cpuText(m1.one)}`,
    "≥ 50,000/s per worker",
  ]);
  rows.push([
    "2 rule workers, P = 4 (one consumer group)",
    `${perSec(median(pairs.map((x) => x.two.rate)))}, ${median(pairs.map((x) => x.ratio)).toFixed(2)}× (median)`,
    `${R} rounds, each against the 1-worker round before it: ${pairs.map((x) => `${perSec(x.two.rate)} (${x.ratio.toFixed(2)}×)`).join(", ")}; median pair's round: ${cpuText(m2.two)}`,
    "≥ 1.6× with 2 workers",
  ]);

  // ---------------------------------------------------------------- latency with both live
  const waiting = new Map();
  const tails = [];
  for (let p = 0; p < P; p++)
    tails.push(
      await log.tail({
        topic: "ofa_assets",
        partition: p,
        fromOffset: await log.endOffset("ofa_assets", p),
        onBatch: (recs) => {
          for (const r of recs)
            if (r.value?.ID === "reset_CMD") {
              const w = waiting.get(r.key);
              if (w) (waiting.delete(r.key), w(performance.now()));
            }
        },
      }),
    );
  await new Promise((r) => setTimeout(r, 1500));
  const lat = [];
  let t = base + N + 1000;
  for (let i = 0; i < M; i++) {
    const key = uuids[i % TANKS];
    await log.append([{ topic: "ofa_assets", key, ts: ++t, value: telemetryValue("level", "0", "level", "Samples", t) }]);
    const got = new Promise((r) => waiting.set(key, r));
    const s = performance.now();
    await log.append([{ topic: "ofa_assets", key, ts: ++t, value: telemetryValue("level", "25", "level", "Samples", t) }]);
    const until = await Promise.race([got, new Promise((r) => setTimeout(() => r(null), 5000))]);
    if (until === null) throw new Error(`no command within 5 s (iteration ${i})`);
    lat.push(until - s);
  }
  for (const x of tails) await x.stop();
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))].toFixed(1);
  const slow = lat.filter((x) => x >= 100).length;
  rows.push(["command latency, 2 workers live, P = 4", `p50 ${pct(50)} ms, p99 ${pct(99)} ms`, `${M} commands over ${TANKS} tanks, p90 ${pct(90)} ms, max ${lat[lat.length - 1].toFixed(1)} ms, ${slow} of ${M} ≥ 100 ms`, "p99 < 100 ms"]);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await log.close();
  await kafka.close();
}
const head = ["benchmark", "result", "detail", "target"];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(w[i])).join("  "));
