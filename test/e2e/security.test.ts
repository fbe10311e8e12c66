// The dashboard's security rules (issue #7): beyond loopback nothing is served without the token
// (and the server refuses to start without one); POSTs always need it in the header; on loopback
// only loopback host names are answered (no DNS rebinding); no secret reaches the page.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, describe, expect, test } from "vitest";
import { compile } from "../../compiler/index.js";
import { MemoryLog } from "../../runtime/log/memory.js";
import { Plant } from "../../runtime/run/plant.js";
import { HostCheck, InsecureBindError, serve, type PlantServer } from "../../runtime/run/server.js";
import { classify } from "../../runtime/wire/records.js";
import { buildDashboard, CHROMIUM, examplePlant, killAll, requireChromium, runPlant } from "./helpers.js";
import { rawRequest } from "./raw-http.js";

afterAll(() => killAll());

const SECRET_PROGRAM = `
model Tank {
  telemetry level: float<percent> in 0..100
  alarm high_level severity high when level > 90 percent
  command drain()
}
asset t1: Tank {
  uuid "TANK-1"
  source mqtt("mqtt://broker.internal:1883", user: "plant", password: env("OFL_E2E_SECRET")) {
    level <- topic("plant/t1/level", json: "$.v")
    drain -> publish("plant/t1/drain")
  }
}
`;

function secretPlant(): Plant {
  const { ir, diagnostics } = compile([{ path: "tank.ofl", text: SECRET_PROGRAM }], { name: "tanks" });
  if (!ir) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  return new Plant({ program: ir, log: new MemoryLog(), connect: false, clockMs: 0 });
}

