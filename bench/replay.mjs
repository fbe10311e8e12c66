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
import { importBundled } from "../scripts/bundle-modules.mjs";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const RECORDS = Number(process.env.OFL_BENCH_RECORDS ?? 1_000_000);
const ASSETS = 1000;

const { replayProgram, replayRecords, Touch } = await import("./inputs.mjs");
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
