// `ofl run [PATH] [--data DIR] [--clock 100ms] [--port N] [--host H]`
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { lockDataFolder, LogLockedError, type WriterLock } from "../log/lock.js";
import { repairLog } from "../log/repair.js";
import { CheckpointStore } from "../log/checkpoints.js";
import { CorruptRecordError, SqliteLog } from "../log/sqlite.js";
import { AppendFailure, describeAppendFailure, Plant } from "../run/plant.js";
import { isLoopback, serve } from "../run/server.js";
import { parseServices, startServices, stopServices, type RunningService } from "../run/services.js";
import { findProjectRoot } from "../project/load.js";
import { compileOne, displayPath, durationMs, internalErrorDetail, UsageError, type Command } from "./common.js";


export const runCommand: Command = {
  name: "run",
  summary: "run a plant: durable log, engine, connectors, clock and HTTP API",
  help: `Usage: ofl run [PATH] [--data DIR] [--clock 100ms] [--port N] [--host H] [--allow-host NAME] [--retain D] [--for D]

Runs the program on this machine: opens (or creates) the durable log in DIR, rebuilds the
engine's state from it, starts every asset's sources (simulated, OPC UA, MQTT), appends a
clock record every --clock, dispatches accepted commands to the devices (each correlation id
at most once), and serves the plant's HTTP API. Stops on Ctrl-C (SIGINT) or SIGTERM: the
connectors stop, the log is flushed, the exit code is 0. A restart continues where it stopped.

Options:
  --data DIR     the log folder (default: .ofl/data in the project)
  --clock D      clock record period (default 100ms)
  --port N       the HTTP port (default 4000; 0 picks a free one)
  --host H       the address to listen on (default 127.0.0.1; anything else requires the
                 token printed at start for every request)
  --allow-host NAME  a host name browsers may use to reach the plant beyond loopback (e.g. the
                 plant PC's DNS name; repeatable; also ofl.json "allowedHosts"). Requests naming
                 any other host are refused (403): loopback names and this machine's addresses
                 are always allowed
  --retain D     keep D of history on the live log (e.g. 30d; also ofl.json "retain"): older
                 records move to DIR/archive as gzip session files (ofl state and ofl test
                 --replay read them), cut at a checkpoint; never deleted. Default: keep all
  --for D        stop by itself after D (e.g. 30s), for demos and scripts
  --repair       the log has a damaged record: keep a copy of the file, remove the damaged
                 record and everything after it (back to a whole batch), then run
  -h, --help     show this help

One \`ofl run\` per data folder: it holds an OS lock on DIR/writer.lock while it runs (released
when the process ends, however it ends); \`ofl state\` and \`ofl record\` still read the log.

Exit codes: 0 stopped cleanly, 1 the program has errors, 2 bad usage (port in use, bad flag),
3 the data folder is in use by another \`ofl run\`, 70 the log cannot be written or read (disk
full, read-only folder, damaged record, I/O error): the message says what and how to recover;
everything acknowledged before is on the log. See docs/reliability.md.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        data: { type: "string" },
        retain: { type: "string" },
        clock: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        "allow-host": { type: "string", multiple: true },
        for: { type: "string" },
        repair: { type: "boolean" },
      },
    });
    const clockMs = values.clock === undefined ? 100 : duration("--clock", values.clock);
    const port = values.port === undefined ? 4000 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: ${values.port} is not a port number`);
    const host = values.host ?? "127.0.0.1";
    const forMs = values.for === undefined ? undefined : duration("--for", values.for);
    const ir = compileOne(positionals, io);
    if (!ir) return 1;
    const dataDir = resolve(io.cwd, values.data ?? defaultDataDir(resolve(io.cwd, positionals[0] ?? ".")));
    const shown = displayPath(io, dataDir);
    const root = projectFolder(resolve(io.cwd, positionals[0] ?? "."));
    const retainText = values.retain ?? readConfig(root).retain;
    if (retainText !== undefined && typeof retainText !== "string") throw new UsageError('ofl.json: "retain" must be a duration such as "30d"');
    const retainMs = retainText === undefined ? undefined : duration(values.retain !== undefined ? "--retain" : 'ofl.json "retain"', retainText);
    let lock: WriterLock;
    try {
      lock = lockDataFolder(dataDir);
    } catch (e) {
      if (e instanceof LogLockedError) {
        io.err(`ofl run: ${e.message}\n`);
        return 3;
      }
      return logFailure(io, shown, e);
    }
    let fatal: (f: Error) => void = () => {};
    const failed = new Promise<Error>((done) => (fatal = done));
    let log: SqliteLog | undefined;
    // while the sources start, their "connected" lines are held back: the list of sources printed
    // once they have started says the same, and each source is named once
    let held: string[] | null = [];
    let plant: Plant;
    try {
      if (values.repair === true) {
        const r = repairLog(dataDir);
        if (r.damagedSeq === null) io.out(`repair: no damaged record in ${shown}/log.sqlite; nothing changed\n`);
        else
          io.out(
            `repair: the record at seq ${r.damagedSeq} was damaged; removed ${r.removed} record${r.removed === 1 ? "" : "s"} from seq ${r.cutSeq} on (a copy of the file as it was: ${displayPath(io, r.backup!)})${r.retired!.length > 0 ? `; ${r.retired!.length} command id(s) in them will never be dispatched again` : ""}\n`,
          );
      }
      log = SqliteLog.open(dataDir, { program: ir.program });
      const retired = log.meta("retired_correlation_ids");
      plant = new Plant({
        program: ir,
        log,
        clockMs,
        dataDir,
        checkpoints: { store: new CheckpointStore(dataDir) },
        ...(retainMs !== undefined ? { retainMs } : {}),
        report: (level, m) => (held && level === "info" ? held.push(m) : io.err(`${level === "info" ? "" : `${level}: `}${m}\n`)),
        onFatal: (f) => fatal(f),
        retiredCorrelationIds: retired ? (JSON.parse(retired) as string[]) : [],
      });
    } catch (e) {
      log?.close();
      lock.release();
      return logFailure(io, shown, e);
    }
    const from = plant.runtime.restoredFrom;
    io.out(
      `ofl run ${ir.program}: ${ir.assets.length} asset${ir.assets.length === 1 ? "" : "s"}, log ${displayPath(io, dataDir)} (${from === undefined ? "" : `checkpoint at offset ${from}, `}${plant.runtime.rebuilt} records replayed)\n`,
    );
    if (retainMs !== undefined) io.out(`retention: history older than ${retainText} moves to ${displayPath(io, join(dataDir, "archive"))}\n`);
    const token = randomBytes(16).toString("hex");
    let allowedHosts: string[];
    try {
      allowedHosts = [...(values["allow-host"] ?? []), ...parseAllowedHosts(readConfig(root).allowedHosts)];
    } catch (e) {
      plant.runtime.close();
      lock.release();
      throw new UsageError((e as Error).message);
    }
    let api;
    try {
      api = await serve(plant, { host, port, token, allowedHosts });
    } catch (e) {
      plant.runtime.close();
      lock.release();
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(code === "EADDRINUSE" ? `port ${port} is in use: choose another with --port (0 picks a free one)` : `cannot listen on ${host}:${port}: ${(e as Error).message}`);
    }
    let services: RunningService[] = [];
    try {
      services = await startServices(parseServices(readConfig(root).services), root, (m) => io.out(`  ${m}\n`));
    } catch (e) {
      await api.close();
      plant.runtime.close();
      lock.release();
      throw new UsageError((e as Error).message);
    }
    const runFile = join(dataDir, "run.json");
    try {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(runFile, JSON.stringify({ pid: process.pid, url: api.url, token, program: ir.program }) + "\n", { mode: 0o600 });
    } catch (e) {
      await api.close();
      await stopServices(services);
      plant.runtime.close();
      lock.release();
      return logFailure(io, shown, e);
    }
    // any other fatal error stops the whole process too (never a server left serving stale state)
    const onUncaught = (e: unknown): void => fatal(e instanceof Error ? e : new Error(String(e)));
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUncaught);
    await plant.start();
    const sources = plant.connectorStatus();
    for (const c of sources) io.out(`  ${c.asset} (${c.kind}): ${c.detail}\n`);
    // a source's own "connected" line says what its status line just said; anything else it
    // reported while starting (a certificate created, a server trusted on first use) is shown
    const repeatsStatus = (m: string): boolean => / connected\b/.test(m) && sources.some((c) => m.startsWith(`${c.asset} (${c.kind}): `));
    for (const m of held) if (!repeatsStatus(m)) io.err(`${m}\n`);
    held = null;
    io.out(`dashboard: ${api.url}/${isLoopback(host) ? "" : `?token=${token}`}  api: ${api.url}/api/state${isLoopback(host) ? "" : `  (token: ${token})`}\n`);
    io.out(`stop with Ctrl-C\n`);

    const statusLine = statusPrinter(plant);
    const status = setInterval(() => io.out(statusLine() + "\n"), 5000);
    status.unref();
    const failure = await Promise.race([
      failed,
      new Promise<undefined>((done) => {
        const stop = (): void => done(undefined);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        if (forMs !== undefined) setTimeout(stop, forMs).unref();
      }),
    ]);
    clearInterval(status);
    if (failure !== undefined) {
      // fatal: the whole process stops (connectors, clock, HTTP server, services), nothing more
      // is acknowledged; the log holds whole batches up to the last durable one
      setTimeout(() => process.exit(70), 10_000).unref(); // whatever still holds the event loop
      await plant.stop().catch(() => {});
      await api.close().catch(() => {});
      await stopServices(services).catch(() => {});
      try {
        rmSync(runFile, { force: true });
      } catch {
        /* a read-only folder: run.json stays, its pid is dead */
      }
      lock.release();
      if (failure instanceof AppendFailure) io.err(`ofl run: stopped: ${failure.message}.\n${recovery(failure.cause, shown)}\n`);
      else io.err(`ofl run: stopped by an internal error: ${failure.message}\n${internalErrorDetail(failure)}`);
      return 70;
    }
    // an error thrown while stopping (a connection, a worker thread) is said in a line, after the
    // stop finishes: Node's default would print a stack and exit 1 with the lock still held
    let stray: Error | undefined;
    const whileStopping = (e: unknown): void => void (stray ??= e instanceof Error ? e : new Error(String(e)));
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUncaught);
    process.on("uncaughtException", whileStopping);
    process.on("unhandledRejection", whileStopping);
    await plant.stop();
    await api.close();
    await stopServices(services);
    rmSync(runFile, { force: true });
    lock.release();
    const st = plant.stats;
    io.out(`stopped: ${st.records} records appended, ${st.commands} commands (${st.rejected} rejected, ${st.failed} failed); the log is in ${displayPath(io, dataDir)}\n`);
    await new Promise((r) => setImmediate(r)); // (a rejection of the last step is reported on the next turn)
    process.off("uncaughtException", whileStopping);
    process.off("unhandledRejection", whileStopping);
    if (stray) {
      io.err(`ofl run: an error while stopping (the log is whole): ${stray.message}\n${internalErrorDetail(stray)}`);
      return 70;
    }
    return 0;
  },
};

