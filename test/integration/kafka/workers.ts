// Runs a bundled worker (build/workers/NAME.mjs) as `ofl deploy --local` does: plain `node`, in
// a folder with no node_modules, with only the environment a deployment gives it.
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { KafkaLog } from "../../../runtime/log/kafka.js";
import { PROCESSED_HEADER } from "../../../runtime/worker/headers.js";
import { ASSETS_TOPIC } from "../../../runtime/wire/types.js";
import { waitFor } from "../../support/wait.js";

export interface Worker {
  child: ChildProcess;
  output(): string;
  /** resolves when the worker prints `ready` */
  ready: Promise<void>;
  exited: Promise<void>;
}

export function startWorker(dir: string, name: string, brokers: string[], children: ChildProcess[], env: Record<string, string> = {}): Worker {
  const child = spawn(process.execPath, [join(dir, `${name}.mjs`)], {
    cwd: dir,
    // HOME: an empty folder (node-opcua must not keep anything there: the PKI is in .ofl/data)
    env: { PATH: process.env.PATH, HOME: join(dir, "home"), OFL_KAFKA: brokers.join(","), OFL_CLOCK_MS: "50", OFL_STATUS_MS: "0", ...env },
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

/**
 * Sentinel: resolves once the rule worker has processed the `ofa_assets` record at `offset`,
 * which its clock records say (header `ofl-processed`, written every OFL_CLOCK_MS). Anything the
 * worker would derive from the records up to there is then on the topic.
 */
export async function untilProcessed(log: KafkaLog, offset: number, detail: () => string): Promise<void> {
  await waitFor(
    `the rule worker to process offset ${offset}`,
    async () => (await log.readRange(ASSETS_TOPIC, Math.max(0, offset))).some((r) => Number(r.headers[PROCESSED_HEADER] ?? -1) >= offset),
    { timeoutMs: 30_000, intervalMs: 100, detail },
  );
}

/**
 * The Kafka suites' afterAll: SIGKILL the workers still running, then close what was opened, in
 * the order given (the log's clients before the brokers), and remove the test's folder.
 */
export async function tearDown(children: ChildProcess[], opened: ({ close(): Promise<unknown> } | undefined)[], dir: string | undefined): Promise<void> {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const x of opened) await x?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
