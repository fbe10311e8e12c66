// Issue 11 #10: nothing a viewer does delays control. Time travel (`/api/state?at=`) and history
// (`/api/history`) run in worker threads over a read-only handle of the log; the plant's event
// loop keeps ingesting, deciding and dispatching while they run. Real peers: the built `ofl run`,
// Mosquitto, a device on MQTT; the server in-process over a real SQLite log for the queue limit.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { compile } from "../../compiler/index.js";
import { SqliteLog } from "../../runtime/log/sqlite.js";
import { Plant } from "../../runtime/run/plant.js";
import { serve } from "../../runtime/run/server.js";
import { ASSETS_TOPIC, telemetryValue } from "../../runtime/wire/records.js";
import type { NewRecord } from "../../runtime/wire/types.js";
import type { StateInfo } from "../../runtime/dashboard/protocol.js";
import { startMosquitto, type Mosquitto } from "../services/mosquitto/start.js";
import { spawn } from "node:child_process";
import { killAll, ofl, until } from "./helpers.js";

const program = (url: string): string => `
model Press {
  telemetry temperature: float<degC> in -50..500
  command stop()
}
asset p1: Press {
  uuid "PRESS-1"
  source mqtt("${url}") {
    temperature <- topic("plant/p1/temp", json: "$.v")
    stop        -> publish("plant/p1/cmd/stop")
  }
}
rule stop_hot on Press {
  when temperature > 90 degC
  then stop()
}
`;

/** A log of `n` temperature readings of p1, 10 ms apart from T0, between 20 and 69 °C (no rule fires). */
const T0 = Date.UTC(2026, 0, 1);
const N = 120_000;
const reading = (i: number): number => 20 + (i % 50);
function prefill(dir: string, n = N): void {
  const log = SqliteLog.open(dir, { program: "press" });
  try {
    for (let i = 0; i < n; ) {
      const batch: NewRecord[] = [];
      for (const end = Math.min(n, i + 5000); i < end; i++) {
        const t = T0 + i * 10;
        batch.push({ topic: ASSETS_TOPIC, key: "PRESS-1", ts: t, value: telemetryValue("temperature", reading(i), "degC", "Samples", t) });
      }
      log.append(batch);
    }
  } finally {
    log.close();
  }
}

/** State at the time of reading `i`: the prefix of readings 0..i (language spec §6). */
const atOf = (i: number): string => new Date(T0 + i * 10).toISOString();

