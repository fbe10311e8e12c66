// The HTTP API of a running plant (`ofl run`) and its dashboard, bound to 127.0.0.1 by default.
//
//   GET  /                      the dashboard page (runtime/dashboard/, built into dist/dashboard/)
//   GET  /api/health            program, stream time, records, connectors, feed and time-travel counters
//   GET  /api/program           assets, models (units, ranges), views, alarms, commands: no sources
//   GET  /api/state             every asset, view and alarm now (the engine's snapshot), with
//                               freshness, acknowledgements, the latest commands and the log seq
//   GET  /api/state?at=ISO      time travel: the engine's replay of the log up to T, and the
//                               records around T (in a worker thread: timeTravel.ts)
//   GET  /api/range             the first event time on the log, the stream time (the slider)
//   GET  /api/history?asset=A&minutes=N   numeric series of one asset from the log (charts; worker)
//   GET  /api/events[?from=SEQ] server-sent events: every appended record, classified; resumes
//                               from SEQ or the Last-Event-ID header (bounded: FeedOptions)
//   POST /api/command           {asset, command, args:{name:value}} → the verdict and the device's answer
//   POST /api/ack               {asset, alarm} → appends the alarm's ACKNOWLEDGED record
//
// The token: POSTs need it in the header (`Authorization: Bearer TOKEN`), always. On loopback,
// reading is open and the page is served with the token in it (the local user can command). On
// any other address the server refuses to start without a token, and every request, the page
// included, needs it (header, or `?token=` for the page and the event stream, which browsers
// cannot give headers). Every request must name an allowed host (HostCheck: no DNS rebinding),
// a POST with an Origin must come from one, bodies stop at 1 MB. Nothing a viewer does runs on
// this thread for long: time travel and history go to workers, the feed is capped and drops
// clients that do not read. The promises for users: docs/security.md.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { IrCommand, IrProgram, Value } from "../../compiler/ir/types.js";
import { parseTelemetryValue, Rejection, valueText } from "../engine/index.js";
import { DASHBOARD_EXTRA, historyInfo, parseAt, programInfo, Projector, rangeInfo, resumeProjector, stateInfoAt } from "../dashboard/api.js";
import type { FeedEvent, TickMessage } from "../dashboard/protocol.js";
import { operatorCommandRecord } from "../wire/operator.js";
import { alarmValue, ASSETS_TOPIC } from "../wire/records.js";
import type { LogRecord } from "../wire/types.js";
import { SqliteLog } from "../log/sqlite.js";
import type { Plant } from "./plant.js";
import { findWorkerScript, TimeTravel, TimeTravelBusy, type JobResult, type TimeTravelJob, type TimeTravelOptions } from "./timeTravel.js";

export interface ServerOptions {
  host: string;
  port: number;
  token: string;
  /** the built page (index.html, dashboard.js, dashboard.css); default: dist/dashboard */
  dashboardDir?: string;
  /**
   * Host names (beyond the loopback ones) that requests may name in their Host header, e.g. the
   * plant PC's DNS name when listening beyond loopback (`ofl run --allow-host`, ofl.json
   * `"allowedHosts"`). Without them a browser can only reach the plant by IP address.
   */
  allowedHosts?: string[];
  /**
   * Time travel and history (`/api/state?at=`, `/api/history`) run in worker threads over a
   * read-only handle of the log file (a SqliteLog), never on the plant's event loop: how many
   * workers, how many requests may wait (then 503). A log without a file (MemoryLog, tests)
   * is read in-thread.
   */
  timeTravel?: TimeTravelOptions;
  /** the live feed's limits (`/api/events`) */
  feed?: FeedOptions;
}

export interface PlantServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Whether a listen address (or a Host header's name) is loopback: 127.0.0.0/8 literals, `localhost`, `::1`. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost") return true;
  if (isIPv4(h)) return h.startsWith("127.");
  const v6 = h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
  return isIPv6(v6) && normalIPv6(v6) === "::1";
}

/** `::1`, `0:0:0:0:0:0:0:1` → `::1` (the WHATWG URL parser's canonical form). */
function normalIPv6(a: string): string {
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a;
  }
}

