// Issue 11 item 15 end to end: `ofl run` (the built command, a child process) against a real
// node-opcua server with SignAndEncrypt, whose certificate changes between two runs. The first
// run trusts the certificate on first use (pinned under the data folder, its thumbprint on the
// log); the second run is refused: no session, and the operator's stop() gets no further than a
// `failed` result. The home folder (HOME of the child) gets no PKI.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { startDevice, type Device } from "../opcua/device.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../..");
const ofl = join(root, "bin/ofl.mjs");
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function thumbprintOf(pkiDir: string): string {
  const dir = join(pkiDir, "own", "certs");
  const pem = readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith(".pem"))!), "utf8");
  const der = Buffer.from(pem.split("-----BEGIN CERTIFICATE-----")[1]!.split("-----END CERTIFICATE-----")[0]!.replace(/\s+/g, ""), "base64");
  return createHash("sha1").update(der).digest("hex");
}

async function device(port = 0): Promise<{ dev: Device; thumbprint: string }> {
  const pki = mkdtempSync(join(tmpdir(), "ofl-run-opcua-server-"));
  const dev = await startDevice({ port, pkiDir: pki });
  cleanup.push(() => dev.stop().catch(() => undefined)); // stopped already by the test, maybe
  return { dev, thumbprint: thumbprintOf(pki) };
}

function run(dir: string, home: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [ofl, "run", dir, "--port", "0", "--clock", "100ms"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOME: home } });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  cleanup.push(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  return { child, output: () => out, exited };
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

describe("ofl run: OPC UA SignAndEncrypt authenticates the server", () => {
  test("first run trusts on first use; the server's certificate changes; the second run refuses it and it gets no command", async () => {
    const a = await device();
    const endpoint = a.dev.endpoint;
    const dir = mkdtempSync(join(tmpdir(), "ofl-run-opcua-trust-"));
    const home = join(dir, "home");
    mkdirSync(home);
    writeFileSync(join(dir, "ofl.json"), '{"name": "secured"}');
    writeFileSync(
      join(dir, "plant.ofl"),
      `model Mill {
  telemetry temperature: float<degC>
  command stop()
}
asset m1: Mill {
  uuid "M-1"
  source opcua("${endpoint}", security: "SignAndEncrypt", policy: "Basic256Sha256") {
    temperature <- node("ns=1;s=Temperature")
    stop        -> method("ns=1;s=Machine", "ns=1;s=Stop")
  }
}
`,
    );
    const trustFile = join(dir, ".ofl/data/pki/opcua/servers.json");

    const first = run(dir, home);
    await until(() => /stop with Ctrl-C/.test(first.output()) && / connected \(security SignAndEncrypt/.test(first.output()), 60_000, () => `run 1 to connect:\n${first.output()}`);
    expect(first.output()).toContain(`trusted on first use: server certificate thumbprint ${a.thumbprint}, pinned in ${trustFile}`);
    const ok = await send(dir, "m1.stop()");
    expect(ok.out).toMatch(/m1\.stop: completed/);
    expect(a.dev.calls.map((c) => c.method)).toEqual(["Stop"]);
    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    const port = a.dev.port;
    await a.dev.stop();

    // the server is replaced: same endpoint, another certificate
    const b = await device(port);
    expect(b.thumbprint).not.toBe(a.thumbprint);
    const second = run(dir, home);
    await until(() => /stop with Ctrl-C/.test(second.output()) && /refusing /.test(second.output()), 60_000, () => `run 2 to refuse:\n${second.output()}`);
    expect(second.output()).toContain(`error: m1 (opcua): opcua ${endpoint}: refusing ${endpoint}: its server certificate changed: thumbprint ${b.thumbprint}, trusted ${a.thumbprint} since `);
    expect(second.output()).toContain(`set "thumbprint": "${b.thumbprint}" for "${endpoint}" in ${trustFile}`);
    const refused = await send(dir, "m1.stop()");
    expect(refused.out).toMatch(/m1\.stop: failed: not connected to /);
    expect(b.dev.calls).toEqual([]);
    second.child.kill("SIGINT");
    expect(await second.exited).toBe(0);

    // the log shows which certificate the plant talked to; nothing was trusted in the home folder
    const log = SqliteLog.open(join(dir, ".ofl/data"), { readonly: true });
    const avail = [...log.read({ topic: "ofa_assets" })].map((r) => r.value as { ID: string; VALUE: string; attributes: Record<string, unknown> }).filter((v) => v.ID === "avail");
    log.close();
    expect(avail.filter((v) => v.VALUE === "AVAILABLE").map((v) => v.attributes.server_thumbprint)).toEqual([a.thumbprint]);
    expect(JSON.parse(readFileSync(trustFile, "utf8")).servers[endpoint].thumbprint).toBe(a.thumbprint);
    expect(existsSync(join(home, ".config", "node-opcua-default-nodejs"))).toBe(false);
  }, 180_000);
});