describe("issue 11 #10: time travel runs off the plant's event loop", () => {
  let broker: Mosquitto;
  let device: MqttClient;
  let run: { url: string; stop: () => Promise<number | null> };
  const commands: number[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    const dir = mkdtempSync(join(tmpdir(), "ofl-tt-"));
    writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: "press" }));
    writeFileSync(join(dir, "plant.ofl"), program(broker.url));
    const data = join(dir, "data");
    prefill(data);
    device = await mqtt.connectAsync(broker.url, { reconnectPeriod: 200 });
    device.on("message", () => commands.push(Date.now()));
    await device.subscribeAsync("plant/p1/cmd/#", { qos: 1 });
    // `ofl run` rebuilds its state from the whole log first: on a loaded machine that takes a while
    const child = spawn(process.execPath, [ofl, "run", dir, "--port", "0", "--data", data, "--clock", "100ms"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    await until(() => /stop with Ctrl-C/.test(out) || child.exitCode !== null, 100_000, "ofl run to start");
    const m = /dashboard: (http:\/\/[^/\s]+)/.exec(out);
    if (!m) throw new Error(`ofl run did not start:\n${out}`);
    run = {
      url: m[1]!,
      stop: () => {
        if (child.exitCode === null) child.kill("SIGINT");
        return exited;
      },
    };
    await until(async () => ((await (await fetch(`${run.url}/api/health`)).json()) as { connectors: { connected: boolean }[] }).connectors.every((c) => c.connected), 30_000, "the MQTT source");
  }, 180_000);

  afterAll(async () => {
    await run?.stop();
    killAll();
    await device?.endAsync();
    await broker?.close();
  });

  test("while 5 time-travel requests replay a 120,000-record log, the plant answers, ingests, decides and dispatches; each answer is the replay up to T", async () => {
    const marks = [1000, 2000, 3000, 4000, 5000].map((k) => N - k);
    const answers: { i: number; at: number; body: StateInfo }[] = [];
    const travels = marks.map(async (i) => {
      const r = await fetch(`${run.url}/api/state?at=${atOf(i)}`);
      expect(r.status).toBe(200);
      answers.push({ i, at: Date.now(), body: (await r.json()) as StateInfo });
    });
    // the plant, while they run: its API answers, and a reading over 90 °C reaches the device as stop()
    const h = await fetch(`${run.url}/api/health`);
    expect(h.status).toBe(200);
    const healthAt = Date.now();
    await device.publishAsync("plant/p1/temp", JSON.stringify({ v: 95 }), { qos: 1 });
    await until(() => commands.length > 0, 30_000, "the rule's stop() at the device");
    const commandAt = commands[0]!;
    await Promise.all(travels);
    const lastAnswer = Math.max(...answers.map((a) => a.at));
    expect(healthAt, "the API answered before the time travel finished").toBeLessThan(lastAnswer);
    expect(commandAt, "the command reached the device before the time travel finished").toBeLessThan(lastAnswer);
    expect(commands).toHaveLength(1);
    // and time travel is still the replay: the prefix up to reading i, its value
    for (const a of answers) {
      expect(a.body.replayed, atOf(a.i)).toBe(a.i + 1);
      expect(a.body.assets["p1"]!.telemetry["temperature"], atOf(a.i)).toBe(reading(a.i));
      expect(a.body.at).toBe(T0 + a.i * 10);
    }
    // the charts of the past come from the workers too
    const hist = await fetch(`${run.url}/api/history?asset=p1&minutes=0.1&at=${atOf(N - 1)}`);
    expect(hist.status).toBe(200);
    const series = ((await hist.json()) as { series: Record<string, [number[], number[]]> }).series["temperature"]!;
    expect(series[0]).toHaveLength(601); // 6 s of readings 10 ms apart, both ends included
    expect(series[1].at(-1)).toBe(reading(N - 1));
    expect((await fetch(`${run.url}/api/history?asset=nope&minutes=1`)).status).toBe(404);
  }, 120_000);
});

describe("issue 11 #10: the time-travel queue is bounded", () => {
  test("one worker, two waiting: of six requests at once, three are answered and three get 503 with Retry-After", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "ofl-ttq-")), "data");
    prefill(dir, 150_000);
    const { ir } = compile([{ path: "plant.ofl", text: program("mqtt://127.0.0.1:1") }], { name: "press" });
    const plant = new Plant({ program: ir!, log: SqliteLog.open(dir, { program: "press" }), connect: false, clockMs: 0 });
    const s = await serve(plant, { host: "127.0.0.1", port: 0, token: "q".repeat(32), timeTravel: { workers: 1, queue: 2 } });
    try {
      const rs = await Promise.all([1, 2, 3, 4, 5, 6].map((k) => fetch(`${s.url}/api/state?at=${atOf(150_000 - k)}`)));
      const statuses = rs.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 200, 503, 503, 503]);
      for (const r of rs.filter((x) => x.status === 503)) {
        expect(r.headers.get("retry-after")).toBe("1");
        expect(((await r.json()) as { error: string }).error).toBe("time travel is busy: 1 running, 2 waiting; try again in a moment");
      }
      for (const r of rs.filter((x) => x.status === 200)) expect(((await r.json()) as StateInfo).replayed).toBeGreaterThan(149_990);
      // once the queue drains, a new request is answered
      expect((await fetch(`${s.url}/api/state?at=${atOf(10)}`)).status).toBe(200);
    } finally {
      await s.close();
      await plant.stop();
    }
  }, 120_000);
});