/**
 * The names a request may give in its Host header (DNS rebinding: a hostile page whose name
 * resolves to this machine sends its own name, never one of these): loopback literals and
 * `localhost` always; when listening beyond loopback, the address listened on (or, on a wildcard
 * address, every address of this machine); and the names the operator allows.
 */
export class HostCheck {
  private readonly names = new Set<string>();

  constructor(listen: string, allowed: readonly string[] = []) {
    for (const n of allowed) {
      const name = hostName(n.trim().toLowerCase()) ?? hostName(`[${n.trim().toLowerCase()}]`);
      if (name === null || name === "") throw new Error(`allowed host ${JSON.stringify(n)} is not a host name or an IP address`);
      this.names.add(canonical(name));
    }
    const l = listen.toLowerCase();
    if (l === "0.0.0.0" || l === "::" || l === "[::]") {
      for (const list of Object.values(networkInterfaces()))
        for (const a of list ?? []) this.names.add(a.family === "IPv6" ? `[${normalIPv6(a.address.replace(/%.*$/, ""))}]` : a.address);
    } else if (isIPv4(l)) this.names.add(l);
    else if (isIPv6(l)) this.names.add(`[${normalIPv6(l)}]`);
    else this.names.add(l);
  }

  /** Whether a Host header value names this server. */
  allows(header: string | undefined): boolean {
    if (header === undefined) return true; // HTTP/1.0 without Host: no browser, nothing to rebind
    const name = hostName(header.toLowerCase());
    if (name === null) return false;
    return isLoopback(name) || this.names.has(canonical(name));
  }
}

/** The name of a Host header (`name`, `a.b.c.d`, `[v6]`, each with an optional port), or null. */
function hostName(h: string): string | null {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{1,5})?$/.exec(h);
  if (!m) return null;
  const name = m[1]!;
  if (name.startsWith("[") && !isIPv6(name.slice(1, -1))) return null;
  return name;
}

function canonical(name: string): string {
  return name.startsWith("[") ? `[${normalIPv6(name.slice(1, -1))}]` : name;
}

/** The smallest token accepted beyond loopback (`ofl run` makes 32 hex digits). */
const MIN_TOKEN = 16;

/** Thrown when the server would listen beyond loopback without a token. */
export class InsecureBindError extends Error {}

