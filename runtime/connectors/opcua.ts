// The OPC UA connector (language spec §4.2): `opcua(endpoint, security?, policy?, user?, password?)`
// with `node(id, sampling?, deadband?)` telemetry bindings and `method(object_id, method_id)` /
// `write(node_id)` command bindings. See CONTEXT.md, section "opcua".
//
// One client, one session, one subscription per source; one monitored item per telemetry binding.
// Reconnection is ours, not node-opcua's: a lost connection (socket closed, session closed,
// keep-alive failure, subscription terminated) emits `avail UNAVAILABLE`, drops the client and
// connects a new one with exponential backoff (250 ms doubling, capped at 5 s); once the new
// session and subscription are up, `avail AVAILABLE`, and the new monitored items report fresh
// values. Commands are never retried (at most once): a dispatch without a session fails at once.
//
// Secrets (the password, and the user name when read from the environment) never reach a log
// line, an error or a record: every message passes `scrub`, and node-opcua's own warning/error loggers are
// routed through a process-wide scrubber that knows every secret of every OPC UA source.
import { join } from "node:path";
import { format } from "node:util";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import {
  AttributeIds,
  ClientMonitoredItem,
  DataChangeFilter,
  DataChangeTrigger,
  DataType,
  DeadbandType,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  VariantArrayType,
  coerceNodeId,
  setDebugLogger,
  setErrorLogger,
  setWarningLogger,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type NodeId,
  type StatusCode,
  StatusCodes,
  type UserIdentityInfo,
  type Variant,
} from "node-opcua-client";
import type { IrArg, IrBinding, IrParam, IrTelemetry, IrType } from "../../compiler/ir/types.js";
import { availValue, telemetryValue } from "../wire/records.js";
import { ASSETS_TOPIC, type NewRecord } from "../wire/types.js";
import { pkiFolder, ServerTrust, type TrustDecision } from "./opcua-trust.js";
import type { CommandToDispatch, Connector, ConnectorContext, ConnectorFactory, ConnectorStatus, DispatchResult } from "./types.js";
import { dispatchingAtMostOnce } from "./atMostOnce.js";

/** Sampling interval of a `node(...)` binding without `sampling:` (ms). */
export const DEFAULT_SAMPLING_MS = 100;
/** Reconnection backoff: first delay, and the cap (ms). */
export const BACKOFF_FIRST_MS = 250;
export const BACKOFF_MAX_MS = 5000;
/** How long one connection attempt (connect + session + subscription) may take (ms). */
const ATTEMPT_TIMEOUT_MS = 10_000;
/** How long closing a session and a client may take before we let go of it (ms). */
const CLOSE_TIMEOUT_MS = 2000;
/** How long one method call or write may take before it is reported failed (never retried). */
const CALL_TIMEOUT_MS = 10_000;
/** Correlation ids remembered to refuse a second dispatch (the runtime keeps them across restarts). */

// ---------------------------------------------------------------------------------------------
// Secrets

const allSecrets = new Set<string>();

/** Replaces every known secret (and its URL-encoded form) in a text by `***`. */
export function scrubText(text: string, secrets: Iterable<string> = allSecrets): string {
  let out = text;
  // longest first: a secret containing another is replaced whole
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length === 0) continue;
    out = out.split(s).join("***");
    const enc = encodeURIComponent(s);
    if (enc !== s) out = out.split(enc).join("***");
  }
  return out;
}

const SERVER_CERT_NOISE =
  /^(serverCertificate = |\[NODE-OPCUA-W25\] client's server certificate verification|\s+(clientCertificateManager\.rootDir =|server certificate chain contains|\[\d+\/\d+\] |thumbprint: |issuer: |SKI: |AKI: |validity: |verify that the server certificate))/;

/** per PKI folder: the client certificate exists (created once per data folder: an RSA key, seconds) */
const clientCertificates = new Map<string, Promise<void>>();

let loggersInstalled = false;
/** node-opcua's warnings, errors and debug output, scrubbed, on stderr (they would go to stdout unscrubbed). */
function installScrubbingLoggers(): void {
  if (loggersInstalled) return;
  loggersInstalled = true;
  const print =
    (level: string) =>
    (context: { filename?: string }, ...args: unknown[]): void => {
      const text = scrubText(format(...args));
      // node-opcua's start-up note about Node.js and RSA PKCS#1 v1.5 (W27) concerns only the
      // deprecated policies that encrypt with it (Basic128Rsa15, Basic256); on every start it
      // reads like a fault, so it is dropped
      if (/NODE-OPCUA-W27|security-revert=CVE-2023-46809/.test(text)) return;
      // the first start creates the client's certificate in the data folder's PKI (a second's
      // work, once): "Creating default certificate ... please wait" reads like a fault to a new user
      if (/^Creating default certificate/.test(text)) return;
      // a refused server certificate: node-opcua prints ~13 lines (and the certificate in base64)
      // per attempt; the connector's own error names the thumbprint and how to trust it, once
      if (context?.filename === "client_base_impl" && SERVER_CERT_NOISE.test(text)) return;
      process.stderr.write(`node-opcua ${level} ${context?.filename ?? ""}: ${text}\n`);
    };
  setWarningLogger(print("warning") as never);
  setErrorLogger(print("error") as never);
  // only active when DEBUG names node-opcua files (or ALL); scrubbed all the same
  setDebugLogger(print("debug") as never);
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message.split("\n")[0]!.trim() || e.name;
  return String(e);
}

// ---------------------------------------------------------------------------------------------
// Values: device → wire text

/** Shortest decimal text that reads back as the same 32-bit float. */
function float32Text(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p <= 9; p++) {
    const n = Number(v.toPrecision(p));
    if (Math.fround(n) === v) return String(n);
  }
  return String(v);
}

