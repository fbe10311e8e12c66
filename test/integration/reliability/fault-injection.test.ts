// Issue 11, "Done when": `ofl run` with an MQTT source at a steady rate, SIGKILLed 20 times at
// seeded random points and restarted. Proves, against a real Mosquitto and the real SQLite log:
// every message the broker acknowledged to its publisher is on the log exactly once, no
// correlation id is dispatched twice (the device's subscriber sees each once), and a replay of
// the final log reproduces every decision (the same commands, same correlation ids, same order).
// Prints the figures (the README's reliability section quotes them).
import mqtt from "mqtt";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { classify } from "../../../runtime/wire/records.js";
import type { AssetValue, NewRecord } from "../../../runtime/wire/types.js";
import { startMosquitto, type Mosquitto } from "../../services/mosquitto/start.js";
import { killChildren, prng, startOfl, tankProject, until } from "./helpers.js";

const KILLS = 20;
const SEED = 20261203;
const RATE_MS = 5; // one message every 5 ms: 200 messages/s

let broker: Mosquitto | undefined;
afterAll(async () => {
  killChildren();
  await broker?.close();
});

function notesOnLog(data: string): number[] {
  const log = SqliteLog.open(data, { readonly: true });
  try {
    const out: number[] = [];
    for (const r of log.read({ topic: "ofa_assets" })) {
      const v = r.value as AssetValue;
      if (v.ID === "note") out.push((JSON.parse(v.VALUE) as { n: number }).n);
    }
    return out;
  } finally {
    log.close();
  }
}

