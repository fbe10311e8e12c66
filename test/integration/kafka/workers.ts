// Runs a bundled worker (build/workers/NAME.mjs) as `ofl deploy --local` does: plain `node`, in
// a folder with no node_modules, with only the environment a deployment gives it.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

export interface Worker {
  child: ChildProcess;
  output(): string;
  /** resolves when the worker prints `ready` */
  ready: Promise<void>;
  exited: Promise<void>;
}

export function startWorker(dir: string, name: string, brokers: string[], children: ChildProcess[]): Worker {
  const child = spawn(process.execPath, [join(dir, `${name}.mjs`)], {
    cwd: dir,
    // HOME: an empty folder (node-opcua must not keep anything there: the PKI is in .ofl/data)
    env: { PATH: process.env.PATH, HOME: join(dir, "home"), OFL_KAFKA: brokers.join(","), OFL_CLOCK_MS: "50", OFL_STATUS_MS: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready\n")) resolve();
    });
    child.once("exit", (code, sig) => reject(new Error(`${name} exited (${code ?? sig}) before it was ready:\n${out}`)));
  });
  ready.catch(() => {});
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return { child, output: () => out, ready, exited };
}
