// Benchmark: the engine over pre-classified events, 1,000 assets. Bundles runtime/engine with
// esbuild, so it runs on the sources without a build step:
//   node bench/engine.mjs [events] [assets]
// Scenarios: (1) latest values + pointwise states + rules (target >= 2,000,000 events/s);
// (2) plus `for` and `age` timers; (3) plus windowed aggregates and views.
import * as fs from "node:fs";
import { importBundled } from "../scripts/bundle-modules.mjs";

const N = Number(process.argv[2] ?? 1_000_000);
const ASSETS = Number(process.argv[3] ?? 1000);
const { Engine } = await importBundled({ Engine: "runtime/engine/index.ts" });

// ---------------------------------------------------------------- IR helpers
const c = (value) => ({ k: "const", value });
const sig = (name) => ({ k: "ref", asset: null, kind: "signal", name });
const st = (name) => ({ k: "ref", asset: null, kind: "state", name });
const bin = (op, left, right) => ({ k: "binary", op, left, right });
const state = (name, def, type = { t: "bool" }, hidden = false) => ({ name, hidden, type, def, dependsOn: [] });

function program(scenario) {
  const states = [
    state("hot", bin("gt", sig("temperature"), c(90))),
    state("running", bin("eq", sig("execution"), c("ACTIVE"))),
    state("load", bin("mul", bin("div", sig("spindle"), c(24000)), c(100)), { t: "float" }),
    state("overloaded", bin("and", bin("gt", st("load"), c(95)), st("running"))),
  ];
  if (scenario >= 2) {
    states.push(state("overheating", { k: "for", cond: st("hot"), ms: 5000 }));
    states.push(state("silent", { k: "age_cmp", ref: sig("temperature"), op: "gt", duration: c(30000) }));
  }
  if (scenario >= 3) {
    states.push(
      state("temp_avg", { k: "window", agg: { fn: "avg", arg: sig("temperature"), window: { kind: "tumbling", sizeMs: 60000, graceMs: 0 }, final: false, triggers: ["temperature"] } }, { t: "float" }),
    );
    states.push(
      state("util", { k: "window", agg: { fn: "ratio", arg: st("running"), window: { kind: "hopping", sizeMs: 600000, hopMs: 60000, graceMs: 0 }, final: false, triggers: ["execution"] } }, { t: "float" }),
    );
  }
  const assets = [];
  for (let i = 0; i < ASSETS; i++) {
    assets.push({ name: `m${i}`, uuid: `CNC-${i}`, model: "Mill", attributes: { hall: i % 2 ? "north" : "south" }, sources: [] });
  }
  const rules = [
    { name: "stop_hot", on: "Mill", shadow: false, when: bin("and", st("hot"), st("running")), locals: [], actions: [{ asset: null, command: "stop", args: [] }], cooldownMs: 60000 },
    {
      name: "slow",
      on: "Mill",
      shadow: false,
      when: st("overloaded"),
      locals: [],
      actions: [{ asset: null, command: "set_feed", args: [{ name: "override", value: c(50) }] }],
    },
  ];
  if (scenario >= 2) rules.push({ name: "ping", on: "Mill", shadow: false, when: st("silent"), locals: [], actions: [{ asset: null, command: "stop", args: [] }], repeatMs: 10000 });
  const views = [];
  if (scenario >= 3) {
    views.push({ name: "active", fn: "count", from: "Mill", where: st("running"), final: false, type: { t: "int" }, triggers: [] });
    views.push({
      name: "hall_temp",
      fn: "avg",
      arg: sig("temperature"),
      from: "Mill",
      by: "hall",
      window: { kind: "tumbling", sizeMs: 60000, graceMs: 0 },
      final: false,
      type: { t: "float" },
      triggers: ["temperature"],
    });
  }
  return {
    ir: 1,
    program: "bench",
    enums: [{ name: "Execution", members: ["READY", "ACTIVE", "STOPPED"] }],
    models: [
      {
        name: "Mill",
        lineage: ["Mill"],
        attributes: [{ name: "hall", type: { t: "string" } }],
        telemetry: [
          { name: "temperature", type: { t: "float", unit: "degC" }, range: [-50, 500] },
          { name: "spindle", type: { t: "float", unit: "rpm" }, range: [0, 24000] },
          { name: "execution", type: { t: "enum", name: "Execution" } },
          { name: "part_count", type: { t: "int" } },
        ],
        states,
        alarms: [{ name: "overtemp", severity: "high", when: bin("gt", sig("temperature"), c(95)), clear: bin("lt", sig("temperature"), c(85)) }],
        commands: [
          { name: "stop", params: [] },
          { name: "set_feed", params: [{ name: "override", type: { t: "float" }, range: [0, 150] }], requires: bin("ne", sig("execution"), c("STOPPED")) },
        ],
      },
    ],
    assets,
    views,
    rules,
    tests: [],
  };
}

