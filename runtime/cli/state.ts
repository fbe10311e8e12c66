// `ofl state [PATH] [--session FILE | --data DIR] [--at TIME] [--json]`
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { IrProgram, Value } from "../../compiler/ir/types.js";
import { valueText } from "../engine/index.js";
import { SqliteLog } from "../log/sqlite.js";
import { inLogOrder, openSession } from "../replay/session.js";
import { stateAt, stateAtLog, unitText } from "../replay/stateAt.js";
import { wholeHistory } from "../log/archive.js";
import { CheckpointStore } from "../log/checkpoints.js";
import { ASSETS_TOPIC, classify, isFutureRecord, isInput, isoTime, parseTime } from "../wire/records.js";
import type { LogRecord } from "../wire/types.js";
import { compileOne, displayPath, durationMs, UsageError, type Command, type Io } from "./common.js";
import { defaultDataDir } from "./run.js";

export const stateCommand: Command = {
  name: "state",
  summary: "the state of every asset, view and alarm at a time, rebuilt from the log",
  help: `Usage: ofl state [PATH] [--session FILE | --data DIR] [--at TIME] [--json]

Time travel: replays the log (a recorded session file, or the embedded log of \`ofl run\`,
by default the project's .ofl/data) through the program up to TIME (an embedded log: from the newest checkpoint at or before
TIME) and prints every asset's
telemetry, states and alarms, and every view. TIME is an ISO-8601 UTC time, e.g.
2026-11-20T08:05:00Z (the leading @ of OFL timestamps is accepted too), or a duration from the
log's first or last record by event time: +90s is 90 seconds after its start, 5m (or -5m)
five minutes before its end, 0s its end (the default: the state now, as far as the log knows).

PATH is the program (project folder or .ofl file; default: the working directory's project).

Options:
  --session FILE   read the records from a session file (OFL or kcat form)
  --data DIR       read the records from an embedded log folder (default: .ofl/data in the
                   project, where \`ofl run\` writes)
  --at TIME        the moment to rebuild (ISO time, +D after the log's start, D before its end;
                   default 0s: the log's last input record)
  --json           print {"at","streamTime","assets":{…},"views":{…},"late":{…}}
  -h, --help       show this help

Exit codes: 0 success, 1 the program has errors, the log cannot be read, is empty, or starts
after TIME, 2 bad usage.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { session: { type: "string" }, data: { type: "string" }, at: { type: "string" }, json: { type: "boolean" } },
    });
    const atArg = parseAt(values.at ?? "0s");
    if (values.session && values.data) throw new UsageError("give one of --session FILE or --data DIR, not both");
    if (!values.session && !values.data) {
      const dir = defaultDataDir(resolve(io.cwd, positionals[0] ?? "."));
      if (!existsSync(dir)) throw new UsageError(`no log in ${displayPath(io, dir)}: run the plant with \`ofl run\` first, or give --data DIR or --session FILE`);
      values.data = dir;
    }
    const ir = compileOne(positionals, io);
    if (!ir) return 1;
    // where the log starts and ends (event time of its input records): a relative --at needs both,
    // and a time before the start is said, not answered with "unknown"
    const span = logSpan(values, io, atArg.kind !== "iso", ir);
    const source = values.session ? displayPath(io, resolve(io.cwd, values.session)) : displayPath(io, resolve(io.cwd, values.data!));
    if (!span) {
      io.err(`ofl state: the log in ${source} has no input records yet\n`);
      return 1;
    }
    const at = atArg.kind === "iso" ? atArg.ms : atArg.kind === "fromStart" ? span.first + atArg.ms : span.last - atArg.ms;
    if (at < span.first) {
      io.err(`ofl state: ${isoTime(at)} is before the log's first record (${isoTime(span.first)}); nothing was known then\n`);
      return 1;
    }
    let s: ReturnType<typeof stateAt>;
    if (values.data) {
      // the embedded log: from the newest checkpoint usable at TIME (ofl run writes them)
      const dir = resolve(io.cwd, values.data);
      const log = openLog(dir);
      try {
        s = stateAtLog(ir, log, at, { checkpoints: new CheckpointStore(dir), warn: (m) => io.err(`warning: ${m}\n`) });
      } finally {
        log.close();
      }
    } else {
      const { records, close } = openRecords(values, io);
      try {
        s = stateAt(ir, records, at);
      } finally {
        close();
      }
    }
    if (values.json) {
      io.out(JSON.stringify({ at: isoTime(at), streamTime: s.snapshot.streamTime === null ? null : isoTime(s.snapshot.streamTime), assets: s.snapshot.assets, views: s.snapshot.views, late: s.snapshot.late }) + "\n");
    } else printState(io, ir, s.snapshot, at, s.replayed, s.fromOffset);
    return 0;
  },
};

/** The input of a replay: a session file or the embedded log. */
export function openRecords(values: { session?: string; data?: string }, io: Io): { records: Iterable<LogRecord>; close: () => void } {
  if (values.session) {
    const s = openSession(resolve(io.cwd, values.session));
    // a session of every partition of a partitioned topic: in the order one log would hold it
    return { records: (function* () { for (const r of inLogOrder(s)) yield r.record; })(), close: () => {} };
  }
  const dir = resolve(io.cwd, values.data!);
  const log = openLog(dir);
  // the archive first (records retention moved out of the live log), then the live log
  return { records: wholeHistory(dir, log), close: () => log.close() };
}

