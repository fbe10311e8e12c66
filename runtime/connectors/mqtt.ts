// The MQTT source (language spec §4.2): `mqtt(url, user?, password?, qos?)` with telemetry
// bindings `topic(filter, json?: path, time?: path)` and command bindings `publish(topic)`.
//
// - Reading: one subscription per distinct filter (QoS 1, or the source's `qos`), made again on
//   every (re)connection. A message is matched against every telemetry binding's filter (`+`, `#`),
//   and each binding it matches gets its record. VALUE is the payload text, or the value at the
//   binding's `json` path; the event time is the value at its `time` path (ISO-8601 text or epoch
//   ms), else the receive time `ctx.now()`.
// - Bad input is never dropped: a payload that is not JSON (with a `json` path), or a path that
//   does not resolve, still gives a record whose VALUE is the raw payload text (and
//   `attributes.error` says what went wrong), which the engine dead-letters when it does not parse
//   as the declared type; the problem is also reported through ctx.log (rate-limited). A `time`
//   value that is not a time is written as it is in `attributes.timestamp`, so the engine
//   dead-letters the record (`bad_json`) with the original.
// - Nothing acknowledged is lost: a persistent session (`clean: false`) under a stable client id
//   (derived from the asset, the source and its filters), so QoS 1 messages published while the
//   plant is down wait at the broker; the PUBACK of a message leaves only once the batch holding
//   its records is durable on the log (`ctx.emit`'s promise). A message the broker redelivers
//   (DUP set) after a crash whose records are already on the log is recognised by its packet id
//   and payload hash (`attributes.mqtt_id` on its first record) and acknowledged, not appended again.
// - Availability: `avail` AVAILABLE on connect, UNAVAILABLE when the connection is lost (and on
//   stop); reconnection with exponential backoff (default 0.5 s doubling to 5 s).
// - Commands: `publish(topic)` sends `{"command", "arguments", "correlation_id"}` at QoS 1 (2 when
//   the source says so). Completed when the broker acknowledges; failed when not connected, when
//   the connection is lost before the acknowledgement, or after `ackTimeoutMs`. Never queued,
//   never resent (at most once): a command that is not acknowledged is failed and forgotten.
// - Secrets: `user`/`password` (usually `env(...)`) and credentials in the URL are never logged;
//   every log line and error message is scrubbed of them.
import { createHash } from "node:crypto";
import mqtt from "mqtt";
import type { IClientOptions, MqttClient } from "mqtt";
import type { IrArg, IrBinding, IrTelemetry } from "../../compiler/ir/types.js";
import { isSampleType } from "../engine/values.js";
import { ASSETS_TOPIC, availValue, isoTime, parseTime } from "../wire/records.js";
import type { AssetValue, NewRecord } from "../wire/types.js";
import { COPY_LIMIT, textExcerpt } from "../wire/excerpt.js";
import { compileJsonPath, evalJsonPath, valueAsText, type JsonPath } from "./jsonpath.js";
import type { CommandToDispatch, Connector, ConnectorContext, ConnectorFactory, ConnectorStatus, DispatchResult } from "./types.js";
import { dispatchingAtMostOnce } from "./atMostOnce.js";

export interface MqttConnectorOptions {
  /** first reconnection delay, ms (doubled after each failed attempt) */
  minBackoffMs?: number;
  /** the largest reconnection delay, ms */
  maxBackoffMs?: number;
  /** a command not acknowledged by the broker within this time fails, ms */
  ackTimeoutMs?: number;
  /** how long stop() waits for a graceful DISCONNECT, ms */
  stopTimeoutMs?: number;
  /** at most one repeated warning of a kind per binding in this interval, ms */
  warnIntervalMs?: number;
  /** CONNECT timeout of one attempt, ms */
  connectTimeoutMs?: number;
}

/** values at a json path nested deeper than this are not converted (a bad record, not a crash) */
const MAX_DEPTH = 64;

