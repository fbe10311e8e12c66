// The OPC UA connector against a real node-opcua server in-process (test/integration/opcua/device.ts).
import { MessageSecurityMode, StatusCodes } from "node-opcua-client";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { opcuaConnector } from "../../../runtime/connectors/opcua.js";
import type { CommandToDispatch } from "../../../runtime/connectors/types.js";
import type { IrProgram } from "../../../compiler/ir/types.js";
import { startDevice, type Device } from "./device.js";
import { fakeCtx, millProgram, waitFor, type Collected } from "./harness.js";

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!().catch(() => undefined);
});

function command(ir: IrProgram, name: string, args: Record<string, string>, id = "c-" + name): CommandToDispatch {
  const cmd = ir.models[0]!.commands.find((c) => c.name === name)!;
  const binding = ir.assets[0]!.sources[0]!.bindings.find((b) => b.direction === "command" && b.target === name)!;
  return { command: name, args, params: cmd.params, correlationId: id, binding };
}

async function connect(dev: Device, opts: Parameters<typeof millProgram>[1] = {}, env: Record<string, string> = {}) {
  const ir = millProgram(dev.endpoint, opts);
  const col = fakeCtx(ir, "mill", env);
  const conn = opcuaConnector(col.ctx);
  stops.push(() => conn.stop());
  await conn.start();
  return { ir, col, conn };
}

const last = (col: Collected, id: string) => col.of(id).at(-1);