export async function serve(plant: Plant, opts: ServerOptions): Promise<PlantServer> {
  const open = isLoopback(opts.host);
  if (!open && (typeof opts.token !== "string" || opts.token.length < MIN_TOKEN))
    throw new InsecureBindError(`refusing to listen on ${opts.host}: beyond loopback every request needs a token (at least ${MIN_TOKEN} characters)`);
  const hosts = new HostCheck(opts.host, opts.allowedHosts);
  const ctx = new Ctx(plant, opts, open, hosts);
  const server = createServer((req, res) => {
    ctx.handle(req, res).catch((e: Error) => {
      // a fault of the server, not of the request: said on the plant's terminal, not to the client
      process.stderr.write(`ofl run: internal error answering ${req.method} ${(req.url ?? "").split("?")[0]}: ${e.stack ?? e.message}\n`);
      if (!res.headersSent) send(res, 500, { error: "internal error: see the plant's terminal" });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    close: async () => {
      await ctx.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
    },
  };
}

interface Client {
  res: ServerResponse;
  /** the next seq this client needs */
  seq: number;
  /** bytes of its catch-up message it may still have unread beyond the limit (0 once it drained) */
  grace: number;
  /** since when (ms) bytes have been waiting for it without a pause: its socket does not drain */
  stalledSince: number | undefined;
}

/** A non-clock record of the live feed, kept for catch-up; its JSON text made once, when first needed. */
interface FeedEntry {
  seq: number;
  ev: FeedEvent;
  json?: string;
}

export interface FeedOptions {
  /** live-feed clients at once; more are answered 503 (default 100) */
  maxClients?: number;
  /** bytes queued for a client that does not read before it is dropped (default 512 kB) */
  maxBufferedBytes?: number;
  /** a client whose queue has not emptied for this long is dropped too (default 10 s) */
  maxStalledMs?: number;
}

/** SSE flush period: appended batches are gathered and sent together (at most 20 messages/s). */
const FEED_MS = 50;
const TICK_MS = 1000;
export const FEED_MAX_CLIENTS = 100;
export const FEED_MAX_BUFFERED = 512 << 10;
export const FEED_MAX_STALLED_MS = 10_000;
/** the live feed keeps this many events for catch-up (`?from=`, Last-Event-ID); older: reload */
const MAX_CATCH_UP = 20_000;

const entryJson = (e: FeedEntry): string => (e.json ??= JSON.stringify(e.ev));

/** A `records` message from entries' JSON texts (FeedMessage, without serializing it again). */
function recordsFrame(from: number, seq: number, streamTime: number | null, entries: FeedEntry[]): string {
  let ev = "";
  for (let i = 0; i < entries.length; i++) ev += (i > 0 ? "," : "") + entryJson(entries[i]!);
  return `id: ${seq}\nevent: records\ndata: {"from":${from},"seq":${seq},"streamTime":${JSON.stringify(streamTime)},"ev":[${ev}]}\n\n`;
}

class Ctx {
  readonly instance = randomBytes(8).toString("hex");
  readonly projector: Projector;
  private readonly clients = new Set<Client>();
  private pending: FeedEntry[] = [];
  /** the last MAX_CATCH_UP entries; every non-clock record with seq >= ringFrom is in it */
  private ring: FeedEntry[] = [];
  private ringFrom: number;
  private readonly maxClients: number;
  private readonly maxBuffered: number;
  private readonly maxStalledMs: number;
  readonly feedStats = { refused: 0, dropped: 0 };
  private pendingSeq = -1;
  private pendingFrom = -1;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private tickTimer: ReturnType<typeof setInterval> | undefined;
  private dirty = false;
  private readonly unsubscribe: () => void;
  private readonly stopSaving: () => void;
  private readonly pageDir: string | undefined;
  private readonly tokenBuf: Buffer;
  /** worker threads for time travel and history (a log on a file); undefined: read in-thread */
  private readonly timeTravel: TimeTravel | undefined;
  private readonly timeTravelMissing: boolean = false;

  constructor(
    readonly plant: Plant,
    readonly opts: ServerOptions,
    readonly open: boolean,
    private readonly hosts: HostCheck,
  ) {
    this.tokenBuf = Buffer.from(opts.token ?? "");
    // freshness, acknowledgements and the latest commands: from the checkpoint the plant opened
    // from (stored there by a previous run's server or by ofl import) and the tail after it
    this.projector = resumeProjector(plant.program, plant.runtime.log, plant.runtime.restoredFrom, plant.restored(DASHBOARD_EXTRA));
    this.stopSaving = plant.checkpointExtra(DASHBOARD_EXTRA, () => this.projector.save());
    this.ringFrom = plant.runtime.log.endSeq();
    this.maxClients = Math.max(0, opts.feed?.maxClients ?? FEED_MAX_CLIENTS);
    this.maxBuffered = Math.max(1024, opts.feed?.maxBufferedBytes ?? FEED_MAX_BUFFERED);
    this.maxStalledMs = Math.max(100, opts.feed?.maxStalledMs ?? FEED_MAX_STALLED_MS);
    this.unsubscribe = plant.onAppend((recs) => this.appended(recs));
    this.pageDir = findPageDir(opts.dashboardDir);
    const log = plant.runtime.log;
    if (log instanceof SqliteLog) {
      const script = findWorkerScript();
      // without the built worker, time travel would run on the plant's event loop: refused instead
      if (script) {
        this.timeTravel = new TimeTravel(plant.program, dirname(log.path), script, opts.timeTravel, plant.checkpoints?.dataDir);
        this.timeTravel.warm();
      } else this.timeTravelMissing = true;
    }
  }

  /** Answers a time-travel or history job: in a worker when the log is a file, else here. */
  private async travel(req: IncomingMessage, res: ServerResponse, job: TimeTravelJob, notFound?: string): Promise<void> {
    let text: JobResult;
    if (this.timeTravelMissing) return send(res, 503, { error: "time travel is not built: run `npm run build` (it writes dist/time-travel-worker.mjs)" });
    if (this.timeTravel) {
      try {
        text = await this.timeTravel.run(job, () => res.destroyed || req.socket.destroyed);
      } catch (e) {
        if (req.socket.destroyed) return; // the client went away: nobody to answer
        if (e instanceof TimeTravelBusy) {
          res.setHeader("retry-after", "1");
          return send(res, 503, { error: e.message });
        }
        throw e;
      }
    } else {
      const log = this.plant.runtime.log;
      if (job.kind === "state") text = JSON.stringify(stateInfoAt(this.plant.program, log, job.atMs, this.plant.checkpoints ? { checkpoints: this.plant.checkpoints, maxOffset: job.endOffset } : undefined));
      else {
        const h = historyInfo(this.plant.program, log, job.asset, job.fromMs, job.toMs);
        text = h ? JSON.stringify(h) : null;
      }
    }
    if (res.destroyed) return;
    if (text === null) return send(res, 404, { error: notFound ?? "not found" });
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
    res.end(text);
  }

  async close(): Promise<void> {
    await this.timeTravel?.close();
    this.unsubscribe();
    this.stopSaving();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  /** An Origin header that names this server (`http://` + an allowed host). */
  private sameOrigin(origin: string): boolean {
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false;
    }
    return u.protocol === "http:" && this.hosts.allows(u.host);
  }

  private tokenMatches(given: string | null | undefined): boolean {
    if (!given || this.tokenBuf.length === 0) return false;
    const b = Buffer.from(given);
    return b.length === this.tokenBuf.length && timingSafeEqual(b, this.tokenBuf);
  }

  private headerToken(req: IncomingMessage): boolean {
    const h = req.headers.authorization;
    return typeof h === "string" && h.startsWith("Bearer ") && this.tokenMatches(h.slice(7));
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // first, before anything is read: a request naming another host (DNS rebinding) or sent by a
    // page of another origin is refused, and the connection closed (its body is never read)
    if (!this.hosts.allows(req.headers.host))
      return refuse(res, 403, { error: `this plant does not answer to the host name ${JSON.stringify(req.headers.host)}: address it as 127.0.0.1, localhost or [::1], or allow the name (ofl run --allow-host NAME, ofl.json "allowedHosts")` });
    const origin = req.headers.origin;
    if (req.method !== "GET" && req.method !== "HEAD" && origin !== undefined && !this.sameOrigin(origin))
      return refuse(res, 403, { error: `requests from pages of ${JSON.stringify(origin)} are refused: only this plant's own page may change anything` });
    const url = new URL(req.url ?? "/", "http://x");
    const byHeader = this.headerToken(req);
    const byQuery = this.tokenMatches(url.searchParams.get("token"));
    if (req.method === "POST") {
      if (!byHeader) return send(res, 401, { error: `${url.pathname === "/api/ack" ? "acknowledgements" : "commands"} need the plant's token (Authorization: Bearer …)` });
      if (url.pathname === "/api/command") return this.command(req, res);
      if (url.pathname === "/api/ack") return this.ack(req, res);
      return send(res, 404, { error: "not found" });
    }
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: "method not allowed" });
    if (!this.open && !byHeader && !byQuery) {
      if (url.pathname.startsWith("/api/")) return send(res, 401, { error: "this plant listens beyond loopback: give its token (Authorization: Bearer …, or ?token=)" });
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end("This plant listens beyond loopback: open the address printed by `ofl run`, with ?token=… (the token it printed).\n");
      return;
    }
    const plant = this.plant;
    switch (url.pathname) {
      case "/":
      case "/index.html":
        return this.page(res);
      case "/dashboard.js":
        return this.asset(res, "dashboard.js", "text/javascript; charset=utf-8");
      case "/dashboard.css":
        return this.asset(res, "dashboard.css", "text/css; charset=utf-8");
      case "/api/health": {
        const st = plant.runtime.engine.streamTime;
        return send(res, 200, {
          program: plant.program.program,
          streamTime: Number.isFinite(st) ? new Date(st).toISOString() : null,
          records: plant.runtime.log.endSeq(),
          connectors: plant.connectorStatus(),
          ...this.health(),
        });
      }
      case "/api/program":
        return send(res, 200, programInfo(plant.program, this.instance, this.tokenBuf.length > 0));
      case "/api/state": {
        const at = url.searchParams.get("at");
        if (at === null) {
          plant.flush();
          const snap = plant.runtime.engine.snapshot();
          // the engine's snapshot as it is; the raw /api/state shape stays for scripts
          if (url.searchParams.get("view") !== "dashboard") return send(res, 200, snap);
          return send(res, 200, this.projector.state(snap, plant.runtime.log.endSeq()));
        }
        const atMs = parseAt(at);
        if (atMs === null) return send(res, 400, { error: `at: ${JSON.stringify(at)} is not an ISO-8601 time such as 2026-11-20T08:05:00Z` });
        plant.flush(); // what is queued is part of the log asked about
        return this.travel(req, res, { kind: "state", atMs, endSeq: plant.runtime.log.endSeq(), endOffset: plant.runtime.log.endOffset(ASSETS_TOPIC) });
      }
      case "/api/range": {
        const r = rangeInfo(plant.runtime.log);
        const st = plant.runtime.engine.streamTime;
        r.last = Number.isFinite(st) ? st : r.first;
        return send(res, 200, r);
      }
      case "/api/history": {
        const asset = url.searchParams.get("asset") ?? "";
        const minutes = Math.min(60, Math.max(0.1, Number(url.searchParams.get("minutes") ?? "5") || 5));
        const st = plant.runtime.engine.streamTime;
        const at = url.searchParams.get("at");
        const atMs = at === null ? null : parseAt(at);
        if (at !== null && atMs === null) return send(res, 400, { error: `at: ${JSON.stringify(at)} is not an ISO-8601 time` });
        const to = atMs ?? (Number.isFinite(st) ? st : Date.now());
        if (!plant.program.assets.some((a) => a.name === asset)) return send(res, 404, { error: `no asset named ${JSON.stringify(asset)}` });
        plant.flush();
        return this.travel(req, res, { kind: "history", asset, fromMs: to - minutes * 60_000, toMs: to, endSeq: plant.runtime.log.endSeq() });
      }
      case "/api/events":
        return this.events(req, res, url);
    }
    send(res, 404, { error: "not found" });
  }

  // ------------------------------------------------------------------ the page

  private page(res: ServerResponse): void {
    const file = this.pageDir && readText(`${this.pageDir}/index.html`);
    if (!file) {
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
      res.end("The dashboard is not built: run `npm run build` (it writes dist/dashboard/).\n");
      return;
    }
    // the page's own credential: on loopback anyone here may command; beyond, the request proved it
    const q = this.open ? "" : `?token=${encodeURIComponent(this.opts.token)}`;
    const html = file
      .replace("__OFL_TOKEN__", escapeHtml(this.opts.token ?? ""))
      .replaceAll("__OFL_PROGRAM__", escapeHtml(this.plant.program.program))
      .replace(/(dashboard\.(?:js|css))"/g, `$1${q}"`);
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      ...SECURITY_HEADERS,
    });
    res.end(html);
  }

  private asset(res: ServerResponse, name: string, type: string): void {
    const file = this.pageDir && readText(`${this.pageDir}/${name}`);
    if (!file) return send(res, 404, { error: "not built" });
    res.writeHead(200, { "content-type": type, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
    res.end(file);
  }

  // ------------------------------------------------------------------ the live feed

  private events(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (this.clients.size >= this.maxClients) {
      this.feedStats.refused++;
      res.setHeader("retry-after", "5");
      return refuse(res, 503, { error: `the live feed has ${this.clients.size} clients, its limit: try again later` });
    }
    const end = this.plant.runtime.log.endSeq();
    const fromText = url.searchParams.get("from") ?? (typeof req.headers["last-event-id"] === "string" ? req.headers["last-event-id"] : null);
    const from = fromText === null || fromText === "" ? end : Number(fromText);
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ instance: this.instance, seq: end })}\n\n`);
    let grace = 0;
    if (!Number.isInteger(from) || from < this.ringFrom || from > end) {
      // another log, or further behind than the feed keeps: the page reloads its state and
      // continues from there (never a read of the log on the plant's thread)
      res.write(`event: reset\ndata: ${JSON.stringify({ seq: end })}\n\n`);
    } else if (from < end) {
      // catch-up from what the feed keeps: the events already made, their text made once
      let lo = 0;
      let hi = this.ring.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.ring[mid]!.seq < from) lo = mid + 1;
        else hi = mid;
      }
      const text = recordsFrame(from, end, this.streamTime(), this.ring.slice(lo));
      grace = Buffer.byteLength(text);
      res.write(text);
    }
    const client: Client = { res, seq: end, grace, stalledSince: undefined };
    this.clients.add(client);
    this.ensureTick();
    const ping = setInterval(() => this.send(client, PING), 15_000);
    ping.unref();
    req.on("close", () => {
      clearInterval(ping);
      this.clients.delete(client);
    });
  }

  private streamTime(): number | null {
    const st = this.plant.runtime.engine.streamTime;
    return Number.isFinite(st) ? st : null;
  }

  private appended(recs: LogRecord[]): void {
    this.dirty = true;
    if (this.pendingFrom < 0 && recs.length > 0 && recs[0]!.seq !== undefined) this.pendingFrom = recs[0]!.seq;
    for (const r of recs) {
      const ev = this.projector.event(r);
      if (r.seq !== undefined) this.pendingSeq = r.seq + 1;
      if (ev.k === "clock") continue;
      const e: FeedEntry = { seq: ev.seq, ev };
      this.ring.push(e);
      if (this.clients.size > 0) this.pending.push(e);
    }
    if (this.ring.length > 2 * MAX_CATCH_UP) {
      const cut = this.ring.length - MAX_CATCH_UP;
      this.ringFrom = this.ring[cut - 1]!.seq + 1;
      this.ring = this.ring.slice(cut);
    }
    if (this.clients.size === 0) {
      this.pending = [];
      this.pendingFrom = -1;
      return;
    }
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flushFeed(), FEED_MS);
      this.flushTimer.unref?.();
    }
  }

  private flushFeed(): void {
    this.flushTimer = undefined;
    const ev = this.pending;
    // only clock ticks: nothing to show (stream time goes out with the next tick); the next
    // message covers these records too, so no page sees a gap
    if (ev.length === 0) return;
    this.pending = [];
    const seq = this.pendingSeq >= 0 ? this.pendingSeq : this.plant.runtime.log.endSeq();
    const from = this.pendingFrom >= 0 ? this.pendingFrom : seq;
    this.pendingFrom = -1;
    // encoded once for every client
    const buf = Buffer.from(recordsFrame(from, seq, this.streamTime(), ev));
    for (const c of this.clients) {
      if (c.seq >= seq) continue; // caught up past these already
      c.seq = seq;
      this.send(c, buf);
    }
  }

  private ensureTick(): void {
    if (this.tickTimer) return;
    this.tickTimer = setInterval(() => {
      if (this.clients.size === 0 || !this.dirty) return;
      this.dirty = false;
      const snap = this.plant.runtime.engine.snapshot();
      const seq = this.plant.runtime.log.endSeq();
      const msg: TickMessage = { seq, streamTime: snap.streamTime, views: snap.views as TickMessage["views"] };
      const buf = Buffer.from(`event: tick\ndata: ${JSON.stringify(msg)}\n\n`);
      for (const c of this.clients) this.send(c, buf);
    }, TICK_MS);
    this.tickTimer.unref?.();
  }

  /**
   * Writes to a feed client, or drops it when it does not read: more than maxBuffered bytes
   * still queued in this process when the next message comes (beyond its catch-up message,
   * until that drained; so at most the limit plus one message wait for it), or bytes queued
   * without a pause for maxStalledMs (the kernel's socket buffers are full and not draining).
   * Memory per client stays bounded; a dropped page reconnects and catches up, or reloads.
   */
  private send(c: Client, buf: Buffer): void {
    const queued = c.res.writableLength;
    if (c.grace > 0 && queued <= this.maxBuffered) c.grace = 0;
    if (queued === 0) c.stalledSince = undefined;
    else c.stalledSince ??= Date.now();
    if (queued > this.maxBuffered + c.grace || (c.stalledSince !== undefined && Date.now() - c.stalledSince > this.maxStalledMs)) {
      if (this.clients.delete(c)) this.feedStats.dropped++;
      c.res.destroy();
      return;
    }
    c.res.write(buf);
  }

  /** The live feed's and time travel's figures (GET /api/health). */
  health(): { feed: Record<string, number>; timeTravel: Record<string, number> | null } {
    return {
      feed: { clients: this.clients.size, maxClients: this.maxClients, maxBufferedBytes: this.maxBuffered, maxStalledMs: this.maxStalledMs, ...this.feedStats },
      timeTravel: this.timeTravel ? { ...this.timeTravel.load, ...this.timeTravel.stats } : null,
    };
  }

  // ------------------------------------------------------------------ operator actions

  private async command(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const plant = this.plant;
    const body = await jsonBody(req, res, '{"asset", "command", "args": {NAME: VALUE}}');
    if (!body) return;
    const asset = plant.program.assets.find((a) => a.name === body.asset);
    if (!asset) return send(res, 404, { error: `no asset named ${JSON.stringify(body.asset)}` });
    const model = plant.program.models.find((m) => m.name === asset.model)!;
    const cmd = model.commands.find((c) => c.name === body.command);
    if (!cmd) return send(res, 404, { error: `asset ${asset.name} has no command ${JSON.stringify(body.command)}` });
    const checked = commandArgs(plant.program, asset.name, cmd, body.args);
    if (typeof checked === "string") return send(res, 400, { error: checked });
    const args = checked;
    // missing arguments, ranges and interlocks are the engine's: a rejection is logged with its reason
    plant.flush(); // whatever is queued first, so the command's offset is the next one
    const offset = plant.runtime.log.endOffset(ASSETS_TOPIC);
    const rec = operatorCommandRecord(plant.program, asset, cmd.name, args, Date.now(), offset);
    plant.enqueue([{ topic: rec.topic, key: rec.key, ts: rec.ts, value: rec.value }]);
    const appended = plant.flush();
    const stored = appended.find((r) => r.offset === offset && r.topic === ASSETS_TOPIC);
    if (!stored) return send(res, 500, { error: "the command was not appended to the log" });
    const id = JSON.parse((stored.value as { VALUE: string }).VALUE).header.correlation_id as string;
    const outcome = await plant.outcome(id);
    return send(res, 200, outcome);
  }

  private async ack(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const plant = this.plant;
    const body = await jsonBody(req, res, '{"asset", "alarm"}');
    if (!body) return;
    const asset = plant.program.assets.find((a) => a.name === body.asset);
    if (!asset) return send(res, 404, { error: `no asset named ${JSON.stringify(body.asset)}` });
    const model = plant.program.models.find((m) => m.name === asset.model)!;
    const alarm = model.alarms.find((a) => a.name === body.alarm);
    if (!alarm) return send(res, 404, { error: `asset ${asset.name} has no alarm ${JSON.stringify(body.alarm)}` });
    plant.flush();
    const active = plant.runtime.engine.snapshot().assets[asset.name]?.alarms[alarm.name] === true;
    if (!active) return send(res, 409, { error: `${asset.name}.${alarm.name} is not active` });
    const state = this.projector.alarmState(asset.name, alarm.name, true);
    if (state === "ACKNOWLEDGED") return send(res, 200, { asset: asset.name, alarm: alarm.name, state, already: true });
    const t = Date.now();
    plant.enqueue([{ topic: ASSETS_TOPIC, key: asset.uuid, ts: t, value: alarmValue(alarm.name, "ACKNOWLEDGED", t) }]);
    const appended = plant.flush();
    const stored = appended.find((r) => r.key === asset.uuid && (r.value as { ID?: string; VALUE?: string }).ID === alarm.name && (r.value as { VALUE?: string }).VALUE === "ACKNOWLEDGED");
    if (!stored) return send(res, 500, { error: "the acknowledgement was not appended to the log" });
    return send(res, 200, { asset: asset.name, alarm: alarm.name, state: "ACKNOWLEDGED", offset: stored.offset });
  }
}

