// `ofl test --replay` of a 1,000,000-record session, end to end (process start to exit), for a
// program over 1,000 assets with windows, `for` durations, staleness, alarms, views and rules.
// Prints records/s and the peak resident memory of the replaying process, for the session in
// JSON Lines (parsed by a worker thread while the engine runs) and in the binary form
// (docs/session-binary.md), and what the session touches (assets, signals, value changes).
// Targets (issue 3): ≥ 500,000 records/s; peak memory < 300 MB.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleForKafka, importBundled } from "../scripts/bundle-modules.mjs";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const RECORDS = Number(process.env.OFL_BENCH_RECORDS ?? 1_000_000);
const ASSETS = 1000;

const { replayProgram, replayRecords, Touch } = await import("./inputs.mjs");
// beside the project's node_modules (the compiler's formatter imports prettier)
const engineBundle = join(root, "bench/out/replay-engine.mjs");
await bundleForKafka({ compile: "compiler/index.ts", Engine: "runtime/engine/index.ts", classify: "runtime/wire/records.ts", decisionProgram: "runtime/replay/prune.ts" }, engineBundle);
const { compile, Engine, classify, decisionProgram } = await import(pathToFileURL(engineBundle).href);
export const PROGRAM = replayProgram(ASSETS);

/** Writes the session (bench/inputs.mjs: seeded PRNG, high bits); returns what it touches. */
function writeSession(path) {
  const fd = openSync(path, "w");
  const touch = new Touch(ASSETS);
  let buf = JSON.stringify({ ofl_session: 1, program: "bench", recorded: "2026-11-20T09:00:00Z" }) + "\n";
  let first = 0;
  let last = 0;
  for (const r of replayRecords({ records: RECORDS, assets: ASSETS, touch })) {
    if (r.offset === 0) first = r.ts;
    last = r.ts;
    buf += JSON.stringify(r) + "\n";
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = "";
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
  return { plantSeconds: Math.round((last - first) / 1000), ...touch.summary() };
}

/**
 * The engine alone on the same records (issue 15: ≥ 1,000,000 events/s): classified first and
 * kept as columns (kind, key, time, id, value text); each event is built just before `process`
 * takes it, as classify() builds one per record (a pre-built array of a million event objects
 * measured the memory bus streaming them as much as the engine). Best of three fresh engines,
 * twice: as the replay runs it (the program pruned to what decisions read, no derived records),
 * and the whole program writing every derived record (what a live `ofl run` computes; formatting
 * a float's text alone is about 0.1 µs of it).
 */
function engineAlone() {
  const ir = compile([{ path: "/bench/plant.ofl", text: PROGRAM }], { name: "bench" }).ir;
  const clock = [];
  const key = [];
  const time = new Float64Array(RECORDS);
  const id = [];
  const value = [];
  let n = 0;
  for (const r of replayRecords({ records: RECORDS, assets: ASSETS })) {
    const ev = classify(r);
    if (ev.kind !== "telemetry" && ev.kind !== "clock") throw new Error(`the session has a ${ev.kind} record: engineAlone builds only telemetry and clock events`);
    clock[n] = ev.kind === "clock";
    key[n] = ev.key;
    time[n] = ev.time;
    id[n] = ev.kind === "telemetry" ? ev.id : "";
    value[n] = ev.kind === "telemetry" ? ev.value : "";
    n++;
  }
  const event = (i) => {
    const k = key[i];
    const t = time[i];
    const record = { topic: "ofa_assets", partition: 0, offset: i, ts: t, key: k, value: null };
    if (clock[i]) return { kind: "clock", partition: 0, offset: i, key: k, time: t, record };
    return { kind: "telemetry", partition: 0, offset: i, key: k, time: t, record, id: id[i], value: value[i], tag: id[i], type: "Samples" };
  };
  for (const [how, program, derivedOutputs] of [
    ["as the replay runs it (decisions only)", decisionProgram(ir), false],
    ["whole program, every derived record", ir, true],
  ]) {
    let best = Infinity;
    const outputs = { commands: 0, alarms: 0, derived: 0 };
    for (let rep = 0; rep < 3; rep++) {
      const c = { commands: 0, alarms: 0, derived: 0 };
      const engine = new Engine({
        program,
        derivedOutputs,
        onOutput: (o) => {
          const tag = o.value?.TAG;
          if (tag === "Method.Command") c.commands++;
          else if (tag === "Alarm") c.alarms++;
          else if (tag === "Derived") c.derived++;
        },
      });
      const t0 = performance.now();
      for (let i = 0; i < n; i++) engine.process(event(i));
      best = Math.min(best, performance.now() - t0);
      Object.assign(outputs, c);
    }
    console.log(JSON.stringify({ name: `engine alone, ${how}`, events: n, bestMs: Math.round(best), eventsPerSec: Math.round(n / (best / 1000)), ...outputs, target: "≥ 1,000,000 events/s" }));
  }
}

const dir = mkdtempSync(join(tmpdir(), "ofl-bench-replay-"));
try {
  writeFileSync(join(dir, "plant.ofl"), PROGRAM);
  const input = writeSession(join(dir, "session.jsonl"));
  console.log(`input: ${RECORDS.toLocaleString()} records; ${JSON.stringify(input)}`);
  // the same records in the binary form
  const { writeBinarySessionSync, sessionLine } = await importBundled({ writeBinarySessionSync: "runtime/replay/binary.ts", sessionLine: "runtime/replay/session.ts" });
  const bfd = openSync(join(dir, "session.oflb"), "w");
  writeBinarySessionSync(replayRecords({ records: RECORDS, assets: ASSETS }), bfd, { program: "bench", recorded: "2026-11-20T09:00:00Z" }, sessionLine);
  closeSync(bfd);
  engineAlone();
  for (const [form, file] of [["JSON Lines", "session.jsonl"], ["binary", "session.oflb"]]) {
    const driver = `
      const { main } = await import(${JSON.stringify(pathToFileURL(join(root, "dist/ofl.mjs")).href)});
      const t0 = performance.now();
      let out = "";
      const code = await main(["test", ${JSON.stringify(join(dir, "plant.ofl"))}, "--replay", ${JSON.stringify(join(dir, file))}], { out: (s) => { out += s; }, err: (s) => process.stderr.write(s), cwd: process.cwd(), color: false });
      process.stderr.write(JSON.stringify({ code, inProcessMs: performance.now() - t0, maxRssMb: process.resourceUsage().maxRSS / 1024, cpu: process.cpuUsage(), out }) + "\\n");
    `;
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", driver], { encoding: "utf8", maxBuffer: 1 << 26 });
    const wallMs = performance.now() - t0;
    const last = r.stderr.trim().split("\n").at(-1);
    const info = JSON.parse(last);
    console.log(
      JSON.stringify({
        name: `ofl test --replay, 1,000 assets, ${form}`,
        records: RECORDS,
        wallMs: Math.round(wallMs),
        recordsPerSec: Math.round(RECORDS / (wallMs / 1000)),
        peakRssMb: Math.round(info.maxRssMb),
        // CPU time of the replaying process, both threads (less distorted than wall time on a shared machine)
        cpuMs: Math.round((info.cpu.user + info.cpu.system) / 1000),
        inProcessMs: Math.round(info.inProcessMs),
        decisions: info.out.split("\n").filter((l) => /^\s+(commands|alarms)/.test(l)).map((l) => l.trim().replace(/\s+/g, " ")),
        target: "≥ 500,000 records/s, < 300 MB",
      }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