describe("opcua connector", () => {
  let dev: Device;
  beforeAll(async () => {
    dev = await startDevice({ temperature: 21.5, execution: 1 });
  });
  afterAll(async () => {
    await dev.stop();
  });

  test("connects, reports AVAILABLE then every bound signal with its initial value", async () => {
    const { col, conn } = await connect(dev);
    expect(col.values()[0]).toMatchObject({ ID: "avail", VALUE: "AVAILABLE", TAG: "Availability", TYPE: "Events" });
    await waitFor("initial values", () => ["temperature", "execution", "spindle_speed", "part_count"].every((s) => col.of(s).length > 0));
    expect(last(col, "temperature")).toMatchObject({ VALUE: "21.5", TAG: "degC", TYPE: "Samples" });
    expect(last(col, "execution")).toMatchObject({ VALUE: "1", TAG: "execution", TYPE: "Events" });
    expect(last(col, "spindle_speed")).toMatchObject({ VALUE: "12000", TAG: "rpm", TYPE: "Samples" });
    expect(last(col, "part_count")).toMatchObject({ VALUE: "0", TAG: "part_count", TYPE: "Samples" });
    for (const r of col.records) expect(r).toMatchObject({ topic: "ofa_assets", key: "MILL-1" });
    const st = conn.status();
    expect(st.connected).toBe(true);
    expect(st.detail).toBe(`${dev.endpoint} connected (security None), 4 monitored items`);
    expect(col.logs.some((l) => l.includes(" info:") && l.includes("connected"))).toBe(true);
  });

  test("a data change carries the device's source timestamp", async () => {
    const { col } = await connect(dev);
    await waitFor("initial temperature", () => col.of("temperature").length > 0);
    const at = new Date("2026-11-20T08:00:00.125Z");
    dev.set("Temperature", 91.25, at);
    const v = await waitFor("new temperature", () => col.of("temperature").find((x) => x.VALUE === "91.25"));
    expect(v.attributes.timestamp).toBe("2026-11-20T08:00:00.125Z");
    // numbers in their shortest form
    dev.set("Temperature", 0.1 + 0.2, at);
    await waitFor("0.30000000000000004", () => col.of("temperature").find((x) => x.VALUE === "0.30000000000000004"));
    dev.set("Temperature", 100, at);
    await waitFor("100", () => col.of("temperature").find((x) => x.VALUE === "100"));
  });

  test("a bad status code becomes UNAVAILABLE, a good one a value again", async () => {
    const { col } = await connect(dev);
    await waitFor("initial temperature", () => col.of("temperature").length > 0);
    dev.set("Temperature", 0, new Date(), StatusCodes.BadSensorFailure);
    await waitFor("UNAVAILABLE", () => last(col, "temperature")?.VALUE === "UNAVAILABLE");
    expect(last(col, "temperature")).toMatchObject({ TAG: "degC", TYPE: "Samples" });
    dev.set("Temperature", 30);
    await waitFor("30", () => last(col, "temperature")?.VALUE === "30");
  });

  test("deadband: changes smaller than the absolute deadband are not reported", async () => {
    const { col } = await connect(dev);
    await waitFor("initial speed", () => col.of("spindle_speed").length > 0);
    const n = col.of("spindle_speed").length;
    dev.set("SpindleSpeed", 12050); // within 100 of 12000
    dev.set("SpindleSpeed", 12500);
    await waitFor("12500", () => last(col, "spindle_speed")?.VALUE === "12500");
    expect(col.of("spindle_speed").slice(n).map((v) => v.VALUE)).toEqual(["12500"]);
  });

  test("a node that does not exist: a warning and UNAVAILABLE for that signal; the others still report", async () => {
    const { col, conn } = await connect(dev, {
      bindings: `    temperature <- node("ns=1;s=Nope")
    execution <- node("ns=1;s=Execution")`,
    });
    await waitFor("execution", () => col.of("execution").length > 0);
    expect(last(col, "temperature")?.VALUE).toBe("UNAVAILABLE");
    expect(col.logs.some((l) => l.includes(" warn:") && l.includes("ns=1;s=Nope"))).toBe(true);
    expect(conn.status().detail).toContain("1 monitored item");
  });

  test("method commands reach the device with their arguments in declared order and OPC UA types", async () => {
    const { ir, conn } = await connect(dev);
    dev.calls.length = 0;
    const r1 = await conn.dispatch(command(ir, "set_feed", { override: "50" }));
    expect(r1).toEqual({ status: "completed", result: [50] });
    expect(dev.calls).toEqual([{ method: "SetFeed", args: [{ dataType: "Double", value: 50 }] }]);
    expect(dev.value("FeedOverride")).toBe(50);

    // an enum member goes as the device's number (from the source's map) when the method takes Int32
    const r2 = await conn.dispatch(command(ir, "set_mode", { mode: "INTERRUPTED", note: "hello" }));
    expect(r2).toEqual({ status: "completed", result: [] });
    expect(dev.calls[1]).toEqual({
      method: "SetMode",
      args: [
        { dataType: "Int32", value: 2 },
        { dataType: "String", value: "hello" },
      ],
    });
    expect(dev.value("Execution")).toBe(2);

    const r3 = await conn.dispatch(command(ir, "stop", {}));
    expect(r3).toEqual({ status: "completed", result: [] });
    expect(dev.calls[2]).toEqual({ method: "Stop", args: [] });
    expect(dev.value("Execution")).toBe(3);
  });

  test("write commands write the one argument with the node's data type", async () => {
    const { ir, col, conn } = await connect(dev);
    const r = await conn.dispatch(command(ir, "feed_override", { value: "75.5" }));
    expect(r).toEqual({ status: "completed", result: { node_id: "ns=1;s=FeedOverride", value: 75.5 } });
    expect(dev.value("FeedOverride")).toBe(75.5);
    // a read-only node: failed with the status code's text, nothing retried
    const ro = { ...command(ir, "feed_override", { value: "1" }, "c-read-only") };
    ro.binding = { ...ro.binding, named: { node_id: "ns=1;s=Temperature" } };
    const bad = await conn.dispatch(ro);
    expect(bad.status).toBe("failed");
    expect(bad.reason).toMatch(/^BadNotWritable|^BadUserAccessDenied/);
    expect(col.logs.filter((l) => l.includes(" error:"))).toEqual([]);
  });

  test("security SignAndEncrypt / Basic256Sha256: the session is encrypted, values and commands flow", async () => {
    const { ir, col, conn } = await connect(dev, { sourceArgs: `, security: "SignAndEncrypt", policy: "Basic256Sha256"` });
    await waitFor("temperature", () => col.of("temperature").length > 0);
    expect(col.logs.some((l) => l.includes("security SignAndEncrypt/Basic256Sha256"))).toBe(true);
    const modes = dev.server.endpoints.flatMap((e) => e.getChannels().map((ch) => MessageSecurityMode[ch.securityMode]));
    expect(modes).toContain("SignAndEncrypt");
    expect((await conn.dispatch(command(ir, "feed_override", { value: "42" }, "enc-write"))).status).toBe("completed");
    expect(dev.value("FeedOverride")).toBe(42);
  });

  test("an unknown security mode or policy makes start() fail", async () => {
    for (const [args, msg] of [
      [`, security: "Encrypt"`, 'unknown security mode "Encrypt"'],
      [`, security: "Sign", policy: "Rot13"`, 'unknown security policy "Rot13"'],
      [`, security: "None", policy: "Basic256Sha256"`, "security None cannot use policy Basic256Sha256"],
    ] as const) {
      const conn = opcuaConnector(fakeCtx(millProgram(dev.endpoint, { sourceArgs: args }), "mill").ctx);
      await expect(conn.start()).rejects.toThrow(msg);
    }
  });

  test("a correlation id is dispatched at most once", async () => {
    const { ir, conn } = await connect(dev);
    const n = dev.calls.length;
    expect((await conn.dispatch(command(ir, "stop", {}, "same-id"))).status).toBe("completed");
    expect(await conn.dispatch(command(ir, "stop", {}, "same-id"))).toEqual({ status: "failed", reason: "already dispatched (same-id)" });
    expect(dev.calls.length).toBe(n + 1);
  });

  test("an unset env(...) argument makes start() fail, naming the variable", async () => {
    const ir = millProgram(dev.endpoint, { sourceArgs: `, user: "op", password: env("OFL_TEST_UNSET_PASSWORD")` });
    const conn = opcuaConnector(fakeCtx(ir, "mill").ctx);
    await expect(conn.start()).rejects.toThrow("opcua: environment variable OFL_TEST_UNSET_PASSWORD is not set");
  });

  test("a device that refuses a call: failed with the status code text", async () => {
    const { ir, conn } = await connect(dev);
    const c = command(ir, "stop", {});
    c.binding = { ...c.binding, named: { object_id: "ns=1;s=Machine", method_id: "ns=1;s=NoSuchMethod" } };
    const r = await conn.dispatch(c);
    expect(r.status).toBe("failed");
    expect(r.reason).toMatch(/^BadMethodInvalid|^BadNodeIdUnknown/);
    // a wrong argument count is refused before anything is sent
    const n = dev.calls.length;
    const c2 = command(ir, "set_feed", { override: "10" });
    c2.binding = { ...c2.binding, named: { object_id: "ns=1;s=Machine", method_id: "ns=1;s=Stop" } };
    const r2 = await conn.dispatch(c2);
    expect(r2).toEqual({ status: "failed", reason: "the device's method takes 0 arguments, command set_feed has 1" });
    expect(dev.calls.length).toBe(n);
  });
});

