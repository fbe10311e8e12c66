// Shared by the dashboard's end-to-end tests: a copy of the example plant, `ofl run` as a child
// process (the built command, as users run it), headless Chromium through playwright-core.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const root = resolve(new URL(".", import.meta.url).pathname, "../..");
export const ofl = join(root, "bin/ofl.mjs");
export const CHROMIUM = process.env["OFL_CHROMIUM"] ?? "/usr/bin/chromium";
export const shots = join(root, "test-results/dashboard");

/** Fails (never skips) without Chromium: CI must run these tests. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: the dashboard's end-to-end tests need it. .ci/run installs it from Debian (apt-get install -y chromium); or set OFL_CHROMIUM to a Chromium binary.`);
}

/** Builds the page into dist/dashboard (the CLI bundle is built by the test setup). */
export function buildDashboard(): void {
  execFileSync(process.execPath, [join(root, "runtime/dashboard/build.mjs")], { cwd: root, stdio: "inherit" });
}

export function screenshotsDir(): string {
  mkdirSync(shots, { recursive: true });
  return shots;
}

/**
 * The example plant (examples/cnc-cell), copied, with mill1's temperature simulated by a sine
 * between 78 and 98 °C (period 30 s) instead of a slow random walk: the overtemperature alarm
 * (> 95 °C) is raised within seconds and cleared below 85 °C, and stop_hot_mill fires (> 90 °C
 * for 5 s), so a test sees an alarm appear and a rule issue a command.
 */
export function examplePlant(): string {
  const dir = mkdtempSync(join(tmpdir(), "ofl-dash-"));
  cpSync(join(root, "examples/cnc-cell"), dir, { recursive: true, filter: (p) => !/[/\\]\.ofl([/\\]|$)/.test(p) });
  const file = join(dir, "plant.ofl");
  const src = readFileSync(file, "utf8");
  const from = "temperature   <- random_walk(70, 0.8, 40, 110, every: 1s)";
  if (!src.includes(from)) throw new Error("examples/cnc-cell changed: update test/e2e/helpers.ts");
  writeFileSync(file, src.replace(from, "temperature   <- sine(88, 10, 30s, every: 250ms)"));
  return dir;
}

export interface Running {
  child: ChildProcess;
  url: string;
  token?: string;
  output(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const children = new Set<ChildProcess>();
export function killAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  children.clear();
}

/** `ofl run DIR --port PORT --data DATA [extra]`; resolves once it prints the dashboard address. */
export async function runPlant(dir: string, data: string, opts: { port?: number; extra?: string[] } = {}): Promise<Running> {
  const child = spawn(process.execPath, [ofl, "run", dir, "--port", String(opts.port ?? 0), "--data", data, ...(opts.extra ?? [])], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  await until(() => /stop with Ctrl-C/.test(out) || child.exitCode !== null, 60_000); // a fresh data folder: the OPC UA client certificate is created first
  const m = /dashboard: (\S+)/.exec(out);
  if (!m) throw new Error(`ofl run did not start:\n${out}`);
  const url = new URL(m[1]!);
  const token = url.searchParams.get("token") ?? undefined;
  return {
    child,
    url: `${url.protocol}//${url.host}`,
    ...(token ? { token } : {}),
    output: () => out,
    exited,
    stop: async (signal: NodeJS.Signals = "SIGINT") => {
      child.kill(signal);
      return exited;
    },
  };
}

export async function until(cond: () => boolean | Promise<boolean>, ms = 15_000, what = "a condition"): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `ofl state DIR --data DATA --at T --json` */
export function oflStateAt(dir: string, data: string, at: string): { at: string; streamTime: string | null; assets: Record<string, { telemetry: Record<string, unknown>; states: Record<string, unknown>; alarms: Record<string, boolean> }>; views: Record<string, unknown> } {
  const out = execFileSync(process.execPath, [ofl, "state", dir, "--data", data, "--at", at, "--json"], { encoding: "utf8" });
  return JSON.parse(out);
}
