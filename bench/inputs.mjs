// Seeded inputs shared by the benchmarks and by the same-decisions test fixtures
// (test/fixtures/bench-decisions, made by bench/make-decision-fixtures.mjs).
//
// Randomness comes from a real seeded PRNG (mulberry32, 32-bit state, Math.imul arithmetic) and
// integers are taken from its high bits (`Math.floor(u * n)`), never with `% n` of a low-quality
// state: an LCG computed in floating point overflows 2^53 and its low bits cycle, which left the
// old replay session touching 163 of its 1,000 assets.

/** mulberry32: a seeded generator of floats in [0, 1) built from all 32 bits of its output. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  /** an integer in [0, n): high bits, via the float */
  next.int = (n) => Math.floor(next() * n);
  return next;
}

/** Counts what a benchmark's input touches, so its figure can be checked. */
export class Touch {
  constructor(assets) {
    this.assets = assets;
    this.seen = new Uint8Array(assets);
    this.signals = new Map();
    this.changes = new Map();
    this.last = new Map();
    this.records = 0;
  }
  add(asset, signal, value) {
    this.records++;
    this.seen[asset] = 1;
    this.signals.set(signal, (this.signals.get(signal) ?? 0) + 1);
    const k = `${asset}\u0000${signal}`;
    const before = this.last.get(k);
    if (before !== undefined && before !== value) this.changes.set(signal, (this.changes.get(signal) ?? 0) + 1);
    this.last.set(k, value);
  }
  other(kind) {
    this.records++;
    this.signals.set(kind, (this.signals.get(kind) ?? 0) + 1);
  }
  summary() {
    let touched = 0;
    for (const s of this.seen) touched += s;
    return {
      assetsTouched: `${touched} of ${this.assets}`,
      signals: Object.fromEntries([...this.signals].map(([s, n]) => [s, { records: n, valueChanges: this.changes.get(s) ?? 0 }])),
    };
  }
}

// ---------------------------------------------------------------- replay benchmark (issue 3b/15)

/** The replay benchmark's program over `assets` Mill assets (uuids M-0 … M-(assets-1)). */
export function replayProgram(assets) {
  return `
enum Execution { READY, ACTIVE, STOPPED }
model Mill {
  attribute hall: string
  telemetry temperature: float<degC> in -50..500
  telemetry speed: float<rpm> in 0..24000
  telemetry execution: Execution
  state hot = temperature > 90 degC for 5s
  state silent = age(temperature) > 30s
  state avg1m = avg(temperature) over tumbling 1m
  state util = ratio(execution == ACTIVE) over hopping 10m every 1m
  state fast = speed > 12000 rpm and execution == ACTIVE
  alarm overtemp severity high when temperature > 95 degC clear when temperature < 85 degC
  command stop()
  command slow(pct: float<percent> in 0..100) requires execution != STOPPED
}
${Array.from({ length: assets }, (_, i) => `asset m${i}: Mill { uuid "M-${i}" hall = "h${i % 10}" }`).join("\n")}
view active = count() from Mill where execution == ACTIVE
view hall_temp = avg(temperature) from Mill by hall over tumbling 1m
rule stop_hot on Mill { when hot then stop() }
rule slow_warm on Mill { when avg1m > 88 degC and fast then slow(pct: 50 percent) cooldown 1m }
`;
}

/**
 * The replay benchmark's session records, in order (a generator of session lines' objects).
 * Plant time advances by 0 … 2·stepMs per record (mean stepMs); a clock tick every clockMs.
 * Each record picks an asset uniformly; 60 % temperature (a bounded random walk, so `hot`,
 * `overtemp` and the rules fire now and then), 30 % speed, 10 % execution (a random state).
 * One asset in 50 drops its temperature for the third minute of every five (a sensor outage),
 * so `silent` (age > 30 s) turns true and back. `touch` (a Touch) counts what is generated.
 */