type AtArg = { kind: "iso" | "fromStart" | "fromEnd"; ms: number };

/** --at: an ISO time (with or without the @ of OFL), +D after the log's start, D or -D before its end. */
export function parseAt(text: string): AtArg {
  const rel = /^([+-]?)(.+)$/.exec(text.trim())!;
  const d = durationMs(rel[2]!);
  if (d !== undefined) return { kind: rel[1] === "+" ? "fromStart" : "fromEnd", ms: d };
  const t = parseTime(text.trim().replace(/^@/, ""));
  if (t === null) throw new UsageError(`--at: ${text} is neither an ISO-8601 time such as 2026-11-20T08:05:00Z nor a duration such as +90s or 5m`);
  return { kind: "iso", ms: t };
}

/**
 * Event times of the log's first input record and (when `whole`) of its latest. On an embedded
 * log the latest is found from the newest checkpoint on: its horizon (in its file name) is the
 * latest event time of every input before it, so only the records after it are read (not the
 * history: `--at 1m` on a 20,000,000-record log answers in a second).
 */
function logSpan(values: { session?: string; data?: string }, io: Io, whole: boolean, ir: IrProgram): { first: number; last: number } | undefined {
  const { records, close } = openRecords(values, io);
  try {
    let first: number | undefined;
    let last = -Infinity;
    const scan = (recs: Iterable<LogRecord>, all: boolean): void => {
      for (const rec of recs) {
        const ev = classify(rec);
        // a record dead-lettered future_time is passed over, as by the prefix rule and the checkpoints' horizon
        if (!isInput(ev) || ev.kind === "bad" || isFutureRecord(ev, ir.futureToleranceMs)) continue;
        first ??= ev.time;
        if (ev.time > last) last = ev.time;
        if (!all) break;
      }
    };
    // a whole scan, except on an embedded log: there the first input, then the fast path below
    scan(records, whole && !values.data);
    if (first === undefined) return undefined;
    if (whole && values.data) {
      const dir = resolve(io.cwd, values.data);
      const log = openLog(dir);
      try {
        const end = log.endOffset(ASSETS_TOPIC);
        const cp = new CheckpointStore(dir)
          .list(ir)
          .filter((c) => c.offset <= end && c.horizon !== null)
          .at(-1);
        if (cp) last = Math.max(last, cp.horizon!);
        scan(log.read({ topic: ASSETS_TOPIC, fromOffset: cp?.offset ?? 0 }), true);
      } finally {
        log.close();
      }
    }
    return { first, last };
  } finally {
    close();
  }
}

function openLog(dir: string): SqliteLog {
  try {
    return SqliteLog.open(dir, { readonly: true });
  } catch (e) {
    throw new UsageError(`cannot open the log in ${dir}: ${(e as Error).message}`);
  }
}

function printState(io: Io, ir: IrProgram, snap: ReturnType<typeof stateAt>["snapshot"], at: number, replayed: number, fromOffset: number | undefined): void {
  const show = (v: Value, unit: string): string => (v === null ? "unknown" : `${typeof v === "number" ? numberText(v) : valueText(v)}${unit && typeof v === "number" ? ` ${unit}` : ""}`);
  io.out(`${ir.program} at ${isoTime(at)} (stream time ${snap.streamTime === null ? "none" : isoTime(snap.streamTime)}, ${fromOffset === undefined ? "" : `checkpoint at offset ${fromOffset}, `}${replayed} records replayed)\n`);
  const models = new Map(ir.models.map((m) => [m.name, m]));
  for (const [name, a] of Object.entries(snap.assets)) {
    const m = models.get(a.model)!;
    io.out(`\n${name} (${a.uuid}, ${a.model})\n`);
    const rows: [string, string][] = [];
    for (const t of m.telemetry) rows.push([t.name, show(a.telemetry[t.name] ?? null, unitText(t.type))]);
    for (const s of m.states) if (!s.hidden) rows.push([s.name, show(a.states[s.name] ?? null, unitText(s.type))]);
    const w = Math.max(0, ...rows.map((r) => r[0].length));
    for (const [k, v] of rows) io.out(`  ${k.padEnd(w)}  ${v}\n`);
    const active = Object.entries(a.alarms).filter(([, on]) => on).map(([n]) => n);
    if (m.alarms.length > 0) io.out(`  alarms: ${active.length > 0 ? active.map((n) => `${n} ACTIVE`).join(", ") : "none active"}\n`);
  }
  if (ir.views.length > 0) {
    io.out(`\nviews\n`);
    const w = Math.max(...ir.views.map((v) => v.name.length));
    for (const v of ir.views) {
      const val = snap.views[v.name];
      const unit = unitText(v.type);
      const text =
        val !== null && typeof val === "object"
          ? Object.entries(val).map(([g, x]) => `${g}: ${show(x, unit)}`).join(", ") || "no groups yet"
          : show(val ?? null, unit);
      io.out(`  ${v.name.padEnd(w)}  ${text}\n`);
    }
  }
}

/** A number for reading: at most 4 decimals and 6 significant digits (80.06526666666667 → 80.0653); --json keeps all. */
export function numberText(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const intDigits = Math.floor(Math.log10(Math.abs(v))) + 1;
  return String(Math.abs(v) >= 1 ? Number(v.toFixed(Math.max(0, Math.min(4, 6 - intDigits)))) : Number(v.toPrecision(4)));
}
