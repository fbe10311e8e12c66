// Which OPC UA servers the plant trusts (issue 11 item 15). The project keeps its own PKI under
// its data folder (`DATA/pki/opcua`, node-opcua's layout: own/, trusted/, rejected/), never the
// shared store in the home folder, and pins each endpoint to the SHA-1 thumbprint of its server
// certificate in `DATA/pki/opcua/servers.json`:
//
//   {"servers": {"opc.tcp://10.0.0.5:4840": {"thumbprint": "3f2a…", "trusted": "2026-12-03T07:30:00.000Z", "how": "first use"}}}
//
// An endpoint without an entry is trusted on first use: its thumbprint is written there (and
// the connector logs it and records it on its `avail` record). An endpoint with an entry is
// trusted only with that certificate; `thumbprint` may also be a list (a planned rotation), and
// an operator may write entries before the first connection (an explicit trust list). A
// different certificate is refused, with a message naming both thumbprints and how to trust the
// new one. The file is read again on every connection attempt: an edit takes effect on the next
// retry, without a restart. A servers.json that cannot be read refuses every server (fail safe).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export const TRUST_FILE = "servers.json";

/** The PKI folder of a data folder. */
export function pkiFolder(dataDir: string): string {
  return join(dataDir, "pki", "opcua");
}

/** The first certificate of a DER chain (certificates concatenated, as OPC UA sends them). */
export function firstCertificate(der: Uint8Array): Uint8Array {
  if (der.length < 2 || der[0] !== 0x30) return der;
  let len = der[1]!;
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[2 + i] ?? 0);
    off = 2 + n;
  }
  return der.subarray(0, Math.min(der.length, off + len));
}

/** SHA-1 thumbprint of a certificate (the OPC UA thumbprint), lower-case hex. */
export function thumbprint(certificate: Uint8Array): string {
  return createHash("sha1").update(firstCertificate(certificate)).digest("hex");
}

/** "3F:2A:…", "3f2a…", "3f 2a …" → "3f2a…" */
function normalize(t: string): string {
  return t.replace(/[\s:]/g, "").toLowerCase();
}

export type TrustDecision =
  | { ok: true; thumbprint: string; firstUse: boolean }
  | { ok: false; thumbprint: string; message: string };

interface Entry {
  thumbprint: string | string[];
  trusted?: string;
  how?: string;
}

export class ServerTrust {
  readonly file: string;
  constructor(readonly pkiDir: string) {
    this.file = join(pkiDir, TRUST_FILE);
  }

  private read(): { servers: Record<string, Entry> } | string {
    if (!existsSync(this.file)) return { servers: {} };
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.file, "utf8"));
    } catch (e) {
      return `${this.file} is not valid JSON (${(e as Error).message})`;
    }
    const servers = (raw as { servers?: unknown } | null)?.servers;
    if (typeof servers !== "object" || servers === null || Array.isArray(servers)) return `${this.file}: expected {"servers": {"opc.tcp://…": {"thumbprint": "…"}}}`;
    return { servers: servers as Record<string, Entry> };
  }

  /** The verdict for a server certificate offered by an endpoint; pins it on first use. */
  decide(endpoint: string, certificate: Uint8Array, nowIso: string): TrustDecision {
    const tp = thumbprint(certificate);
    const how = `if this certificate is expected, trust it: set "thumbprint": "${tp}" for "${endpoint}" in ${this.file} (or delete that entry to trust the next certificate on first use); the refused certificate is in ${join(this.pkiDir, "rejected")}`;
    const doc = this.read();
    if (typeof doc === "string") return { ok: false, thumbprint: tp, message: `refusing the server certificate of ${endpoint} (thumbprint ${tp}): ${doc}` };
    const entry = doc.servers[endpoint];
    if (entry !== undefined) {
      const pinned = (Array.isArray(entry.thumbprint) ? entry.thumbprint : [entry.thumbprint]).filter((t): t is string => typeof t === "string").map(normalize);
      if (pinned.includes(tp)) return { ok: true, thumbprint: tp, firstUse: false };
      return {
        ok: false,
        thumbprint: tp,
        message: `refusing ${endpoint}: its server certificate changed: thumbprint ${tp}, trusted ${pinned.join(" or ") || "(none)"}${entry.trusted ? ` since ${entry.trusted}` : ""}; no session, no command is sent; ${how}`,
      };
    }
    doc.servers[endpoint] = { thumbprint: tp, trusted: nowIso, how: "first use" };
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(doc, null, 2) + "\n");
    renameSync(tmp, this.file);
    return { ok: true, thumbprint: tp, firstUse: true };
  }
}
