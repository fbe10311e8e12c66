// Checkpoints (issue 12): restart time of `ofl run` on a large embedded log (until /api/health
// answers), with checkpoints and without (today's full replay); `ofl state --at` the end and
// the middle of the log; checkpoint size for 1,000 assets, write time, and the effect of
// checkpointing on ingest throughput. The log is built with `ofl import` from a generated
// session: 1,000 assets, 3 signals each (temperature, speed, execution) plus clock records,
// ~1,000 records/s of plant time (a 1 Hz plant of 1,000 assets), program of bench/replay.mjs.
//   OFL_BENCH_RECORDS=2000000 node bench/checkpoint.mjs
// OFL_BENCH_KEEP=1 keeps the folder (to profile on it). OFL_BENCH_FULL=0 skips the comparisons without checkpoints (a full replay of 20,000,000
// records takes tens of minutes).
import { spawn, spawnSync } from "node:child_process";
import { cpSync, closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { prng, replayProgram } from "./inputs.mjs";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const RECORDS = Number(process.env.OFL_BENCH_RECORDS ?? 2_000_000);
const FULL = process.env.OFL_BENCH_FULL !== "0";
const ASSETS = 1000;
const ofl = join(root, "bin/ofl.mjs");
const T0 = Date.parse("2026-11-20T08:00:00Z");

const PROGRAM = replayProgram(ASSETS); // the replay benchmark's program

/** The generated session; returns the last event time. */
function writeSession(path, n) {
  const fd = openSync(path, "w");
  // a seeded generator that uses every bit (bench/inputs.mjs): the old float LCG lost precision
  // and its low bits picked a fraction of the assets
  const rand = prng(7);
  const next = () => rand.int(2147483648);
  const temps = new Float64Array(ASSETS).fill(80);
  let buf = JSON.stringify({ ofl_session: 1, program: "bench", recorded: "2026-11-20T09:00:00Z" }) + "\n";
  let t = T0;
  let lastClock = T0;
  for (let i = 0; i < n; i++) {
    t += next() % 3;
    let value;
    let key;
    const iso = new Date(t).toISOString();
    if (t - lastClock >= 100) {
      lastClock = t;
      key = "OFL-bench";
      value = { ID: "clock", VALUE: iso, TAG: "Clock", TYPE: "OpenFactory", attributes: { timestamp: iso } };
    } else {
      const a = next() % ASSETS;
      key = `M-${a}`;
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
  return t;
}

/**
 * ms from spawning `ofl run` until /api/health answers 200; the first output line; and, when
 * `ats` are given, the dashboard's time travel (`/api/state?at=`) at each, in ms
 */
async function restart(dir, data, ats = []) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [ofl, "run", join(dir, "plant.ofl"), "--data", data, "--port", "0", "--clock", "1s"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let engineReadyMs;
  child.stdout.on("data", (d) => {
    out += d;
    // the first line is printed once the engine is rebuilt (checkpoint + tail), before the HTTP server starts
    if (engineReadyMs === undefined && /^ofl run /m.test(out)) engineReadyMs = Math.round(performance.now() - t0);
  });
  child.stderr.on("data", (d) => (out += d));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ofl run exited: ${out}`);
      const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) {
        const r = await fetch(`${m[1]}/api/health`).catch(() => null);
        if (r && r.ok) {
          const ms = Math.round(performance.now() - t0);
          const timeTravelMs = [];
          for (const [i, at] of ats.entries()) {
            // the first question at once (the server just started); the others a second apart, as
            // a person moves the slider and reads the page (the worker prepares while idle)
            if (i > 0) await new Promise((r) => setTimeout(r, 1000));
            const t1 = performance.now();
            const s = await fetch(`${m[1]}/api/state?at=${encodeURIComponent(at)}`);
            const body = await s.json();
            if (!s.ok) throw new Error(`/api/state?at=${at}: ${s.status} ${JSON.stringify(body)}`);
            timeTravelMs.push({ at, ms: Math.round(performance.now() - t1), replayed: body.replayed, fromOffset: body.fromOffset ?? null });
          }
          return { ms, engineReadyMs, line: out.split("\n").find((l) => l.startsWith("ofl run ")), timeTravelMs };
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

function timed(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [ofl, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`ofl ${args.join(" ")}: ${r.stderr}`);
  return { ms: Math.round(performance.now() - t0), out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), "ofl-bench-checkpoint-"));
try {
  writeFileSync(join(dir, "plant.ofl"), PROGRAM);
  const session = join(dir, "session.jsonl");
  const tg = performance.now();
  const last = writeSession(session, RECORDS);
  const genMs = Math.round(performance.now() - tg);
  const data = join(dir, "data");
  const imp = timed(["import", join(dir, "plant.ofl"), "--data", data, session]);
  const cps = readdirSync(join(data, "checkpoints")).filter((n) => n.endsWith(".ckpt"));
  const sizes = cps.map((n) => statSync(join(data, "checkpoints", n)).size);
  const logBytes = statSync(join(data, "log.sqlite")).size;

  // restart with checkpoints (written by the import, the last at its end)
  const endIso = new Date(last).toISOString();
  const midIso = new Date(T0 + (last - T0) / 2).toISOString();
  const quarterIso = new Date(T0 + (last - T0) / 4).toISOString();
  const warm = await restart(dir, data, [midIso, quarterIso, endIso]);
  // today's figure: the same log without checkpoints (full replay)
  const cold = join(dir, "cold");
  let full = {};
  if (FULL) {
    cpSync(data, cold, { recursive: true });
    rmSync(join(cold, "checkpoints"), { recursive: true, force: true });
    full = await restart(dir, cold);
  }

  const stEnd = timed(["state", join(dir, "plant.ofl"), "--data", data, "--at", endIso, "--json"]);
  const stMid = timed(["state", join(dir, "plant.ofl"), "--data", data, "--at", midIso, "--json"]);
  const stMidFull = FULL ? timed(["state", join(dir, "plant.ofl"), "--data", cold, "--at", midIso, "--json"]) : {};
  const same = FULL ? JSON.stringify(JSON.parse(stMid.out)) === JSON.stringify(JSON.parse(stMidFull.out)) : "not compared (OFL_BENCH_FULL=0)";

  console.log(
    JSON.stringify({
      name: "checkpoints, 1,000 assets",
      records: RECORDS,
      generateMs: genMs,
      import: { ms: imp.ms, recordsPerSec: Math.round(RECORDS / (imp.ms / 1000)), summary: imp.out.trim() },
      logMb: +(logBytes / 2 ** 20).toFixed(1),
      checkpoints: { kept: cps.length, bytesEach: Math.round(sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length)) },
      restartWithCheckpointMs: warm.ms,
      restartWithCheckpointEngineReadyMs: warm.engineReadyMs,
      restartWithCheckpointLine: warm.line,
      dashboardTimeTravel: warm.timeTravelMs,
      restartFullReplayMs: full.ms,
      restartFullReplayEngineReadyMs: full.engineReadyMs,
      restartFullReplayLine: full.line,
      stateAtEndMs: stEnd.ms,
      stateAtMiddleMs: stMid.ms,
      stateAtMiddleFullReplayMs: stMidFull.ms,
      stateAtMiddleSameAsFullReplay: same,
      targets: "restart < 3 s; state --at < 2 s",
    }),
  );
} finally {
  if (process.env.OFL_BENCH_KEEP === "1") console.error(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