/**
 * A command's arguments as given to POST /api/command, checked against the command's declaration
 * before anything is logged: every name must be a declared parameter, every value of its type
 * (JSON numbers for numbers and durations in the declared unit, true/false for bools, text for
 * strings, an enum's member name, an ISO time or epoch ms for timestamps; null: not given).
 * Returns the arguments, or why they are refused.
 */
export function commandArgs(ir: IrProgram, asset: string, cmd: IrCommand, raw: unknown): { name: string; value: Value }[] | string {
  const where = `${asset}.${cmd.name}`;
  if (raw === undefined) return [];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return `${where}: args must be an object {NAME: VALUE}`;
  const out: { name: string; value: Value }[] = [];
  const declared = cmd.params.length === 0 ? "it takes no arguments" : `its arguments are ${cmd.params.map((p) => p.name).join(", ")}`;
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const p = cmd.params.find((x) => x.name === name);
    if (!p) return `${where} has no argument ${JSON.stringify(name)}: ${declared}`;
    if (value === null) continue;
    const t = p.type;
    const type = t.t === "enum" ? t.name : t.t === "int" || t.t === "float" ? `${t.t}${t.unit ? `<${t.unit}>` : ""}` : t.t;
    const wrong = (what: string): string => `${where}: argument ${name} must be ${what}, not ${JSON.stringify(value)}`;
    switch (t.t) {
      case "int":
      case "float":
      case "duration":
        if (typeof value !== "number") return wrong(t.t === "duration" ? "a number of milliseconds" : `a number (${type})`);
        break;
      case "bool":
        if (typeof value !== "boolean") return wrong("true or false");
        break;
      case "string":
        if (typeof value !== "string") return wrong("text");
        break;
      case "enum":
        if (typeof value !== "string") return wrong(`a member of ${t.name}`);
        break;
      case "timestamp":
        if (typeof value !== "string" && typeof value !== "number") return wrong("an ISO-8601 time or epoch milliseconds");
        break;
      default:
        return wrong(`a ${type}`);
    }
    // the engine's own parser: integers, finite numbers, enum members, times
    const members = t.t === "enum" ? new Set(ir.enums.find((e) => e.name === t.name)?.members ?? []) : undefined;
    const v = parseTelemetryValue(t, undefined, valueText(value as Value), members);
    if (v instanceof Rejection) return `${where}: argument ${name}: ${v.detail}`;
    out.push({ name, value: value as Value });
  }
  return out;
}

