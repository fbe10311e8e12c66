// Benchmark: appending telemetry to the embedded log (SqliteLog: WAL, synchronous = FULL, one
// fsynced transaction per batch). Bundles runtime/log/sqlite.ts with esbuild, so it runs on the
// sources without a build step:  node bench/log-append.mjs [records]
import * as fs from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { importBundled } from "../scripts/bundle-modules.mjs";
import { prng, Touch } from "./inputs.mjs";

const N = Number(process.argv[2] ?? 1_000_000);
const tmp = fs.mkdtempSync(join(os.tmpdir(), "ofl-bench-log-"));
const { SqliteLog } = await importBundled({ SqliteLog: "runtime/log/sqlite.ts" });

const T0 = Date.parse("2026-11-20T08:00:00.000Z");
const signals = ["temperature", "vibration", "spindle_speed", "feed_rate", "power"];
// 50 machines × 5 signals, each record a machine and a signal picked by a seeded PRNG (high
// bits); with `i % 50` and `i % 5` every machine only ever sent one of the five signals
const ASSETS = 50;
const rnd = prng(42);
const touch = new Touch(ASSETS);
function record(i) {
  const t = T0 + i * 10;
  const a = rnd.int(ASSETS);
  const id = signals[rnd.int(signals.length)];
  const value = (50 + rnd.int(1000) / 10).toFixed(1);
  touch.add(a, id, value);
  return {
    topic: "ofa_assets",
    key: `CNC-${String(a).padStart(3, "0")}`,
    ts: t + 3,
    value: { ID: id, VALUE: value, TAG: "degC", TYPE: "Samples", attributes: { timestamp: new Date(t).toISOString() } },
  };
}

const rows = [];
for (const batchSize of [1000, 100]) {
  const dir = join(tmp, `b${batchSize}`);
  const log = SqliteLog.open(dir, { program: "bench" });
  // records are built outside the timed section: this measures the log, not the producer
  const batches = [];
  for (let i = 0; i < N; i += batchSize) {
    const b = [];
    for (let j = i; j < Math.min(N, i + batchSize); j++) b.push(record(j));
    batches.push(b);
  }
  const t0 = process.hrtime.bigint();
  for (const b of batches) log.append(b);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const t1 = process.hrtime.bigint();
  let n = 0;
  for (const _r of log.read({ topic: "ofa_assets" })) n++;
  const readSecs = Number(process.hrtime.bigint() - t1) / 1e9;
  if (n !== N) throw new Error(`read ${n} of ${N}`);
  log.close();
  const size = fs.statSync(join(dir, "log.sqlite")).size;
  rows.push({ batch: batchSize, records: N, seconds: secs.toFixed(2), "append rec/s": Math.round(N / secs).toLocaleString("en"), "read rec/s": Math.round(N / readSecs).toLocaleString("en"), "file MB": (size / 1e6).toFixed(1), "bytes/rec": Math.round(size / N) });
}
const sum = touch.summary();
console.log(`input (both runs): ${sum.assetsTouched} machines; ${Object.entries(sum.signals).map(([s, v]) => `${s} ${v.records}`).join(", ")} records`);
console.log(`SqliteLog append (WAL, synchronous=FULL, one transaction per batch), ${os.cpus()[0]?.model ?? "?"}, node ${process.version}`);
console.table(rows);
fs.rmSync(tmp, { recursive: true, force: true });