/** Whether a JSON value is nested more than `limit` levels (iterative: no stack overflow). */
function nestedDeeperThan(v: unknown, limit: number): boolean {
  if (typeof v !== "object" || v === null) return false;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (d > limit) return true;
    for (const c of Object.values(x as object)) if (typeof c === "object" && c !== null) stack.push([c, d + 1]);
  }
  return false;
}

/** how many recent QoS > 0 message ids are remembered to recognise redeliveries */
const SEEN_LIMIT = 5000;

const DEFAULTS: Required<MqttConnectorOptions> = {
  minBackoffMs: 500,
  maxBackoffMs: 5000,
  ackTimeoutMs: 10_000,
  stopTimeoutMs: 2000,
  warnIntervalMs: 60_000,
  connectTimeoutMs: 5000,
};

// ---------------------------------------------------------------------------------------------
// Topic filters (MQTT 3.1.1 §4.7)

/** Checks a subscription filter; returns a problem or null. */
export function filterProblem(filter: string): string | null {
  if (filter.length === 0) return "an empty topic filter";
  const levels = filter.split("/");
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes("#") && (l !== "#" || i !== levels.length - 1)) return "`#` must be a whole level, and the last one";
    if (l.includes("+") && l !== "+") return "`+` must be a whole level";
  }
  return null;
}

/** Whether a topic name matches a subscription filter (`+` one level, `#` the rest, `$…` topics not by a leading wildcard). */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f = filter.split("/");
  const t = topic.split("/");
  if (topic.charCodeAt(0) === 36 /* $ */ && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    const fl = f[i]!;
    if (fl === "#") return true; // also matches the parent level: `a/#` matches `a`
    if (i >= t.length) return false;
    if (fl !== "+" && fl !== t[i]) return false;
  }
  return f.length === t.length;
}

// ---------------------------------------------------------------------------------------------
// Secrets

/** Replaces every occurrence of each secret in a text. */
function scrubber(secrets: string[]): (s: string) => string {
  const list = [...new Set(secrets.filter((x) => x.length > 0))].sort((a, b) => b.length - a.length);
  // also their URL-encoded forms (they may appear inside a URL)
  for (const x of [...list]) {
    const enc = encodeURIComponent(x);
    if (enc !== x) list.push(enc);
  }
  if (list.length === 0) return (s) => s;
  return (s) => {
    let out = s;
    for (const x of list) out = out.split(x).join("***");
    return out;
  };
}

/** A broker URL without credentials, query or fragment: `mqtt://host:1883`. */
function displayUrl(url: URL): string {
  const port = url.port ? `:${url.port}` : "";
  const path = url.pathname && url.pathname !== "/" ? url.pathname : "";
  return `${url.protocol}//${url.hostname.includes(":") && !url.hostname.startsWith("[") ? `[${url.hostname}]` : url.hostname}${port}${path}`;
}

// ---------------------------------------------------------------------------------------------
// Bindings

interface TelemetryBinding {
  target: string;
  filter: string;
  json: JsonPath | null;
  time: JsonPath | null;
  tag: string;
  type: "Samples" | "Events";
}

function named(b: { named: Record<string, IrArg>; positional: IrArg[] }, name: string, index: number): IrArg | undefined {
  const v = b.named[name];
  return v !== undefined ? v : b.positional[index];
}

// ---------------------------------------------------------------------------------------------

interface Pending {
  settle(r: DispatchResult): void;
  cb: (err?: Error) => void;
}

export function createMqttConnector(options: MqttConnectorOptions = {}): ConnectorFactory {
  const opt = { ...DEFAULTS, ...options };
  return dispatchingAtMostOnce((ctx) => new MqttConnector(ctx, opt));
}

export const mqttConnector: ConnectorFactory = createMqttConnector();

