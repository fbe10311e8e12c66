// Benchmark: how long a connector worker waits before it may dispatch a command after a start
// (runtime/worker/connector.ts), on a real KRaft broker (test/services/kafka/start.ts).
//
// A connector reads its asset's partition to learn which correlation ids have a result before it
// dispatches anything (at most once). The partition holds every asset hashed to it: here N
// records of 40 other assets (an hour ago) and, for the connector's own asset, C commands each
// with its result. Reported:
// 1. a first start (no checkpoint): the whole partition, from offset 0, to `ready`;
// 2. a restart from the checkpoint the first run wrote at its stop, after T more records came:
//    the records read (from the checkpoint, and the results of the last two minutes before it)
//    and the time to `ready`;
// 3. live, L commands one after the other: from a command's append (acknowledged) to its result
//    read back, p50/p99. Each goes to the (simulated) device only once a checkpoint naming it is
//    on the broker (write-ahead, runtime/worker/connector.ts): that produce is in the figure.
//
//   node bench/connector-start.mjs [N=1000000] [C=2000] [T=20000] [L=200]
import { join } from "node:path";
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import { bundleForKafka, root } from "../scripts/bundle-modules.mjs";

const N = Number(process.argv[2] ?? 1_000_000);
const C = Number(process.argv[3] ?? 2000);
const T = Number(process.argv[4] ?? 20_000);
const L = Number(process.argv[5] ?? 200);

const out = await bundleForKafka(
  {
    compile: "compiler/index.ts",
    KafkaLog: "runtime/log/kafka.ts",
    ConnectorWorker: "runtime/worker/connector.ts",
    telemetryValue: "runtime/wire/records.ts",
    commandValue: "runtime/wire/records.ts",
    resultValue: "runtime/wire/records.ts",
    startKafka: "test/services/kafka/start.ts",
    pulseTank: "test/integration/kafka/program.ts",
  },
  join(root, "bench/out/connector-start-bench.mjs"),
);
const { compile, KafkaLog, ConnectorWorker, telemetryValue, commandValue, resultValue, startKafka, pulseTank } = await import(pathToFileURL(out).href);

const UUID = "TANK-C";
const text = pulseTank(UUID);
const ir = compile([{ path: "bench.ofl", text }], { name: "cstart" }).ir;
if (!ir) throw new Error("the bench program does not compile");

const kafka = await startKafka();
const log = new KafkaLog({ brokers: kafka.brokers });
const say = (l, m) => l !== "info" && console.error(`${l}: ${m}`);
try {
  await log.ensureTopics([{ name: "ofa_assets", partitions: 1, replication: 1 }]);
  const base = Date.now() - 3_600_000;
  const every = Math.max(1, Math.floor(N / C));
  const tp0 = Date.now();
  let commands = 0;
  const others = new Set();
  for (let i = 0; i < N; i += 20_000) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 20_000); j++) {
      const t = base + Math.floor((j * 3_000_000) / N);
      const key = `OTHER-${j % 40}`;
      others.add(key);
      batch.push({ topic: "ofa_assets", key, ts: t, value: telemetryValue("x", String(j), "X", "Samples", t) });
      if (j % every === every - 1 && commands < C) {
        const id = `00000000-0000-4000-8000-${String(commands++).padStart(12, "0")}`;
        const env = { header: { correlation_id: id, sender_uuid: "OFL-cstart", timestamp: new Date(t).toISOString(), signature: null, rule: "r", cause_offset: j, shadow: false, verdict: "accepted" }, arguments: {} };
        batch.push({ topic: "ofa_assets", key: UUID, ts: t, value: commandValue("reset", env, t), headers: { "ofl-cause": String(j), "ofl-input-time": String(t) } });
        batch.push({ topic: "ofa_assets", key: UUID, ts: t + 1, value: resultValue("reset", { correlation_id: id, status: "completed" }, t + 1) });
      }
    }
    await log.append(batch);
  }
  const end = await log.endOffset("ofa_assets");
  console.error(`produced ${end} records in ${Date.now() - tp0} ms`);
  console.log(`partition: ${end.toLocaleString("en")} records: ${N.toLocaleString("en")} of ${others.size} other assets, ${commands.toLocaleString("en")} commands of the connector's asset, each with its result`);

  const timeToReady = async (live) => {
    const w = new ConnectorWorker({ program: ir, asset: "t", source: 0, log, report: say });
    const t0 = performance.now();
    await w.start();
    await w.ready;
    const ms = performance.now() - t0;
    const progress = w.startingUp();
    const remembered = w.remembered;
    const latencies = live ? await live(w) : undefined;
    await w.stop();
    return { ms, progress, remembered, restoredFrom: w.restoredFrom, latencies };
  };
  // L commands, each appended once the last one's result is back
  const commandLatencies = async (w) => {
    const at = new Map();
    const ms = [];
    let next;
    const tail = await log.tail({
      topic: "ofa_assets",
      fromOffset: await log.endOffset("ofa_assets"),
      onBatch: (recs) => {
        for (const r of recs) {
          const v = r.value;
          if (r.key !== UUID || v?.ID !== "reset_RESULT") continue;
          const id = JSON.parse(v.VALUE).correlation_id;
          if (at.has(id)) ms.push(performance.now() - at.get(id)), next?.();
        }
      },
    });
    for (let k = 0; k < L; k++) {
      const id = `11111111-0000-4000-8000-${String(k).padStart(12, "0")}`;
      const t = Date.now();
      const env = { header: { correlation_id: id, sender_uuid: "OFL-cstart", timestamp: new Date(t).toISOString(), signature: null, rule: "r", cause_offset: 0, shadow: false, verdict: "accepted" }, arguments: {} };
      const back = new Promise((r) => (next = r));
      const t0 = performance.now();
      await log.append([{ topic: "ofa_assets", key: UUID, ts: t, value: commandValue("reset", env, t), headers: { "ofl-cause": "0", "ofl-input-time": String(t) } }]);
      at.set(id, t0);
      await back;
    }
    await tail.stop();
    if (w.dispatchedIds.length !== L) throw new Error(`${w.dispatchedIds.length} of ${L} commands dispatched`);
    return ms.sort((a, b) => a - b);
  };
  const first = await timeToReady();
  console.log(`first start (no checkpoint): ready in ${first.ms.toFixed(0)} ms (${first.progress}); ${first.remembered.toLocaleString("en")} answered ids remembered`);

  // T more records since the checkpoint the first run wrote at its stop (now: within the results' look-back)
  const now = Date.now();
  const tail = [];
  for (let j = 0; j < T; j++) tail.push({ topic: "ofa_assets", key: `OTHER-${j % 40}`, ts: now, value: telemetryValue("x", String(j), "X", "Samples", now) });
  for (let i = 0; i < tail.length; i += 20_000) await log.append(tail.slice(i, i + 20_000));
  const second = await timeToReady(commandLatencies);
  console.log(`restart from its checkpoint at ${second.restoredFrom?.toLocaleString("en")} (${T.toLocaleString("en")} records after it): ready in ${second.ms.toFixed(0)} ms (${second.progress}); ${second.remembered.toLocaleString("en")} answered ids remembered`);
  const q = (p) => second.latencies[Math.min(second.latencies.length - 1, Math.floor(p * second.latencies.length))].toFixed(1);
  console.log(`live: ${L} commands, each appended once the last was answered: command appended → result read back p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${second.latencies.at(-1).toFixed(1)} ms (each through a write-ahead checkpoint)`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}`);
} finally {
  await log.close();
  await kafka.close();
}
