// `ofl run [PATH] [--data DIR] [--clock 100ms] [--port N] [--host H]`
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SqliteLog } from "../log/sqlite.js";
import { CheckpointStore } from "../log/checkpoints.js";
import { Plant } from "../run/plant.js";
import { isLoopback, serve } from "../run/server.js";
import { parseServices, startServices, stopServices, type RunningService } from "../run/services.js";
import { findProjectRoot } from "../project/load.js";
import { compileOne, displayPath, durationMs, UsageError, type Command } from "./common.js";


export const runCommand: Command = {
  name: "run",
  summary: "run a plant: durable log, engine, connectors, clock and HTTP API",
  help: `Usage: ofl run [PATH] [--data DIR] [--clock 100ms] [--port N] [--host H] [--for D]

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
  --for D        stop by itself after D (e.g. 30s), for demos and scripts
  -h, --help     show this help

Exit codes: 0 stopped cleanly, 1 the program has errors, 2 bad usage (port in use, bad flag).`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        data: { type: "string" },
        clock: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        for: { type: "string" },
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
    const log = SqliteLog.open(dataDir, { program: ir.program });
    const plant = new Plant({
      program: ir,
      log,
      clockMs,
      checkpoints: { store: new CheckpointStore(dataDir) },
      report: (level, m) => io.err(`${level === "info" ? "" : `${level}: `}${m}\n`),
    });
    const from = plant.runtime.restoredFrom;
    io.out(
      `ofl run ${ir.program}: ${ir.assets.length} asset${ir.assets.length === 1 ? "" : "s"}, log ${displayPath(io, dataDir)} (${from === undefined ? "" : `checkpoint at offset ${from}, `}${plant.runtime.rebuilt} records replayed)\n`,
    );
    const token = randomBytes(16).toString("hex");
    let api;
    try {
      api = await serve(plant, { host, port, token });
    } catch (e) {
      plant.runtime.close();
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(code === "EADDRINUSE" ? `port ${port} is in use: choose another with --port (0 picks a free one)` : `cannot listen on ${host}:${port}: ${(e as Error).message}`);
    }
    const root = projectFolder(resolve(io.cwd, positionals[0] ?? "."));
    let services: RunningService[] = [];
    try {
      services = await startServices(parseServices(readConfig(root).services), root, (m) => io.out(`  ${m}\n`));
    } catch (e) {
      await api.close();
      plant.runtime.close();
      throw new UsageError((e as Error).message);
    }
    const runFile = join(dataDir, "run.json");
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(runFile, JSON.stringify({ pid: process.pid, url: api.url, token, program: ir.program }) + "\n", { mode: 0o600 });
    await plant.start();
    for (const c of plant.connectorStatus()) io.out(`  ${c.asset} (${c.kind}): ${c.detail}\n`);
    io.out(`dashboard: ${api.url}/${isLoopback(host) ? "" : `?token=${token}`}  api: ${api.url}/api/state${isLoopback(host) ? "" : `  (token: ${token})`}\n`);
    io.out(`stop with Ctrl-C\n`);

    const statusLine = statusPrinter(plant);
    const status = setInterval(() => io.out(statusLine() + "\n"), 5000);
    status.unref();
    await new Promise<void>((done) => {
      const stop = (): void => done();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      if (forMs !== undefined) setTimeout(stop, forMs).unref();
    });
    clearInterval(status);
    await plant.stop();
    await api.close();
    await stopServices(services);
    rmSync(runFile, { force: true });
    const st = plant.stats;
    io.out(`stopped: ${st.records} records appended, ${st.commands} commands (${st.rejected} rejected, ${st.failed} failed); the log is in ${displayPath(io, dataDir)}\n`);
    return 0;
  },
};

/** The project folder of a path (or the folder of a single file). */
function projectFolder(target: string): string {
  const folder = existsSync(target) && statSync(target).isFile() ? dirname(target) : target;
  return findProjectRoot(folder) ?? folder;
}

/** `.ofl/data` in the project folder (or beside a single file). */
export function defaultDataDir(target: string): string {
  return join(projectFolder(target), ".ofl", "data");
}

function readConfig(root: string): { services?: unknown } {
  const path = join(root, "ofl.json");
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as { services?: unknown }) : {};
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

