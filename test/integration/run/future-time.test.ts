// Issue 11 item 9 against real peers: `ofl run` (the built command, a child process) with an
// MQTT source on a real Mosquitto broker. A device with a wrong clock publishes one value
// stamped 2099; before language spec §7.6 that record moved stream time to 2099 and silenced
// the `> 90 degC for 5s` rule for good. Now the record is dead-lettered `future_time` (with the
// receive time the connector stamped as its `ts`) and the rule still stops the mill.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import mqtt from "mqtt";
import { afterEach, describe, expect, test } from "vitest";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { distanceText } from "../../../runtime/wire/records.js";
import { startMosquitto, type Mosquitto } from "../../services/mosquitto/start.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../..");
const ofl = join(root, "bin/ofl.mjs");
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("ofl run: a device clock far in the future (MQTT, Mosquitto)", () => {
  test("the 2099 record is dead-lettered future_time; `> 90 degC for 5s` still issues stop() once", async () => {
    const broker: Mosquitto = await startMosquitto();
    cleanup.push(() => broker.close());
    const dir = mkdtempSync(join(tmpdir(), "ofl-future-run-"));
    writeFileSync(join(dir, "ofl.json"), '{"name": "wrongclock"}');
    writeFileSync(
      join(dir, "plant.ofl"),
      `model Mill {
  telemetry temperature: float<degC> in 0..500
  state overheating = temperature > 90 degC for 5s
  command stop()
}
asset m1: Mill {
  uuid "M-1"
  source mqtt("${broker.url}") {
    temperature <- topic("mill/m1", json: "$.v", time: "$.t")
    stop -> publish("mill/m1/cmd")
  }
}
rule stop_hot on Mill {
  when overheating
  then stop()
}
`,
    );

    // the device: a real MQTT client that also receives the commands
    const device = await mqtt.connectAsync(broker.url, { clientId: "device-m1" });
    cleanup.push(() => device.endAsync());
    const commands: { command: string; correlation_id: string }[] = [];
    device.on("message", (_t, payload) => commands.push(JSON.parse(payload.toString())));
    await device.subscribeAsync("mill/m1/cmd", { qos: 1 });

    const child: ChildProcess = spawn(process.execPath, [ofl, "run", dir, "--port", "0", "--clock", "100ms"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    cleanup.push(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    await until(() => /stop with Ctrl-C/.test(out) && /mqtt:\/\/127\.0\.0\.1:\d+ connected/.test(out), 30_000, `ofl run to connect:\n${out}`);

    const publish = (v: number, t: string): Promise<unknown> => device.publishAsync("mill/m1", JSON.stringify({ v, t }), { qos: 1 });
    await publish(50, new Date().toISOString());
    const wrongAt = Date.now();
    await publish(50, "2099-01-01T00:00:00.000Z");
    // then the mill runs hot, on time, until the rule stops it (the sentinel: the command)
    const hot = setInterval(() => void publish(95, new Date().toISOString()).catch(() => {}), 200);
    cleanup.push(() => clearInterval(hot));
    await until(() => commands.length > 0, 40_000, `stop() on mill/m1/cmd (ofl run output:\n${out})`);
    clearInterval(hot);
    expect(commands[0]!.command).toBe("stop");

    child.kill("SIGINT");
    expect(await exited).toBe(0);
    const log = SqliteLog.open(join(dir, ".ofl/data"), { readonly: true });
    const dead = [...log.read({ topic: "ofl_deadletter" })].map((r) => r.value as { reason: string; detail: string; record: { ts: number; value: { VALUE: string; attributes: { timestamp: string } } } });
    const assets = [...log.read({ topic: "ofa_assets" })].map((r) => r.value as { ID: string; VALUE: string });
    log.close();
    expect(dead.map((d) => d.reason)).toEqual(["future_time"]);
    const d = dead[0]!;
    expect(d.record.value.attributes.timestamp).toBe("2099-01-01T00:00:00.000Z");
    // the connector stamped its receive time on the record
    expect(d.record.ts).toBeGreaterThanOrEqual(wrongAt - 1000);
    expect(d.record.ts).toBeLessThanOrEqual(wrongAt + 10_000);
    // the distance as distanceText writes it (a receive time on a whole second prints seconds:
    // a pattern of `\d+ms` failed one run in a thousand)
    const ahead = distanceText(Date.parse("2099-01-01T00:00:00.000Z") - d.record.ts);
    expect(d.detail).toBe(`m1.temperature: event time 2099-01-01T00:00:00.000Z is ${ahead} ahead of its receive time ${new Date(d.record.ts).toISOString()} (tolerance 5m)`);
    // one stop, issued by the rule, and the device's answer on the log
    const cmds = assets.filter((v) => v.ID === "stop_CMD");
    expect(cmds).toHaveLength(1);
    expect(commands).toHaveLength(1);
    expect(JSON.parse(cmds[0]!.VALUE).header.correlation_id).toBe(commands[0]!.correlation_id);
    expect(existsSync(join(dir, ".ofl/data/run.json"))).toBe(false);
  }, 120_000);
});