const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const PING = Buffer.from(": ping\n\n");


function findPageDir(given: string | undefined): string | undefined {
  const candidates = given
    ? [given]
    : [
        // dist/ofl.mjs → dist/dashboard; runtime/run/server.ts (tests, tsx) → dist/dashboard
        fileURLToPath(new URL("./dashboard", import.meta.url)),
        fileURLToPath(new URL("../../dist/dashboard", import.meta.url)),
      ];
  return candidates.find((d) => existsSync(`${d}/index.html`));
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The largest request body read (commands and acknowledgements are a few hundred bytes). */
export const MAX_BODY = 1 << 20;

class BodyTooLarge extends Error {}
class BadBody extends Error {}

/**
 * A request's body as a JSON object. Stops reading at MAX_BODY (the announced Content-Length is
 * refused at once, a longer stream as soon as it passes the limit): BodyTooLarge. Not JSON, or
 * JSON but not an object (`null`, a list, a number): BadBody.
 */
function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const announced = Number(req.headers["content-length"] ?? "0");
    if (announced > MAX_BODY) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > MAX_BODY) {
        req.off("data", onData);
        req.off("end", onEnd);
        req.pause(); // not one more byte: the answer is sent and the connection closed
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => {
      let v: unknown;
      try {
        v = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return reject(new BadBody("the body is not JSON"));
      }
      if (v === null || typeof v !== "object" || Array.isArray(v)) return reject(new BadBody(`the body is ${v === null ? "null" : Array.isArray(v) ? "a list" : `a ${typeof v}`}, not a JSON object`));
      resolve(v as Record<string, unknown>);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", reject);
  });
}

/** Reads a POST's JSON object, or answers 413 (too large) / 400 (not a JSON object) and returns null. */
async function jsonBody(req: IncomingMessage, res: ServerResponse, shape: string): Promise<Record<string, unknown> | null> {
  try {
    return await readJsonObject(req);
  } catch (e) {
    if (e instanceof BodyTooLarge) refuse(res, 413, { error: `the body is larger than ${MAX_BODY} bytes; expected ${shape}` });
    else if (e instanceof BadBody) send(res, 400, { error: `${e.message}; expected ${shape}` });
    else throw e;
    return null;
  }
}

/** Answers and closes the connection: whatever the client still sends is never read. */
function refuse(res: ServerResponse, status: number, body: unknown): void {
  res.shouldKeepAlive = false;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff", connection: "close" });
  res.end(JSON.stringify(body));
  res.once("finish", () => res.req.socket.destroySoon?.());
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
  res.end(JSON.stringify(body));
}
