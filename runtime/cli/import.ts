// `ofl import [PATH] --data DIR FILE...`: session files (OFL or kcat form) into an embedded log,
// as the program's input. The program's outputs are recomputed: only input records (telemetry,
// availability, clock ticks, operator commands, unreadable records, and the devices' completed
// or failed command results) are taken from the files; recorded derived values, alarms, commands,
// rejections and dead letters are not copied, the engine writes its own (exactly what `ofl run`
// would have written for those inputs). Nothing is dispatched to any device.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { DASHBOARD_EXTRA, resumeProjector, type Projector } from "../dashboard/api.js";
import { EmbeddedRuntime } from "../embedded/runtime.js";
import { CheckpointStore, HOUR_MS } from "../log/checkpoints.js";

/** checkpoints may take 1/5 of an import's time (live: 1/20, runtime/log/checkpointSchedule.ts) */
const IMPORT_COST_SHARE = 5;
import { lockDataFolder, LogLockedError, type WriterLock } from "../log/lock.js";
import { SqliteLog } from "../log/sqlite.js";
import { inLogOrder, openSession } from "../replay/session.js";
import { ASSETS_TOPIC, classify, isInput } from "../wire/records.js";
import type { NewRecord } from "../wire/types.js";
import { compileOne, displayPath, progressLine, UsageError, type Command } from "./common.js";
import { defaultDataDir } from "./run.js";

const BATCH = 5000;

export const importCommand: Command = {
  name: "import",
  summary: "bring recorded sessions into an embedded log as the program's input",
  help: `Usage: ofl import [PATH] [--data DIR] FILE...

Appends the input records of session files (OFL or kcat form, e.g. from \`ofl record\` or kcat
on a cluster) to the embedded log in DIR, through the program PATH: the program's outputs
(derived values, alarms, commands with their verdicts, rejections, dead letters) are
recomputed and appended as \`ofl run\` would have; the outputs recorded in the files are not
copied. Device answers (completed or failed command results) are kept. Nothing is sent to any
device. Checkpoints are written as by \`ofl run\`, so \`ofl run\` and \`ofl state --at\` start
fast on the imported log. The data folder must not be in use by \`ofl run\` (exit 3).

Options:
  --data DIR        the log folder (default: .ofl/data in the project, as ofl run)
  --skip-bad-lines  count malformed lines as warnings instead of stopping
  -h, --help        show this help

A progress line is shown on a terminal. Exit codes: 0 imported, 1 the program has errors or a
file cannot be read, 2 bad usage, 3 the data folder is in use by \`ofl run\`.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { data: { type: "string" }, "skip-bad-lines": { type: "boolean" } },
    });
    // PATH is optional: the files are the positionals that look like session files
    const isSession = (p: string) => /\.(jsonl|json|ndjson|txt|oflb)(\.gz)?$/i.test(p);
    const files = positionals.filter(isSession);
    const progPaths = positionals.filter((p) => !isSession(p));
    if (files.length === 0) throw new UsageError("give at least one session FILE (.jsonl) to import");
    const ir = compileOne(progPaths, io);
    if (!ir) return 1;
    const dataDir = resolve(io.cwd, values.data ?? defaultDataDir(resolve(io.cwd, progPaths[0] ?? ".")));
    // one writer per data folder, as ofl run: importing beside a running plant would interleave batches
    let lock: WriterLock;
    try {
      lock = lockDataFolder(dataDir);
    } catch (e) {
      if (e instanceof LogLockedError) {
        io.err(`ofl import: ${e.message}\n`);
        return 3;
      }
      throw e;
    }
    const log = SqliteLog.open(dataDir, { program: ir.program });
    const progress = progressLine(io, "ofl import");
    const warnings: string[] = [];
    // the dashboard's projection is kept beside the engine, as ofl run's server does, so the
    // checkpoints written here let ofl run start without projecting the whole log
    let projector: Projector | undefined;
    const rt = new EmbeddedRuntime({
      program: ir,
      log,
      onAppend: (recs) => projector?.scan(recs.filter((r) => r.topic === ASSETS_TOPIC)),
      // an import is a batch job whose product is a log to analyse: the checkpoints every 25,000
      // inputs (time travel's grid) may take up to a fifth of its time, not the live 1/20
      checkpoints: { store: new CheckpointStore(dataDir), costShare: IMPORT_COST_SHARE, report: (l, m) => warnings.push(`${l}: ${m}`), extra: () => ({ [DASHBOARD_EXTRA]: projector?.save() }) },
    });
    projector = resumeProjector(ir, log, rt.restoredFrom, (rt.restoredExtra as Record<string, unknown> | undefined)?.[DASHBOARD_EXTRA]);
    for (const w of warnings.splice(0)) io.err(`${w}\n`);
    let read = 0;
    let taken = 0;
    let lastShown = 0;
    let lastHour = Number.NaN;
    let batch: NewRecord[] = [];
    const flush = (file: string): void => {
      rt.ingest(batch);
      batch = [];
      if (Date.now() - lastShown > 200) {
        lastShown = Date.now();
        progress.show(`${file}: ${taken.toLocaleString("en-US")} input records`);
      }
    };
    const started = Date.now();
    try {
      for (const file of files) {
        const session = openSession(resolve(io.cwd, file), { skipBadLines: values["skip-bad-lines"] === true });
        // a session of every partition of a partitioned topic: in the order one log would hold it
        for (const { record, time } of inLogOrder(session)) {
          read++;
          if (record.topic !== ASSETS_TOPIC) continue;
          const ev = classify(record, time);
          const keep = isInput(ev) || ev.kind === "bad" || (ev.kind === "command_result" && (ev.result.status === "completed" || ev.result.status === "failed"));
          if (!keep) continue;
          // a batch ends where event time enters a new hour: the checkpoint due then lands on the
          // hour (the time-travel grid and retention's cut points, runtime/log/checkpoints.ts)
          const hour = ev.kind === "bad" || !isInput(ev) ? lastHour : Math.floor(ev.time / HOUR_MS);
          if (hour !== lastHour && batch.length > 0) flush(file);
          lastHour = hour;
          batch.push({ topic: ASSETS_TOPIC, key: record.key, ts: record.ts, value: record.value });
          taken++;
          if (batch.length >= BATCH) flush(file);
        }
        if (batch.length > 0) flush(file);
        for (const s of session.skipped) io.err(`warning: ${s.message}\n`);
      }
    } finally {
      progress.done();
      rt.close();
      lock.release();
    }
    for (const w of warnings) io.err(`${w}\n`);
    const secs = (Date.now() - started) / 1000;
    io.out(
      `imported ${taken} input records of ${read} read from ${files.length} file${files.length === 1 ? "" : "s"} into ${displayPath(io, dataDir)} in ${secs.toFixed(1)} s (outputs recomputed by ${ir.program})\n`,
    );
    return 0;
  },
};
