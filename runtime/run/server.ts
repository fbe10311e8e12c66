// The HTTP API of a running plant (`ofl run`) and its dashboard, bound to 127.0.0.1 by default.
//
//   GET  /                      the dashboard page (runtime/dashboard/, built into dist/dashboard/)
//   GET  /api/health            program, stream time, records, connectors
//   GET  /api/program           assets, models (units, ranges), views, alarms, commands: no sources
//   GET  /api/state             every asset, view and alarm now (the engine's snapshot), with
//                               freshness, acknowledgements, the latest commands and the log seq
//   GET  /api/state?at=ISO      time travel: the engine's replay of the log up to T, and the
//                               records around T
//   GET  /api/range             the first event time on the log, the stream time (the slider)
//   GET  /api/history?asset=A&minutes=N   numeric series of one asset from the log (charts)
//   GET  /api/events[?from=SEQ] server-sent events: every appended record, classified; resumes
//                               from SEQ or the Last-Event-ID header
//   POST /api/command           {asset, command, args:{name:value}} → the verdict and the device's answer
//   POST /api/ack               {asset, alarm} → appends the alarm's ACKNOWLEDGED record
//
// The token: POSTs need it in the header (`Authorization: Bearer TOKEN`), always. On loopback,
// reading is open and the page is served with the token in it (the local user can command);
// requests must then name a loopback host (no DNS rebinding). On any other address the server
// refuses to start without a token, and every request, the page included, needs it (header, or
// `?token=` for the page and the event stream, which browsers cannot give headers).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Value } from "../../compiler/ir/types.js";
import { historyInfo, parseAt, programInfo, Projector, rangeInfo, stateInfoAt } from "../dashboard/api.js";
import type { FeedEvent, FeedMessage, TickMessage } from "../dashboard/protocol.js";
import { operatorCommandRecord } from "../wire/operator.js";
import { alarmValue, ASSETS_TOPIC } from "../wire/records.js";
import type { LogRecord } from "../wire/types.js";
import type { Plant } from "./plant.js";

export interface ServerOptions {
  host: string;
  port: number;
  token: string;
  /** the built page (index.html, dashboard.js, dashboard.css); default: dist/dashboard */
  dashboardDir?: string;
}

export interface PlantServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** The smallest token accepted beyond loopback (`ofl run` makes 32 hex digits). */
const MIN_TOKEN = 16;

/** Thrown when the server would listen beyond loopback without a token. */
export class InsecureBindError extends Error {}