class MqttConnector implements Connector {
  private client: MqttClient | null = null;
  private url: URL | null = null;
  private display = "mqtt";
  private scrub: (s: string) => string = (s) => s;
  private username: string | undefined;
  private password: string | undefined;
  private qos: 0 | 1 | 2 = 1;
  private bindings: TelemetryBinding[] = [];
  private filters: string[] = [];
  /** topic name → the bindings it matches (bounded cache) */
  private matchCache = new Map<string, TelemetryBinding[]>();
  private subscribed = 0;
  private connected = false;
  /** last avail value emitted: null before any */
  private available: boolean | null = null;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempts = 0;
  private lastError = "";
  private pending = new Set<Pending>();
  private queue: NewRecord[] = [];
  private flushScheduled = false;
  private warned = new Map<string, { last: number; suppressed: number }>();
  /** PUBACKs held until the records of their messages are durable (packet ids, in order) */
  private heldAcks: number[] = [];
  /** the durability promise of the last batch handed to the runtime */
  private lastEmit: Promise<void> = Promise.resolve();
  /** bumped on every connection: held PUBACKs of an old connection are never sent on a new one */
  private generation = 0;
  /** set when the runtime could not make a batch durable: nothing is acknowledged after that */
  private refused = false;
  /** packet id → payload hash of recent durable QoS > 0 messages (to drop redeliveries) */
  private seen = new Map<number, string>();
  /** set on connection until the first message that is not a redelivery of one already taken */
  private redelivering = false;
  /** redelivered messages recognised as already on the log */
  redeliveredDuplicates = 0;

  constructor(
    private readonly ctx: ConnectorContext,
    private readonly opt: Required<MqttConnectorOptions>,
  ) {}

  // ------------------------------------------------------------------ configuration

  private configure(): void {
    const ctx = this.ctx;
    const src = ctx.source;
    const where = `${ctx.asset.name}: mqtt source`;
    const secretArg = (name: string, index: number): string | undefined => {
      const a = named(src, name, index);
      if (a === undefined || a === null) return undefined;
      const v = ctx.arg(a);
      if (typeof a === "object" && "env" in a && (v === undefined || v === null || v === "")) {
        throw new Error(`${where}: the environment variable ${a.env} (${name}) is not set`);
      }
      return v === undefined || v === null ? undefined : String(v);
    };
    this.username = secretArg("user", 1);
    this.password = secretArg("password", 2);
    const rawUrl = ctx.arg(named(src, "url", 0));
    if (typeof rawUrl !== "string" || rawUrl.length === 0) throw new Error(`${where}: no broker URL`);
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw new Error(`${where}: the broker URL is not a URL`);
    }
    const urlUser = url.username ? decodeURIComponent(url.username) : undefined;
    const urlPass = url.password ? decodeURIComponent(url.password) : undefined;
    if (this.username === undefined) this.username = urlUser;
    if (this.password === undefined) this.password = urlPass;
    url.username = "";
    url.password = "";
    this.scrub = scrubber([this.password ?? "", urlPass ?? "", ...(typeof named(src, "user", 1) === "object" ? [this.username ?? ""] : [])]);
    if (!["mqtt:", "mqtts:", "tcp:", "ssl:", "tls:", "ws:", "wss:"].includes(url.protocol)) {
      throw new Error(`${where}: unsupported URL scheme ${JSON.stringify(url.protocol)} (mqtt://, mqtts://, ws://, wss://)`);
    }
    this.url = url;
    this.display = displayUrl(url);
    const q = ctx.arg(named(src, "qos", 3));
    if (q !== undefined && q !== null) {
      if (q !== 0 && q !== 1 && q !== 2) throw new Error(`${where}: qos must be 0, 1 or 2 (got ${JSON.stringify(q)})`);
      this.qos = q;
    }

