// Helper processes a project asks `ofl run` to start alongside the plant (ofl.json
// `"services"`): demo devices, simulators of a real PLC, a local broker. Each is started in the
// project folder before the connectors, waited for until it prints its ready text, and stopped
// (SIGTERM) when the plant stops.
//
//   "services": [{ "name": "opcua-demo", "command": ["node", "opcua-demo-server.mjs", "4841"],
//                  "ready": "listening on" }]
//
// A service's standard input is a pipe that closes when the plant's process ends, however it
// ends: a service that exits on end-of-input never outlives the plant. Its `NODE_PATH` holds the
// folders ofl's own packages are found in: a helper written against them (node-opcua, mqtt, with
// `createRequire`) works in a project folder without a node_modules of its own.
import { spawn, type ChildProcess } from "node:child_process";
import { basename, delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface ServiceSpec {
  name: string;
  command: string[];
  /** text the service prints (stdout or stderr) once it is ready; default: ready at once */
  ready?: string;
}

export interface RunningService {
  spec: ServiceSpec;
  child: ChildProcess;
}

/** Validates ofl.json's `services`; throws a one-line message on a mistake. */
export function parseServices(raw: unknown): ServiceSpec[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new Error('ofl.json: "services" must be a list of {"name", "command": [...], "ready"?}');
  return raw.map((s, i) => {
    const o = s as Partial<ServiceSpec>;
    if (typeof o?.name !== "string" || !Array.isArray(o.command) || o.command.length === 0 || o.command.some((c) => typeof c !== "string"))
      throw new Error(`ofl.json: services[${i}] needs "name" (text) and "command" (a list of texts)`);
    if (o.ready !== undefined && typeof o.ready !== "string") throw new Error(`ofl.json: services[${i}].ready must be text`);
    return { name: o.name, command: o.command, ready: o.ready };
  });
}

export async function startServices(specs: ServiceSpec[], cwd: string, report: (m: string) => void, timeoutMs = 15_000): Promise<RunningService[]> {
  const running: RunningService[] = [];
  for (const spec of specs) {
    const [cmd, ...args] = spec.command;
    // standard input stays an open pipe: a service may exit when it closes, i.e. when the plant
    // is gone, even after a SIGKILL
    const env = { ...process.env, NODE_PATH: [process.env.NODE_PATH, ...oflPackageFolders()].filter(Boolean).join(delimiter) };
    const child = spawn(cmd === "node" ? process.execPath : cmd!, args, { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    running.push({ spec, child });
    const ok = await new Promise<boolean>((done) => {
      let seen = "";
      let settled = false;
      const settle = (ready: boolean, problem?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (problem) report(problem);
        done(ready);
      };
      const timer = setTimeout(() => settle(false), spec.ready ? timeoutMs : 0);
      if (!spec.ready) return settle(true);
      const watch = (d: Buffer): void => {
        seen = (seen + d.toString()).slice(-4096);
        if (seen.includes(spec.ready!)) settle(true);
      };
      child.stdout!.on("data", watch);
      child.stderr!.on("data", watch);
      // close, not exit: its last output is read by then
      child.once("close", (code) => settle(false, `service ${spec.name} exited (${code}) before it was ready: ${lastWords(seen)}`));
      child.once("error", (e) => settle(false, `service ${spec.name} cannot start: ${e.message}`));
    });
    // keep draining its output so it never blocks on a full pipe
    child.stdout!.resume();
    child.stderr!.resume();
    report(ok ? `service ${spec.name} started (pid ${child.pid})` : `service ${spec.name} is not ready; the plant runs without it`);
  }
  return running;
}

/** The node_modules folders ofl's own imports resolve from (Node's lookup: this folder's and each parent's), nearest first. */
export function oflPackageFolders(): string[] {
  const out: string[] = [];
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (basename(dir) !== "node_modules") out.push(join(dir, "node_modules"));
    if (dirname(dir) === dir) return out;
  }
}

export async function stopServices(running: RunningService[]): Promise<void> {
  await Promise.all(
    running.map(
      ({ child }) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
          child.once("exit", () => {
            clearTimeout(timer);
            done();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
}

/**
 * What a service said as it died, in one line: the error line of a crash (Node prints the stack
 * and its version after it: `Error [ERR_MODULE_NOT_FOUND]: Cannot find package …`), else its
 * last two lines.
 */
export function lastWords(output: string): string {
  const lines = output.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const error = lines.filter((l) => /^(\w*Error\b|Error \[|error:)/i.test(l)).at(-1);
  return error ?? lines.slice(-2).join(" / ");
}