export async function serve(plant: Plant, opts: ServerOptions): Promise<PlantServer> {
  const open = isLoopback(opts.host);
  if (!open && (typeof opts.token !== "string" || opts.token.length < MIN_TOKEN))
    throw new InsecureBindError(`refusing to listen on ${opts.host}: beyond loopback every request needs a token (at least ${MIN_TOKEN} characters)`);
  const ctx = new Ctx(plant, opts, open);
  const server = createServer((req, res) => {
    ctx.handle(req, res).catch((e: Error) => {
      if (!res.headersSent) send(res, 500, { error: e.message });
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
    close: () =>
      new Promise<void>((resolve) => {
        ctx.close();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

interface Client {
  res: ServerResponse;
  /** the next seq this client needs */
  seq: number;
}

/** SSE flush period: appended batches are gathered and sent together (at most 20 messages/s). */
const FEED_MS = 50;
const TICK_MS = 1000;
/** a client further behind than this (bytes queued) is dropped; it reconnects and resyncs */
const MAX_BUFFERED = 8 << 20;
/** catch-up beyond this many records: the client is told to reload the state instead */
const MAX_CATCH_UP = 20_000;

class Ctx {
  readonly instance = randomBytes(8).toString("hex");
  readonly projector: Projector;
  private readonly clients = new Set<Client>();
  private pending: FeedEvent[] = [];
  private pendingSeq = -1;
  private pendingFrom = -1;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private tickTimer: ReturnType<typeof setInterval> | undefined;
  private dirty = false;
  private readonly unsubscribe: () => void;
  private readonly pageDir: string | undefined;
  private readonly tokenBuf: Buffer;

  constructor(
    readonly plant: Plant,
    readonly opts: ServerOptions,
    readonly open: boolean,
  ) {
    this.tokenBuf = Buffer.from(opts.token ?? "");
    this.projector = new Projector(plant.program, plant.runtime.log);
    // freshness, acknowledgements and the latest commands: from the whole log, once
    this.projector.scan(plant.runtime.log.read({ topic: ASSETS_TOPIC }));
    this.unsubscribe = plant.onAppend((recs) => this.appended(recs));
    this.pageDir = findPageDir(opts.dashboardDir);
  }

  close(): void {
    this.unsubscribe();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
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
    const url = new URL(req.url ?? "/", "http://x");
    if (this.open && !loopbackHost(req.headers.host))
      return send(res, 403, { error: "this plant listens on loopback: address it as 127.0.0.1, localhost or [::1]" });
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
        plant.flush();
        return send(res, 200, stateInfoAt(plant.program, plant.runtime.log, atMs));
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
        const h = historyInfo(plant.program, plant.runtime.log, asset, to - minutes * 60_000, to);
        if (!h) return send(res, 404, { error: `no asset named ${JSON.stringify(asset)}` });
        return send(res, 200, h);
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
    const end = this.plant.runtime.log.endSeq();
    const fromText = url.searchParams.get("from") ?? (typeof req.headers["last-event-id"] === "string" ? req.headers["last-event-id"] : null);
    let from = fromText === null || fromText === "" ? end : Number(fromText);
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ instance: this.instance, seq: end })}\n\n`);
    if (!Number.isInteger(from) || from < 0 || from > end || end - from > MAX_CATCH_UP) {
      // another log, or too far behind: the page reloads its state and continues from there
      res.write(`event: reset\ndata: ${JSON.stringify({ seq: end })}\n\n`);
      from = end;
    } else if (from < end) {
      const ev: FeedEvent[] = [];
      const p = new Projector(this.plant.program, this.plant.runtime.log);
      for (const r of this.plant.runtime.log.read({ fromSeq: from })) {
        if (r.seq! >= end) break;
        const e = p.event(r);
        if (e.k !== "clock") ev.push(e);
      }
      this.write(res, { from, seq: end, streamTime: this.streamTime(), ev });
    }
    const client: Client = { res, seq: end };
    this.clients.add(client);
    this.ensureTick();
    const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
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
      if (ev.k !== "clock") this.pending.push(ev);
      if (r.seq !== undefined) this.pendingSeq = r.seq + 1;
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
    const msg: FeedMessage = { from, seq, streamTime: this.streamTime(), ev };
    const text = frame("records", seq, msg);
    for (const c of this.clients) {
      if (c.seq >= seq) continue; // caught up past these already
      c.seq = seq;
      this.send(c, text);
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
      const text = `event: tick\ndata: ${JSON.stringify(msg)}\n\n`;
      for (const c of this.clients) this.send(c, text);
    }, TICK_MS);
    this.tickTimer.unref?.();
  }

  private write(res: ServerResponse, msg: FeedMessage): void {
    res.write(frame("records", msg.seq, msg));
  }

  private send(c: Client, text: string): void {
    if (c.res.writableLength > MAX_BUFFERED) {
      // too slow to follow: dropped; it reconnects, and catches up or reloads its state
      this.clients.delete(c);
      c.res.destroy();
      return;
    }
    c.res.write(text);
  }

  // ------------------------------------------------------------------ operator actions

  private async command(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const plant = this.plant;
    let body: { asset?: unknown; command?: unknown; args?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch {
      return send(res, 400, { error: "the body must be JSON: {\"asset\", \"command\", \"args\"}" });
    }
    const asset = plant.program.assets.find((a) => a.name === body.asset);
    if (!asset) return send(res, 404, { error: `no asset named ${JSON.stringify(body.asset)}` });
    const model = plant.program.models.find((m) => m.name === asset.model)!;
    const cmd = model.commands.find((c) => c.name === body.command);
    if (!cmd) return send(res, 404, { error: `asset ${asset.name} has no command ${JSON.stringify(body.command)}` });
    const given = (body.args && typeof body.args === "object" ? body.args : {}) as Record<string, unknown>;
    const args: { name: string; value: Value }[] = [];
    for (const [name, value] of Object.entries(given)) {
      if (value !== null && typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean")
        return send(res, 400, { error: `argument ${name} must be a number, a string or a boolean` });
      args.push({ name, value });
    }
    // the interlocks and ranges are the engine's: an unknown or missing argument is rejected there
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
    let body: { asset?: unknown; alarm?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch {
      return send(res, 400, { error: "the body must be JSON: {\"asset\", \"alarm\"}" });
    }
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

const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

function frame(event: string, id: number, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Whether a Host header names a loopback address (the page's requests, not a rebound DNS name). */
function loopbackHost(host: string | undefined): boolean {
  if (!host) return true; // HTTP/1.0 clients: nothing to rebind
  const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
  return isLoopback(name.toLowerCase());
}

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

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
      if (body.length > 1 << 20) reject(new Error("body too large"));
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
  res.end(JSON.stringify(body));
}
