// The dashboard's security rules (issue #7): beyond loopback nothing is served without the token
// (and the server refuses to start without one); POSTs always need it in the header; on loopback
// only loopback host names are answered (no DNS rebinding); no secret reaches the page.
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { compile } from "../../compiler/index.js";
import { MemoryLog } from "../../runtime/log/memory.js";
import { Plant } from "../../runtime/run/plant.js";
import { InsecureBindError, serve, type PlantServer } from "../../runtime/run/server.js";
import { buildDashboard, examplePlant, killAll, runPlant } from "./helpers.js";

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