test(`${KILLS} SIGKILLs at seeded random points: every acknowledged message logged once, no command twice, replay reproduces every decision`, async () => {
  // unlimited session queue: what is published while the plant is down waits (docs/reliability.md)
  broker = await startMosquitto({ extraConfig: ["max_queued_messages 0"] });
  const dir = tankProject(broker.url);
  const data = join(dir, ".ofl/data");
  const rnd = prng(SEED);

  // the device: receives the commands (each correlation id must come once)
  const device = await mqtt.connectAsync(broker.url, { clientId: "test-device", clean: true });
  const received: string[] = [];
  device.on("message", (_t, p) => received.push((JSON.parse(p.toString()) as { correlation_id: string }).correlation_id));
  await device.subscribeAsync("tank/t1/drain", { qos: 1 });

  const args = ["run", dir, "--port", "0", "--clock", "100ms"];
  // the plant's session must exist before anything is published (a broker keeps messages only for
  // subscriptions that exist): a first run, up until a sentinel message is on the log
  const publisher = await mqtt.connectAsync(broker.url, { clientId: "test-publisher", clean: true });
  {
    const first = startOfl(args);
    await until("the first run to start", () => /stop with Ctrl-C/.test(first.output()), 30_000);
    await publisher.publishAsync("tank/t1/data", JSON.stringify({ n: -1, v: 50 }), { qos: 1 });
    await until("the sentinel message on the log", () => notesOnLog(data).includes(-1), 30_000);
    first.child.kill("SIGKILL");
    await first.exited;
  }

  // the publisher: steady rate, QoS 1; `acked` holds what the broker acknowledged
  const acked = new Set<number>();
  let n = 0;
  let publishing = true;
  const pump = (async () => {
    while (publishing) {
      const k = n++;
      const level = k % 20 < 2 ? 95 : 50; // above 90 twice in every 20: a drain() each time
      publisher.publishAsync("tank/t1/data", JSON.stringify({ n: k, v: level }), { qos: 1 }).then(
        () => acked.add(k),
        () => {},
      );
      await new Promise((r) => setTimeout(r, RATE_MS));
    }
  })();

  let upBeforeKill = 0;
  for (let i = 0; i < KILLS; i++) {
    const run = startOfl(args);
    // a random point: one in four during start-up (rebuild, connect), the others while running
    const duringStartup = rnd() < 0.25;
    const delay = duringStartup ? 100 + Math.floor(rnd() * 1400) : 50 + Math.floor(rnd() * 1500);
    if (!duringStartup) await until(`run ${i} to start`, () => /stop with Ctrl-C/.test(run.output()), 30_000);
    const t0 = Date.now();
    await until(`run ${i} to be killed`, () => Date.now() - t0 >= delay || run.child.exitCode !== null, 10_000);
    if (/stop with Ctrl-C/.test(run.output())) upBeforeKill++;
    expect(run.child.exitCode, run.output()).toBe(null); // it was still running
    run.child.kill("SIGKILL");
    await run.exited;
  }
  publishing = false;
  await pump;
  await until("the publisher's last acknowledgements", () => acked.size >= n - 25, 20_000);

  // the final run takes what waited at the broker, then stops cleanly
  const last = startOfl(args);
  await until("the final run to start", () => /stop with Ctrl-C/.test(last.output()), 30_000);
  let notYet: number[] = [];
  await until(
    "every acknowledged message on the log",
    () => {
      const logged = new Set(notesOnLog(data));
      notYet = [...acked].filter((k) => !logged.has(k));
      return notYet.length === 0;
    },
    60_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${notYet.length} of ${acked.size} missing (${notYet.slice(0, 20).join(", ")}…)\n${last.output()}`);
  });
  last.child.kill("SIGINT");
  expect((await last.exited).code, last.output()).toBe(0);

  // 1. every acknowledged message exactly once
  const notes = notesOnLog(data).filter((k) => k >= 0);
  const count = new Map<number, number>();
  for (const k of notes) count.set(k, (count.get(k) ?? 0) + 1);
  const twice = [...count].filter(([, c]) => c > 1).map(([k]) => k);
  const missing = [...acked].filter((k) => !count.has(k));
  expect(twice).toEqual([]);
  expect(missing).toEqual([]);

  // 2. no correlation id twice: on the log and at the device
  const log = SqliteLog.open(data, { readonly: true });
  const all = [...log.read({ topic: "ofa_assets" })];
  const program = log.meta("program")!;
  log.close();
  const onLog = all.map(classify).filter((e) => e.kind === "command").map((e) => (e.kind === "command" ? e.envelope.header.correlation_id : ""));
  expect(new Set(onLog).size).toBe(onLog.length);
  // sentinel for the device: the final run's clean stop came after its last dispatch's answer
  const dupAtDevice = received.filter((id, i) => received.indexOf(id) !== i);
  expect(dupAtDevice).toEqual([]);
  for (const id of received) expect(onLog).toContain(id);

  // 3. a replay of the final log reproduces every decision
  const { ir, diagnostics } = compile([{ path: join(dir, "tank.ofl"), text: readFileSync(join(dir, "tank.ofl"), "utf8") }], { name: program });
  if (!ir) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const replayed: NewRecord[] = [];
  const engine = new Engine({ program: ir, onOutput: (r) => replayed.push(r) });
  for (const r of all) engine.process(classify(r));
  const replayIds = replayed
    .map((r) => classify({ ...r, partition: 0, offset: 0 }))
    .filter((e) => e.kind === "command")
    .map((e) => (e.kind === "command" ? e.envelope.header.correlation_id : ""));
  expect(replayIds).toEqual(onLog);
  expect(onLog.length).toBeGreaterThan(KILLS); // the rule did decide, many times

  const figures = {
    kills: KILLS,
    killedAfterStartup: upBeforeKill,
    published: n,
    acknowledgedByBroker: acked.size,
    onLogOnce: count.size,
    duplicatesOnLog: twice.length,
    lost: missing.length,
    commandsDecided: onLog.length,
    commandsAtDevice: received.length,
    commandsTwiceAtDevice: dupAtDevice.length,
    replayDecisionsEqual: replayIds.length === onLog.length,
  };
  console.log(`fault injection: ${JSON.stringify(figures)}`);
  await device.endAsync();
  await publisher.endAsync();
}, 400_000);
