// Benchmark: the engine over pre-classified events, 1,000 assets. Bundles runtime/engine with
// esbuild, so it runs on the sources without a build step:
//   node bench/engine.mjs [events] [assets]
// Scenarios: (1) latest values + pointwise states + rules; (2) plus `for` and `age` timers;
// (3) plus windowed aggregates and views. Target (issue 15): >= 1,000,000 events/s on these events.
import * as fs from "node:fs";
import { importBundled } from "../scripts/bundle-modules.mjs";

const N = Number(process.argv[2] ?? 1_000_000);
const ASSETS = Number(process.argv[3] ?? 1000);
const { Engine } = await importBundled({ Engine: "runtime/engine/index.ts" });

const { engineProgram: program, engineEvents, Touch } = await import("./inputs.mjs");

// ---------------------------------------------------------------- events (classified one at a time)
// bench/inputs.mjs generates them (seeded PRNG, high bits): 1,000 events per second of plant time.
// They are kept as columns (asset, signal, time, value text) and each event is built just before
// `process` takes it, as the live runtime's classify() builds one per record: a pre-built array
// of a million event objects (180 MB) made the figure measure the memory bus streaming them as
// much as the engine. Each event's record carries its receive time (ts) = its event time, as a
// live source stamps it (a ts far behind the event time would make every event a future_time
// dead letter, spec §7.6).
const keys = [];
for (let a = 0; a < ASSETS; a++) keys.push(`CNC-${a}`);
const touch = new Touch(ASSETS);
const colAsset = new Int32Array(N);
const colTime = new Float64Array(N);
const colId = new Array(N);
const colValue = new Array(N);
{
  let i = 0;
  for (const e of engineEvents({ events: N, assets: ASSETS, touch })) {
    colAsset[i] = e.a;
    colTime[i] = e.time;
    colId[i] = e.id;
    colValue[i] = e.value;
    i++;
  }
}
/** the i-th event, as classify() makes it of its record */
function event(i) {
  const key = keys[colAsset[i]];
  const time = colTime[i];
  const id = colId[i];
  const record = { topic: "ofa_assets", partition: 0, offset: i, ts: time, key, value: null };
  return { kind: "telemetry", partition: 0, offset: i, key, time, record, id, value: colValue[i], tag: id, type: "Samples" };
}

const span = (colTime[N - 1] - colTime[0]) / 1000;
console.log(`input: ${N.toLocaleString()} events over ${span.toFixed(0)} s of plant time; ${JSON.stringify(touch.summary())}`);
const results = [];
const REPEAT = Number(process.env.REPEAT ?? 3);
const only = process.env.SCENARIO ? [Number(process.env.SCENARIO)] : [1, 2, 3];
for (const scenario of only) {
  const prog = program(scenario, ASSETS);
  // warm up (not measured), then the best of REPEAT fresh engines (the machine is shared)
  const warm = new Engine({ program: prog, onOutput: () => {} });
  for (let i = 0; i < Math.min(N, 200_000); i++) warm.process(event(i));
  let best = Infinity;
  let outputs = 0;
  let fired = { commands: 0, alarms: 0, derived: 0 };
  for (let rep = 0; rep < REPEAT; rep++) {
    outputs = 0;
    fired = { commands: 0, alarms: 0, derived: 0 };
    const count = (r) => {
      outputs++;
      const tag = r.value?.TAG;
      if (tag === "Method.Command") fired.commands++;
      else if (tag === "Alarm") fired.alarms++;
      else if (tag === "Derived") fired.derived++;
    };
    const engine = new Engine({ program: prog, onOutput: count });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) engine.process(event(i));
    const t1 = process.hrtime.bigint();
    best = Math.min(best, Number(t1 - t0) / 1e9);
  }
  const rate = N / best;
  results.push({ scenario, events: N, assets: ASSETS, seconds: +best.toFixed(3), eventsPerSec: Math.round(rate), outputs, ...fired });
  console.log(
    `scenario ${scenario} (${["", "latest + pointwise + rules", "+ for/age timers", "+ windows and views"][scenario]}): ` +
      `${N.toLocaleString()} events, ${ASSETS} assets, best of ${REPEAT}: ${best.toFixed(3)} s = ${Math.round(rate).toLocaleString()} events/s, ${outputs.toLocaleString()} outputs ` +
      `(commands fired ${fired.commands.toLocaleString()}, alarm transitions ${fired.alarms.toLocaleString()}, derived values ${fired.derived.toLocaleString()})`,
  );
}
if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify(results, null, 2));
