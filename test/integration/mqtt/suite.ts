// The MQTT connector's behaviour, run against any broker (aedes in-process, a real Mosquitto).
import type { MqttClient } from "mqtt";
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createMqttConnector } from "../../../runtime/connectors/mqtt.js";
import type { Connector } from "../../../runtime/connectors/types.js";
import type { AssetValue } from "../../../runtime/wire/types.js";
import type { AtMostOnce } from "../../../runtime/connectors/atMostOnce.js";
import { avail, device, EngineFeed, fakeCtx, PASSWORD_ENV, plantIr, USER_ENV, values, waitFor, type FakeCtx } from "./harness.js";

export interface TestBroker {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** fast reconnection for the tests (the default backoff is 0.5 s doubling to 5 s) */
const factory = createMqttConnector({ minBackoffMs: 100, maxBackoffMs: 1000, ackTimeoutMs: 3000 });

const SECRET = "pw-Zq8#x!Lm2@rT";
const USER = "ofl-press";

export function brokerSuite(name: string, startBroker: (users?: Record<string, string>) => Promise<TestBroker>): void {
  describe(`mqtt connector against ${name}`, () => {
    let broker: TestBroker;
    const open: Connector[] = [];
    const clients: MqttClient[] = [];

    beforeAll(async () => {
      broker = await startBroker();
    });
    afterEach(async () => {
      for (const c of open.splice(0)) await c.stop();
      for (const c of clients.splice(0)) await c.endAsync(true);
    });
    afterAll(async () => {
      await broker?.close();
    });

    async function connected(auth = false, env: Record<string, string> = {}, url = broker.url): Promise<{ ctx: FakeCtx; connector: Connector }> {
      const ir = plantIr(url, auth);
      const ctx = fakeCtx(ir, "p1", env);
      const connector = factory(ctx);
      open.push(connector);
      await connector.start();
      await waitFor("the subscriptions", () => connector.status().detail.includes("6 subscriptions"));
      return { ctx, connector };
    }

    async function dev(): Promise<MqttClient> {
      const c = await device(broker.url);
      clients.push(c);
      return c;
    }

    test("telemetry with a json path and a device time arrives as records; status", async () => {
      const { ctx, connector } = await connected();
      expect(avail(ctx)).toEqual(["AVAILABLE"]);
      const st = connector.status();
      expect(st.connected).toBe(true);
      expect(st.detail).toBe(`${broker.url} connected, 6 subscriptions`);
      const d = await dev();
      const before = Date.now();
      await d.publishAsync("plant/p1/temp", JSON.stringify({ v: 71.5, ts: "2026-11-20T08:00:00.125Z" }), { qos: 1 });
      await d.publishAsync("plant/p1/temp", JSON.stringify({ v: 72, ts: 1763625601000 }), { qos: 1 });
      await d.publishAsync("plant/p1/temp", JSON.stringify({ v: 73.25 }), { qos: 1 });
      await d.publishAsync("plant/p1/mode", "AUTO", { qos: 1 });
      await waitFor("4 records", () => values(ctx, "temperature").length === 3 && values(ctx, "mode").length === 1);
      const t = values(ctx, "temperature");
      expect(t[0]).toEqual({ ID: "temperature", VALUE: "71.5", TAG: "degC", TYPE: "Samples", attributes: { timestamp: "2026-11-20T08:00:00.125Z", mqtt_id: expect.stringMatching(/^\d+:[0-9a-f]{16}$/) } });
      expect(t[1]!.VALUE).toBe("72");
      expect(t[1]!.attributes.timestamp).toBe("2025-11-20T08:00:01.000Z");
      // no device time: the receive time
      const recv = Date.parse(t[2]!.attributes.timestamp);
      expect(recv).toBeGreaterThanOrEqual(before);
      expect(recv).toBeLessThanOrEqual(Date.now());
      expect(values(ctx, "mode")[0]).toMatchObject({ ID: "mode", VALUE: "AUTO", TAG: "mode", TYPE: "Events" });
      for (const r of ctx.records) expect(r).toMatchObject({ topic: "ofa_assets", key: "PRESS-1" });
      // and the engine takes them
      const feed = new EngineFeed(plantIr(broker.url));
      feed.feed(ctx.records);
      expect(feed.deadLetters()).toEqual([]);
      expect(feed.engine.snapshot().assets["p1"]!.telemetry).toMatchObject({ temperature: 73.25, mode: "AUTO" });
    });

    test("wildcards: + and # match per binding, and a message matching several bindings gives each its record", async () => {
      const { ctx } = await connected();
      const d = await dev();
      await d.publishAsync("plant/p1/pressure", JSON.stringify({ bar: 1.5 }), { qos: 1 });
      await d.publishAsync("plant/p2/pressure", JSON.stringify({ bar: 2.5 }), { qos: 1 });
      await d.publishAsync("plant/p1/notes", "parent level", { qos: 1 });
      await d.publishAsync("plant/p1/notes/a/b", "deep", { qos: 1 });
      await d.publishAsync("plant/p1/pressure/extra", JSON.stringify({ bar: 9 }), { qos: 1 }); // matches nothing
      await d.publishAsync("plant/p1/count", JSON.stringify({ data: { counts: [7, 8] } }), { qos: 1 });
      await d.publishAsync("plant/p3/count", "x", { qos: 1 }); // count_raw only
      await waitFor("records", () => values(ctx, "count_raw").length === 2 && values(ctx, "note").length === 2);
      expect(values(ctx, "pressure").map((v) => v.VALUE)).toEqual(["1.5", "2.5"]);
      expect(values(ctx, "note").map((v) => v.VALUE)).toEqual(["parent level", "deep"]);
      expect(values(ctx, "count").map((v) => v.VALUE)).toEqual(["7"]);
      expect(values(ctx, "count_raw").map((v) => v.VALUE)).toEqual([JSON.stringify({ data: { counts: [7, 8] } }), "x"]);
      // the two records of the one message on plant/p1/count are adjacent
      const ids = ctx.records.map((r) => (r.value as AssetValue).ID).filter((id) => id.startsWith("count"));
      expect(ids).toEqual(["count", "count_raw", "count_raw"]);
    });

    test("a command reaches a subscriber with the right body, completed on PUBACK", async () => {
      const { connector } = await connected();
      const d = await dev();
      const got: { topic: string; body: unknown }[] = [];
      d.on("message", (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) }));
      await d.subscribeAsync("plant/p1/cmd/#", { qos: 1 });
      const ir = plantIr(broker.url);
      const model = ir.models.find((m) => m.name === "Press")!;
      const source = ir.assets[0]!.sources[0]!;
      const bind = (c: string) => source.bindings.find((b) => b.target === c)!;
      const cmd = (command: string, args: Record<string, string>, correlationId: string) => ({
        command,
        args,
        params: model.commands.find((c) => c.name === command)!.params,
        correlationId,
        binding: bind(command),
      });
      const r1 = await connector.dispatch(cmd("set_speed", { rpm: "50", label: "slow \"down\"" }, "cid-1"));
      expect(r1.status).toBe("completed");
      const r2 = await connector.dispatch(cmd("stop", {}, "cid-2"));
      expect(r2.status).toBe("completed");
      await waitFor("2 commands", () => got.length === 2);
      expect(got).toEqual([
        { topic: "plant/p1/cmd/speed", body: { command: "set_speed", arguments: { rpm: "50", label: 'slow "down"' }, correlation_id: "cid-1" } },
        { topic: "plant/p1/cmd/stop", body: { command: "stop", arguments: {}, correlation_id: "cid-2" } },
      ]);
      // at most once per correlation id
      const again = await connector.dispatch(cmd("stop", {}, "cid-2"));
      expect(again.status).toBe("failed");
      expect(again.reason).toMatch(/already dispatched/);
      // sentinel: a later command arrives; cid-2 did not come a second time before it
      expect((await connector.dispatch(cmd("stop", {}, "cid-3"))).status).toBe("completed");
      await waitFor("the sentinel command", () => got.length >= 3);
      expect(got.map((g) => (g.body as { correlation_id: string }).correlation_id)).toEqual(["cid-1", "cid-2", "cid-3"]);
    });

    test("bad payloads give records the engine dead-letters with the right reasons; the connector keeps running", async () => {
      const { ctx, connector } = await connected();
      const d = await dev();
      const bad: [string, string][] = [
        ["plant/p1/temp", "not json at all"], // not JSON with a json path: raw text → wrong_type
        ["plant/p1/temp", JSON.stringify({ v: "hot" })], // wrong_type
        ["plant/p1/temp", JSON.stringify({ v: "NaN" })], // not_finite
        ["plant/p1/temp", JSON.stringify({ v: "-Infinity" })], // not_finite
        ["plant/p1/temp", JSON.stringify({ v: 500 })], // out_of_range
        ["plant/p1/temp", JSON.stringify({ other: 1 })], // path does not resolve: raw text → wrong_type
        ["plant/p1/temp", JSON.stringify({ v: { nested: 1 } })], // an object at the path → wrong_type
        ["plant/p1/temp", JSON.stringify({ v: 20, ts: "yesterday" })], // a time that is no time → bad_json
        ["plant/p1/count", JSON.stringify({ data: { counts: [1.5] } })], // int with a fraction → wrong_type
        ["plant/p1/count", JSON.stringify({ data: { counts: [] } })], // index out of range → wrong_type
        ["plant/p1/mode", "TURBO"], // not a member → wrong_type
        ["plant/p1/pressure", Buffer.from([0xff, 0xfe, 0x00]).toString("latin1")], // binary junk
      ];
      for (const [t, p] of bad) await d.publishAsync(t, p, { qos: 1 });
      await d.publishAsync("plant/p1/temp", JSON.stringify({ v: 42.5 }), { qos: 1 });
      // 1 avail + the bad ones + 2 count_raw (plant/+/count also matches) + the good one
      await waitFor("every record", () => ctx.records.length === 1 + bad.length + 2 + 1);
      expect(connector.status().connected).toBe(true);
      const feed = new EngineFeed(plantIr(broker.url));
      feed.feed(ctx.records);
      const reasons = feed.deadLetters().map((d) => d.reason);
      expect(reasons).toEqual([
        "wrong_type",
        "wrong_type",
        "not_finite",
        "not_finite",
        "out_of_range",
        "wrong_type",
        "wrong_type",
        "bad_json",
        "wrong_type",
        "wrong_type",
        "wrong_type",
        "wrong_type",
      ]);
      // the original record rides along; the raw payload is its VALUE
      const first = feed.deadLetters()[0]!.record as { value: AssetValue };
      expect(first.value.VALUE).toBe("not json at all");
      expect(String(first.value.attributes.error)).toMatch(/not JSON/);
      // and the good value after them is state
      expect(feed.engine.snapshot().assets["p1"]!.telemetry["temperature"]).toBe(42.5);
      // each kind of problem was reported once (rate-limited), nothing thrown
      expect(ctx.logs.filter((l) => l.level === "error")).toEqual([]);
      expect(ctx.logs.some((l) => l.level === "warn" && l.message.includes("temperature") && l.message.includes("not JSON"))).toBe(true);
    });

    test("broker stopped and restarted mid-run: UNAVAILABLE, then AVAILABLE, and messages resume", async () => {
      const { ctx, connector } = await connected();
      const d = await dev();
      await d.publishAsync("plant/p1/mode", "AUTO", { qos: 1 });
      await waitFor("a first record", () => values(ctx, "mode").length === 1);
      await broker.stop();
      await waitFor("UNAVAILABLE", () => avail(ctx).length === 2);
      expect(avail(ctx)).toEqual(["AVAILABLE", "UNAVAILABLE"]);
      expect(connector.status().connected).toBe(false);
      expect(connector.status().detail).toMatch(/reconnecting/);
      // not connected: a command fails at once and is never sent later
      const ir = plantIr(broker.url);
      const binding = ir.assets[0]!.sources[0]!.bindings.find((b) => b.target === "stop")!;
      const r = await connector.dispatch({ command: "stop", args: {}, params: [], correlationId: "while-down", binding });
      expect(r).toMatchObject({ status: "failed" });
      expect(r.reason).toMatch(/not connected/);
      // a failed reconnection attempt (refused) is reported, and does not give another avail
      await waitFor("a failed reconnection attempt", () => ctx.logs.some((l) => l.level === "warn" && /ECONNREFUSED|connect/i.test(l.message) && !/lost/.test(l.message)));
      expect(avail(ctx)).toEqual(["AVAILABLE", "UNAVAILABLE"]);
      await broker.start();
      await waitFor("AVAILABLE again", () => avail(ctx).length === 3, 15_000);
      expect(avail(ctx)).toEqual(["AVAILABLE", "UNAVAILABLE", "AVAILABLE"]);
      await waitFor("resubscribed", () => connector.status().detail.includes("6 subscriptions"));
      const sub = await dev();
      const got: string[] = [];
      sub.on("message", (_t, p) => got.push(JSON.parse(p.toString()).correlation_id));
      await sub.subscribeAsync("plant/p1/cmd/#", { qos: 1 });
      await sub.publishAsync("plant/p1/mode", "MANUAL", { qos: 1 });
      await waitFor("messages resume", () => values(ctx, "mode").length === 2);
      expect(values(ctx, "mode")[1]!.VALUE).toBe("MANUAL");
      const after = await connector.dispatch({ command: "stop", args: {}, params: [], correlationId: "after", binding });
      expect(after.status).toBe("completed");
      await waitFor("the command", () => got.length === 1);
      // sentinel: one more command; the failed one was never sent before or between them
      expect((await connector.dispatch({ command: "stop", args: {}, params: [], correlationId: "sentinel", binding })).status).toBe("completed");
      await waitFor("the sentinel command", () => got.length === 2);
      expect(got).toEqual(["after", "sentinel"]); // the failed one was never sent
      // the engine: UNAVAILABLE made the signal unknown, then MANUAL
      const feed = new EngineFeed(ir);
      feed.feed(ctx.records);
      expect(feed.engine.snapshot().assets["p1"]!.telemetry["mode"]).toBe("MANUAL");
    });

    test("persistent session: QoS 1 messages published while the plant is down arrive after the restart", async () => {
      const first = await connected();
      await first.connector.stop();
      const d = await dev();
      for (const m of ["AUTO", "MANUAL", "AUTO"]) await d.publishAsync("plant/p1/mode", m, { qos: 1 });
      // a restarted plant: a new connector for the same program, asset and source
      const second = await connected();
      await waitFor("the 3 messages published while down", () => values(second.ctx, "mode").length === 3);
      expect(values(second.ctx, "mode").map((v) => v.VALUE)).toEqual(["AUTO", "MANUAL", "AUTO"]);
      expect(first.connector.status().detail).not.toContain("connected,");
    });

    test("the PUBACK waits for durability: a message whose batch never became durable is redelivered; one already on the log is not appended twice", async () => {
      const ir = plantIr(broker.url);
      // the first run: the runtime never confirms the batch durable (a crash before the fsync)
      const ctxA = fakeCtx(ir);
      let emitted = 0;
      ctxA.emit = (recs) => {
        ctxA.records.push(...recs);
        emitted += recs.length;
        return new Promise<void>(() => {});
      };
      const a = factory(ctxA);
      open.push(a);
      await a.start();
      await waitFor("the subscriptions", () => a.status().detail.includes("6 subscriptions"));
      const d = await dev();
      await d.publishAsync("plant/p1/mode", "MANUAL", { qos: 1 });
      await waitFor("the record", () => values(ctxA, "mode").length === 1);
      await a.stop();
      // second run, told (history) that the first message is on the log: the broker redelivers it
      // (never acknowledged), the connector recognises it, acknowledges it and does not append it
      const ctxB = fakeCtx(ir);
      ctxB.history = () => ctxA.records.map((r, i) => ({ ...r, partition: 0, offset: i }));
      const b = factory(ctxB);
      open.push(b);
      await b.start();
      await d.publishAsync("plant/p1/mode", "AUTO", { qos: 1 }); // sentinel: after the redelivery
      await waitFor("the sentinel message", () => values(ctxB, "mode").length >= 1);
      expect(values(ctxB, "mode").map((v) => v.VALUE)).toEqual(["AUTO"]);
      expect(((b as AtMostOnce).device as unknown as { redeliveredDuplicates: number }).redeliveredDuplicates).toBe(1);
      await b.stop();
      // third run without that history (the first batch was lost): the message is not lost either
      const ctxC = fakeCtx(ir);
      let resolveNext: () => void = () => {};
      ctxC.emit = (recs) => {
        ctxC.records.push(...recs);
        return new Promise<void>((r) => (resolveNext = r));
      };
      const c = factory(ctxC);
      open.push(c);
      await c.start();
      await d.publishAsync("plant/p1/mode", "MANUAL", { qos: 1 });
      await waitFor("the new message", () => values(ctxC, "mode").some((v) => v.VALUE === "MANUAL"));
      resolveNext(); // durable now: acknowledged
      expect(emitted).toBeGreaterThan(0);
    });

    test("a value nested 100,000 levels deep becomes a dead letter with the reason, not a lost message", async () => {
      const { ctx } = await connected();
      const d = await dev();
      const deep = "[".repeat(100_000) + "]".repeat(100_000);
      await d.publishAsync("plant/p1/temp", `{"v":${deep}}`, { qos: 1 });
      await d.publishAsync("plant/p1/temp", JSON.stringify({ v: 20 }), { qos: 1 }); // sentinel
      await waitFor("both records", () => values(ctx, "temperature").length === 2);
      const [bad, good] = values(ctx, "temperature");
      expect(bad!.attributes.error).toBe("the value at $.v is nested more than 64 levels deep (the limit)");
      expect(bad!.VALUE).toBe(`{"v":${deep}}`); // the original, on the log
      expect(good!.VALUE).toBe("20");
      const feed = new EngineFeed(plantIr(broker.url));
      feed.feed(ctx.records);
      const dl = feed.deadLetters();
      expect(dl.map((x) => x.reason)).toEqual(["wrong_type"]);
      expect(ctx.logs.some((l) => l.level === "error")).toBe(false);
    });

    test("a 10 MB malformed message is stored once: other records and the dead letter carry an excerpt and its hash", async () => {
      const { ctx } = await connected();
      const d = await dev();
      const big = "not json " + "x".repeat(10 * 1024 * 1024);
      // plant/p1/count: `count` (json path: not JSON, dead-lettered) and `count_raw` (the text as is)
      await d.publishAsync("plant/p1/count", big, { qos: 1 });
      await waitFor("both records", () => values(ctx, "count").length === 1 && values(ctx, "count_raw").length === 1);
      expect(values(ctx, "count_raw")[0]!.VALUE).toBe(big); // stored once, here
      const bad = values(ctx, "count")[0]!;
      expect(bad.VALUE.length).toBeLessThan(2000);
      expect(bad.attributes.payload_sha256).toBe(createHash("sha256").update(big).digest("hex"));
      expect(bad.attributes.payload_in).toBe("count_raw");
      const feed = new EngineFeed(plantIr(broker.url));
      feed.feed(ctx.records);
      const dl = feed.deadLetters();
      expect(dl.map((x) => x.reason)).toEqual(["wrong_type"]);
      const total = [...ctx.records, ...feed.outputs].reduce((n, r) => n + JSON.stringify(r.value).length, 0);
      expect(total).toBeLessThan(big.length + 20_000); // once, plus small excerpts
    }, 60_000);

    test("stop(): UNAVAILABLE, disconnected, no more records", async () => {
      const { ctx, connector } = await connected();
      await connector.stop();
      expect(avail(ctx)).toEqual(["AVAILABLE", "UNAVAILABLE"]);
      expect(connector.status().connected).toBe(false);
      const n = ctx.records.length;
      const d = await dev();
      // sentinel: a device subscribed to the same topic gets the message (the broker routed it)
      const seen: string[] = [];
      d.on("message", (_t, p) => seen.push(p.toString()));
      await d.subscribeAsync("plant/p1/mode", { qos: 1 });
      await d.publishAsync("plant/p1/mode", "AUTO", { qos: 1 });
      await waitFor("the sentinel subscriber's copy", () => seen.includes("AUTO"));
      expect(ctx.records.length).toBe(n);
    });

    describe("with a password", () => {
      let secured: TestBroker;
      beforeAll(async () => {
        secured = await startBroker({ [USER]: SECRET });
      });
      afterAll(async () => {
        await secured?.close();
      });

      test("user and password from env: connects; the password is in no record, log line, status or error", async () => {
        const env = { [USER_ENV]: USER, [PASSWORD_ENV]: SECRET };
        const { ctx, connector } = await connected(true, env, secured.url);
        expect(connector.status().connected).toBe(true);
        const d = await device(secured.url, { username: USER, password: SECRET });
        clients.push(d);
        await d.publishAsync("plant/p1/mode", "AUTO", { qos: 1 });
        await waitFor("a record", () => values(ctx, "mode").length === 1);
        // a bad payload, a lost connection, a refused command: all scrubbed
        await d.publishAsync("plant/p1/temp", SECRET, { qos: 1 });
        await waitFor("the bad record", () => values(ctx, "temperature").length === 1);
        await secured.stop();
        await waitFor("UNAVAILABLE", () => avail(ctx).length === 2);
        const binding = ctx.source.bindings.find((b) => b.target === "stop")!;
        const r = await connector.dispatch({ command: "stop", args: {}, params: [], correlationId: "x", binding });
        await secured.start();
        await waitFor("AVAILABLE", () => avail(ctx).length === 3, 15_000);
        await connector.stop();
        // the device sent the password as a payload: that record is the device's data, not a leak;
        // everything the connector wrote itself must be clean
        const own = ctx.records.filter((rec) => (rec.value as AssetValue).VALUE !== SECRET);
        const text = JSON.stringify({ own, logs: ctx.logs, r, status: connector.status() });
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(encodeURIComponent(SECRET));
      });

      test("a wrong password: refused, reported without the secret, keeps retrying; credentials in the URL are not shown", async () => {
        const wrong = "wrong-" + SECRET;
        const env = { [USER_ENV]: USER, [PASSWORD_ENV]: wrong };
        const ir = plantIr(secured.url, true);
        const ctx = fakeCtx(ir, "p1", env);
        const c = factory(ctx);
        open.push(c);
        await c.start();
        await waitFor("a refusal", () => ctx.logs.some((l) => /not authori[sz]ed|bad user ?name or password/i.test(l.message)), 10_000);
        expect(c.status().connected).toBe(false);
        expect(avail(ctx)).toEqual(["UNAVAILABLE"]);
        await c.stop();
        expect(JSON.stringify({ records: ctx.records, logs: ctx.logs, status: c.status() })).not.toContain(wrong);

        // credentials inside the URL work and never show
        const url = secured.url.replace("mqtt://", `mqtt://${USER}:${encodeURIComponent(SECRET)}@`);
        const ir2 = plantIr(url, false);
        const ctx2 = fakeCtx(ir2, "p1");
        const c2 = factory(ctx2);
        open.push(c2);
        await c2.start();
        expect(c2.status().connected).toBe(true);
        expect(c2.status().detail.startsWith(`${secured.url} connected, `)).toBe(true);
        await waitFor("subscriptions", () => c2.status().detail.includes("6 subscriptions")).catch((e) => {
          throw new Error(`${(e as Error).message}: ${JSON.stringify(ctx2.logs)} ${c2.status().detail}`);
        });
        await c2.stop();
        const text = JSON.stringify({ records: ctx2.records, logs: ctx2.logs, status: c2.status() });
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(encodeURIComponent(SECRET));
      });

      test("a missing env variable fails start() naming the variable, not a value", async () => {
        const ir = plantIr(secured.url, true);
        const ctx = fakeCtx(ir, "p1", { [USER_ENV]: USER });
        delete process.env[PASSWORD_ENV];
        const c = factory(ctx);
        await expect(c.start()).rejects.toThrow(new RegExp(`${PASSWORD_ENV}.*not set`));
        await c.stop();
      });
    });
  });
}
