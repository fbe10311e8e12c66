// Issue 11 item 2 on the Kafka target: the bundled MQTT connector worker acknowledges a QoS 1
// message (PUBACK) only once the batch holding its record is on the topic (acks=all). Apache
// Kafka itself (test/services/kafka/start.ts), a real Mosquitto, the worker run with plain node.
// The broker is stopped, a device publishes, the worker receives the message and cannot produce
// it; the worker is SIGKILLed, Kafka comes back, the worker restarts under its persistent MQTT
// session: the message the broker acknowledged to the device is on the topic, exactly once.
// (Before: the PUBACK left at once, and the message died with the worker.)
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { bundleWorkers } from "../../../runtime/deploy/bundle.js";
import { emitWorkers } from "../../../runtime/deploy/entries.js";
import { KafkaLog } from "../../../runtime/log/kafka.js";
import { startKafka, type KafkaBroker } from "../../services/kafka/start.js";
import { startMosquitto, type Mosquitto } from "../../services/mosquitto/start.js";
import { waitFor } from "../../support/wait.js";
import { startWorker, tearDown } from "./workers.js";

let kafka: KafkaBroker;
let broker: Mosquitto;
let dir: string;
let log: KafkaLog;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // debug logging: Mosquitto says when it sends a PUBLISH to the worker (the sentinel below)
  broker = await startMosquitto({ extraConfig: ["log_type debug"] });
  const k = startKafka();
  const r = compile(
    [
      {
        path: "/plant.ofl",
        text: `model Mill {
  telemetry temperature: float<degC> in 0..500
}
asset m1: Mill {
  uuid "M-1"
  source mqtt("${broker.url}") {
    temperature <- topic("mill/m1", json: "$.v")
  }
}
`,
      },
    ],
    { name: "ackafter" },
  );
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  dir = mkdtempSync(join(tmpdir(), "ofl-ack-workers-"));
  for (const b of await bundleWorkers(emitWorkers(r.ir))) writeFileSync(join(dir, `${b.name}.mjs`), b.code);
  kafka = await k;
  log = new KafkaLog({ brokers: kafka.brokers });
}, 180_000);

afterAll(() => tearDown(children, [log, kafka, broker], dir));

const temperatures = async (): Promise<string[]> =>
  (await log.readRange("ofa_assets", 0)).map((r) => r.value as { ID?: string; VALUE?: string } | null).filter((v) => v?.ID === "temperature").map((v) => v!.VALUE!);

test("a message acknowledged to the device while Kafka is down survives a SIGKILL of the connector worker", async () => {
  const device = await mqtt.connectAsync(broker.url, { clientId: "device-m1" });
  try {
    const first = startWorker(dir, "connector-m1-mqtt", kafka.brokers, children);
    await first.ready;
    // subscribed once a value it got is on the topic
    await waitFor(
      "the worker's first record on ofa_assets",
      async () => {
        await device.publishAsync("mill/m1", JSON.stringify({ v: 20 }), { qos: 1 });
        return (await temperatures()).length > 0;
      },
      { timeoutMs: 60_000, intervalMs: 300, detail: () => first.output() },
    );

    await kafka.stop();
    const sentBefore = (broker.output().match(/Sending PUBLISH to ofl_/g) ?? []).length;
    // the broker acknowledges this to the device: from here on it must not be lost
    await device.publishAsync("mill/m1", JSON.stringify({ v: 77.25 }), { qos: 1 });
    await waitFor("Mosquitto to send the message to the worker", () => (broker.output().match(/Sending PUBLISH to ofl_/g) ?? []).length > sentBefore, {
      timeoutMs: 20_000,
      intervalMs: 50,
      detail: () => broker.output().slice(-2000),
    });
    // give the worker a moment to take the message in (the old code acknowledged it here)
    await new Promise((r) => setTimeout(r, 500));
    first.child.kill("SIGKILL");
    await first.exited;

    await kafka.start();
    const second = startWorker(dir, "connector-m1-mqtt", kafka.brokers, children);
    await second.ready;
    await waitFor("77.25 on ofa_assets", async () => (await temperatures()).includes("77.25"), { timeoutMs: 90_000, intervalMs: 300, detail: () => second.output() });
    // and once: a sentinel published after it is on the topic too, with 77.25 before it exactly once
    await device.publishAsync("mill/m1", JSON.stringify({ v: 30.5 }), { qos: 1 });
    await waitFor("the sentinel 30.5 on ofa_assets", async () => (await temperatures()).includes("30.5"), { timeoutMs: 60_000, intervalMs: 300, detail: () => second.output() });
    const values = await temperatures();
    expect(values.filter((v) => v === "77.25")).toHaveLength(1);
    expect(values.indexOf("77.25")).toBeLessThan(values.indexOf("30.5"));
  } finally {
    await device.endAsync();
  }
}, 300_000);