/** What to do after a log failure, in words. */
function recovery(e: Error, shown: string): string {
  const code = (e as { code?: string }).code ?? "";
  const kept = "Everything acknowledged before is on the log (whole batches only); nothing of the failed batch was acknowledged, so sources that acknowledge (MQTT QoS 1) send it again.";
  if (code === "SQLITE_FULL" || code === "ENOSPC") return `${kept} Free space on the disk holding ${shown}, then start \`ofl run\` again: it continues where the log ends.`;
  if (code.startsWith("SQLITE_READONLY") || code === "SQLITE_CANTOPEN" || code === "EACCES" || code === "EROFS" || code === "EPERM")
    return `${kept} Make ${shown} writable for this user (and its files), then start \`ofl run\` again.`;
  return `${kept} Fix the cause, then start \`ofl run\` again (see docs/reliability.md).`;
}

/** A log that cannot be opened, read or written at start: a clear message, exit 70. */
function logFailure(io: { err: (s: string) => void }, shown: string, e: unknown): number {
  if (e instanceof CorruptRecordError) {
    io.err(
      `ofl run: ${e.message}.\nThe plant does not run on a damaged log. \`ofl record\` still exports every readable record (it names the damaged ones).\nTo recover: \`ofl run --repair\` keeps a copy of log.sqlite, removes the damaged record and everything after it (back to a whole batch), and runs; commands in the removed part are never dispatched again. See docs/reliability.md.\n`,
    );
    return 70;
  }
  if (e instanceof AppendFailure) {
    io.err(`ofl run: ${e.message}.\n${recovery(e.cause, shown)}\n`);
    return 70;
  }
  const err = e as Error & { code?: string };
  const code = err.code ?? "";
  if (typeof code === "string" && (code.startsWith("SQLITE_") || code.startsWith("E"))) {
    const what = describeAppendFailure(err, 0).replace(/^appending 0 records to the log failed: /, "");
    io.err(`ofl run: cannot open the log in ${shown}: ${what}.\n${recovery(err, shown).replace(/^Everything[^.]*\.[^.]*\. /, "")}\n`);
    return 70;
  }
  throw e;
}

