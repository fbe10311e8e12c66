// Issue 11 #13: a command's arguments are checked against its declaration before anything is
// logged or sent. Against the real peers: the built `ofl run` as a child process, a real
// Mosquitto broker, and a device that is a plain MQTT client subscribed to the command topics.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SqliteLog } from "../../runtime/log/sqlite.js";
import { classify } from "../../runtime/wire/records.js";
import { startMosquitto, type Mosquitto } from "../services/mosquitto/start.js";
import { killAll, ofl, runPlant, until, type Running } from "./helpers.js";

const program = (url: string): string => `
enum Mode { AUTO, MANUAL }
model Press {
  telemetry temperature: float<degC> in 0..200
  command stop()
  command set_speed(rpm: float in 0..100, label: string)
  command set_mode(mode: Mode, hold: duration, count: int, force: bool)
}
asset p1: Press {
  uuid "PRESS-1"
  source mqtt("${url}") {
    temperature <- topic("plant/p1/temp", json: "$.v")
    stop        -> publish("plant/p1/cmd/stop")
    set_speed   -> publish("plant/p1/cmd/speed")
    set_mode    -> publish("plant/p1/cmd/mode")
  }
}
`;

let broker: Mosquitto;
let device: MqttClient;
let run: Running;
let dir: string;
let data: string;
const received: { topic: string; body: { command: string; arguments: Record<string, string> } }[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
  dir = mkdtempSync(join(tmpdir(), "ofl-args-"));
  writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: "press" }));
  writeFileSync(join(dir, "plant.ofl"), program(broker.url));
  data = join(dir, "data");
  device = await mqtt.connectAsync(broker.url, { reconnectPeriod: 200 });
  device.on("message", (topic, payload) => received.push({ topic, body: JSON.parse(payload.toString()) }));
  await device.subscribeAsync("plant/p1/cmd/#", { qos: 1 });
  run = await runPlant(dir, data, { extra: ["--clock", "0ms"] });
  await until(async () => ((await (await fetch(`${run.url}/api/health`)).json()) as { connectors: { connected: boolean }[] }).connectors.every((c) => c.connected), 20_000, "the MQTT source");
}, 60_000);

afterAll(async () => {
  await run?.stop();
  killAll();
  await device?.endAsync();
  await broker?.close();
});

const token = (): string => (JSON.parse(readFileSync(join(data, "run.json"), "utf8")) as { token: string }).token;

async function command(cmd: string, args: unknown): Promise<{ status: number; body: { error?: string; status?: string } }> {
  const r = await fetch(`${run.url}/api/command`, {
    method: "POST",
    headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
    body: JSON.stringify({ asset: "p1", command: cmd, args }),
  });
  return { status: r.status, body: (await r.json()) as { error?: string; status?: string } };
}

/** Commands on the plant's log (read-only, beside the running plant). */
function loggedCommands(): string[] {
  const log = SqliteLog.open(data, { readonly: true });
  try {
    const out: string[] = [];
    for (const r of log.read({ topic: "ofa_assets" })) {
      const ev = classify(r);
      if (ev.kind === "operator_command") out.push(`${ev.command} ${JSON.stringify(ev.envelope.arguments)}`);
    }
    return out;
  } finally {
    log.close();
  }
}

describe("issue 11 #13: command arguments", () => {
  test("POST /api/command: an undeclared argument or a wrong type is 400 with the reason; nothing is logged or reaches the device", async () => {
    const refused: [string, unknown, string][] = [
      ["set_speed", { rpm: 50, label: "a", valve: "open_all" }, 'p1.set_speed has no argument "valve": its arguments are rpm, label'],
      ["stop", { valve: "open_all" }, 'p1.stop has no argument "valve": it takes no arguments'],
      ["set_speed", { rpm: "fast", label: "a" }, 'p1.set_speed: argument rpm must be a number (float), not "fast"'],
      ["set_speed", { rpm: "50", label: "a" }, 'p1.set_speed: argument rpm must be a number (float), not "50"'],
      ["set_speed", { rpm: true, label: "a" }, "p1.set_speed: argument rpm must be a number (float), not true"],
      ["set_speed", { rpm: 50, label: 7 }, "p1.set_speed: argument label must be text, not 7"],
      ["set_speed", { rpm: 50, label: { x: 1 } }, 'p1.set_speed: argument label must be text, not {"x":1}'],
      ["set_mode", { mode: "TURBO", hold: 1000, count: 1, force: true }, 'p1.set_mode: argument mode: "TURBO" is not a member of Mode'],
      ["set_mode", { mode: "AUTO", hold: 1000, count: 1.5, force: true }, 'p1.set_mode: argument count: "1.5" is not an int'],
      ["set_mode", { mode: "AUTO", hold: 1000, count: 1, force: "yes" }, 'p1.set_mode: argument force must be true or false, not "yes"'],
      ["set_mode", { mode: "AUTO", hold: "1s", count: 1, force: true }, 'p1.set_mode: argument hold must be a number of milliseconds, not "1s"'],
      ["set_speed", [50, "a"], "p1.set_speed: args must be an object {NAME: VALUE}"],
      ["set_speed", "rpm=50", "p1.set_speed: args must be an object {NAME: VALUE}"],
    ];
    for (const [cmd, args, reason] of refused) {
      const r = await command(cmd, args);
      expect(r.status, JSON.stringify(args)).toBe(400);
      expect(r.body.error, JSON.stringify(args)).toBe(reason);
    }
    // the sentinel: a correct command goes through to the device; it is the only one logged and sent
    const ok = await command("set_speed", { rpm: 50, label: "a" });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe("completed");
    await until(() => received.length > 0, 10_000, "the device to receive the command");
    expect(received.map((m) => [m.topic, m.body.command, m.body.arguments])).toEqual([["plant/p1/cmd/speed", "set_speed", { rpm: "50", label: "a" }]]);
    expect(loggedCommands()).toEqual(['set_speed {"rpm":"50","label":"a"}']);
    // a declared command with every type right is accepted as before
    const mode = await command("set_mode", { mode: "MANUAL", hold: 1500, count: 3, force: false });
    expect(mode.status).toBe(200);
    expect(mode.body.status).toBe("completed");
  }, 60_000);

  test("ofl send: an undeclared argument or a wrong type is an error naming it, exit 1, nothing sent", async () => {
    const before = received.length;
    const send = (text: string) => spawnSync(process.execPath, [ofl, "send", text, dir, "--data", data], { encoding: "utf8" });
    const unknown = send('p1.set_speed(rpm: 50, label: "a", valve: "open_all")');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain("`set_speed` has no parameter `valve`; its parameters are `rpm`, `label`");
    const wrong = send('p1.set_speed(rpm: "fast", label: "a")');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("expected float, found string");
    // the sentinel: a good send arrives, and it is the only message since
    const ok = send("p1.stop()");
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    await until(() => received.length > before, 10_000, "the device to receive stop");
    expect(received.slice(before).map((m) => m.body.command)).toEqual(["stop"]);
    expect(loggedCommands().filter((c) => c.includes("valve"))).toEqual([]);
  }, 60_000);
});