describe("dashboard security", () => {
  test("serve() refuses to listen beyond loopback without a token", async () => {
    const plant = secretPlant();
    await expect(serve(plant, { host: "0.0.0.0", port: 0, token: "" })).rejects.toThrow(InsecureBindError);
    await expect(serve(plant, { host: "0.0.0.0", port: 0, token: "short" })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0/);
    // loopback without a token: reading only (POSTs can never match an empty token)
    const s = await serve(plant, { host: "127.0.0.1", port: 0, token: "" });
    try {
      expect((await fetch(`${s.url}/api/program`)).status).toBe(200);
      const r = await fetch(`${s.url}/api/command`, { method: "POST", headers: { authorization: "Bearer " }, body: "{}" });
      expect(r.status).toBe(401);
    } finally {
      await s.close();
    }
  });

  test("no secret is sent to the page: no sources, no binding arguments, no environment", async () => {
    buildDashboard();
    process.env["OFL_E2E_SECRET"] = "hunter2-very-secret";
    const plant = secretPlant();
    plant.enqueue([{ topic: "ofa_assets", key: "TANK-1", ts: 1_000, value: { ID: "level", VALUE: "95", TAG: "percent", TYPE: "Samples", attributes: { timestamp: "1970-01-01T00:00:01.000Z" } } }]);
    plant.flush();
    const token = "t".repeat(32);
    let s: PlantServer | undefined;
    try {
      s = await serve(plant, { host: "127.0.0.1", port: 0, token });
      const texts: string[] = [];
      for (const path of ["/", "/dashboard.js", "/api/program", "/api/state", "/api/state?view=dashboard", "/api/state?at=1970-01-01T00:00:02Z", "/api/range", "/api/history?asset=t1&minutes=60", "/api/health"]) {
        const r = await fetch(`${s.url}${path}`);
        expect(r.status, path).toBe(200);
        texts.push(await r.text());
      }
      // the feed, from the start of the log
      const ctl = new AbortController();
      const es = await fetch(`${s.url}/api/events?from=0`, { signal: ctl.signal });
      const reader = es.body!.getReader();
      const { value } = await reader.read();
      texts.push(new TextDecoder().decode(value));
      ctl.abort();
      const all = texts.join("\n");
      for (const bad of ["hunter2", "OFL_E2E_SECRET", "broker.internal", "plant/t1/level", "\"sources\"", "\"bindings\"", "password"]) expect(all, bad).not.toContain(bad);
      // the program still says what the page needs
      const program = JSON.parse(texts[2]!) as { assets: { name: string }[]; models: { name: string; commands: { name: string }[] }[] };
      expect(program.assets.map((a) => a.name)).toEqual(["t1"]);
      expect(program.models.find((m) => m.name === "Tank")!.commands.map((c) => c.name)).toEqual(["drain"]);
      // the page gets its own credential on loopback (the local user may command), nothing else
      expect(texts[0]).toContain(`content="${token}"`);
    } finally {
      delete process.env["OFL_E2E_SECRET"];
      await s?.close();
    }
  });

  test("on loopback, a request naming another host is refused (DNS rebinding)", async () => {
    const plant = secretPlant();
    const s = await serve(plant, { host: "127.0.0.1", port: 0, token: "x".repeat(32) });
    try {
      const { request } = await import("node:http");
      const status = (host: string): Promise<number> =>
        new Promise((done, fail) => {
          const u = new URL(s.url);
          request({ host: u.hostname, port: u.port, path: "/", headers: { host } }, (res) => {
            res.resume();
            done(res.statusCode!);
          })
            .on("error", fail)
            .end();
        });
      expect(await status("evil.example:4000")).toBe(403);
      expect(await status(`localhost:${new URL(s.url).port}`)).toBe(200);
      expect(await status(`127.0.0.1:${new URL(s.url).port}`)).toBe(200);
    } finally {
      await s.close();
    }
  });

  test("ofl run --host 0.0.0.0: prints the token; every request, the page included, needs it; POSTs need it in the header", async () => {
    const dir = examplePlant();
    const run = await runPlant(dir, join(dir, "data"), { extra: ["--host", "0.0.0.0", "--clock", "100ms"] });
    expect(run.token).toMatch(/^[0-9a-f]{32}$/);
    expect(run.output()).toContain(`(token: ${run.token})`);
    const base = run.url.replace("0.0.0.0", "127.0.0.1");
    const t = run.token!;
    for (const path of ["/", "/dashboard.js", "/api/program", "/api/state", "/api/events", "/api/range"]) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(401);
      expect((await fetch(`${base}${path}${path.includes("?") ? "&" : "?"}token=wrong`)).status, path).toBe(401);
    }
    const page = await fetch(`${base}/?token=${t}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    // the bundle and the styles are asked for with the token too
    expect(html).toContain(`dashboard.js?token=${t}`);
    expect((await fetch(`${base}/dashboard.js?token=${t}`)).status).toBe(200);
    expect((await fetch(`${base}/api/program`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
    const body = JSON.stringify({ asset: "mill2", command: "stop", args: {} });
    // the token in the query string is not enough for a command
    expect((await fetch(`${base}/api/command?token=${t}`, { method: "POST", body })).status).toBe(401);
    const ok = await fetch(`${base}/api/command`, { method: "POST", body, headers: { authorization: `Bearer ${t}` } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { status: string }).status).toBe("completed");
    expect(await run.stop()).toBe(0);
  }, 60_000);
});

/** Operator and rule commands on a plant's log. */
function commandsOn(plant: Plant): string[] {
  const out: string[] = [];
  for (const r of plant.runtime.log.read({ topic: "ofa_assets" })) {
    const ev = classify(r);
    if (ev.kind === "command" || ev.kind === "operator_command") out.push(`${ev.command}(${JSON.stringify(ev.envelope.arguments)})`);
  }
  return out;
}

const portOf = (s: PlantServer): number => Number(new URL(s.url).port);

describe("issue 11 #12: DNS rebinding (the Host and Origin checks)", () => {
  const token = "r".repeat(32);

  test("only loopback IP literals, localhost and [::1] are answered on loopback; every other name gets 403 before its body is read", async () => {
    buildDashboard();
    const plant = secretPlant();
    const s = await serve(plant, { host: "127.0.0.1", port: 0, token });
    const port = portOf(s);
    try {
      const get = (host: string) => rawRequest(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close`);
      for (const host of [`127.0.0.1:${port}`, `127.1.2.3:${port}`, "127.255.255.254", `localhost:${port}`, "LOCALHOST", `[::1]:${port}`, "[0:0:0:0:0:0:0:1]"]) {
        const r = await get(host);
        expect(r.status, host).toBe(200);
        expect(r.body, host).toContain(token); // the local page carries its credential
      }
      for (const host of ["127.rebind.evil.example", `127.rebind.evil.example:${port}`, "127.0.0.1.evil.example", "localhost.evil.example", "evil.example", "127.1", "0x7f.0.0.1", "2130706433", "[::2]", "localhost.", "", "127.0.0.1:80@evil.example"]) {
        const r = await get(host);
        expect(r.status, host).toBe(403);
        expect(r.body, host).not.toContain(token);
      }
      // the page's API too, and a command with the (somehow known) token: refused, nothing logged
      const state = await rawRequest(port, `GET /api/state HTTP/1.1\r\nHost: 127.rebind.evil.example:${port}\r\nConnection: close`);
      expect(state.status).toBe(403);
      const body = JSON.stringify({ asset: "t1", command: "drain", args: {} });
      const cmd = await rawRequest(port, `POST /api/command HTTP/1.1\r\nHost: 127.rebind.evil.example:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`, { body });
      expect(cmd.status).toBe(403);
      // 403 before any body is read: 50 MB announced, not one byte sent, and the answer comes
      const big = await rawRequest(port, `POST /api/ack HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 50000000`, { sendBody: false });
      expect(big.status).toBe(403);
      expect(big.headers["connection"]).toBe("close");
      // the sentinel: a command from a loopback name goes through, and it is the only one logged
      const ok = await rawRequest(port, `POST /api/command HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close`, { body });
      expect(ok.status).toBe(200);
      expect(commandsOn(plant)).toEqual(["drain({})"]);
    } finally {
      await s.close();
    }
  });

  test("a state-changing request from a page of another origin is refused (Origin), even with the token", async () => {
    const plant = secretPlant();
    const s = await serve(plant, { host: "127.0.0.1", port: 0, token });
    const port = portOf(s);
    try {
      const body = JSON.stringify({ asset: "t1", command: "drain", args: {} });
      const post = (origin: string) =>
        rawRequest(port, `POST /api/command HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${origin}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close`, { body });
      for (const origin of ["http://evil.example", `http://127.rebind.evil.example:${port}`, "https://127.0.0.1", "null"]) expect((await post(origin)).status, origin).toBe(403);
      expect(commandsOn(plant)).toEqual([]);
      expect((await post(`http://127.0.0.1:${port}`)).status).toBe(200);
      expect((await post(`http://localhost:${port}`)).status).toBe(200);
      expect(commandsOn(plant)).toEqual(["drain({})", "drain({})"]);
    } finally {
      await s.close();
    }
  });

  test("Chromium on a rebound name (*.evil.example → 127.0.0.1) gets 403, no token, and cannot command", async () => {
    requireChromium();
    buildDashboard();
    const plant = secretPlant();
    const s = await serve(plant, { host: "127.0.0.1", port: 0, token });
    const port = portOf(s);
    // the attacker's DNS answers 127.0.0.1 for its own name: Chromium's resolver rules do the same
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--host-resolver-rules=MAP *.evil.example 127.0.0.1"] });
    try {
      const page = await browser.newPage();
      const res = await page.goto(`http://127.rebind.evil.example:${port}/`);
      expect(res!.status()).toBe(403);
      expect(await page.content()).not.toContain(token);
      // script of the attacker's page (same origin as the rebound name), even knowing the token
      const answers = await page.evaluate(async (t) => {
        const out: number[] = [];
        for (const [path, body] of [
          ["/api/command", { asset: "t1", command: "drain", args: {} }],
          ["/api/ack", { asset: "t1", alarm: "high_level" }],
        ] as const)
          out.push((await fetch(path, { method: "POST", headers: { authorization: `Bearer ${t}`, "content-type": "application/json" }, body: JSON.stringify(body) })).status);
        out.push((await fetch("/api/state")).status);
        return out;
      }, token);
      expect(answers).toEqual([403, 403, 403]);
      expect(commandsOn(plant)).toEqual([]);
      // the same browser at the plant's own address: the page and its credential
      const own = await page.goto(`http://127.0.0.1:${port}/`);
      expect(own!.status()).toBe(200);
      expect(await page.content()).toContain(token);
    } finally {
      await browser.close();
      await s.close();
    }
  }, 60_000);

  test("beyond loopback: the listen address and the names the operator allows (--allow-host, ofl.json allowedHosts), nothing else", async () => {
    const plant = secretPlant();
    const s = await serve(plant, { host: "127.0.0.1", port: 0, token, allowedHosts: ["Plant-PC.example"] });
    try {
      const port = portOf(s);
      const get = (host: string) => rawRequest(port, `GET /api/program HTTP/1.1\r\nHost: ${host}\r\nConnection: close`);
      expect((await get(`plant-pc.example:${port}`)).status).toBe(200);
      expect((await get(`plant-pc.example.evil.example:${port}`)).status).toBe(403);
    } finally {
      await s.close();
    }
    expect(() => new HostCheck("127.0.0.1", ["not a name/"])).toThrow(/allowed host "not a name\/" is not a host name/);

    // the real command: a wildcard bind answers its own addresses and the allowed names only
    const dir = examplePlant();
    writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: "cnc-cell", allowedHosts: ["plant-pc.example"] }));
    const run = await runPlant(dir, join(mkdtempSync(join(tmpdir(), "ofl-hosts-")), "data"), { extra: ["--host", "0.0.0.0", "--clock", "100ms", "--allow-host", "hmi.example"] });
    try {
      const port = Number(new URL(run.url).port);
      const get = (host: string) => rawRequest(port, `GET /api/program HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${run.token}\r\nConnection: close`);
      for (const host of ["plant-pc.example", `hmi.example:${port}`, `127.0.0.1:${port}`]) expect((await get(host)).status, host).toBe(200);
      for (const host of ["evil.example", `127.rebind.evil.example:${port}`]) expect((await get(host)).status, host).toBe(403);
    } finally {
      expect(await run.stop()).toBe(0);
    }
  }, 60_000);
});