function int64Text(v: unknown, signed: boolean): string {
  if (Array.isArray(v) && v.length === 2) {
    let b = (BigInt(v[0] >>> 0) << 32n) | BigInt(v[1] >>> 0);
    if (signed && b >= 1n << 63n) b -= 1n << 64n;
    return b.toString();
  }
  return String(v);
}

/** One scalar of a Variant as JS data (for method results) or text. */
function scalarJs(dataType: DataType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (dataType) {
    case DataType.Float:
      return Number(float32Text(v as number));
    case DataType.Int64:
    case DataType.UInt64: {
      const t = int64Text(v, dataType === DataType.Int64);
      const n = Number(t);
      return Number.isSafeInteger(n) ? n : t;
    }
    case DataType.DateTime:
      return v instanceof Date ? v.toISOString() : String(v);
    case DataType.LocalizedText:
      return (v as { text?: string | null }).text ?? null;
    case DataType.QualifiedName:
      return (v as { name?: string | null }).name ?? null;
    case DataType.NodeId:
    case DataType.ExpandedNodeId:
    case DataType.StatusCode:
    case DataType.Guid:
      return String(v);
    case DataType.ByteString:
      return Buffer.isBuffer(v) ? v.toString("base64") : String(v);
    case DataType.Variant:
      return variantJs(v as Variant);
    case DataType.ExtensionObject:
      return typeof (v as { toJSON?: () => unknown }).toJSON === "function" ? (v as { toJSON: () => unknown }).toJSON() : String(v);
    default:
      return v;
  }
}

/** A Variant as plain JSON-able data: numbers, bools, strings, arrays. */
export function variantJs(variant: Variant | null | undefined): unknown {
  if (variant === null || variant === undefined || variant.dataType === DataType.Null) return null;
  if (variant.arrayType !== VariantArrayType.Scalar) {
    const arr = variant.value as ArrayLike<unknown> | null;
    return arr === null || arr === undefined ? null : Array.from(arr, (x) => scalarJs(variant.dataType, x));
  }
  return scalarJs(variant.dataType, variant.value);
}

/**
 * A device value as the wire's VALUE text (wire.md §1): numbers in their shortest JS form (a Float
 * as the shortest text that is the same float), booleans `true`/`false`, strings as they are,
 * enumerations and integers as numbers; null or a bad status → null (the caller writes
 * `UNAVAILABLE`).
 */
export function valueText(dv: Pick<DataValue, "value" | "statusCode">): string | null {
  if (dv.statusCode && dv.statusCode.isBad()) return null;
  const v = dv.value;
  if (v === null || v === undefined || v.dataType === DataType.Null) return null;
  if (v.arrayType !== VariantArrayType.Scalar) return JSON.stringify(variantJs(v));
  const x = v.value;
  if (x === null || x === undefined) return null;
  switch (v.dataType) {
    case DataType.Float:
      return float32Text(x as number);
    case DataType.Int64:
      return int64Text(x, true);
    case DataType.UInt64:
      return int64Text(x, false);
    case DataType.Boolean:
      return x ? "true" : "false";
    case DataType.String:
      return x as string;
    case DataType.Double:
    case DataType.SByte:
    case DataType.Byte:
    case DataType.Int16:
    case DataType.UInt16:
    case DataType.Int32:
    case DataType.UInt32:
      return String(x);
    default: {
      const j = scalarJs(v.dataType, x);
      if (j === null) return null;
      return typeof j === "string" ? j : typeof j === "number" || typeof j === "boolean" ? String(j) : JSON.stringify(j);
    }
  }
}

