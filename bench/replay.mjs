// `ofl test --replay` of a 1,000,000-record session, end to end (process start to exit), for a
// program over 1,000 assets with windows, `for` durations, staleness, alarms, views and rules.
// Prints records/s and the peak resident memory of the replaying process.
// Targets (issue 3): ≥ 500,000 records/s; peak memory < 300 MB.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const RECORDS = Number(process.env.OFL_BENCH_RECORDS ?? 1_000_000);
const ASSETS = 1000;

export const PROGRAM = `
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
${Array.from({ length: ASSETS }, (_, i) => `asset m${i}: Mill { uuid "M-${i}" hall = "h${i % 10}" }`).join("\n")}
view active = count() from Mill where execution == ACTIVE
view hall_temp = avg(temperature) from Mill by hall over tumbling 1m
rule stop_hot on Mill { when hot then stop() }
rule slow_warm on Mill { when avg1m > 88 degC and fast then slow(pct: 50 percent) cooldown 1m }
`;

function writeSession(path) {
  const fd = openSync(path, "w");
  const T0 = Date.parse("2026-11-20T08:00:00Z");
  let rnd = 7;
  const next = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648);
  const temps = new Float64Array(ASSETS).fill(80);
  let buf = JSON.stringify({ ofl_session: 1, program: "bench", recorded: "2026-11-20T09:00:00Z" }) + "\n";
  let t = T0;
  let lastClock = T0;
  for (let i = 0; i < RECORDS; i++) {
    t += next() % 3; // ~1,000 records per second of plant time
    let value;
    let key;
    if (t - lastClock >= 100) {
      lastClock = t;
      key = "OFL-bench";
      const iso = new Date(t).toISOString();
      value = { ID: "clock", VALUE: iso, TAG: "Clock", TYPE: "OpenFactory", attributes: { timestamp: iso } };
    } else {
      const a = next() % ASSETS;
      key = `M-${a}`;
      const iso = new Date(t).toISOString();
      const k = next() % 10;
      if (k < 6) {
        temps[a] = Math.max(40, Math.min(110, temps[a] + ((next() % 41) - 20) / 10));
        value = { ID: "temperature", VALUE: temps[a].toFixed(1), TAG: "degC", TYPE: "Samples", attributes: { timestamp: iso } };
      } else if (k < 9) value = { ID: "speed", VALUE: String(8000 + (next() % 8000)), TAG: "rpm", TYPE: "Samples", attributes: { timestamp: iso } };
      else value = { ID: "execution", VALUE: ["READY", "ACTIVE", "ACTIVE", "STOPPED"][next() % 4], TAG: "execution", TYPE: "Events", attributes: { timestamp: iso } };
    }
    buf += JSON.stringify({ topic: "ofa_assets", partition: 0, offset: i, ts: t, key, value }) + "\n";
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = "";
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
}

const dir = mkdtempSync(join(tmpdir(), "ofl-bench-replay-"));
try {
  writeFileSync(join(dir, "plant.ofl"), PROGRAM);
  writeSession(join(dir, "session.jsonl"));
  const driver = `
    const { main } = await import(${JSON.stringify(pathToFileURL(join(root, "dist/ofl.mjs")).href)});
    const t0 = performance.now();
    let out = "";
    const code = await main(["test", ${JSON.stringify(join(dir, "plant.ofl"))}, "--replay", ${JSON.stringify(join(dir, "session.jsonl"))}], { out: (s) => { out += s; }, err: (s) => process.stderr.write(s), cwd: process.cwd(), color: false });
    process.stderr.write(JSON.stringify({ code, inProcessMs: performance.now() - t0, maxRssMb: process.resourceUsage().maxRSS / 1024, out }) + "\\n");
  `;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", driver], { encoding: "utf8", maxBuffer: 1 << 26 });
  const wallMs = performance.now() - t0;
  const last = r.stderr.trim().split("\n").at(-1);
  const info = JSON.parse(last);
  console.log(
    JSON.stringify({
      name: "ofl test --replay, 1,000 assets",
      records: RECORDS,
      wallMs: Math.round(wallMs),
      recordsPerSec: Math.round(RECORDS / (wallMs / 1000)),
      peakRssMb: Math.round(info.maxRssMb),
      decisions: info.out.split("\n").filter((l) => /^\s+(commands|alarms)/.test(l)).map((l) => l.trim().replace(/\s+/g, " ")),
      target: "≥ 500,000 records/s, < 300 MB",
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
