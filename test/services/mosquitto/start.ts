// Starts a real Mosquitto broker for tests: `mosquitto -c CONF` with a temporary config that
// listens on 127.0.0.1 (a free port unless one is given), no persistence, and optionally a
// password file (`mosquitto_passwd -b -c`). Resolves once the broker accepts TCP connections.
//
// Mosquitto comes from Debian (`apt-get install -y mosquitto`); `.ci/run` installs it. When it is
// missing, startMosquitto() throws (tests fail, they do not skip).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { freePort } from "../../support/ports.js";
import { tmpdir, userInfo } from "node:os";
import { delimiter, join } from "node:path";

export const MISSING =
  "mosquitto is not installed: `.ci/run` installs it (apt-get install -y mosquitto); on a dev machine run `sudo apt-get install -y mosquitto`";

export interface MosquittoOptions {
  /** a fixed port; default: a free one */
  port?: number;
  /** user → password: the broker then refuses anonymous clients */
  users?: Record<string, string>;
  /** more configuration lines (e.g. `max_queued_messages 0` for a benchmark) */
  extraConfig?: string[];
}

export interface Mosquitto {
  port: number;
  /** mqtt://127.0.0.1:PORT */
  url: string;
  /** what the broker printed (for failing tests) */
  output(): string;
  /** stops the broker (SIGTERM, then SIGKILL); the config stays for restart() */
  stop(): Promise<void>;
  /** starts it again after stop(), on the same port with the same config */
  start(): Promise<void>;
  /** stop() then start() */
  restart(): Promise<void>;
  /** stops it and removes its temporary files */
  close(): Promise<void>;
}

/** A program on PATH or in the sbin directories Debian installs mosquitto into. */
export function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/local/bin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return null;
}


function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: "127.0.0.1" });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const bin = process.env.MOSQUITTO ?? findProgram("mosquitto");
  if (!bin) throw new Error(MISSING);
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "ofl-mosquitto-"));
  const conf = join(dir, "mosquitto.conf");
  const lines = [`listener ${port} 127.0.0.1`, "persistence false", "log_dest stderr", "log_type error", "log_type warning", "log_type notice"];
  // run as root, mosquitto drops privileges to `mosquitto`, which could not read our files
  if (process.getuid?.() === 0) lines.push(`user ${userInfo().username}`);
  if (opts.users && Object.keys(opts.users).length > 0) {
    const passwd = findProgram("mosquitto_passwd");
    if (!passwd) throw new Error(MISSING.replace("mosquitto is", "mosquitto_passwd is"));
    const file = join(dir, "passwd");
    let first = true;
    for (const [user, password] of Object.entries(opts.users)) {
      const r = spawnSync(passwd, first ? ["-b", "-c", file, user, password] : ["-b", file, user, password], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr || r.stdout}`);
      first = false;
    }
    chmodSync(file, 0o600);
    lines.push("allow_anonymous false", `password_file ${file}`);
  } else {
    lines.push("allow_anonymous true");
  }
  lines.push(...(opts.extraConfig ?? []));
  writeFileSync(conf, lines.join("\n") + "\n");

  let proc: ChildProcess | null = null;
  let out = "";

  const launch = async (): Promise<void> => {
    const p = spawn(bin, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    proc = p;
    let exited: string | null = null;
    p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    p.once("error", (e) => (exited = e.message));
    p.once("exit", (code, signal) => (exited = `exited with ${code ?? signal}`));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (exited !== null) throw new Error(`mosquitto ${exited}:\n${out}`);
      if (await canConnect(port)) return;
      if (Date.now() > deadline) {
        p.kill("SIGKILL");
        throw new Error(`mosquitto did not accept connections on 127.0.0.1:${port} within 10 s:\n${out}`);
      }
      await sleep(25);
    }
  };

  const stop = async (): Promise<void> => {
    const p = proc as ChildProcess | null;
    proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => p.kill("SIGKILL"), 3000);
      p.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      p.kill("SIGTERM");
    });
    // the port is free once nothing accepts on it any more
    for (let i = 0; i < 200 && (await canConnect(port)); i++) await sleep(10);
  };

  await launch();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    output: () => out,
    stop,
    start: launch,
    restart: async () => {
      await stop();
      await launch();
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
