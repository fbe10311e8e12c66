// Benchmark (issue 11 #10): does a viewer delay control? `ofl run` (the built command) runs a
// plant whose log already holds N records (default 800,000); a device publishes temperature
// readings over MQTT (Mosquitto) and a rule (`when temperature > 90 degC then stop()`) answers
// each reading above 90 °C with a command published back to the device. Measured: the time from
// the device's publish to the command arriving at the device (ingest → decision → dispatch,
// both MQTT hops included), first with nothing else running, then while 5 clients keep a
// time-travel request (`GET /api/state?at=T`, a replay of the log up to a random T) running at
// all times. Target: p99 < 50 ms under load.
//
//   node bench/control-under-load.mjs [N=800000] [--triggers 200]
//
// Needs dist/ (npm run build) and the Debian `mosquitto` binary.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importBundled, root } from "../scripts/bundle-modules.mjs";
import { startOflRun } from "./plant.mjs";

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 800_000);
const TRIGGERS = Number(args[args.indexOf("--triggers") + 1] ?? 0) || 200;
const CLIENTS = 5;
const ofl = join(root, "bin/ofl.mjs");
if (!existsSync(join(root, "dist/ofl.mjs"))) {
  console.error("dist/ is not built: run `npm run build` first");
  process.exit(2);
}

const tmp = mkdtempSync(join(tmpdir(), "ofl-bench-control-"));
const { SqliteLog, telemetryValue, startMosquitto } = await importBundled(
  { SqliteLog: "runtime/log/sqlite.ts", telemetryValue: "runtime/wire/records.ts", startMosquitto: "test/services/mosquitto/start.ts" },
  join(tmp, "bundle.mjs"),
);
const mqtt = (await import(join(root, "node_modules/mqtt/build/index.js"))).default;

// TCP_NODELAY at the broker: without it Nagle and delayed ACKs add ~40 ms to every hop
const broker = await startMosquitto({ extraConfig: ["set_tcp_nodelay true"] });
let child;
try {
const dir = join(tmp, "plant");
const data = join(dir, "data");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: "press" }));
writeFileSync(
  join(dir, "plant.ofl"),
  `model Press {
  telemetry temperature: float<degC> in -50..500
  command stop()
}
asset p1: Press {
  uuid "PRESS-1"
  source mqtt("${broker.url}") {
    temperature <- topic("plant/p1/temp", json: "$.v")
    stop        -> publish("plant/p1/cmd/stop")
  }
}
rule stop_hot on Press {
  when temperature > 90 degC
  then stop()
}
`,
);

// the history: N readings of p1, 10 ms apart, ending an hour ago, between 20 and 69 °C
const t0 = Date.now() - 3_600_000 - N * 10;
let t = performance.now();
{
  const log = SqliteLog.open(data, { program: "press" });
  for (let i = 0; i < N; ) {
    const batch = [];
    for (const end = Math.min(N, i + 5000); i < end; i++) {
      const ts = t0 + i * 10;
      batch.push({ topic: "ofa_assets", key: "PRESS-1", ts, value: telemetryValue("temperature", 20 + (i % 50), "degC", "Samples", ts) });
    }
    log.append(batch);
  }
  log.close();
}
console.log(`log: ${N.toLocaleString("en")} records written in ${((performance.now() - t) / 1000).toFixed(1)} s`);

t = performance.now();
const plant = startOflRun(ofl, [dir, "--data", data, "--port", "0", "--clock", "100ms"]);
child = plant.child;
const url = await plant.url;
console.log(`ofl run: started in ${((performance.now() - t) / 1000).toFixed(1)} s (rebuilt from the log)`);
for (;;) {
  const h = await (await fetch(`${url}/api/health`)).json();
  if (h.connectors.every((c) => c.connected)) break;
  await new Promise((r) => setTimeout(r, 100));
}

const device = await mqtt.connectAsync(broker.url, { reconnectPeriod: 200 });
device.stream.setNoDelay?.(true);
let waiter = null;
device.on("message", () => waiter?.());
await device.subscribeAsync("plant/p1/cmd/#", { qos: 1 });

/** Publishes 95 °C and waits for stop() at the device; then 20 °C (the rule's condition ends). */
async function trigger() {
  const got = new Promise((resolve) => (waiter = resolve));
  const start = performance.now();
  await device.publishAsync("plant/p1/temp", JSON.stringify({ v: 95 }), { qos: 1 });
  const ok = await Promise.race([got.then(() => true), new Promise((r) => setTimeout(() => r(false), 120_000))]);
  const ms = performance.now() - start;
  waiter = null;
  if (!ok) throw new Error("no command within 120 s");
  await device.publishAsync("plant/p1/temp", JSON.stringify({ v: 20 }), { qos: 1 });
  await new Promise((r) => setTimeout(r, 20));
  return ms;
}

async function phase(n) {
  const lat = [];
  for (let i = 0; i < n; i++) lat.push(await trigger());
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)];
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99), max: lat.at(-1) };
}
const fmt = (r) => `p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms`;

await phase(20); // warm-up
const idle = await phase(Math.max(50, Math.round(TRIGGERS / 2)));
console.log(`idle:              ${fmt(idle)}  (publish → stop() at the device)`);

// 5 viewers, each keeping one time-travel request running
let stop = false;
const travel = { done: 0, busy: 0, failed: 0, ms: [] };
const viewers = Array.from({ length: CLIENTS }, async (_, k) => {
  let seed = k + 1;
  while (!stop) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const at = new Date(t0 + Math.floor((seed / 2 ** 31) * N) * 10).toISOString();
    const s = performance.now();
    let r;
    try {
      r = await fetch(`${url}/api/state?at=${at}`);
      await r.arrayBuffer();
    } catch {
      travel.failed++; // e.g. reset by the server's request timeout while its event loop was blocked
      continue;
    }
    if (r.status === 503) {
      travel.busy++;
      await new Promise((res) => setTimeout(res, 1000));
    } else if (r.status === 200) {
      travel.done++;
      travel.ms.push(performance.now() - s);
    } else throw new Error(`time travel: ${r.status}`);
  }
});
await new Promise((r) => setTimeout(r, 500)); // the replays are under way
const loaded = await phase(TRIGGERS);
stop = true;
const duringPhase = travel.done;
await Promise.all(viewers);
console.log(`5 time travels:    ${fmt(loaded)}  (target p99 < 50 ms)`);
const mean = travel.ms.length ? travel.ms.reduce((a, b) => a + b, 0) / travel.ms.length : NaN;
console.log(`time travel: ${duringPhase} answered during the phase (${travel.done} in all), ${(mean / 1000).toFixed(1)} s from request to answer on average (one worker: they queue), ${travel.busy} refused (503)${travel.failed ? `, ${travel.failed} failed (connection reset)` : ""}`);

await device.endAsync();
if (loaded.p99 >= 50) process.exitCode = 1;
} finally {
  // whatever happened: no plant and no broker left behind
  if (child && child.exitCode === null) {
    child.kill("SIGINT");
    await new Promise((r) => child.once("exit", r));
  }
  await broker.close();
  rmSync(tmp, { recursive: true, force: true });
}
