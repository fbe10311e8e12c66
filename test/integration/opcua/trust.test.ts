// Issue 11 item 15: SignAndEncrypt authenticates the server. Real node-opcua servers, each with
// its own certificate (its own PKI folder): the project's PKI lives under the data folder, the
// first server's certificate is trusted on first use (pinned, logged, recorded on the avail
// record), a server with another certificate on the same endpoint is refused and gets no
// command, and trusting its thumbprint in servers.json lets it in on the next retry.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import type { IrProgram } from "../../../compiler/ir/types.js";
import { opcuaConnector } from "../../../runtime/connectors/opcua.js";
import { ServerTrust, thumbprint } from "../../../runtime/connectors/opcua-trust.js";
import type { CommandToDispatch } from "../../../runtime/connectors/types.js";
import { startDevice, type Device } from "./device.js";
import { fakeCtx, millProgram, waitFor } from "./harness.js";

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!().catch(() => undefined);
});

function stopCommand(ir: IrProgram, id: string): CommandToDispatch {
  const cmd = ir.models[0]!.commands.find((c) => c.name === "stop")!;
  const binding = ir.assets[0]!.sources[0]!.bindings.find((b) => b.direction === "command" && b.target === "stop")!;
  return { command: "stop", args: {}, params: cmd.params, correlationId: id, binding };
}

/** The SHA-1 thumbprint of the certificate a device serves, read from its own PKI folder. */
function deviceThumbprint(pkiDir: string): string {
  const dir = join(pkiDir, "own", "certs");
  const pem = readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith(".pem"))!), "utf8");
  const der = Buffer.from(pem.split("-----BEGIN CERTIFICATE-----")[1]!.split("-----END CERTIFICATE-----")[0]!.replace(/\s+/g, ""), "base64");
  return createHash("sha1").update(der).digest("hex");
}

async function device(port = 0): Promise<{ dev: Device; pki: string }> {
  const pki = mkdtempSync(join(tmpdir(), "ofl-opcua-server-pki-"));
  const dev = await startDevice({ port, pkiDir: pki, temperature: 30 });
  stops.push(() => dev.stop());
  return { dev, pki };
}

describe("opcua SignAndEncrypt: the server is authenticated", () => {
  test("trust on first use; a server with another certificate is refused and gets no command; trusting its thumbprint lets it in", async () => {
    const data = mkdtempSync(join(tmpdir(), "ofl-opcua-trust-data-"));
    const pkiDir = join(data, "pki", "opcua");
    const trustFile = join(pkiDir, "servers.json");
    const sourceArgs = `, security: "SignAndEncrypt", policy: "Basic256Sha256"`;

    // first run: the first server, trusted on first use
    const a = await device();
    const tpA = deviceThumbprint(a.pki);
    const ir = millProgram(a.dev.endpoint, { sourceArgs });
    const first = fakeCtx(ir, "mill", {}, undefined, data);
    const c1 = opcuaConnector(first.ctx);
    stops.push(() => c1.stop());
    await c1.start();
    await waitFor("temperature", () => first.of("temperature").length > 0);
    expect(first.logs.join("\n")).toContain(`trusted on first use: server certificate thumbprint ${tpA}, pinned in ${trustFile}`);
    expect(first.logs.find((l) => l.includes(" connected ("))).toContain(`security SignAndEncrypt/Basic256Sha256, server certificate ${tpA}`);
    expect(first.of("avail")[0]).toMatchObject({ VALUE: "AVAILABLE", attributes: { server_thumbprint: tpA } });
    expect(JSON.parse(readFileSync(trustFile, "utf8")).servers[a.dev.endpoint]).toMatchObject({ thumbprint: tpA, how: "first use" });
    // the project's own PKI: the client certificate is under the data folder
    expect(existsSync(join(pkiDir, "own", "certs", "client_certificate.pem"))).toBe(true);
    expect((await c1.dispatch(stopCommand(ir, "run1-stop"))).status).toBe("completed");
    expect(a.dev.calls.map((c) => c.method)).toEqual(["Stop"]);
    await c1.stop();
    const port = a.dev.port;
    await a.dev.stop();

    // second run: another server on the same endpoint, with another certificate
    const b = await device(port);
    const tpB = deviceThumbprint(b.pki);
    expect(tpB).not.toBe(tpA);
    const second = fakeCtx(ir, "mill", {}, undefined, data);
    const c2 = opcuaConnector(second.ctx);
    stops.push(() => c2.stop());
    await c2.start();
    expect(second.of("avail").map((v) => v.VALUE)).toEqual(["UNAVAILABLE"]);
    const refusal = second.logs.find((l) => l.includes(" error: "));
    expect(refusal).toContain(`refusing ${a.dev.endpoint}: its server certificate changed: thumbprint ${tpB}, trusted ${tpA} since `);
    expect(refusal).toContain(`set "thumbprint": "${tpB}" for "${a.dev.endpoint}" in ${trustFile}`);
    expect(c2.status()).toMatchObject({ connected: false });
    expect(c2.status().detail).toContain(`thumbprint ${tpB}`);
    const refused = await c2.dispatch(stopCommand(ir, "run2-stop"));
    expect(refused.status).toBe("failed");
    expect(refused.reason).toContain(`not connected to ${a.dev.endpoint}`);
    // the refused certificate is kept for inspection; the pin is unchanged
    expect(readdirSync(join(pkiDir, "rejected")).length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(trustFile, "utf8")).servers[a.dev.endpoint].thumbprint).toBe(tpA);
    // it keeps retrying, and keeps refusing: wait for a later attempt (the status line says so)
    await waitFor("a retry", () => /retrying in \d+ ms/.test(c2.status().detail), 15_000);
    expect(second.values().filter((v) => v.ID !== "avail")).toEqual([]);
    expect(b.dev.calls).toEqual([]);
    expect(b.dev.server.currentSessionCount).toBe(0);
    expect(second.logs.filter((l) => l.includes(" error: ")).length).toBe(1); // once per thumbprint, not per retry

    // the operator trusts the new certificate as the message says: next retry connects
    const doc = JSON.parse(readFileSync(trustFile, "utf8"));
    doc.servers[a.dev.endpoint].thumbprint = tpB;
    writeFileSync(trustFile, JSON.stringify(doc));
    await waitFor("AVAILABLE after trusting", () => second.of("avail").at(-1)?.VALUE === "AVAILABLE", 20_000);
    expect(second.of("avail").at(-1)).toMatchObject({ attributes: { server_thumbprint: tpB } });
    expect((await c2.dispatch(stopCommand(ir, "run2-stop-2"))).status).toBe("completed");
    expect(b.dev.calls.map((c) => c.method)).toEqual(["Stop"]);
  }, 90_000);
});