    const tel = new Map<string, IrTelemetry>(ctx.model.telemetry.map((t) => [t.name, t]));
    const filters = new Set<string>();
    for (const b of src.bindings) {
      if (b.direction !== "telemetry") continue;
      const bw = `${ctx.asset.name}.${b.target} <- ${b.fn}(…)`;
      if (b.fn !== "topic") throw new Error(`${bw}: an mqtt source reads telemetry with topic(filter, json?, time?)`);
      const filter = ctx.arg(named(b, "filter", 0));
      if (typeof filter !== "string") throw new Error(`${bw}: the topic filter must be a string`);
      const problem = filterProblem(filter);
      if (problem) throw new Error(`${bw}: invalid topic filter ${JSON.stringify(filter)}: ${problem}`);
      const path = (name: string, index: number): JsonPath | null => {
        const p = ctx.arg(named(b, name, index));
        if (p === undefined || p === null) return null;
        try {
          return compileJsonPath(String(p));
        } catch (e) {
          throw new Error(`${bw}: ${(e as Error).message}`);
        }
      };
      const t = tel.get(b.target);
      const numeric = t !== undefined && isSampleType(t.type);
      const unit = t && "unit" in t.type ? t.type.unit : undefined;
      this.bindings.push({
        target: b.target,
        filter,
        json: path("json", 1),
        time: path("time", 2),
        tag: numeric && unit ? unit : b.target,
        type: numeric ? "Samples" : "Events",
      });
      filters.add(filter);
    }
    this.filters = [...filters];
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.client || this.stopped) return;
    this.configure();
    const url = this.url!;
    this.seedSeen();
    const clientOpts: IClientOptions = {
      // a persistent session: what is published while the plant is down waits at the broker
      clean: false,
      clientId: this.clientId(),
      // reconnection is ours (exponential backoff); mqtt.js then also fails in-flight
      // publishes on a forced clean-up instead of keeping them for a resend
      reconnectPeriod: 0,
      connectTimeout: this.opt.connectTimeoutMs,
      resubscribe: false,
      queueQoSZero: false,
      log: () => {},
    };
    if (this.username !== undefined) clientOpts.username = this.username;
    if (this.password !== undefined) clientOpts.password = this.password;
    const brokerUrl = `${url.protocol}//${url.host}${url.pathname && url.pathname !== "/" ? url.pathname : ""}`;
    let firstOutcome: (() => void) | null = null;
    const started = new Promise<void>((resolve) => (firstOutcome = resolve));
    const client = mqtt.connect(brokerUrl, clientOpts);
    this.client = client;
    this.holdPubacks(client);
    client.on("connect", (connack) => {
      // no Nagle: a command written just after a PUBACK would otherwise wait for the broker's
      // delayed TCP ACK (~40 ms on Linux) before it leaves (bench/control-under-load.mjs)
      (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      this.onConnect(connack?.sessionPresent === true);
      firstOutcome?.();
      firstOutcome = null;
    });
    client.on("close", () => {
      this.onClose();
      firstOutcome?.();
      firstOutcome = null;
    });
    client.on("error", (err) => this.onError(err));
    client.on("message", (topic, payload, packet) => this.onMessage(topic, payload, packet.qos > 0 ? packet.messageId : undefined, packet.dup === true));
    // resolves once connected, or once the first attempt failed (it keeps retrying on its own)
    await started;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.failPending("the connector stopped before the broker acknowledged the command");
    if (this.available === true) this.setAvailable(false);
    this.flush();
    const client = this.client;
    if (!client) return;
    // the last batch's PUBACKs leave before the DISCONNECT once it is durable (else the broker
    // redelivers those messages on the next start, which are then recognised and not appended)
    await Promise.race([this.lastEmit.catch(() => {}), new Promise((r) => setTimeout(r, this.opt.stopTimeoutMs).unref())]);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => client.end(true, {}, () => resolve()), this.opt.stopTimeoutMs);
      client.end(!this.connected, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.connected = false;
  }

  status(): ConnectorStatus {
    const n = this.subscribed;
    const state = this.connected ? "connected" : this.stopped ? "stopped" : this.client ? "disconnected, reconnecting" : "not started";
    return { connected: this.connected, detail: `${this.display} ${state}, ${n} subscription${n === 1 ? "" : "s"}` };
  }

  /**
   * The stable client id of this source: `ofl_<asset uuid>_<hash of asset, source index, URL,
   * filters>`. The same program on the same broker resumes its session after a restart; a
   * changed source (other filters) starts a new one.
   */
  clientId(): string {
    const ctx = this.ctx;
    const index = ctx.asset.sources.indexOf(ctx.source);
    const h = createHash("sha256")
      .update(JSON.stringify([ctx.asset.uuid, index, this.display, [...this.filters].sort(), this.qos]))
      .digest("hex")
      .slice(0, 12);
    return `ofl_${ctx.asset.uuid.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 32)}_${h}`;
  }

  /** Learns the packet ids of the last messages already on the log (a redelivery after a crash is then recognised). */
  private seedSeen(): void {
    const recent = this.ctx.history?.(SEEN_LIMIT) ?? [];
    for (const r of recent) {
      const tag = (r.value as AssetValue | null)?.attributes?.mqtt_id;
      if (typeof tag !== "string") continue;
      const colon = tag.indexOf(":");
      if (colon > 0) this.remember(Number(tag.slice(0, colon)), tag.slice(colon + 1));
    }
  }

  private remember(id: number, hash: string): void {
    this.seen.delete(id);
    this.seen.set(id, hash);
    if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.keys().next().value!);
  }

  /**
   * mqtt.js sends a PUBACK as soon as the 'message' handlers return. Here the PUBACK is held (the
   * client goes on reading) and sent once the batch holding the message's records is durable.
   * mqtt.js has no public hook for this (`customHandleAcks` runs before the message is handled),
   * so its packet writer is wrapped for `puback` packets only.
   */
  private holdPubacks(client: MqttClient): void {
    const c = client as unknown as { _sendPacket: (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]) => void };
    const send = c._sendPacket.bind(client);
    c._sendPacket = (packet, cb, ...rest) => {
      if (packet.cmd !== "puback" || packet.messageId === undefined) return send(packet, cb, ...rest);
      this.heldAcks.push(packet.messageId);
      this.scheduleFlush();
      cb?.(); // the client goes on with the next packet; the PUBACK itself waits
    };
    this.sendPuback = (id) => send({ cmd: "puback", messageId: id });
  }

  private sendPuback: (id: number) => void = () => {};

  /** Sends held PUBACKs (if still on the connection that received the messages) once `durable` resolves. */
  private releaseAcks(ids: number[], durable: Promise<void>): void {
    if (ids.length === 0) return;
    const gen = this.generation;
    durable.then(
      () => {
        if (gen !== this.generation || this.refused || !this.client?.connected) return; // the broker redelivers them
        const stream = this.client.stream as unknown as { cork?: () => void; uncork?: () => void };
        stream.cork?.();
        for (const id of ids) this.sendPuback(id);
        stream.uncork?.();
      },
      () => {
        this.refused = true; // not durable: never acknowledged, the broker keeps the messages
      },
    );
  }

  private onConnect(sessionPresent: boolean): void {
    if (this.stopped) return;
    this.generation++;
    this.heldAcks = [];
    this.redelivering = true;
    this.coalesceAcks();
    this.connected = true;
    this.attempts = 0;
    this.lastError = "";
    this.subscribed = 0;
    this.log("info", `${this.ctx.asset.name}: connected to ${this.display}`);
    this.setAvailable(true);
    const client = this.client!;
    // a resumed session keeps its subscriptions (subscribing again would resend retained messages)
    if (sessionPresent) this.subscribed = this.filters.length;
    else if (this.filters.length > 0) {
      const subs: Record<string, { qos: 0 | 1 | 2 }> = {};
      for (const f of this.filters) subs[f] = { qos: this.qos };
      client.subscribe(subs, (err, granted) => {
        if (err) {
          if (client.connected) this.log("error", `${this.ctx.asset.name}: subscribing on ${this.display} failed: ${this.scrub(err.message)}`);
          return;
        }
        let ok = 0;
        for (const g of granted ?? []) {
          if (g.qos === 128) this.log("error", `${this.ctx.asset.name}: ${this.display} refused the subscription to ${JSON.stringify(g.topic)}`);
          else ok++;
        }
        this.subscribed = ok;
      });
    }
  }

  /**
   * mqtt.js writes one PUBACK per QoS 1 message, each its own syscall. While a burst of incoming
   * data is processed the socket is corked, and uncorked once the event loop has handled it: the
   * acknowledgements of a burst leave in one write (at most one event-loop turn later).
   */
  private coalesceAcks(): void {
    const stream = this.client?.stream as unknown as (NodeJS.ReadableStream & { cork?: () => void; uncork?: () => void; writableCorked?: number }) | undefined;
    if (!stream || typeof stream.cork !== "function" || typeof stream.uncork !== "function") return;
    const marked = stream as unknown as { __oflCork?: boolean };
    if (marked.__oflCork) return;
    marked.__oflCork = true;
    let corked = false;
    stream.on("data", () => {
      if (corked) return;
      corked = true;
      stream.cork!();
      setImmediate(() => {
        corked = false;
        stream.uncork!();
      });
    });
  }

  private onClose(): void {
    this.generation++;
    this.heldAcks = [];
    const wasConnected = this.connected;
    this.connected = false;
    this.subscribed = 0;
    this.failPending("the connection to the broker was lost before it acknowledged the command (it may or may not have reached the broker)");
    if (this.stopped) return;
    if (wasConnected) this.log("warn", `${this.ctx.asset.name}: connection to ${this.display} lost; reconnecting`);
    if (this.available !== false) this.setAvailable(false);
    this.scheduleReconnect();
  }

  private onError(err: Error): void {
    if (this.stopped) return;
    const msg = this.scrub(err.message || String(err));
    if (msg === this.lastError) return; // one line per distinct problem while it lasts
    this.lastError = msg;
    this.log("warn", `${this.ctx.asset.name}: ${this.display}: ${msg}`);
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.stopped) return;
    const delay = Math.min(this.opt.maxBackoffMs, this.opt.minBackoffMs * 2 ** Math.min(this.attempts, 20));
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stopped || !this.client) return;
      this.client.reconnect();
    }, delay);
  }

  private setAvailable(v: boolean): void {
    this.available = v;
    const now = this.ctx.now();
    this.push({ topic: ASSETS_TOPIC, key: this.ctx.asset.uuid, ts: now, value: availValue(v, now) });
    this.flush(); // availability is rare: no reason to wait
  }

  // ------------------------------------------------------------------ records

  private push(r: NewRecord): void {
    this.queue.push(r);
    if (this.queue.length >= 1000) this.flush();
    else this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Hands queued records to the runtime, in arrival order, one batch per event-loop turn, and
   * releases the PUBACKs held so far once that batch (or, with no records, the previous one) is
   * durable. A PUBACK held after its records were handed over waits for the next batch: later,
   * never earlier.
   */
  private flush(): void {
    this.flushScheduled = false;
    const acks = this.heldAcks;
    this.heldAcks = [];
    if (this.queue.length === 0) {
      this.releaseAcks(acks, this.lastEmit);
      return;
    }
    const batch = this.queue;
    this.queue = [];
    let durable: Promise<void>;
    try {
      durable = Promise.resolve(this.ctx.emit(batch));
    } catch (e) {
      durable = Promise.reject(e as Error);
    }
    durable.catch((e: Error) => {
      if (this.stopped && this.refused) return;
      this.refused = true;
      this.log("error", `${this.ctx.asset.name}: the runtime did not take ${batch.length} record(s); their messages are not acknowledged (the broker keeps them): ${this.scrub(e.message)}`);
    });
    this.lastEmit = durable;
    this.releaseAcks(acks, durable);
  }

  /** Every log line goes through here: scrubbed of secrets. */
  private log(level: "info" | "warn" | "error", message: string): void {
    this.ctx.log(level, this.scrub(message));
  }

  private warn(key: string, message: string): void {
    const now = Date.now();
    const w = this.warned.get(key);
    if (w === undefined) {
      this.warned.set(key, { last: now, suppressed: 0 });
      this.log("warn", message);
    } else if (now - w.last >= this.opt.warnIntervalMs) {
      this.log("warn", w.suppressed > 0 ? `${message} (and ${w.suppressed} more like it since the last report)` : message);
      w.last = now;
      w.suppressed = 0;
    } else w.suppressed++;
  }

  private matching(topic: string): TelemetryBinding[] {
    let m = this.matchCache.get(topic);
    if (m === undefined) {
      m = this.bindings.filter((b) => topicMatches(b.filter, topic));
      if (this.matchCache.size >= 10_000) this.matchCache.clear();
      this.matchCache.set(topic, m);
    }
    return m;
  }

  private onMessage(topic: string, payload: Buffer, packetId?: number, dup = false): void {
    if (this.stopped) return;
    try {
      const bindings = this.matching(topic);
      if (bindings.length === 0) return; // a filter the broker matched more widely than we do: not ours
      let tag: string | undefined;
      if (packetId !== undefined) {
        const hash = createHash("sha1").update(topic).update("\0").update(payload).digest("hex").slice(0, 16);
        // Redeliveries of a resumed session come first, before anything new. Some brokers (aedes)
        // do not set DUP on them, so right after a connection a match of id and hash counts too,
        // until the first message that does not match.
        if ((dup || this.redelivering) && this.seen.get(packetId) === hash) {
          this.redeliveredDuplicates++; // already on the log: acknowledged (with the next batch), not appended again
          return;
        }
        this.redelivering = false;
        this.remember(packetId, hash);
        tag = `${packetId}:${hash}`;
      }
      const now = this.ctx.now();
      const text = payload.toString("utf8");
      let parsed = 0; // 0 = not tried, 1 = JSON, -1 = not JSON
      let doc: unknown;
      let parseError = "";
      let receivedIso: string | undefined;
      // the binding whose record holds the whole payload: one without a json path takes it as is
      let rawStoredIn: string | undefined = text.length > COPY_LIMIT ? bindings.find((b) => !b.json)?.target : undefined;
      let payloadHash: string | undefined;
      for (const b of bindings) {
        if ((b.json || b.time) && parsed === 0) {
          try {
            doc = JSON.parse(text);
            parsed = 1;
          } catch (e) {
            parsed = -1;
            parseError = (e as Error).message;
          }
        }
        let value = text;
        let error: string | undefined;
        if (b.json) {
          if (parsed === 1) {
            const r = evalJsonPath(b.json, doc);
            if (!r.found) error = `${b.json.text} does not resolve: ${r.why}`;
            else if (nestedDeeperThan(r.value, MAX_DEPTH)) error = `the value at ${b.json.text} is nested more than ${MAX_DEPTH} levels deep (the limit)`;
            else {
              try {
                value = valueAsText(r.value);
              } catch (e) {
                error = `the value at ${b.json.text} cannot be converted to text (${(e as Error).message})`;
              }
            }
          } else error = `the payload is not JSON (${parseError})`;
        }
        if (error !== undefined && value === text && text.length > COPY_LIMIT) {
          // a large bad payload is stored once, in the first record that carries it; the others
          // carry an excerpt and its hash (and the dead letters an excerpt: wire/excerpt.ts)
          if (rawStoredIn === undefined) rawStoredIn = b.target;
          else value = textExcerpt(text);
        }
        let timestamp: string | undefined;
        if (b.time && parsed === 1) {
          const r = evalJsonPath(b.time, doc);
          if (r.found) {
            try {
              timestamp = deviceTime(r.value);
            } catch (e) {
              timestamp = `(a value that cannot be converted to text: ${(e as Error).message})`; // dead-lettered as bad_json
            }
          }
          else this.warn(`${b.target}/time`, `${this.ctx.asset.name}.${b.target}: time path ${b.time.text} does not resolve on ${topic} (${r.why}); using the receive time`);
        }
        if (timestamp === undefined) timestamp = receivedIso ??= isoTime(now);
        const v: AssetValue = { ID: b.target, VALUE: value, TAG: b.tag, TYPE: b.type, attributes: { timestamp } };
        if (tag !== undefined) {
          v.attributes.mqtt_id = tag; // on the message's first record only
          tag = undefined;
        }
        if (error !== undefined) {
          v.attributes.error = this.scrub(error);
          v.attributes.topic = topic;
          if (text.length > COPY_LIMIT) {
            v.attributes.payload_bytes = payload.length;
            v.attributes.payload_sha256 = (payloadHash ??= createHash("sha256").update(payload).digest("hex"));
            if (value !== text) v.attributes.payload_in = rawStoredIn;
          }
          this.warn(`${b.target}/json`, `${this.ctx.asset.name}.${b.target}: message on ${topic}: ${error}; its raw text is written as the value (dead-lettered unless it parses as the declared type)`);
        }
        this.push({ topic: ASSETS_TOPIC, key: this.ctx.asset.uuid, ts: now, value: v });
      }
    } catch (e) {
      // never let a bad message take the connector down
      this.log("error", `${this.ctx.asset.name}: a message on ${topic} could not be handled: ${this.scrub((e as Error).message)}`);
    }
  }

  // ------------------------------------------------------------------ commands

  private failPending(reason: string): void {
    for (const p of [...this.pending]) {
      p.settle({ status: "failed", reason });
      this.forget(p);
    }
    this.pending.clear();
  }

  dispatch(cmd: CommandToDispatch): Promise<DispatchResult> {
    const b: IrBinding = cmd.binding;
    const failed = (reason: string): Promise<DispatchResult> => Promise.resolve({ status: "failed", reason: this.scrub(reason) });
    if (b.fn !== "publish") return failed(`an mqtt source carries commands with publish(topic), not ${b.fn}(…)`);
    const topic = this.ctx.arg(named(b, "topic", 0));
    if (typeof topic !== "string" || topic.length === 0) return failed("the publish binding has no topic");
    if (topic.includes("+") || topic.includes("#")) return failed(`cannot publish to a topic with wildcards (${topic})`);
    const client = this.client;
    if (this.stopped || !client || !this.connected || !client.connected) return failed(`not connected to the broker ${this.display}`);
    const body = JSON.stringify({ command: cmd.command, arguments: cmd.args, correlation_id: cmd.correlationId });
    const qos = this.qos === 2 ? 2 : 1;
    return new Promise<DispatchResult>((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | null = null;
      const cb = (err?: Error): void => {
        if (err) p.settle({ status: "failed", reason: `the broker did not accept the command: ${err.message}` });
        else p.settle({ status: "completed", result: { topic, qos } });
      };
      const p: Pending = {
        cb,
        settle: (r) => {
          if (done) return;
          done = true;
          if (timer) clearTimeout(timer);
          this.pending.delete(p);
          resolve(r.reason === undefined ? r : { ...r, reason: this.scrub(r.reason) });
        },
      };
      this.pending.add(p);
      timer = setTimeout(() => {
        p.settle({ status: "failed", reason: `the broker did not acknowledge the command within ${this.opt.ackTimeoutMs} ms (it may or may not have reached the broker)` });
        this.forget(p);
      }, this.opt.ackTimeoutMs);
      try {
        client.publish(topic, body, { qos, retain: false }, cb);
      } catch (e) {
        p.settle({ status: "failed", reason: `publishing failed: ${(e as Error).message}` });
        this.forget(p);
      }
    });
  }

  /** Makes sure mqtt.js neither resends a command on reconnection nor keeps its message id busy. */
  private forget(p: Pending): void {
    const client = this.client;
    if (!client) return;
    for (const id of Object.keys(client.outgoing)) {
      if (client.outgoing[Number(id)]?.cb === p.cb) client.removeOutgoingMessage(Number(id));
    }
  }
}

/**
 * A device timestamp as `attributes.timestamp`: ISO-8601 text (normalized to UTC ms), or epoch ms
 * (a number, or a string of digits). Anything else is kept as its text, so that the engine
 * dead-letters the record rather than silently giving it another time.
 */
function deviceTime(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isFinite(v) && Math.abs(v) <= 8.64e15) return isoTime(Math.trunc(v));
    return String(v);
  }
  if (typeof v === "string") {
    const t = parseTime(v);
    // already in the wire's form (what toISOString() writes): keep the text, no re-formatting
    if (t !== null && v.length === 24 && v.charCodeAt(19) === 46 /* . */ && v.charCodeAt(23) === 90 /* Z */) return v;
    if (t !== null && Math.abs(t) <= 8.64e15) return isoTime(t);
    if (/^-?\d{1,16}$/.test(v.trim())) return isoTime(Number(v.trim()));
    return v;
  }
  return valueAsText(v);
}