/** The project folder of a path (or the folder of a single file). */
function projectFolder(target: string): string {
  const folder = existsSync(target) && statSync(target).isFile() ? dirname(target) : target;
  return findProjectRoot(folder) ?? folder;
}

/** `.ofl/data` in the project folder (or beside a single file). */
export function defaultDataDir(target: string): string {
  return join(projectFolder(target), ".ofl", "data");
}

function readConfig(root: string): { services?: unknown; allowedHosts?: unknown; retain?: unknown } {
  const path = join(root, "ofl.json");
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as { services?: unknown; allowedHosts?: unknown; retain?: unknown }) : {};
}

/** ofl.json `"allowedHosts": ["plant-pc.example", …]` (names the HTTP server answers to). */
function parseAllowedHosts(raw: unknown): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((h) => typeof h !== "string")) throw new Error('ofl.json: "allowedHosts" must be a list of host names');
  return raw as string[];
}

function duration(flag: string, s: string): number {
  const ms = durationMs(s);
  if (ms === undefined) throw new UsageError(`${flag}: ${s} is not a duration such as 100ms, 5s or 2m`);
  return ms;
}

/** A status line printer: the rate is over the time since its previous line. */
function statusPrinter(plant: Plant): () => string {
  let lastRecords = plant.stats.records;
  let lastAt = Date.now();
  return () => {
    const now = Date.now();
    const rate = Math.round(((plant.stats.records - lastRecords) * 1000) / Math.max(1, now - lastAt));
    lastRecords = plant.stats.records;
    lastAt = now;
    const snap = plant.runtime.engine.snapshot();
    const alarms = Object.entries(snap.assets).flatMap(([a, s]) => Object.entries(s.alarms).filter(([, on]) => on).map(([n]) => `${a}.${n}`));
    const connected = plant.connectorStatus();
    const up = connected.filter((c) => c.connected).length;
    return `[${new Date(now).toISOString().slice(11, 19)}] ${rate} records/s, ${plant.stats.records} appended; sources ${up}/${connected.length} up; commands ${plant.stats.commands} (${plant.stats.rejected} rejected, ${plant.stats.failed} failed)${plant.stats.last.length > 0 ? `, last: ${plant.stats.last.join("; ")}` : ""}; alarms: ${alarms.length > 0 ? alarms.join(", ") : "none"}`;
  };
}

