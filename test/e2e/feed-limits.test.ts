// Issue 11 #11: the live feed (`GET /api/events`, server-sent events) cannot be used to stall
// the plant: a bounded number of clients (then 503), a bounded queue per client (a client that
// does not read is dropped), and the clients that read get every record. The real server
// in-process, real sockets; a client that never reads is a paused TCP socket.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { compile } from "../../compiler/index.js";
import { MemoryLog } from "../../runtime/log/memory.js";
import { Plant } from "../../runtime/run/plant.js";
import { FEED_MAX_CLIENTS, serve, type PlantServer } from "../../runtime/run/server.js";
import { ASSETS_TOPIC, telemetryValue } from "../../runtime/wire/records.js";
import type { NewRecord } from "../../runtime/wire/types.js";
import { until } from "./helpers.js";

const PROGRAM = `
model Probe {
  telemetry temperature: float<degC>
  telemetry note: string
}
asset p1: Probe { uuid "PROBE-1" }
`;

function plant(): Plant {
  const { ir, diagnostics } = compile([{ path: "probe.ofl", text: PROGRAM }], { name: "probe" });
  if (!ir) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  return new Plant({ program: ir, log: new MemoryLog(), connect: false, clockMs: 0 });
}

let t = Date.UTC(2026, 0, 1);
/** Appends n readings (each with a 100-character note: about 200 bytes a record on the feed). */
function append(p: Plant, n: number): void {
  const recs: NewRecord[] = [];
  for (let i = 0; i < n; i++) {
    t += 10;
    recs.push({ topic: ASSETS_TOPIC, key: "PROBE-1", ts: t, value: telemetryValue(i % 2 ? "temperature" : "note", i % 2 ? 20 + (i % 50) : "n".repeat(100), "", "Samples", t) });
  }
  p.enqueue(recs);
  p.flush();
}

interface FeedClient {
  sock: Socket;
  status: () => number | undefined;
  /** `records` messages: [from, seq] */
  messages: [number, number][];
  hello: () => number | undefined;
  closed: () => boolean;
}

/** A feed client on a raw socket; `read: false` pauses it at once (it never reads a byte). */
function feedClient(port: number, read = true): FeedClient {
  const sock = connect(port, "127.0.0.1", () => sock.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
  let status: number | undefined;
  let hello: number | undefined;
  let closed = false;
  let text = "";
  const messages: [number, number][] = [];
  sock.on("error", () => {});
  sock.on("close", () => (closed = true));
  if (!read) sock.pause();
  else {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      text += d;
      if (status === undefined && /^HTTP\/1\.1 (\d+)/.test(text)) status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)![1]);
      // chunked transfer: the SSE frames are inside the chunks; take whole frames
      for (;;) {
        const m = /event: (\w+)\r?\n(?:[0-9a-f]+\r\n)?data: (\{.*?\})\n\n/s.exec(text);
        if (!m) break;
        text = text.slice(m.index + m[0].length);
        const data = JSON.parse(m[2]!) as { seq: number; from?: number };
        if (m[1] === "hello") hello = data.seq;
        if (m[1] === "records") messages.push([data.from!, data.seq]);
      }
    });
  }
  return { sock, status: () => status, messages, hello: () => hello, closed: () => closed };
}

const health = async (s: PlantServer): Promise<{ records: number; feed: { clients: number; refused: number; dropped: number; maxClients: number } }> =>
  (await fetch(`${s.url}/api/health`)).json() as never;

const open: Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