describe("issue 11 #14: request bodies", () => {
  const token = "b".repeat(32);
  const post = (port: number, path: string, extra: string) => `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json${extra}`;

  test("a body announced beyond 1 MB is answered 413 at once, without reading it", async () => {
    const plant = secretPlant();
    const s = await serve(plant, { host: "127.0.0.1", port: 0, token });
    try {
      const r = await rawRequest(portOf(s), post(portOf(s), "/api/command", "\r\nContent-Length: 300000000"), { sendBody: false });
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body).error).toMatch(/larger than 1048576 bytes/);
    } finally {
      await s.close();
    }
  });

  test("a streamed (chunked) upload is cut at 1 MB: 413, the connection closed, the rest never read", async () => {
    const plant = secretPlant();
    const s = await serve(plant, { host: "127.0.0.1", port: 0, token });
    try {
      // one chunk of 96 MB announced, streamed as fast as the socket takes it
      const size = 96 * 1024 * 1024;
      const r = await rawRequest(portOf(s), post(portOf(s), "/api/ack", "\r\nTransfer-Encoding: chunked"), { bodyPrefix: `${size.toString(16)}\r\n`, bodyBytes: size });
      expect(r.status).toBe(413);
      expect(r.headers["connection"]).toBe("close");
      // what the client could push before the server closed: the 1 MB read plus the kernel's
      // socket buffers, far from the 96 MB a server reading on would take
      expect(r.sent).toBeLessThan(32 * 1024 * 1024);
    } finally {
      await s.close();
    }
  }, 60_000);

  test("a body that is JSON but not an object (null, a list, a number) is 400 with the reason, never 500", async () => {
    const plant = secretPlant();
    const s = await serve(plant, { host: "127.0.0.1", port: 0, token });
    const port = portOf(s);
    try {
      for (const [body, what] of [["null", "null"], ["[]", "a list"], ["5", "a number"], ['"x"', "a string"]] as const) {
        for (const path of ["/api/command", "/api/ack"]) {
          const r = await rawRequest(port, post(port, path, `\r\nContent-Length: ${body.length}\r\nConnection: close`), { body });
          expect(r.status, `${path} ${body}`).toBe(400);
          expect(JSON.parse(r.body).error, `${path} ${body}`).toBe(`the body is ${what}, not a JSON object; expected ${path === "/api/ack" ? '{"asset", "alarm"}' : '{"asset", "command", "args": {NAME: VALUE}}'}`);
        }
      }
      const bad = await rawRequest(port, post(port, "/api/command", `\r\nContent-Length: 3\r\nConnection: close`), { body: "{x}" });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body).error).toMatch(/^the body is not JSON/);
      // just under the limit is read and obeyed (the sentinel: the command is on the log)
      const cmd = JSON.stringify({ asset: "t1", command: "drain", args: {} });
      const padded = cmd + " ".repeat((1 << 20) - cmd.length);
      const ok = await rawRequest(port, post(port, "/api/command", `\r\nContent-Length: ${padded.length}\r\nConnection: close`), { body: padded });
      expect(ok.status).toBe(200);
      expect(commandsOn(plant)).toEqual(["drain({})"]);
    } finally {
      await s.close();
    }
  });
});