/** The event time of a data value: its source timestamp, else its server timestamp, else null. */
export function deviceTime(dv: Pick<DataValue, "sourceTimestamp" | "serverTimestamp">): number | null {
  for (const d of [dv.sourceTimestamp, dv.serverTimestamp]) {
    if (d instanceof Date) {
      const t = d.getTime();
      // OPC UA's "no time" is 1601-01-01 (negative here)
      if (Number.isFinite(t) && t > 0) return t;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Values: wire text → device

const BUILTIN_MAX = DataType.DiagnosticInfo; // 25: ns=0;i=1..25 are the built-in types

/** The built-in type of a DataType node id (Argument.dataType, a variable's DataType attribute). */
export function builtinOf(dataType: NodeId | null | undefined): DataType | null {
  if (!dataType || dataType.namespace !== 0 || typeof dataType.value !== "number") return null;
  const id = dataType.value;
  if (id >= 1 && id <= BUILTIN_MAX) return id as DataType;
  switch (id) {
    case 26: // Number
      return DataType.Double;
    case 27: // Integer
      return DataType.Int64;
    case 28: // UInteger
      return DataType.UInt64;
    case 29: // Enumeration
      return DataType.Int32;
    case 290: // Duration
      return DataType.Double;
    case 294: // UtcTime
      return DataType.DateTime;
    default:
      return null;
  }
}

/** The OPC UA type for a parameter when the device does not say (float → Double, int → Int32/Int64…). */
export function defaultDataType(t: IrType, text: string): DataType {
  switch (t.t) {
    case "float":
    case "duration":
      return DataType.Double;
    case "int": {
      const n = Number(text);
      return Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 ? DataType.Int32 : DataType.Int64;
    }
    case "bool":
      return DataType.Boolean;
    case "timestamp":
      return DataType.DateTime;
    default:
      return DataType.String;
  }
}

class ArgError extends Error {}

const INT_RANGES: Partial<Record<DataType, [number, number]>> = {
  [DataType.SByte]: [-128, 127],
  [DataType.Byte]: [0, 255],
  [DataType.Int16]: [-32768, 32767],
  [DataType.UInt16]: [0, 65535],
  [DataType.Int32]: [-2147483648, 2147483647],
  [DataType.UInt32]: [0, 4294967295],
};

/**
 * A wire argument (text) as a value of an OPC UA built-in type. `enumRaw` gives an enum member's
 * device value (from the source's telemetry maps) when the device takes a number.
 */
export function toDeviceValue(text: string, dt: DataType, param: IrParam, enumRaw?: (member: string) => string | undefined): unknown {
  const what = `argument ${param.name}=${text}`;
  let t = text;
  const numeric = (): number => {
    if (param.type.t === "enum" && !/^-?\d+$/.test(t.trim())) {
      const raw = enumRaw?.(t);
      if (raw === undefined) throw new ArgError(`${what}: the device takes ${DataType[dt]} and no map of this source gives ${t}'s device value`);
      t = raw;
    }
    if (param.type.t === "bool") return t === "true" ? 1 : t === "false" ? 0 : NaN;
    return t.trim() === "" ? NaN : Number(t);
  };
  switch (dt) {
    case DataType.Boolean:
      if (t === "true" || t === "1") return true;
      if (t === "false" || t === "0") return false;
      throw new ArgError(`${what} is not a Boolean`);
    case DataType.Double:
    case DataType.Float: {
      const n = numeric();
      if (Number.isNaN(n)) throw new ArgError(`${what} is not a number (device type ${DataType[dt]})`);
      return n;
    }
    case DataType.SByte:
    case DataType.Byte:
    case DataType.Int16:
    case DataType.UInt16:
    case DataType.Int32:
    case DataType.UInt32: {
      const n = numeric();
      const [lo, hi] = INT_RANGES[dt]!;
      if (!Number.isInteger(n) || n < lo || n > hi) throw new ArgError(`${what} is not ${DataType[dt]}`);
      return n;
    }
    case DataType.Int64:
    case DataType.UInt64: {
      numeric();
      let b: bigint;
      try {
        b = BigInt(t.trim());
      } catch {
        throw new ArgError(`${what} is not ${DataType[dt]}`);
      }
      const signed = dt === DataType.Int64;
      if (signed ? b < -(1n << 63n) || b >= 1n << 63n : b < 0n || b >= 1n << 64n) throw new ArgError(`${what} is not ${DataType[dt]}`);
      if (b < 0n) b += 1n << 64n;
      return [Number(b >> 32n), Number(b & 0xffffffffn)];
    }
    case DataType.String:
      return t;
    case DataType.LocalizedText:
      return { text: t };
    case DataType.DateTime: {
      const d = /^-?\d+(\.\d+)?$/.test(t) ? new Date(Number(t)) : new Date(t);
      if (Number.isNaN(d.getTime())) throw new ArgError(`${what} is not a DateTime`);
      return d;
    }
    default:
      throw new ArgError(`${what}: the device takes ${DataType[dt] ?? dt}, which OFL does not send`);
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration

interface Item {
  binding: IrBinding;
  name: string;
  nodeId: string;
  samplingMs: number;
  deadband: number | undefined;
  tag: string;
  type: "Samples" | "Events";
}

function isNumeric(t: IrType | undefined): boolean {
  return t !== undefined && (t.t === "int" || t.t === "float" || t.t === "duration");
}

function parseSecurity(mode: unknown, policy: unknown): { mode: MessageSecurityMode; policy: SecurityPolicy; text: string } {
  const m = mode === undefined || mode === null || mode === "" ? "None" : String(mode);
  const modes: Record<string, MessageSecurityMode> = {
    none: MessageSecurityMode.None,
    sign: MessageSecurityMode.Sign,
    signandencrypt: MessageSecurityMode.SignAndEncrypt,
  };
  const sm = modes[m.toLowerCase().replace(/[^a-z]/g, "")];
  if (sm === undefined) throw new Error(`opcua: unknown security mode "${m}" (None, Sign or SignAndEncrypt)`);
  let sp: SecurityPolicy;
  if (policy === undefined || policy === null || policy === "") {
    sp = sm === MessageSecurityMode.None ? SecurityPolicy.None : SecurityPolicy.Basic256Sha256;
  } else {
    const p = String(policy);
    const name = p.includes("#") ? p.slice(p.lastIndexOf("#") + 1) : p;
    const key = Object.keys(SecurityPolicy).find((k) => k.toLowerCase() === name.toLowerCase() && k !== "Invalid");
    if (key === undefined) throw new Error(`opcua: unknown security policy "${p}"`);
    sp = (SecurityPolicy as unknown as Record<string, SecurityPolicy>)[key]!;
  }
  if ((sm === MessageSecurityMode.None) !== (sp === SecurityPolicy.None)) {
    throw new Error(`opcua: security ${MessageSecurityMode[sm]} cannot use policy ${policyName(sp)}`);
  }
  return { mode: sm, policy: sp, text: sm === MessageSecurityMode.None ? "None" : `${MessageSecurityMode[sm]}/${policyName(sp)}` };
}

function policyName(p: SecurityPolicy): string {
  const s = String(p);
  return s.includes("#") ? s.slice(s.lastIndexOf("#") + 1) : s;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`${what}: no answer after ${ms} ms`)), ms);
      timer.unref?.();
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// The connector

export const opcuaConnector: ConnectorFactory = dispatchingAtMostOnce((ctx: ConnectorContext): Connector => {
  installScrubbingLoggers();
  const named = ctx.source.named;
  const positional = ctx.source.positional;
  // secrets are what the spec marks secret: the password whatever its origin, and the user name
  // when it comes from the environment (as mqtt). Other `env(...)` arguments (the endpoint, the
  // security mode, a node id) are configuration and are shown as they are.
  const secrets = new Set<string>();
  const secret = (r: ReturnType<ConnectorContext["arg"]>): void => {
    if (r === null || r === undefined || String(r) === "") return;
    secrets.add(String(r));
    allSecrets.add(String(r));
  };
  const resolve = (v: IrArg | undefined): ReturnType<ConnectorContext["arg"]> => (v === undefined ? undefined : ctx.arg(v));
  const fromEnv = (v: IrArg | undefined): boolean => v !== null && typeof v === "object" && v !== undefined && "env" in v;
  const scrub = (s: string): string => scrubText(s, secrets);
  const log = (level: "info" | "warn" | "error", msg: string): void => ctx.log(level, scrub(msg));

  /** `env(...)` arguments of the source whose variable is not set */
  const unset: string[] = [];
  for (const v of [...Object.values(named), ...positional]) {
    if (v !== null && typeof v === "object" && "env" in v) {
      const r = ctx.arg(v);
      if (r === undefined || r === null) unset.push(v.env);
    }
  }
  const endpointRaw = resolve(named["endpoint"] ?? positional[0]);
  const securityRaw = resolve(named["security"] ?? positional[1]);
  const policyRaw = resolve(named["policy"] ?? positional[2]);
  const userArg = named["user"] ?? positional[3];
  const userRaw = resolve(userArg);
  const passwordRaw = resolve(named["password"] ?? positional[4]);
  secret(passwordRaw);
  if (fromEnv(userArg)) secret(userRaw);
  const endpoint = endpointRaw === undefined || endpointRaw === null ? "" : String(endpointRaw);
  const label = `opcua ${scrub(endpoint)}`;
  /** what the status says while connected: security, server certificate, monitored items */
  let connectedDetail = "connected";
  // the project's own PKI and server pins, next to the log (opcua-trust.ts)
  const pkiDir = pkiFolder(ctx.dataDir ?? join(process.cwd(), ".ofl", "data"));
  const trust = new ServerTrust(pkiDir);
  const uuid = ctx.asset.uuid;

  const telemetry = new Map<string, IrTelemetry>(ctx.model.telemetry.map((t) => [t.name, t]));
  const items: Item[] = [];
  for (const b of ctx.source.bindings) {
    if (b.direction !== "telemetry") continue;
    const t = telemetry.get(b.target);
    const numeric = isNumeric(t?.type);
    const unit = t && (t.type.t === "int" || t.type.t === "float") ? t.type.unit : undefined;
    const sampling = resolve(b.named["sampling"]);
    const deadband = resolve(b.named["deadband"]);
    items.push({
      binding: b,
      name: b.target,
      nodeId: String(resolve(b.named["id"] ?? b.positional[0]) ?? ""),
      samplingMs: typeof sampling === "number" && sampling >= 0 ? sampling : DEFAULT_SAMPLING_MS,
      deadband: typeof deadband === "number" && deadband > 0 ? deadband : undefined,
      tag: numeric && unit ? unit : b.target,
      type: numeric ? "Samples" : "Events",
    });
  }

  /** enum member → device value, from the source's `map { raw: MEMBER }` of telemetry of that enum */
  const enumRaw = (enumName: string) => (member: string): string | undefined => {
    for (const b of ctx.source.bindings) {
      const t = telemetry.get(b.target);
      if (b.direction !== "telemetry" || !b.map || t?.type.t !== "enum" || t.type.name !== enumName) continue;
      const hit = b.map.find(([, m]) => m === member);
      if (hit) return hit[0];
    }
    return undefined;
  };

  // ------------------------------------------------------------------- connection state

  let stopped = false;
  /** bumped whenever the current client is dropped: events of an older client are ignored */
  let gen = 0;
  let client: OPCUAClient | null = null;
  let session: ClientSession | null = null;
  let subscription: ClientSubscription | null = null;
  let monitored = 0;
  let failures = 0;
  let nextDelay = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let lastError = "";
  /** the thumbprint last refused (logged once per thumbprint, not per retry) */
  let lastRefused: string | null = null;
  let available: boolean | undefined;
  let security: ReturnType<typeof parseSecurity> | undefined;
  /** per session: method input argument types, write node value types */
  let argTypes = new Map<string, Promise<{ dataType: DataType | null; valueRank: number }[] | null>>();
  let nodeTypes = new Map<string, DataType>();
  /** the project PKI's manager for this connector's clients (created by start) */
  let certificates: OPCUACertificateManager | null = null;
  /** the trust verdict on the server certificate of the current attempt */
  let verdict: TrustDecision | null = null;
  /** the thumbprint of the server certificate of the current session (secured sessions) */
  let serverThumbprint: string | null = null;

  /**
   * The project's PKI (DATA/pki/opcua), whose certificate check is the endpoint's pin: node-opcua
   * asks it about the certificate the server offers before it opens a secure channel with it.
   */
  const certificateManager = (): OPCUACertificateManager => {
    if (certificates) return certificates;
    const cm = new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: false });
    cm.referenceCounter++; // each client's disconnect() disposes it once: keep it for the connector's life
    const base = cm.checkCertificate.bind(cm) as (chain: Buffer | Buffer[]) => Promise<StatusCode>;
    const check = async (chain: Buffer | Buffer[]): Promise<StatusCode> => {
      const first = Array.isArray(chain) ? chain[0] : chain;
      if (!first || first.length === 0) return StatusCodes.BadCertificateInvalid;
      const d = trust.decide(endpoint, first, new Date(ctx.now()).toISOString());
      verdict = d;
      if (!d.ok) {
        await cm.rejectCertificate(first).catch(() => undefined);
        return StatusCodes.BadCertificateUntrusted;
      }
      await cm.trustCertificate(first).catch(() => undefined);
      // validity dates, key usage, issuer chain: node-opcua's own checks
      return base(chain);
    };
    (cm as unknown as { checkCertificate: unknown }).checkCertificate = (chain: Buffer | Buffer[], cb?: (e: Error | null, s?: StatusCode) => void) => {
      const p = check(chain);
      if (typeof cb !== "function") return p;
      p.then(
        (s) => cb(null, s),
        (e: Error) => cb(e),
      );
      return undefined;
    };
    certificates = cm;
    return cm;
  };

  /**
   * OFL's client certificate in the project PKI. Created on the first start in a data folder,
   * before the first connection attempt and outside its timeout (key generation takes seconds on
   * a busy machine); node-opcua would otherwise create it inside `connect`.
   */
  const clientCertificate = (): Promise<void> => {
    let p = clientCertificates.get(pkiDir);
    if (p === undefined) {
      const t0 = Date.now();
      const c = OPCUAClient.create({ clientCertificateManager: certificateManager(), endpointMustExist: false });
      p = (c as unknown as { initializeCM(): Promise<void> })
        .initializeCM()
        .then(() => {
          if (Date.now() - t0 > 1000) log("info", `${label}: created OFL's OPC UA client certificate in ${pkiDir} (${Date.now() - t0} ms, once per data folder)`);
        })
        .finally(() => c.disconnect().catch(() => undefined));
      p.catch(() => clientCertificates.delete(pkiDir));
      clientCertificates.set(pkiDir, p);
    }
    return p;
  };

  const record = (value: NewRecord["value"]): NewRecord => ({ topic: ASSETS_TOPIC, key: uuid, ts: ctx.now(), value });

  const setAvailable = (yes: boolean): void => {
    if (available === yes) return;
    available = yes;
    const v = availValue(yes, ctx.now());
    // the server certificate a secured session trusts is on the log: a change is visible there
    if (yes && serverThumbprint !== null) v.attributes.server_thumbprint = serverThumbprint;
    ctx.emit([record(v)]);
  };

  const onData = (g: number, it: Item, dv: DataValue): void => {
    if (g !== gen || stopped) return;
    const text = valueText(dv);
    const now = ctx.now();
    const time = deviceTime(dv) ?? now;
    ctx.emit([{ topic: ASSETS_TOPIC, key: uuid, ts: now, value: telemetryValue(it.name, text ?? "UNAVAILABLE", it.tag, it.type, time) }]);
  };

  const closeQuietly = async (c: OPCUAClient | null, s: ClientSession | null): Promise<void> => {
    if (s) await withTimeout(s.close(true), CLOSE_TIMEOUT_MS, "close session").catch(() => undefined);
    if (c) await withTimeout(c.disconnect(), CLOSE_TIMEOUT_MS, "disconnect").catch(() => undefined);
  };

  /** Drops the current client (if any): its late events are ignored from now on. */
  const drop = (closeSession: boolean): Promise<void> => {
    gen++;
    const c = client;
    const s = session;
    client = null;
    session = null;
    subscription = null;
    monitored = 0;
    argTypes = new Map();
    nodeTypes = new Map();
    return closeQuietly(c, closeSession ? s : null);
  };

  const schedule = (): void => {
    if (stopped || retryTimer !== undefined) return;
    nextDelay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(failures, 10));
    failures++;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void attempt().then((ok) => {
        if (!ok) schedule();
      });
    }, nextDelay);
    retryTimer.unref?.();
  };

  const lost = (g: number, why: string): void => {
    if (g !== gen || stopped) return;
    lastError = scrub(why);
    log("warn", `${label}: ${lastError}; reconnecting`);
    setAvailable(false);
    void drop(false);
    schedule();
  };

  const monitor = async (g: number, sub: ClientSubscription, it: Item): Promise<boolean> => {
    let nodeId: NodeId;
    try {
      nodeId = coerceNodeId(it.nodeId);
    } catch {
      log("error", `${label}: ${it.name}: "${it.nodeId}" is not an OPC UA node id`);
      return false;
    }
    const params = (withFilter: boolean) => ({
      samplingInterval: it.samplingMs,
      queueSize: 100,
      discardOldest: true,
      ...(withFilter && it.deadband !== undefined
        ? {
            filter: new DataChangeFilter({
              trigger: DataChangeTrigger.StatusValue,
              deadbandType: DeadbandType.Absolute,
              deadbandValue: it.deadband,
            }),
          }
        : {}),
    });
    /**
     * The item, or the reason the device refused it. The "changed" listener is attached before
     * the item is created: the initial value may arrive in the same read as the creation answer.
     */
    const create = (withFilter: boolean): Promise<ClientMonitoredItem | string> =>
      new Promise((done) => {
        const timer = setTimeout(() => done(`no answer after ${ATTEMPT_TIMEOUT_MS} ms`), ATTEMPT_TIMEOUT_MS);
        timer.unref?.();
        let ready = false;
        const mi = ClientMonitoredItem.create(sub, { nodeId, attributeId: AttributeIds.Value }, params(withFilter), TimestampsToReturn.Both);
        mi.on("changed", (dv: DataValue) => onData(g, it, dv));
        mi.on("initialized", () => {
          ready = true;
          clearTimeout(timer);
          done(mi);
        });
        mi.on("err", (msg: string) => {
          if (ready && g === gen) log("warn", `${label}: ${it.name}: ${msg}`);
          clearTimeout(timer);
          done(String(msg));
        });
      });
    let mi = await create(true).catch((e: unknown) => errorText(e));
    if (g !== gen) return false;
    if (typeof mi === "string" && it.deadband !== undefined && /filter|deadband/i.test(mi)) {
      log("warn", `${label}: ${it.name}: the device refused deadband ${it.deadband} (${mi}); monitoring without it`);
      mi = await create(false).catch((e: unknown) => errorText(e));
      if (g !== gen) return false;
    }
    if (typeof mi === "string") {
      log("warn", `${label}: ${it.name}: cannot monitor ${it.nodeId}: ${mi}`);
      ctx.emit([record(telemetryValue(it.name, "UNAVAILABLE", it.tag, it.type, ctx.now()))]);
      return false;
    }
    return true;
  };

  /** One connection attempt: client, session, subscription, monitored items. */
  const attempt = async (): Promise<boolean> => {
    if (stopped) return false;
    const g = ++gen;
    const sec = security!;
    verdict = null;
    const c = OPCUAClient.create({
      clientName: `OFL ${uuid}`,
      // the project's PKI, never node-opcua's shared one in the home folder
      clientCertificateManager: certificateManager(),
      endpointMustExist: false,
      securityMode: sec.mode,
      securityPolicy: sec.policy,
      // one try per attempt: the backoff is ours
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      keepSessionAlive: true,
      keepAliveInterval: 5000,
      requestedSessionTimeout: 60_000,
    });
    client = c;
    let s: ClientSession | null = null;
    try {
      await withTimeout(
        (async () => {
          await c.connect(endpoint);
          if (g !== gen) throw new Error("superseded");
          c.on("connection_lost", () => lost(g, "connection lost"));
          c.on("close", () => lost(g, "connection closed"));
          const identity: UserIdentityInfo =
            userRaw !== undefined && userRaw !== null && String(userRaw) !== ""
              ? { type: UserTokenType.UserName, userName: String(userRaw), password: String(passwordRaw ?? "") }
              : { type: UserTokenType.Anonymous };
          s = await c.createSession(identity);
          if (g !== gen) throw new Error("superseded");
          session = s;
          s.on("session_closed", () => lost(g, "session closed by the device"));
          s.on("keepalive_failure", () => lost(g, "the session does not answer (keep-alive failed)"));
          // the fastest binding sets the pace; the device revises it up to its own minimum
          // (node-opcua's client would read 0 as "default": ask for 1 ms instead)
          const publishing = Math.max(1, items.length === 0 ? DEFAULT_SAMPLING_MS : Math.min(...items.map((i) => i.samplingMs)));
          const sub = await s.createSubscription2({
            requestedPublishingInterval: publishing,
            requestedLifetimeCount: 600,
            requestedMaxKeepAliveCount: 20,
            maxNotificationsPerPublish: 0,
            publishingEnabled: true,
            priority: 10,
          });
          if (g !== gen) throw new Error("superseded");
          subscription = sub;
          sub.on("terminated", () => lost(g, "subscription terminated"));
          sub.on("internal_error", (e: Error) => lost(g, `subscription error: ${errorText(e)}`));
        })(),
        ATTEMPT_TIMEOUT_MS,
        "connect",
      );
    } catch (e) {
      // (set by the certificate check, asynchronously: TypeScript's narrowing cannot see it)
      const v = verdict as TrustDecision | null;
      const refused = v !== null && !v.ok ? v : null;
      if (g === gen) {
        lastError = refused ? scrub(refused.message) : scrub(errorText(e));
        client = null;
        session = null;
        subscription = null;
        gen++;
      }
      await closeQuietly(c, s);
      if (stopped) return false;
      if (refused) {
        // refused is logged once per thumbprint offered, as an error: it needs an operator
        if (refused.thumbprint !== lastRefused) log("error", `${label}: ${lastError}`);
        lastRefused = refused.thumbprint;
      } else if (available !== false) log("warn", `${label}: cannot connect: ${lastError}; retrying`);
      setAvailable(false);
      return false;
    }
    // up: the device is available, and the monitored items report fresh values
    failures = 0;
    lastError = "";
    lastRefused = null;
    const trusted = verdict as TrustDecision | null;
    serverThumbprint = trusted !== null && trusted.ok ? trusted.thumbprint : null;
    if (trusted !== null && trusted.ok && trusted.firstUse) {
      log("info", `${label}: trusted on first use: server certificate thumbprint ${trusted.thumbprint}, pinned in ${trust.file}; another certificate will be refused`);
    }
    setAvailable(true);
    const sub = subscription!;
    const ok = await Promise.all(items.map((it) => monitor(g, sub, it).catch(() => false)));
    if (g !== gen) return true; // lost meanwhile: `lost` has scheduled the next attempt
    monitored = ok.filter(Boolean).length;
    connectedDetail = `connected (security ${sec.text}${serverThumbprint ? `, server certificate ${serverThumbprint}` : ""}${userRaw ? ", user identity" : ""}), ${monitored} monitored item${monitored === 1 ? "" : "s"}`;
    log("info", `${label} ${connectedDetail}`);
    return true;
  };

  // ------------------------------------------------------------------- commands

  const inputTypes = (s: ClientSession, methodId: NodeId): Promise<{ dataType: DataType | null; valueRank: number }[] | null> => {
    const key = methodId.toString();
    let p = argTypes.get(key);
    if (p === undefined) {
      p = s
        .getArgumentDefinition(methodId)
        .then((def) => (def.inputArguments ?? []).map((a) => ({ dataType: builtinOf(a.dataType), valueRank: a.valueRank })))
        .catch(() => null);
      argTypes.set(key, p);
    }
    return p;
  };

  const callMethod = async (s: ClientSession, cmd: CommandToDispatch): Promise<DispatchResult> => {
    const objectId = coerceNodeId(String(resolve(cmd.binding.named["object_id"] ?? cmd.binding.positional[0]) ?? ""));
    const methodId = coerceNodeId(String(resolve(cmd.binding.named["method_id"] ?? cmd.binding.positional[1]) ?? ""));
    const declared = await inputTypes(s, methodId);
    if (declared !== null && declared.length !== cmd.params.length) {
      return {
        status: "failed",
        reason: `the device's method takes ${declared.length} argument${declared.length === 1 ? "" : "s"}, command ${cmd.command} has ${cmd.params.length}`,
      };
    }
    const inputArguments = cmd.params.map((p, i) => {
      const text = cmd.args[p.name] ?? "";
      let dt = declared?.[i]?.dataType ?? null;
      if (dt === null || dt === DataType.Variant || dt === DataType.Null) dt = defaultDataType(p.type, text);
      // an enum member goes as its name unless the device asks for a number
      return { dataType: dt, value: toDeviceValue(text, dt, p, p.type.t === "enum" ? enumRaw(p.type.name) : undefined) };
    });
    const res = await withTimeout(s.call({ objectId, methodId, inputArguments }), CALL_TIMEOUT_MS, `call ${methodId.toString()}`);
    if (!res.statusCode.isGood()) {
      const bad = (res.inputArgumentResults ?? [])
        .map((r: StatusCode, i: number) => (r.isGood() ? null : `${cmd.params[i]?.name ?? i}: ${r.name}`))
        .filter((x): x is string => x !== null);
      return { status: "failed", reason: `${statusText(res.statusCode)}${bad.length ? ` (${bad.join(", ")})` : ""}` };
    }
    return { status: "completed", result: (res.outputArguments ?? []).map((v: Variant) => variantJs(v)) };
  };

  const nodeType = async (s: ClientSession, nodeId: NodeId): Promise<DataType | null> => {
    const key = nodeId.toString();
    const known = nodeTypes.get(key);
    if (known !== undefined) return known;
    const dv = await withTimeout(s.read({ nodeId, attributeId: AttributeIds.Value }), CALL_TIMEOUT_MS, `read ${key}`);
    let dt: DataType | null = dv.value && dv.value.dataType !== DataType.Null ? dv.value.dataType : null;
    if (dt === null) {
      const t = await withTimeout(s.read({ nodeId, attributeId: AttributeIds.DataType }), CALL_TIMEOUT_MS, `read ${key}`);
      dt = t.statusCode.isGood() ? builtinOf(t.value.value as NodeId) : null;
    }
    if (dt !== null) nodeTypes.set(key, dt);
    return dt;
  };

  const writeNode = async (s: ClientSession, cmd: CommandToDispatch): Promise<DispatchResult> => {
    const nodeId = coerceNodeId(String(resolve(cmd.binding.named["node_id"] ?? cmd.binding.positional[0]) ?? ""));
    if (cmd.params.length !== 1) {
      return { status: "failed", reason: `write needs a command with exactly one parameter, ${cmd.command} has ${cmd.params.length}` };
    }
    const p = cmd.params[0]!;
    const text = cmd.args[p.name] ?? "";
    const dt = (await nodeType(s, nodeId)) ?? defaultDataType(p.type, text);
    const value = toDeviceValue(text, dt, p, p.type.t === "enum" ? enumRaw(p.type.name) : undefined);
    const sc = await withTimeout(
      s.write({ nodeId, attributeId: AttributeIds.Value, value: { value: { dataType: dt, value } } }),
      CALL_TIMEOUT_MS,
      `write ${nodeId.toString()}`,
    );
    if (!sc.isGood()) return { status: "failed", reason: statusText(sc) };
    return { status: "completed", result: { node_id: nodeId.toString(), value: scalarJs(dt, value) } };
  };

  // ------------------------------------------------------------------- the interface

  return {
    async start(): Promise<void> {
      if (unset.length > 0) throw new Error(`opcua: environment variable ${unset.join(", ")} is not set`);
      if (endpoint === "") throw new Error("opcua: the source has no endpoint");
      if (!/^opc\.tcp:\/\//i.test(endpoint)) throw new Error(scrub(`opcua: the endpoint "${endpoint}" is not an opc.tcp:// URL`));
      if (passwordRaw && !userRaw) throw new Error("opcua: a password needs a user");
      security = parseSecurity(securityRaw, policyRaw);
      stopped = false;
      await clientCertificate().catch((e: Error) => log("error", `${label}: cannot create the client certificate in ${pkiDir}: ${scrub(errorText(e))}`));
      const ok = await attempt();
      if (!ok) schedule();
    },

    async dispatch(cmd: CommandToDispatch): Promise<DispatchResult> {
      const s = session;
      if (stopped) return { status: "failed", reason: "the OPC UA connector is stopped" };
      if (s === null || available !== true) {
        return { status: "failed", reason: `not connected to ${scrub(endpoint)}${lastError ? ` (${lastError})` : ""}` };
      }
      try {
        switch (cmd.binding.fn) {
          case "method":
            return await callMethod(s, cmd);
          case "write":
            return await writeNode(s, cmd);
          default:
            return { status: "failed", reason: `opcua has no command binding ${cmd.binding.fn}` };
        }
      } catch (e) {
        // at most once: a call that may or may not have reached the device is reported, not retried
        return { status: "failed", reason: scrub(errorText(e)) };
      }
    },

    async stop(): Promise<void> {
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
      // the device is no longer observed: its values are unknown from now on
      if (!stopped && available === true) setAvailable(false);
      stopped = true;
      await drop(true);
      const cm = certificates;
      certificates = null;
      if (cm) {
        cm.referenceCounter = 0;
        await cm.dispose().catch(() => undefined);
      }
    },

    status(): ConnectorStatus {
      const ep = scrub(endpoint);
      if (stopped) return { connected: false, detail: `${ep} stopped` };
      if (available === true && session !== null) {
        return { connected: true, detail: `${ep} ${connectedDetail}` };
      }
      const why = lastError ? `: ${lastError}` : "";
      return { connected: false, detail: `${ep} not connected${why}${retryTimer ? `, retrying in ${nextDelay} ms` : ""}` };
    },
  };
});

function statusText(sc: StatusCode): string {
  const desc = sc.description;
  return desc && desc !== sc.name ? `${sc.name}: ${desc}` : sc.name;
}
