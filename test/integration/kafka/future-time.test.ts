// Issue 11 item 9 on the Kafka target: Apache Kafka itself (test/services/kafka/start.ts), a real
// Mosquitto, and the bundled workers run with plain `node`. The MQTT connector worker produces
// each record with its receive time as the Kafka timestamp; a device with a wrong clock
// publishes one value stamped 2099; the rule worker dead-letters it `future_time` on
// ofl_deadletter (deciding from the record alone) and its `> 90 degC for 5s` rule still issues
// stop(), which the connector worker carries back to the device.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { emitWorkers } from "../../../runtime/deploy/entries.js";
import { bundleWorkers } from "../../../runtime/deploy/bundle.js";
import { KafkaLog } from "../../../runtime/log/kafka.js";
import { distanceText } from "../../../runtime/wire/records.js";
import { startKafka, type KafkaBroker } from "../../services/kafka/start.js";
import { startMosquitto, type Mosquitto } from "../../services/mosquitto/start.js";
import { startWorker, tearDown } from "./workers.js";

let kafka: KafkaBroker;
let broker: Mosquitto;
let dir: string;
let log: KafkaLog;
let ir: IrProgram;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // Mosquitto first: it is up in milliseconds, unless a JVM booting beside it takes the CPUs
  broker = await startMosquitto();
  const k = startKafka();
  const r = compile(
    [
      {
        path: "/plant.ofl",
        text: `model Mill {
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
      },
    ],
    { name: "wrongclock" },
  );
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  ir = r.ir;
  dir = mkdtempSync(join(tmpdir(), "ofl-future-workers-"));
  for (const b of await bundleWorkers(emitWorkers(ir))) writeFileSync(join(dir, `${b.name}.mjs`), b.code);
  kafka = await k;
  log = new KafkaLog({ brokers: kafka.brokers });
}, 180_000);

afterAll(() => tearDown(children, [log, kafka, broker], dir));

test("a 2099 timestamp from an MQTT device is dead-lettered future_time by the rule worker; stop() still reaches the device once", async () => {
  const device = await mqtt.connectAsync(broker.url, { clientId: "device-m1" });
  const commands: { command: string; correlation_id: string }[] = [];
  device.on("message", (_t, payload) => commands.push(JSON.parse(payload.toString())));
  await device.subscribeAsync("mill/m1/cmd", { qos: 1 });
  try {
    const rule = startWorker(dir, "rule", kafka.brokers, children);
    const conn = startWorker(dir, "connector-m1-mqtt", kafka.brokers, children);
    await Promise.all([rule.ready, conn.ready]);
    const what = (): string => `rule:\n${rule.output()}\nconnector:\n${conn.output()}`;
    const publish = (v: number, t: string): Promise<unknown> => device.publishAsync("mill/m1", JSON.stringify({ v, t }), { qos: 1 });
    // the connector worker is subscribed once a value it gets reaches the topic
    const t0 = Date.now();
    for (;;) {
      await publish(50, new Date().toISOString());
      const recs = await log.readRange("ofa_assets", 0);
      if (recs.some((r) => (r.value as { ID?: string } | null)?.ID === "temperature")) break;
      if (Date.now() - t0 > 60_000) throw new Error(`no telemetry on ofa_assets\n${what()}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const wrongAt = Date.now();
    await publish(50, "2099-01-01T00:00:00.000Z");
    const hot = setInterval(() => void publish(95, new Date().toISOString()).catch(() => {}), 200);
    try {
      const t1 = Date.now();
      while (commands.length === 0) {
        if (Date.now() - t1 > 60_000) throw new Error(`no stop() reached the device\n${what()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      clearInterval(hot);
    }
    expect(commands.map((c) => c.command)).toEqual(["stop"]);

    const dead = (await log.readRange("ofl_deadletter", 0)).map((r) => r.value as { reason: string; detail: string; record: { ts: number; value: { attributes: { timestamp: string } } } });
    expect(dead.map((d) => d.reason)).toEqual(["future_time"]);
    expect(dead[0]!.record.value.attributes.timestamp).toBe("2099-01-01T00:00:00.000Z");
    // the Kafka timestamp is the connector worker's receive time
    expect(dead[0]!.record.ts).toBeGreaterThanOrEqual(wrongAt - 1000);
    expect(dead[0]!.record.ts).toBeLessThanOrEqual(wrongAt + 10_000);
    // the distance as distanceText writes it (a receive time on a whole second prints seconds)
    const receivedAt = dead[0]!.record.ts;
    const ahead = distanceText(Date.parse("2099-01-01T00:00:00.000Z") - receivedAt);
    expect(dead[0]!.detail).toBe(`m1.temperature: event time 2099-01-01T00:00:00.000Z is ${ahead} ahead of its receive time ${new Date(receivedAt).toISOString()} (tolerance 5m)`);
    const cmds = (await log.readRange("ofa_assets", 0)).filter((r) => (r.value as { ID?: string } | null)?.ID === "stop_CMD");
    expect(cmds).toHaveLength(1);
    expect(JSON.parse((cmds[0]!.value as { VALUE: string }).VALUE).header.correlation_id).toBe(commands[0]!.correlation_id);
  } finally {
    await device.endAsync();
  }
}, 240_000);
