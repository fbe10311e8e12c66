// `ofl deploy --local`: the workers as supervised child processes (plain `node`), restarted with
// exponential backoff (1 s doubling to 30 s; back to 1 s after a minute up). A worker that exits 2
// was given a setting it cannot use (runtime/worker/main.ts): restarting it would not help, so it
// is not restarted and `onSetting` is called; nor is one that exits 3, superseded (another worker
// claimed its connector's source). Output is prefixed with the worker's name.
import { spawn, type ChildProcess } from "node:child_process";
import { SUPERSEDED_EXIT } from "../worker/main.js";

export interface Supervised {
  name: string;
  file: string;
  env: NodeJS.ProcessEnv;
}

export class Supervisor {
  private readonly procs = new Map<string, ChildProcess>();
  private stopping = false;
  readonly restarts = new Map<string, number>();

  constructor(
    private readonly workers: Supervised[],
    private readonly say: (line: string) => void,
    /** a worker exited 2 (a setting it cannot use; it said which): not restarted */
    private readonly onSetting: (name: string) => void = () => {},
  ) {}

  start(): void {
    for (const w of this.workers) this.launch(w, 1000);
  }

  private launch(w: Supervised, backoff: number): void {
    if (this.stopping) return;
    const started = Date.now();
    const child = spawn(process.execPath, [w.file], { env: w.env, stdio: ["ignore", "pipe", "pipe"] });
    this.procs.set(w.name, child);
    const prefix = (d: Buffer): void => {
      for (const line of d.toString().split("\n")) if (line.trim()) this.say(`[${w.name}] ${line}`);
    };
    child.stdout!.on("data", prefix);
    child.stderr!.on("data", prefix);
    child.once("exit", (code, signal) => {
      this.procs.delete(w.name);
      if (this.stopping) return;
      if (code === 2) {
        this.say(`[${w.name}] exited (2): a setting it cannot use (above); not restarted`);
        return this.onSetting(w.name);
      }
      // a restart would take the source back from the worker that superseded it, which would then stop in turn
      if (code === SUPERSEDED_EXIT) return this.say(`[${w.name}] exited (${code}): another worker does its job (above); not restarted`);
      const next = Date.now() - started > 60_000 ? 1000 : backoff;
      this.restarts.set(w.name, (this.restarts.get(w.name) ?? 0) + 1);
      this.say(`[${w.name}] exited (${code ?? signal}); restarting in ${next / 1000} s`);
      setTimeout(() => this.launch(w, Math.min(30_000, next * 2)), next).unref();
    });
  }

  /** SIGTERM to every worker, SIGKILL after 10 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.procs.values()].map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null || c.signalCode !== null) return r();
            const t = setTimeout(() => c.kill("SIGKILL"), 10_000);
            c.once("exit", () => (clearTimeout(t), r()));
            c.kill("SIGTERM");
          }),
      ),
    );
  }
}
