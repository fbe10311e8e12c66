// Benchmark: the cross stage of a partitioned deployment (issue 14, item 3), on a real KRaft
// broker (test/services/kafka/start.ts).
//
// Program: 40 tanks, 10 on each of P = 4 partitions; a view `total = sum(level) from Tank`; a
// rule `overflow` (no `on`) commanding t0 when total >= 500: it reads across partitions, so the
// cross worker decides it. A state `above` on Tank reading the view: a derived value per tank
// from the cross worker too.
//
// 1. Throughput: N level records (every tank in turn, levels 0 … 24, so the total crosses 500 and
//    back once per 25 rounds) are produced first; then one cross worker process starts and merges
//    and decides them. Reported: merged inputs per second from its start until its last output is
//    on the topic, acknowledged. The outputs to wait for are computed beforehand by the embedded
//    engine over the documented merge (runtime/wire/merge.ts), as the stage must decide them.
// 2. Latency: with one rule worker live (clock records every 100 ms, the default, to every
//    partition) and the cross worker live, a record that lifts the total over 500 → the
//    command read back; p50/p99 over M commands. An input waits for the other partitions' next
//    input: their next clock record, or the stage's own after 20 ms (docs/deploy.md).
//
//   node bench/kafka-cross.mjs [N=200000] [M=100]
import { spawn } from "node:child_process";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleForKafka, root } from "../scripts/bundle-modules.mjs";

const N = Number(process.argv[2] ?? 200_000);
const M = Number(process.argv[3] ?? 100);
const P = 4;
const TANKS = 40;
const THRESHOLD = 500;

const out = join(root, "bench/out/kafka-cross-bench.mjs");
const role = process.argv[2] === "--worker" ? process.argv[3] : undefined;
const modules = {
  compile: "compiler/index.ts",
  Engine: "runtime/engine/index.ts",
  KafkaLog: "runtime/log/kafka.ts",
  partitionOfKey: "runtime/log/kafka.ts",
  RuleWorker: "runtime/worker/rule.ts",
  CrossWorker: "runtime/worker/cross.ts",
  PartitionMerge: "runtime/wire/merge.ts",
  mergeTime: "runtime/wire/merge.ts",
  crossOutputFilter: "runtime/wire/partitions.ts",
  classify: "runtime/wire/records.ts",
  telemetryValue: "runtime/wire/records.ts",
  startKafka: "test/services/kafka/start.ts",
};
// a worker process imports the bundle its parent wrote
if (!role) await bundleForKafka(modules, out);
const lib = await import(pathToFileURL(out).href);
const { compile, Engine, KafkaLog, partitionOfKey, RuleWorker, CrossWorker, PartitionMerge, mergeTime, crossOutputFilter, classify, telemetryValue, startKafka } = lib;

const uuids = [];
for (let k = 0; uuids.length < TANKS; k++) {
  const p = partitionOfKey(`TANK-${k}`, P);
  if (uuids.filter((u) => partitionOfKey(u, P) === p).length < TANKS / P) uuids.push(`TANK-${k}`);
}
const text = `
model Tank {
  telemetry level: int in 0..1000
  state above = level * ${TANKS} > total
  command reset()
}
view total = sum(level) from Tank
${uuids.map((u, i) => `asset t${i}: Tank { uuid "${u}" }`).join("\n")}
rule overflow { when total >= ${THRESHOLD} then t0.reset() }
`;
const ir = compile([{ path: "bench.ofl", text }], { name: "crossbench" }).ir;
if (!ir) throw new Error("the bench program does not compile");

// ------------------------------------------------------------------ worker processes
if (role) {
  const log = new KafkaLog({ brokers: process.argv[4].split(",") });
  const report = (l, m) => l !== "info" && process.stderr.write(`${m}\n`);
  const w = role === "cross" ? new CrossWorker({ program: ir, log, checkpoints: false, report }) : new RuleWorker({ program: ir, log, checkpoints: false, report });
  await w.start();
  await w.ready;
  // the most outputs its rebuild held at once (bounded: CrossWorkerOptions.rebuildHoldLimit)
  process.stdout.write(`ready ${w.stats.heldMost}\n`);
  process.on("SIGTERM", () => void w.stop().finally(() => log.close().finally(() => process.exit(0))));
  // the clock records the stage wrote itself so far (its nudges), on request
  process.on("SIGUSR2", () => process.stdout.write(`nudges ${w.stats.nudges ?? 0}\n`));
  await new Promise(() => {});
}

const base = Date.now() - 3_600_000;
const inputs = [];
for (let j = 0; j < N; j++) {
  const k = Math.floor(j / TANKS);
  inputs.push({ topic: "ofa_assets", key: uuids[j % TANKS], ts: base + j, value: telemetryValue("level", String(k % 25), "level", "Samples", base + j) });
}
// what the stage must write: the whole program over the documented merge, its cross outputs
const isCross = crossOutputFilter(ir, P);
const merge = new PartitionMerge(P);
const offsets = new Array(P).fill(0);
let expected = 0;
let commands = 0;
let batch = [];
const engine = new Engine({ program: ir, onOutput: (o) => batch.push(o) });
for (const r of inputs) {
  const p = partitionOfKey(r.key, P);
  const ev = classify({ ...r, partition: p, offset: offsets[p]++ });
  const time = mergeTime(ev);
  if (time === undefined) continue;
  merge.push(p, { time, ev });
  for (let x = merge.next(); x; x = merge.next()) {
    batch = [];
    engine.process(x.item.ev);
    const keep = isCross(batch);
    batch.forEach((o, i) => keep[i] && (expected++, o.value?.ID === "reset_CMD" && commands++));
  }
}
const perPartition = offsets.map((n) => n.toLocaleString("en")).join(" / ");
console.log(
  `input: ${N.toLocaleString("en")} level records over ${TANKS} of ${TANKS} tanks, ${perPartition} on partitions 0-3; the cross stage must write ${expected.toLocaleString("en")} outputs (${commands.toLocaleString("en")} overflow commands, the rest \`above\` values); ${cpus().length} cores`,
);

