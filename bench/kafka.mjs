// Benchmark: the rule worker on Apache Kafka (a real KRaft broker: test/services/kafka/start.ts,
// or OFL_KAFKA=HOST:PORT for one already running).
//
// 1. A first start: N telemetry records of 10 simulated tanks (level counters; the drain rule
//    fires every 20 records per tank, `doubled` changes on every record) are produced to
//    ofa_assets; then a rule worker starts, rebuilds from offset 0 and produces every output
//    (derived values, alarms, commands: about 1.2 outputs per input; past 100,000 held outputs it
//    produces them as it goes). Reported: input records per second until the last output is
//    acknowledged by the broker.
// 2. Latency: with the worker live, a connector-side producer writes one record that makes the
//    rule fire (level 25 after level 0) and a connector-side reader waits for the command record.
//    Reported: p50/p99 of produce → command record read, over M commands. Target p99 < 100 ms
//    (ksqlDB's default commit interval alone is 2 s: commit.interval.ms = 2000).
// 3. A restart without a checkpoint: a second worker reads the whole history again, decides every
//    input and finds each output on the log (none produced). Reported: input records consumed and
//    decided per second until it is live. Target ≥ 100,000/s.
//
// OFL_BENCH_SECURED=1: the rule worker reaches the broker over TLS with SASL PLAIN (the tests'
// SASL_SSL listener, test/services/kafka/start.ts), as it would a secured cluster; the inputs
// and the latency reader stay on the plaintext listener.
//
//   node bench/kafka.mjs [N=300000] [M=300]
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundleForKafka, root } from "../scripts/bundle-modules.mjs";

const N = Number(process.argv[2] ?? 300_000);
const M = Number(process.argv[3] ?? 300);

const out = await bundleForKafka(
  { compile: "compiler/index.ts", KafkaLog: "runtime/log/kafka.ts", RuleWorker: "runtime/worker/rule.ts", telemetryValue: "runtime/wire/records.ts", startKafka: "test/services/kafka/start.ts" },
  join(root, "bench/out/kafka-bench.mjs"),
);
const { compile, KafkaLog, RuleWorker, telemetryValue, startKafka } = await import(pathToFileURL(out).href);

const TANKS = 10;
const text = `
model Tank {
  telemetry level: int in 0..1000
  state high = level > 10 for 100ms
  state doubled = level * 2
  alarm full severity high when level >= 15 clear when level < 5
  command reset()
}
${Array.from({ length: TANKS }, (_, i) => `asset t${i}: Tank { uuid "TANK-${i}" }`).join("\n")}
rule drain on Tank { when level >= 20 then reset() }
`;
const ir = compile([{ path: "bench.ofl", text }], { name: "bench" }).ir;
if (!ir) throw new Error("the bench program does not compile");

const t0 = Date.now();
const securedRun = process.env.OFL_BENCH_SECURED === "1";
// OFL_BENCH_JVM=server: the broker with Kafka's production JVM flags (full JIT: Java's TLS is far
// slower under the tests' C1-only flags)
const kafka = await startKafka({ secured: securedRun, jvm: process.env.OFL_BENCH_JVM === "server" ? "server" : "test" });
console.error(`broker ${kafka.brokers[0]} up in ${Date.now() - t0} ms`);
const log = new KafkaLog({ brokers: kafka.brokers });
/** the rule worker's log: the plaintext listener, or with OFL_BENCH_SECURED=1 the SASL_SSL one */
const workerLog = securedRun
  ? new KafkaLog({
      brokers: kafka.secured.brokers,
      client: { ssl: { ca: [kafka.secured.caPem] }, sasl: { mechanism: "plain", username: kafka.secured.username, password: kafka.secured.password } },
    })
  : log;
