// `ofl run` as users run it (the built command, a child process): live simulated plant,
// operator commands through the interlocks with `ofl send`, clean stop on SIGINT, restart
// that continues the log, and SIGKILL: no command dispatched twice, state equal to a replay.
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { classify } from "../../../runtime/wire/records.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../..");
const ofl = join(root, "bin/ofl.mjs");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  children.length = 0;
});

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "ofl-run-"));
  cpSync(join(root, "examples/cnc-cell"), dir, { recursive: true, filter: (p) => !p.includes(".ofl/") });
  return dir;
}

function start(dir: string, clock = "50ms"): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [ofl, "run", dir, "--port", "0", "--clock", clock], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  return { child, output: () => out, exited };
}

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function send(dir: string, text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const c = spawn(process.execPath, [ofl, "send", text, dir], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (out += d.toString()));
    c.on("exit", (code) => done({ code, out }));
  });
}

function records(dir: string) {
  const log = SqliteLog.open(join(dir, ".ofl/data"), { readonly: true });
  const all = [...log.read({ topic: "ofa_assets" })];
  log.close();
  return all;
}

describe("ofl run", () => {
  test("runs the simulated plant; ofl send goes through the interlocks; SIGINT stops cleanly; a restart continues", async () => {
    const dir = project();
    const run = start(dir);
    // (the example's OPC UA source creates OFL's client certificate in the new data folder first: seconds)
    await until(() => existsSync(join(dir, ".ofl/data/run.json")) && /stop with Ctrl-C/.test(run.output()), 60_000);
    expect(run.output()).toMatch(/mill1 \(simulate\): simulated, seed 1/);
    // accepted: reaches the simulated device, which obeys
    const stop = await send(dir, "mill2.stop()");
    expect(stop.out).toMatch(/mill2\.stop: completed \{"execution":"STOPPED"\}/);
    expect(stop.code).toBe(0);
    // rejected by the interlock: never reaches the device
    const feed = await send(dir, "mill1.set_feed(override: 130 percent)");
    expect(feed.out).toMatch(/mill1\.set_feed: rejected: interlock/);
    expect(feed.code).toBe(1);
    // a mistake is a diagnostic, not a command
    const bad = await send(dir, "mill1.fly()");
    expect(bad.out).toMatch(/OFL2017/);
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/stopped: \d+ records appended, \d+ commands \(\d+ rejected, \d+ failed\); the log is in/);
    expect(existsSync(join(dir, ".ofl/data/run.json"))).toBe(false);
    const first = records(dir);
    const values = first.map((r) => r.value as { ID: string; VALUE: string });
    expect(values.some((v) => v.ID === "temperature")).toBe(true);
    expect(values.some((v) => v.ID === "clock")).toBe(true);
    const results = values.filter((v) => v.ID.endsWith("_RESULT")).map((v) => JSON.parse(v.VALUE) as { status: string });
    expect(results.map((r) => r.status).sort()).toEqual(["completed", "rejected"]);
    // the simulated device obeyed: execution STOPPED was reported after the command
    expect(values.some((v) => v.ID === "execution" && v.VALUE === "STOPPED")).toBe(true);

    const again = start(dir);
    await until(() => /stop with Ctrl-C/.test(again.output()));
    // a clean stop wrote a checkpoint at the log's end: the restart replays nothing
    expect(again.output()).toMatch(new RegExp(`\\(checkpoint at offset ${first.length}, 0 records replayed\\)`));
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);
    const second = records(dir);
    expect(second.slice(0, first.length)).toEqual(first);
    expect(second.length).toBeGreaterThan(first.length);
  }, 60_000);

  test("an error thrown while it stops is said in a line, after the stop finishes (exit 70), not a crash with a stack", async () => {
    const dir = project();
    // injected: a promise rejected with no handler as the stop begins (as a closing connection or
    // worker thread might); loaded before the command by node's --import
    const inject = `process.once("SIGINT", () => setTimeout(() => Promise.reject(new Error("injected while stopping")), 0));`;
    const child = spawn(process.execPath, [ofl, "run", dir, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(inject)}` } });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    await until(() => /stop with Ctrl-C/.test(out), 60_000);
    child.kill("SIGINT");
    expect(await exited, out).toBe(70);
    expect(out).toMatch(/stopped: \d+ records appended/);
    expect(out).toContain("ofl run: an error while stopping (the log is whole): injected while stopping\n(set OFL_DEBUG=1 for details, and please report it)\n");
    expect(out).not.toMatch(/\n\s+at /); // no stack
    expect(existsSync(join(dir, ".ofl/data/run.json"))).toBe(false); // stopped whole: run.json removed, the lock released
  }, 60_000);

  test("SIGKILL, restart: no command is dispatched twice; the live state equals a replay of the log", async () => {
    // a quiet plant (no clock, samples once an hour) so that the log stands still while we compare
    const dir = mkdtempSync(join(tmpdir(), "ofl-run-kill-"));
    writeFileSync(join(dir, "ofl.json"), '{"name": "quiet"}');
    writeFileSync(
      join(dir, "plant.ofl"),
      `enum Mode { RUN, HALT }
model Press {
  telemetry pressure: float<bar>
  telemetry mode: Mode
  state high = pressure > 150 bar
  command halt()
  command set_mode(m: Mode) requires not high
}
asset p1: Press {
  uuid "P-1"
  source simulate(seed: 3) {
    pressure <- random_walk(140, 5, 100, 200, every: 1h)
    mode <- sequence(RUN: 1h)
    halt -> set(mode, HALT)
    set_mode -> set(mode, m)
  }
}
`,
    );
    const run = start(dir, "0ms");
    await until(() => /stop with Ctrl-C/.test(run.output()));
    expect((await send(dir, "p1.halt()")).out).toMatch(/completed/);
    expect((await send(dir, "p1.set_mode(m: RUN)")).out).toMatch(/completed/);
    run.child.kill("SIGKILL");
    await run.exited;
    const again = start(dir, "0ms");
    await until(() => /stop with Ctrl-C/.test(again.output()));
    expect((await send(dir, "p1.halt()")).out).toMatch(/completed/);
    const info = JSON.parse(readFileSync(join(dir, ".ofl/data/run.json"), "utf8")) as { url: string };
    const live = await (await fetch(`${info.url}/api/state`)).json();
    const all = records(dir);
    const ir = compile([{ path: join(dir, "plant.ofl"), text: readFileSync(join(dir, "plant.ofl"), "utf8") }], { name: "quiet" }).ir!;
    const replay = new Engine({ program: ir, onOutput: () => {} });
    for (const r of all) replay.process(classify(r));
    expect(live).toEqual(JSON.parse(JSON.stringify(replay.snapshot())));
    again.child.kill("SIGINT");
    expect(await again.exited).toBe(0);
    // every command has exactly one result: none was dispatched twice
    const results = new Map<string, number>();
    const commands: string[] = [];
    for (const r of records(dir)) {
      const ev = classify(r);
      if (ev.kind === "command_result") results.set(ev.result.correlation_id, (results.get(ev.result.correlation_id) ?? 0) + 1);
      if (ev.kind === "operator_command" || ev.kind === "command") commands.push(ev.envelope.header.correlation_id);
    }
    expect(commands.length).toBe(3);
    for (const id of commands) expect(results.get(id), id).toBe(1);
  }, 60_000);
});
