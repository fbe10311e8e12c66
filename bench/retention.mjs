// Retention (issue 12 item 4): disk use per million records on the live log (SQLite) and in the
// archive (gzip session files), and how fast `ofl run --retain` moves old records out. The input
// is the replay benchmark's seeded session (bench/inputs.mjs: 1,000 assets, every one touched)
// spread over about 2.5 hours of plant time (stepMs 9), imported with `ofl import`; then
// `ofl run --retain 1h --clock 0ms` (stream time stays the session's) moves what is older.
//   OFL_BENCH_RECORDS=1000000 node bench/retention.mjs
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { replayProgram, replayRecords, Touch } from "./inputs.mjs";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const ofl = join(root, "bin/ofl.mjs");
const RECORDS = Number(process.env.OFL_BENCH_RECORDS ?? 1_000_000);
const ASSETS = 1000;

const dir = mkdtempSync(join(tmpdir(), "ofl-bench-retention-"));
const size = (p) => {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
};
try {
  writeFileSync(join(dir, "plant.ofl"), replayProgram(ASSETS));
  const session = join(dir, "session.jsonl");
  const fd = openSync(session, "w");
  const touch = new Touch(ASSETS);
  let buf = JSON.stringify({ ofl_session: 1, program: "bench", recorded: "2026-11-20T11:00:00Z" }) + "\n";
  let first;
  let last;
  for (const r of replayRecords({ records: RECORDS, assets: ASSETS, stepMs: 9, touch })) {
    first ??= r.ts;
    last = r.ts;
    buf += JSON.stringify(r) + "\n";
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = "";
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
  const data = join(dir, "data");
  const imp = spawnSync(process.execPath, [ofl, "import", join(dir, "plant.ofl"), "--data", data, session], { encoding: "utf8" });
  if (imp.status !== 0) throw new Error(imp.stderr);
  const logFile = join(data, "log.sqlite");
  const logBytes = size(logFile) + size(`${logFile}-wal`);
  const countLog = () => {
    const r = spawnSync(process.execPath, ["-e", `const D=require(${JSON.stringify(join(root, "node_modules/better-sqlite3"))});const db=new D(${JSON.stringify(logFile)},{readonly:true});console.log(JSON.stringify(db.prepare("select count(*) n, max(seq)+1 e from records").get()))`], { encoding: "utf8" });
    return JSON.parse(r.stdout);
  };
  const before = countLog();

  const t0 = performance.now();
  const child = spawn(process.execPath, [ofl, "run", join(dir, "plant.ofl"), "--data", data, "--retain", "1h", "--clock", "0ms", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  let moved;
  while (!(moved = /retention: moved (\d+) records/.exec(out))) {
    if (child.exitCode !== null) throw new Error(`ofl run exited: ${out}`);
    if (performance.now() - t0 > 600_000) throw new Error(`no retention after 10 min: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const runMs = performance.now() - t0;
  child.kill("SIGINT");
  await new Promise((r) => child.once("exit", r));
  const after = countLog();
  const index = JSON.parse(readFileSync(join(data, "archive", "index.json"), "utf8"));
  const archived = index.files.reduce((a, f) => a + f.records, 0);
  const archiveBytes = index.files.reduce((a, f) => a + f.bytes, 0);
  const perM = (bytes, n) => +((bytes / n) * 1e6 / 2 ** 20).toFixed(1);
  console.log(
    JSON.stringify({
      name: "retention, 1,000 assets, --retain 1h",
      inputRecords: RECORDS,
      touched: touch.summary(),
      plantHours: +((last - first) / 3_600_000).toFixed(2),
      logRecords: before.n,
      liveLogMbPerMillionRecords: perM(logBytes, before.n),
      archivedRecords: archived,
      archiveMbPerMillionRecords: perM(archiveBytes, archived),
      archiveFiles: index.files.length,
      liveRecordsAfter: after.n,
      movedInMs: Math.round(runMs),
      movedPerSec: Math.round(archived / (runMs / 1000)),
      note: "runMs includes ofl run's start (checkpoint restore); the SQLite file keeps its size and reuses the freed pages",
      liveLogFileMbAfter: +((size(logFile) + size(`${logFile}-wal`)) / 2 ** 20).toFixed(1),
    }),
  );
  if (Number(moved[1]) !== archived) throw new Error(`the run said ${moved[1]} moved, the index holds ${archived}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