describe("ServerTrust (servers.json)", () => {
  const certA = Buffer.from("30030201" + "01", "hex"); // a DER SEQUENCE (not a real certificate: the pin only hashes it)
  const certB = Buffer.from("30030201" + "02", "hex");
  test("first use pins; the same certificate passes; another is refused; a list allows a rotation", () => {
    const dir = mkdtempSync(join(tmpdir(), "ofl-trust-"));
    const t = new ServerTrust(dir);
    expect(t.decide("opc.tcp://x:4840", certA, "2026-12-03T07:00:00.000Z")).toEqual({ ok: true, thumbprint: thumbprint(certA), firstUse: true });
    expect(t.decide("opc.tcp://x:4840", certA, "2026-12-03T07:01:00.000Z")).toEqual({ ok: true, thumbprint: thumbprint(certA), firstUse: false });
    const no = t.decide("opc.tcp://x:4840", certB, "2026-12-03T07:02:00.000Z");
    expect(no.ok).toBe(false);
    // another endpoint is pinned on its own
    expect(t.decide("opc.tcp://y:4840", certB, "2026-12-03T07:02:00.000Z").ok).toBe(true);
    // an explicit list, written by an operator in any thumbprint notation
    const colon = (h: string): string => h.toUpperCase().match(/../g)!.join(":");
    writeFileSync(t.file, JSON.stringify({ servers: { "opc.tcp://x:4840": { thumbprint: [colon(thumbprint(certA)), colon(thumbprint(certB))] } } }));
    expect(t.decide("opc.tcp://x:4840", certB, "2026-12-03T07:03:00.000Z").ok).toBe(true);
    // a new endpoint is still trusted on first use; the explicit entries are kept
    expect(t.decide("opc.tcp://z:4840", certA, "2026-12-03T07:03:00.000Z").ok).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(t.file, "utf8")).servers).sort()).toEqual(["opc.tcp://x:4840", "opc.tcp://z:4840"]);
  });
  test("a servers.json that cannot be read refuses every server (fail safe)", () => {
    const dir = mkdtempSync(join(tmpdir(), "ofl-trust-"));
    const t = new ServerTrust(dir);
    writeFileSync(t.file, "{not json");
    const d = t.decide("opc.tcp://x:4840", certA, "2026-12-03T07:00:00.000Z");
    expect(d).toMatchObject({ ok: false });
    expect(d.ok === false && d.message).toMatch(/servers\.json is not valid JSON/);
    expect(readFileSync(t.file, "utf8")).toBe("{not json");
  });
});
