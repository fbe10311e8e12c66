// The HTTP API of a running plant (`ofl run`), bound to 127.0.0.1 by default.
//
//   GET  /api/health            program, stream time, records, connectors
//   GET  /api/state             every asset, view and alarm now (the engine's snapshot)
//   POST /api/command           {asset, command, args:{name:value}} → the verdict and the device's answer
//
// Commands need the plant's token (`Authorization: Bearer TOKEN`), printed at start and kept in
// DATA/run.json (readable by the user only) for `ofl send`. Reading needs it too when the plant
// listens on anything but loopback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Value } from "../../compiler/ir/types.js";
import { operatorCommandRecord } from "../wire/operator.js";
import { ASSETS_TOPIC } from "../wire/records.js";
import type { Plant } from "./plant.js";

export interface ServerOptions {
  host: string;
  port: number;
  token: string;
}

export interface PlantServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "localhost" || host === "::1" || host.startsWith("127.");
}

export async function serve(plant: Plant, opts: ServerOptions): Promise<PlantServer> {
  const open = isLoopback(opts.host);
  const server = createServer((req, res) => {
    handle(plant, opts, open, req, res).catch((e: Error) => send(res, 500, { error: e.message }));
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function handle(plant: Plant, opts: ServerOptions, open: boolean, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://x");
  const authorized = req.headers.authorization === `Bearer ${opts.token}`;
  if (req.method === "GET" && (url.pathname === "/api/health" || url.pathname === "/api/state")) {
    if (!open && !authorized) return send(res, 401, { error: "this plant listens beyond loopback: give its token (Authorization: Bearer …)" });
    if (url.pathname === "/api/health") {
      const st = plant.runtime.engine.streamTime;
      return send(res, 200, {
        program: plant.program.program,
        streamTime: Number.isFinite(st) ? new Date(st).toISOString() : null,
        records: plant.runtime.log.endSeq(),
        connectors: plant.connectorStatus(),
      });
    }
    return send(res, 200, plant.runtime.engine.snapshot());
  }
  if (req.method === "POST" && url.pathname === "/api/command") {
    if (!authorized) return send(res, 401, { error: "commands need the plant's token (Authorization: Bearer …)" });
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
  send(res, 404, { error: "not found" });
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
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}