describe("opcua connector: connection loss", () => {
  test("server stopped and restarted mid-run: UNAVAILABLE, then AVAILABLE and fresh values; dispatch fails while down", async () => {
    const dev = await startDevice({ temperature: 40 });
    let dev2: Device | undefined;
    stops.push(async () => {
      await dev.stop().catch(() => undefined);
      await dev2?.stop();
    });
    const { ir, col, conn } = await connect(dev);
    await waitFor("initial temperature", () => last(col, "temperature")?.VALUE === "40");
    await dev.stop();
    await waitFor("UNAVAILABLE", () => col.of("avail").at(-1)?.VALUE === "UNAVAILABLE", 15_000);
    expect(conn.status().connected).toBe(false);
    expect(col.logs.some((l) => l.includes(" warn:"))).toBe(true);
    // at most once: no session, no call, no retry later
    const r = await conn.dispatch(command(ir, "stop", {}, "while-down"));
    expect(r.status).toBe("failed");
    expect(r.reason).toContain("not connected");

    dev2 = await startDevice({ port: dev.port, temperature: 55 });
    await waitFor("AVAILABLE again", () => col.of("avail").at(-1)?.VALUE === "AVAILABLE", 15_000);
    await waitFor("fresh value", () => last(col, "temperature")?.VALUE === "55");
    expect(col.of("avail").map((v) => v.VALUE)).toEqual(["AVAILABLE", "UNAVAILABLE", "AVAILABLE"]);
    expect(conn.status().connected).toBe(true);
    expect(dev2.calls).toEqual([]); // the failed stop was never retried
    dev2.set("Temperature", 56);
    await waitFor("56", () => last(col, "temperature")?.VALUE === "56");
    const r2 = await conn.dispatch(command(ir, "stop", {}, "after-restart"));
    expect(r2.status).toBe("completed");
    expect(dev2.calls.map((c) => c.method)).toEqual(["Stop"]);
    if (process.env.OPCUA_DEBUG) process.stderr.write(`DEBUG ${JSON.stringify(col.records.map((r) => [new Date(r.ts).toISOString(), (r.value as { ID: string }).ID, (r.value as { VALUE: string }).VALUE]))}\n${col.logs.join("\n")}\n`);
  }, 60_000);

  test("no device at start: start resolves, UNAVAILABLE, and it connects once the device is up", async () => {
    // a free port: start a device to learn one, stop it
    const probe = await startDevice();
    const port = probe.port;
    await probe.stop();
    const ir = millProgram(`opc.tcp://127.0.0.1:${port}`);
    const col = fakeCtx(ir, "mill");
    const conn = opcuaConnector(col.ctx);
    stops.push(() => conn.stop());
    await conn.start();
    expect(col.of("avail").map((v) => v.VALUE)).toEqual(["UNAVAILABLE"]);
    expect(conn.status()).toMatchObject({ connected: false });
    expect(conn.status().detail).toContain("not connected");
    const dev = await startDevice({ port, temperature: 33 });
    stops.push(() => dev.stop());
    await waitFor("AVAILABLE", () => col.of("avail").at(-1)?.VALUE === "AVAILABLE", 15_000);
    await waitFor("33", () => last(col, "temperature")?.VALUE === "33");
  }, 60_000);

  test("stop() emits UNAVAILABLE, disconnects and emits nothing after", async () => {
    const dev = await startDevice();
    stops.push(() => dev.stop());
    const { col, conn } = await connect(dev);
    await waitFor("temperature", () => col.of("temperature").length > 0);
    await conn.stop();
    expect(col.values().at(-1)).toMatchObject({ ID: "avail", VALUE: "UNAVAILABLE" });
    const n = col.records.length;
    // the server has closed the session: no notification can come from it any more
    await waitFor("the server to close the session", () => dev.server.engine.currentSessionCount === 0);
    const sessions = dev.server.engine.cumulatedSessionCount;
    dev.set("Temperature", 99);
    // sentinel: a second connector connects, subscribes and receives 99; a stopped connector
    // that reconnected or kept a subscription would have delivered it (or opened a session) by then
    const { col: other } = await connect(dev);
    await waitFor("99 through a second connector", () => last(other, "temperature")?.VALUE === "99");
    expect(dev.server.engine.cumulatedSessionCount).toBe(sessions + 1);
    expect(col.records.length).toBe(n);
    expect(conn.status()).toEqual({ connected: false, detail: `${dev.endpoint} stopped` });
  });
});

