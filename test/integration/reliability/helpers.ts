// `ofl run` as a child process over a real Mosquitto, for the reliability tests (issue 11).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const root = resolve(new URL(".", import.meta.url).pathname, "../../..");
export const ofl = join(root, "bin/ofl.mjs");

const children: ChildProcess[] = [];
export function killChildren(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

/**
 * A tank on MQTT: every message on tank/t1/data is logged twice (`note` = the raw payload, unique
 * per message; `level` = its `v`), and the rule drains the tank each time the level rises above 90.
 */
export function tankProgram(url: string): string {
  return `
model Tank {
  telemetry level: float<percent> in 0..100
  telemetry note: string
  command drain()
}
asset t1: Tank {
  uuid "TANK-1"
  source mqtt("${url}") {
    note  <- topic("tank/t1/data")
    level <- topic("tank/t1/data", json: "$.v")
    drain -> publish("tank/t1/drain")
  }
}
rule drain_high on Tank {
  when level > 90 percent
  then drain()
}
`;
}

export function tankProject(url: string, dir = mkdtempSync(join(tmpdir(), "ofl-rel-"))): string {
  writeFileSync(join(dir, "tank.ofl"), tankProgram(url));
  return dir;
}

export interface RunningOfl {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startOfl(args: string[]): RunningOfl {
  const child = spawn(process.execPath, [ofl, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on("exit", (code, signal) => done({ code, signal })));
  return { child, output: () => out, exited };
}

export function runOfl(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [ofl, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

export async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