export function* replayRecords({ records, assets, seed = 7, stepMs = 1, clockMs = 100, touch }) {
  const rnd = prng(seed);
  const T0 = Date.parse("2026-11-20T08:00:00Z");
  const temps = new Float64Array(assets).fill(80);
  let t = T0;
  let lastClock = T0;
  for (let i = 0; i < records; i++) {
    t += rnd.int(2 * stepMs + 1);
    const iso = new Date(t).toISOString();
    let key;
    let value;
    if (t - lastClock >= clockMs) {
      lastClock = t;
      key = "OFL-bench";
      value = { ID: "clock", VALUE: iso, TAG: "Clock", TYPE: "OpenFactory", attributes: { timestamp: iso } };
      touch?.other("clock");
    } else {
      const a = rnd.int(assets);
      key = `M-${a}`;
      let k = rnd.int(10);
      const outage = a % 50 === 7 && Math.floor((t - T0) / 60_000) % 5 === 2;
      if (k < 6 && outage) k = 6; // the sensor is out: the record is a speed reading instead
      if (k < 6) {
        temps[a] = Math.max(40, Math.min(110, temps[a] + (rnd.int(41) - 20) / 10));
        value = { ID: "temperature", VALUE: temps[a].toFixed(1), TAG: "degC", TYPE: "Samples", attributes: { timestamp: iso } };
      } else if (k < 9) value = { ID: "speed", VALUE: String(8000 + rnd.int(8000)), TAG: "rpm", TYPE: "Samples", attributes: { timestamp: iso } };
      else value = { ID: "execution", VALUE: ["READY", "ACTIVE", "ACTIVE", "STOPPED"][rnd.int(4)], TAG: "execution", TYPE: "Events", attributes: { timestamp: iso } };
      touch?.add(a, value.ID, value.VALUE);
    }
    yield { topic: "ofa_assets", partition: 0, offset: i, ts: t, key, value };
  }
}

// ---------------------------------------------------------------- engine benchmark (issue 3a/15)

const c = (value) => ({ k: "const", value });
const sig = (name) => ({ k: "ref", asset: null, kind: "signal", name });
const st = (name) => ({ k: "ref", asset: null, kind: "state", name });
const bin = (op, left, right) => ({ k: "binary", op, left, right });
const state = (name, def, type = { t: "bool" }, hidden = false) => ({ name, hidden, type, def, dependsOn: [] });

/** The engine benchmark's IR: scenario 1 (pointwise + rules), 2 (+ for/age), 3 (+ windows, views). */
export function engineProgram(scenario, assetCount) {
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
  for (let i = 0; i < assetCount; i++) {
    assets.push({ name: `m${i}`, uuid: `CNC-${i}`, model: "Mill", attributes: { hall: i % 2 ? "north" : "south" }, sources: [] });
  }
  const rules = [
    { name: "stop_hot", on: "Mill", shadow: false, when: bin("and", st("hot"), st("running")), locals: [], actions: [{ asset: null, command: "stop", args: [] }], cooldownMs: 60000 },
    { name: "slow", on: "Mill", shadow: false, when: st("overloaded"), locals: [], actions: [{ asset: null, command: "set_feed", args: [{ name: "override", value: c(50) }] }] },
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

/**
 * The engine benchmark's telemetry, as { a, id, value, time } (pre-rendered value strings, as
 * classify hands them over). Plant-like: each asset's temperature and spindle speed wander
 * (random walks, so states flip now and then, not on every record); execution records are 10 %
 * and change the state on one in five of them; parts count up. `perSecond` events per second of
 * plant time (1,000 by default: 1,000,000 events are 16.7 min, so 1-minute windows close, `for
 * 5s` fires, and `age > 30s` turns true for the one asset in 50 whose temperature is out for
 * the third minute of every five).
 */
export function* engineEvents({ events, assets, seed = 12345, perSecond = 1000, touch }) {
  const rnd = prng(seed);
  const T0 = Date.parse("2026-11-20T08:00:00.000Z");
  const temp = new Int32Array(assets).fill(200);
  const spin = new Int32Array(assets).fill(50);
  const exec = new Int32Array(assets);
  const parts = new Int32Array(assets);
  const execs = ["ACTIVE", "READY", "STOPPED"];
  for (let i = 0; i < events; i++) {
    const time = T0 + Math.floor((i * 1000) / perSecond);
    const a = rnd.int(assets);
    let which = rnd();
    const outage = a % 50 === 7 && Math.floor((time - T0) / 60_000) % 5 === 2;
    if (which < 0.6 && outage) which = 0.7;
    let id;
    let value;
    if (which < 0.6) {
      id = "temperature";
      temp[a] = Math.max(0, Math.min(400, temp[a] + rnd.int(21) - 10));
      value = (70 + temp[a] / 10).toFixed(1); // 70.0 .. 110.0
    } else if (which < 0.8) {
      id = "spindle";
      spin[a] = Math.max(0, Math.min(100, spin[a] + rnd.int(5) - 2));
      value = String(20000 + spin[a] * 40); // 20000 .. 24000
    } else if (which < 0.9) {
      id = "execution";
      if (rnd() < 0.2) exec[a] = (exec[a] + 1 + rnd.int(2)) % 3;
      value = execs[exec[a]];
    } else {
      id = "part_count";
      value = String(++parts[a]);
    }
    touch?.add(a, id, value);
    yield { a, id, value, time };
  }
}