describe("opcua connector: user identity and secrets", () => {
  const PASSWORD = "Pw-9f83c1-s3cret!";
  const USER = "operator7";

  test("user/password from env: connects, and the password appears in no record, log line or error", async () => {
    const dev = await startDevice({ users: { [USER]: PASSWORD } });
    stops.push(() => dev.stop());
    const out: string[] = [];
    const capture = (s: unknown) => void out.push(String(s));
    const spies = [
      vi.spyOn(process.stdout, "write").mockImplementation((s: unknown) => (capture(s), true)),
      vi.spyOn(process.stderr, "write").mockImplementation((s: unknown) => (capture(s), true)),
      vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => capture(a.join(" "))),
      vi.spyOn(console, "warn").mockImplementation((...a: unknown[]) => capture(a.join(" "))),
      vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => capture(a.join(" "))),
    ];
    try {
      const env = { OFL_TEST_OPCUA_USER: USER, OFL_TEST_OPCUA_PASSWORD: PASSWORD };
      const sourceArgs = `, user: env("OFL_TEST_OPCUA_USER"), password: env("OFL_TEST_OPCUA_PASSWORD")`;
      const { ir, col, conn } = await connect(dev, { sourceArgs }, env);
      await waitFor("temperature", () => col.of("temperature").length > 0);
      expect(dev.sessions).toContain(USER);
      expect((await conn.dispatch(command(ir, "stop", {}))).status).toBe("completed");

      // a wrong password: refused, reported, never shown
      const bad = fakeCtx(ir, "mill", { OFL_TEST_OPCUA_USER: USER, OFL_TEST_OPCUA_PASSWORD: "wrong-" + PASSWORD });
      const c2 = opcuaConnector(bad.ctx);
      stops.push(() => c2.stop());
      await c2.start();
      expect(bad.of("avail").map((v) => v.VALUE)).toEqual(["UNAVAILABLE"]);
      expect(c2.status().connected).toBe(false);
      const r = await c2.dispatch(command(ir, "stop", {}));
      expect(r.status).toBe("failed");
      // an endpoint that is no URL makes start throw: the error is scrubbed too
      const ir3 = millProgram(`tcp://${PASSWORD}`, { sourceArgs });
      const c3 = opcuaConnector(fakeCtx(ir3, "mill", env).ctx);
      let err = "";
      await c3.start().catch((e: Error) => (err = e.message + e.stack));
      expect(err).toContain("not an opc.tcp:// URL");
      await conn.stop();
      await c2.stop();

      const everything = [
        JSON.stringify(col.records),
        JSON.stringify(bad.records),
        col.logs.join("\n"),
        bad.logs.join("\n"),
        JSON.stringify(conn.status()),
        JSON.stringify(c2.status()),
        r.reason ?? "",
        err,
        out.join("\n"),
      ].join("\n");
      expect(bad.logs.length).toBeGreaterThan(0);
      expect(everything).not.toContain(PASSWORD);
      expect(everything).not.toContain(encodeURIComponent(PASSWORD));
    } finally {
      for (const s of spies) s.mockRestore();
    }
  }, 60_000);

  test("only secrets are masked: an env() endpoint and security mode None show as they are; the env() user and the password never", async () => {
    const dev = await startDevice({ users: { [USER]: PASSWORD } });
    stops.push(() => dev.stop());
    const env = { OFL_TEST_OPCUA_ENDPOINT: dev.endpoint, OFL_TEST_OPCUA_SECURITY: "None", OFL_TEST_OPCUA_USER: USER, OFL_TEST_OPCUA_PASSWORD: PASSWORD };
    const ir = millProgram("set below", { sourceArgs: `, security: env("OFL_TEST_OPCUA_SECURITY"), user: env("OFL_TEST_OPCUA_USER"), password: env("OFL_TEST_OPCUA_PASSWORD")` });
    const src = ir.assets[0]!.sources[0]!;
    if ("endpoint" in src.named) src.named["endpoint"] = { env: "OFL_TEST_OPCUA_ENDPOINT" };
    else src.positional[0] = { env: "OFL_TEST_OPCUA_ENDPOINT" };
    const col = fakeCtx(ir, "mill", env);
    const conn = opcuaConnector(col.ctx);
    stops.push(() => conn.stop());
    await conn.start();
    await waitFor("temperature", () => col.of("temperature").length > 0);
    expect(dev.sessions).toContain(USER);
    expect(conn.status().detail).toBe(`${dev.endpoint} connected (security None, user identity), 4 monitored items`);
    const connected = col.logs.find((l) => l.includes(" connected ("));
    expect(connected).toMatch(new RegExp(` info: opcua ${dev.endpoint.replace(/\./g, "\\.")} connected \\(security None, user identity\\), 4 monitored items$`));
    dev.set("Temperature", 55);
    await waitFor("55", () => last(col, "temperature")?.VALUE === "55");
    await conn.stop();
    const everything = [JSON.stringify(col.records), col.logs.join("\n"), JSON.stringify(conn.status())].join("\n");
    expect(everything).not.toContain("***");
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(USER);
  }, 60_000);
});