if (securedRun) console.log("the rule worker on the SASL_SSL listener (TLS, SASL PLAIN)");
const rows = [];
try {
  // ---------------------------------------------------------------- throughput
  await log.ensureTopics([{ name: "ofa_assets", partitions: 1, replication: 1 }, { name: "ofl_deadletter", partitions: 1, replication: 1 }]);
  // an hour ago: on a broker with Kafka's default retention (7 days), older records are deleted under the worker reading them
  const base = Date.now() - 3_600_000;
  const tp0 = Date.now();
  for (let i = 0; i < N; i += 20_000) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 20_000); j++) {
      const tank = j % TANKS;
      const k = Math.floor(j / TANKS);
      batch.push({ topic: "ofa_assets", key: `TANK-${tank}`, ts: base + j, value: telemetryValue("level", String(k % 25), "level", "Samples", base + j) });
    }
    await log.append(batch);
  }
  console.error(`produced ${N} inputs in ${Date.now() - tp0} ms`);
  // what the input touches: every tank's level cycles 0 … 24, so `drain` (level >= 20) turns true
  // once per cycle and `full` activates and clears once per cycle
  const cycles = Math.floor(N / TANKS / 25);
  console.log(`input: ${N.toLocaleString("en")} level records over ${Math.min(N, TANKS)} of ${TANKS} tanks; ${cycles.toLocaleString("en")} level cycles per tank, so about ${(cycles * TANKS).toLocaleString("en")} drain commands and ${(2 * cycles * TANKS).toLocaleString("en")} alarm transitions expected`);
  // a first start: no output of the program on the log, every output produced (past 100,000 held
  // outputs, rebuildHoldLimit, as the rebuild goes)
  const worker = new RuleWorker({ program: ir, log: workerLog, clockMs: 0 });
  const w0 = performance.now();
  await worker.start();
  await worker.ready;
  while (worker.stats.produced < worker.stats.resent) await new Promise((r) => setTimeout(r, 5));
  const secs = (performance.now() - w0) / 1000;
  rows.push([
    "rule worker, first start: inputs decided, every output acknowledged",
    `${Math.round(N / secs).toLocaleString("en")} records/s`,
    `${worker.stats.produced.toLocaleString("en")} outputs produced (idempotent, acks=all) in ${secs.toFixed(2)} s; at most ${worker.stats.heldMost.toLocaleString("en")} held in memory`,
    "",
  ]);
  // ---------------------------------------------------------------- latency
  const end = await log.endOffset("ofa_assets");
  const waiting = new Map();
  const reader = await log.tail({
    topic: "ofa_assets",
    fromOffset: end,
    onBatch: (recs) => {
      for (const r of recs) {
        if (r.value?.ID === "reset_CMD") {
          const w = waiting.get(r.key);
          if (w) (waiting.delete(r.key), w(performance.now()));
        }
      }
    },
  });
  await new Promise((r) => setTimeout(r, 1500));
  const lat = [];
  let t = Date.now();
  for (let i = 0; i < M; i++) {
    const key = `TANK-${i % TANKS}`;
    t = Math.max(t + 1, Date.now());
    await log.append([{ topic: "ofa_assets", key, ts: t, value: telemetryValue("level", "0", "level", "Samples", t) }]);
    const got = new Promise((r) => waiting.set(key, r));
    const s = performance.now();
    t += 1;
    await log.append([{ topic: "ofa_assets", key, ts: t, value: telemetryValue("level", "25", "level", "Samples", t) }]);
    const until = await Promise.race([got, new Promise((r) => setTimeout(() => r(null), 5000))]);
    if (until === null) throw new Error(`no command within 5 s (iteration ${i})`);
    lat.push(until - s);
  }
  await reader.stop();
  await worker.stop();

  // ---------------------------------------------------------------- a restart without a checkpoint
  // the whole history read again and decided; every output is on the log already: none produced
  const again = new RuleWorker({ program: ir, log: workerLog, clockMs: 0, checkpoints: false });
  const r0 = performance.now();
  await again.start();
  await again.ready;
  const rebuilt = (performance.now() - r0) / 1000;
  const inputs = N + 2 * M;
  if (again.stats.resent !== 0) throw new Error(`the restart produced ${again.stats.resent} outputs again`);
  rows.push([
    "rule worker: inputs consumed and decided (a restart, nothing to produce)",
    `${Math.round(inputs / rebuilt).toLocaleString("en")} records/s`,
    `${inputs.toLocaleString("en")} inputs decided and ${(again.stats.consumed - inputs).toLocaleString("en")} outputs read and matched in ${rebuilt.toFixed(2)} s; at most ${again.stats.heldMost.toLocaleString("en")} outputs held`,
    "≥ 100,000/s",
  ]);
  await again.stop();
  if (process.env.OFL_BENCH_VERBOSE) console.error(`slowest: ${lat.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 8).map(([v, i]) => `#${i} ${v.toFixed(1)} ms`).join(", ")}`);
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))].toFixed(1);
  rows.push(["command latency: produce → rule worker → command read", `p50 ${pct(50)} ms, p99 ${pct(99)} ms`, `${M} commands, max ${lat[lat.length - 1].toFixed(1)} ms`, "p99 < 100 ms (ksqlDB: 2 s commit interval)"]);
} finally {
  if (workerLog !== log) await workerLog.close();
  await log.close();
  await kafka.close();
}
const head = ["benchmark", "result", "detail", "target"];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(w[i])).join("  "));