// ---------------------------------------------------------------- events (pre-classified)
const T0 = Date.parse("2026-11-20T08:00:00.000Z");
const dummy = { topic: "ofa_assets", partition: 0, offset: 0, ts: 0, key: "", value: null };
// Plant-like data: each asset's temperature and spindle speed wander (random walks, so states
// flip now and then, not on every record); execution changes on 1 record in 10; parts count up.
// Values are pre-rendered strings (as classify would hand them over).
const temps = [];
for (let i = 0; i <= 400; i++) temps.push((70 + i / 10).toFixed(1)); // 70.0 .. 110.0
const spindles = [];
for (let i = 0; i <= 100; i++) spindles.push(String(20000 + i * 40)); // 20000 .. 24000
const execs = ["ACTIVE", "READY", "STOPPED"];
const keys = [];
for (let a = 0; a < ASSETS; a++) keys.push(`CNC-${a}`);

function events(n) {
  const evs = new Array(n);
  const temp = new Int32Array(ASSETS).fill(200);
  const spin = new Int32Array(ASSETS).fill(50);
  const exec = new Int32Array(ASSETS);
  const parts = new Int32Array(ASSETS);
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let i = 0; i < n; i++) {
    const a = Math.floor(rnd() * ASSETS);
    const which = rnd();
    let id;
    let value;
    if (which < 0.6) {
      id = "temperature";
      temp[a] = Math.max(0, Math.min(400, temp[a] + Math.floor(rnd() * 21) - 10));
      value = temps[temp[a]];
    } else if (which < 0.8) {
      id = "spindle";
      spin[a] = Math.max(0, Math.min(100, spin[a] + Math.floor(rnd() * 5) - 2));
      value = spindles[spin[a]];
    } else if (which < 0.9) {
      id = "execution";
      if (rnd() < 0.1) exec[a] = (exec[a] + 1) % 3;
      value = execs[exec[a]];
    } else {
      id = "part_count";
      value = String(++parts[a]);
    }
    // 100 events per ms of event time: 100,000 events/s of plant time
    const time = T0 + Math.floor(i / 100);
    evs[i] = { kind: "telemetry", partition: 0, offset: i, key: keys[a], time, record: dummy, id, value, tag: id, type: "Samples" };
  }
  return evs;
}

const evs = events(N);
const results = [];
const REPEAT = Number(process.env.REPEAT ?? 3);
const only = process.env.SCENARIO ? [Number(process.env.SCENARIO)] : [1, 2, 3];
for (const scenario of only) {
  const prog = program(scenario);
  // warm up (not measured), then the best of REPEAT fresh engines (the machine is shared)
  const warm = new Engine({ program: prog, onOutput: () => {} });
  for (let i = 0; i < Math.min(N, 200_000); i++) warm.process(evs[i]);
  let best = Infinity;
  let outputs = 0;
  for (let rep = 0; rep < REPEAT; rep++) {
    outputs = 0;
    const engine = new Engine({ program: prog, onOutput: () => outputs++ });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) engine.process(evs[i]);
    const t1 = process.hrtime.bigint();
    best = Math.min(best, Number(t1 - t0) / 1e9);
  }
  const rate = N / best;
  results.push({ scenario, events: N, assets: ASSETS, seconds: +best.toFixed(3), eventsPerSec: Math.round(rate), outputs });
  console.log(
    `scenario ${scenario} (${["", "latest + pointwise + rules", "+ for/age timers", "+ windows and views"][scenario]}): ` +
      `${N.toLocaleString()} events, ${ASSETS} assets, best of ${REPEAT}: ${best.toFixed(3)} s = ${Math.round(rate).toLocaleString()} events/s, ${outputs.toLocaleString()} outputs`,
  );
}
if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify(results, null, 2));