const t0 = Date.now();
const kafka = await startKafka();
console.error(`broker ${kafka.brokers[0]} up in ${Date.now() - t0} ms`);
const log = new KafkaLog({ brokers: kafka.brokers });
const rows = [];
const children = [];
const spawnWorker = (kind) => {
  const c = spawn(process.execPath, [fileURLToPath(import.meta.url), "--worker", kind, kafka.brokers.join(",")], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(c);
  /** the number the worker writes after `word` on its stdout next (`ready N`, `nudges N`) */
  const reply = (word) =>
    new Promise((r) => {
      const on = (d) => {
        const m = new RegExp(`${word} (\\d+)`).exec(String(d));
        if (m) c.stdout.off("data", on), r(Number(m[1]));
      };
      c.stdout.on("data", on);
    });
  c.ready = reply("ready");
  /** the clock records the stage has written itself so far */
  c.nudges = () => {
    const n = reply("nudges");
    c.kill("SIGUSR2");
    return n;
  };
  return c;
};
const ends = async () => {
  let n = 0;
  for (let p = 0; p < P; p++) n += await log.endOffset("ofa_assets", p);
  return n;
};

try {
  await log.ensureTopics([
    { name: "ofa_assets", partitions: P, replication: 1 },
    { name: "ofl_deadletter", partitions: P, replication: 1 },
  ]);
  for (let i = 0; i < N; i += 20_000) await log.append(inputs.slice(i, i + 20_000));

  // ---------------------------------------------------------------- throughput
  const s = performance.now();
  const cross = spawnWorker("cross");
  let said = performance.now();
  for (let n; (n = await ends()) < N + expected; await new Promise((r) => setTimeout(r, 50)))
    if (performance.now() - said > 5000) (said = performance.now()), console.error(`  ${(n - N).toLocaleString("en")} of ${expected.toLocaleString("en")} outputs on the topic`);
  const secs = (performance.now() - s) / 1000;
  const heldMost = await cross.ready;
  rows.push([
    "cross worker, P = 4: inputs merged and decided, outputs acknowledged",
    `${Math.round(N / secs).toLocaleString("en")} records/s`,
    `${N.toLocaleString("en")} inputs, ${expected.toLocaleString("en")} outputs, ${secs.toFixed(2)} s from its start; at most ${heldMost.toLocaleString("en")} held`,
    "(none: one process decides what reads across partitions)",
  ]);

  // ---------------------------------------------------------------- latency, rule worker's clock live
  const rule = spawnWorker("rule");
  await rule.ready;
  const waiting = { resolve: undefined };
  const t1 = partitionOfKey(uuids[0], P);
  const tail = await log.tail({
    topic: "ofa_assets",
    partition: t1,
    fromOffset: await log.endOffset("ofa_assets", t1),
    onBatch: (recs) => {
      for (const r of recs) if (r.value?.ID === "reset_CMD" && waiting.resolve) waiting.resolve(performance.now()), (waiting.resolve = undefined);
    },
  });
  // every tank to 0: the total far below the threshold
  await log.append(uuids.map((key) => ({ topic: "ofa_assets", key, ts: Date.now(), value: telemetryValue("level", "0", "level", "Samples", Date.now()) })));
  await new Promise((r) => setTimeout(r, 1500));
  /** the stage's own clock records a second from here until `perSec()` */
  const nudgeRate = async () => {
    const [n, t] = [await cross.nudges(), performance.now()];
    return { perSec: async () => ((await cross.nudges()) - n) / ((performance.now() - t) / 1000) };
  };
  // 3 s with no input at all
  const idle = await nudgeRate();
  await new Promise((r) => setTimeout(r, 3000));
  const idlePerSec = await idle.perSec();
  const busy = await nudgeRate();
  const lat = [];
  for (let i = 0; i < M; i++) {
    const key = uuids[(i * 7) % TANKS];
    const got = new Promise((r) => (waiting.resolve = r));
    const start = performance.now();
    await log.append([{ topic: "ofa_assets", key, ts: Date.now(), value: telemetryValue("level", String(THRESHOLD), "level", "Samples", Date.now()) }]);
    const at = await Promise.race([got, new Promise((r) => setTimeout(() => r(null), 5000))]);
    if (at === null) throw new Error(`no command within 5 s (iteration ${i})`);
    lat.push(at - start);
    await log.append([{ topic: "ofa_assets", key, ts: Date.now(), value: telemetryValue("level", "0", "level", "Samples", Date.now()) }]);
    await new Promise((r) => setTimeout(r, 20));
  }
  const nudgesPerSec = await busy.perSec();
  await tail.stop();
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))].toFixed(1);
  rows.push([
    "cross-stage command latency (rule worker clock every 100 ms)",
    `p50 ${pct(50)} ms, p99 ${pct(99)} ms`,
    `${M} commands, each from a record on one of 4 partitions; max ${lat[lat.length - 1].toFixed(1)} ms; the stage's own clock records meanwhile ${nudgesPerSec.toFixed(1)}/s, and with no input for 3 s ${idlePerSec.toFixed(1)}/s (the rule worker's ${(P * 10).toFixed(0)}/s)`,
    "p99 < 100 ms (issue 14, for commands)",
  ]);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await log.close();
  await kafka.close();
}
const head = ["benchmark", "result", "detail", "target"];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(w[i])).join("  "));