describe("issue 11 #11: the live feed's limits", () => {
  test("at most maxClients at once: the next is answered 503 with Retry-After; a place that frees is taken again", async () => {
    const p = plant();
    const s = await serve(p, { host: "127.0.0.1", port: 0, token: "f".repeat(32), feed: { maxClients: 3 } });
    const port = Number(new URL(s.url).port);
    try {
      const cs = [feedClient(port), feedClient(port), feedClient(port)];
      open.push(...cs.map((c) => c.sock));
      await until(() => cs.every((c) => c.hello() !== undefined), 10_000, "three feeds");
      const r = await fetch(`${s.url}/api/events`);
      expect(r.status).toBe(503);
      expect(r.headers.get("retry-after")).toBe("5");
      expect(((await r.json()) as { error: string }).error).toBe("the live feed has 3 clients, its limit: try again later");
      expect((await health(s)).feed).toMatchObject({ clients: 3, maxClients: 3, refused: 1, dropped: 0 });
      cs[0]!.sock.destroy();
      await until(async () => (await health(s)).feed.clients === 2, 10_000, "the server to see the client go");
      const again = feedClient(port);
      open.push(again.sock);
      await until(() => again.hello() !== undefined, 10_000, "a feed in the freed place");
      expect(again.status()).toBe(200);
    } finally {
      await s.close();
      await p.stop();
    }
  });

  test("a client that never reads is dropped once 64 kB wait for it; the client that reads gets every record, without a gap", async () => {
    const p = plant();
    // the stall timer far away: the byte bound alone must act
    const s = await serve(p, { host: "127.0.0.1", port: 0, token: "f".repeat(32), feed: { maxBufferedBytes: 64 << 10, maxStalledMs: 600_000 } });
    const port = Number(new URL(s.url).port);
    try {
      const reader = feedClient(port);
      const silent = feedClient(port, false);
      open.push(reader.sock, silent.sock);
      await until(() => reader.hello() !== undefined, 10_000, "the reading feed");
      await until(async () => (await health(s)).feed.clients === 2, 10_000, "both feeds");
      // ~400 kB a message, one message per 50 ms flush, until the server gives up on the silent
      // one (the kernel's socket buffers take some MB first); at most 200 messages (80 MB)
      for (let i = 0; i < 200 && (await health(s)).feed.dropped === 0; i++) {
        append(p, 2000);
        await new Promise((r) => setTimeout(r, 60));
      }
      const h = await health(s);
      expect(h.feed).toMatchObject({ clients: 1, dropped: 1 });
      // the silent socket was closed by the server: resumed, it ends
      silent.sock.resume();
      await until(() => silent.closed(), 10_000, "the silent socket to be closed");
      // the sentinel: one more record, and the reader's messages cover hello..end without a gap
      append(p, 1);
      const end = p.runtime.log.endSeq();
      await until(() => reader.messages.at(-1)?.[1] === end, 20_000, "the reader to reach the end of the log");
      let next = reader.hello()!;
      for (const [from, seq] of reader.messages) {
        expect(from).toBeLessThanOrEqual(next);
        next = seq;
      }
      expect(reader.closed()).toBe(false);
    } finally {
      await s.close();
      await p.stop();
    }
  }, 60_000);

  test(`500 clients that never read: ${FEED_MAX_CLIENTS} are taken, the rest refused at once; they are dropped when they stall; a reader keeps up`, async () => {
    const p = plant();
    const s = await serve(p, { host: "127.0.0.1", port: 0, token: "f".repeat(32), feed: { maxStalledMs: 1000 } });
    const port = Number(new URL(s.url).port);
    try {
      const reader = feedClient(port);
      open.push(reader.sock);
      await until(() => reader.hello() !== undefined, 10_000, "the reading feed");
      const silent = Array.from({ length: 500 }, () => feedClient(port, false));
      open.push(...silent.map((c) => c.sock));
      await until(async () => {
        const f = (await health(s)).feed;
        return f.clients + f.refused === 501;
      }, 30_000, "every client to be answered");
      expect((await health(s)).feed).toMatchObject({ clients: FEED_MAX_CLIENTS, refused: 500 - (FEED_MAX_CLIENTS - 1) });
      // records flow until every silent client has stalled for a second and is dropped
      for (let i = 0; i < 400 && (await health(s)).feed.dropped < FEED_MAX_CLIENTS - 1; i++) {
        append(p, 1000);
        await new Promise((r) => setTimeout(r, 60));
      }
      expect((await health(s)).feed).toMatchObject({ clients: 1, dropped: FEED_MAX_CLIENTS - 1 });
      append(p, 1);
      const end = p.runtime.log.endSeq();
      await until(() => reader.messages.at(-1)?.[1] === end, 20_000, "the reader to reach the end of the log");
      let next = reader.hello()!;
      for (const [from, seq] of reader.messages) {
        expect(from).toBeLessThanOrEqual(next);
        next = seq;
      }
    } finally {
      await s.close();
      await p.stop();
    }
  }, 120_000);
});
