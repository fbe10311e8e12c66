// Benchmark: sustained MQTT ingest into the durable log. A publisher (in a worker thread, its own
// event loop) publishes N JSON messages at QoS 1 to a broker; the MQTT connector
// (runtime/connectors/mqtt.ts) receives them (QoS 1 subscription, a `json` and a `time` path)
// and emits records, which a batcher appends to a SqliteLog (WAL, synchronous = FULL: each batch
// fsynced) as the plant does (runtime/run/plant.ts, enqueueDurable): what arrived is appended on
// the next turn of the event loop, and `emit`'s promise resolves once the batch is durable, so the
// connector's PUBACKs wait for durability as in `ofl run`. Reports messages/s, end to end (first
// publish → last record durable), and checks that the log holds exactly the N values, each once.
//
//   node bench/mqtt-ingest.mjs [N=200000] [--broker mosquitto|mosquitto-20|aedes|all]   (default: all)
//   (mosquitto: max_inflight_messages 0, no limit on the messages awaiting the connector's PUBACK;
//   mosquitto-20: Mosquitto's default max_inflight_messages, 20; measured 12-05, it did not hold
//   the connector to 20 unacknowledged messages: batches of thousands arrived)
//   NO_APPEND=1 node bench/mqtt-ingest.mjs …   the connector alone (records counted, not stored;
//                                              the log check then reports them as missing)
//
// Mosquitto: the Debian `mosquitto` binary (`.ci/run` installs it), started with a temporary
// config (`max_queued_messages 0`: the default queue of 1,000 per client would drop QoS 1
// messages for a subscriber that falls behind). Aedes: in process (it shares the connector's
// event loop, so it is the slower of the two). Bundles the TypeScript sources with esbuild.
import * as fs from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { importBundled } from "../scripts/bundle-modules.mjs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";


if (!isMainThread) await publisher(workerData);
else await main();

// --------------------------------------------------------------------------------- publisher

// The load generator speaks MQTT 3.1.1 on a raw socket (CONNECT, PUBLISH at QoS 1 written in
// batches, PUBACKs counted): mqtt.js as a publisher tops out near 12,000 messages/s, below what
// is measured here.

function varint(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return out;
}

function packet(type, body) {
  return Buffer.concat([Buffer.from([type, ...varint(body.length)]), body]);
}

function str(s) {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
}

async function publisher({ port, n, assets, topicPrefix, t0 }) {
  const { connect } = await import("node:net");
  const sock = connect({ port, host: "127.0.0.1" });
  sock.setNoDelay(true);
  await new Promise((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  const WINDOW = 4000; // QoS 1 messages in flight (packet ids stay unique: < 65535)
  const BATCH = 200;
  let sent = 0;
  let acked = 0;
  let connacked = false;
  let buf = Buffer.alloc(0);
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  const start = performance.now();
  const pump = () => {
    while (connacked && sent < n && sent - acked < WINDOW) {
      const parts = [];
      const end = Math.min(n, sent + BATCH);
      for (; sent < end; sent++) {
        const i = sent;
        const id = (i % 65535) + 1;
        const topic = str(`${topicPrefix}/m${i % assets}/temp`);
        const payload = Buffer.from(`{"v":${i},"ts":"${new Date(t0 + i).toISOString()}","unit":"degC"}`);
        parts.push(packet(0x32, Buffer.concat([topic, Buffer.from([id >> 8, id & 255]), payload])));
      }
      if (!sock.write(Buffer.concat(parts))) {
        sock.once("drain", pump);
        return;
      }
    }
  };
  sock.on("data", (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    let o = 0;
    while (buf.length - o >= 2) {
      const type = buf[o] >> 4;
      const len = buf[o + 1]; // CONNACK and PUBACK: remaining length 2
      if (buf.length - o < 2 + len) break;
      if (type === 2) {
        if (buf[o + 3] !== 0) throw new Error(`CONNACK refused: ${buf[o + 3]}`);
        connacked = true;
      } else if (type === 4) acked++;
      o += 2 + len;
    }
    buf = buf.subarray(o);
    if (acked === n) resolveDone();
    else if (sent - acked <= WINDOW / 2) pump(); // also the first pump, after CONNACK
  });
  // CONNECT: protocol "MQTT" level 4, clean session, keepalive 60
  sock.write(packet(0x10, Buffer.concat([str("MQTT"), Buffer.from([4, 2, 0, 60]), str(`bench-pub-${process.pid}`)])));
  await done;
  const ms = performance.now() - start;
  sock.end(Buffer.from([0xe0, 0])); // DISCONNECT
  parentPort.postMessage({ acked, failed: n - acked, ms });
}

// --------------------------------------------------------------------------------- main

async function main() {
  const args = process.argv.slice(2);
  const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 200_000);
  const bi = args.indexOf("--broker");
  const which = bi >= 0 ? args[bi + 1] : "all";
  const tmp = fs.mkdtempSync(join(os.tmpdir(), "ofl-bench-mqtt-"));
  const mod = await bundle(tmp);
  const results = [];
  try {
    for (const kind of which === "all" ? ["mosquitto", "mosquitto-20", "aedes"] : [which]) {
      results.push(await run(mod, kind, N, join(tmp, `log-${kind}`)));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log("");
  console.table(results);
  const bad = results.filter((r) => !r.ok);
  if (bad.length) {
    console.error(`FAILED: ${bad.map((r) => r.broker).join(", ")}`);
    process.exitCode = 1;
  }
}

async function bundle(tmp) {
  return importBundled(
    {
      createMqttConnector: "runtime/connectors/mqtt.ts",
      SqliteLog: "runtime/log/sqlite.ts",
      startAedes: "test/integration/mqtt/aedes.ts",
      startMosquitto: "test/services/mosquitto/start.ts",
    },
    join(tmp, "bench-mqtt.mjs"),
  );
}

/** the asset the connector reads: `temperature <- topic("bench/+/temp", json: "$.v", time: "$.ts")` */
function benchIr(url) {
  const model = {
    name: "Probe",
    lineage: ["Probe"],
    attributes: [],
    telemetry: [{ name: "temperature", type: { t: "float", unit: "degC" } }],
    states: [],
    alarms: [],
    commands: [],
  };
  const source = {
    kind: "mqtt",
    positional: [],
    named: { url, qos: 1 },
    bindings: [{ direction: "telemetry", target: "temperature", fn: "topic", positional: [], named: { filter: "bench/+/temp", json: "$.v", time: "$.ts" } }],
  };
  const asset = { name: "probe", uuid: "PROBE-1", model: "Probe", attributes: {}, sources: [source] };
  return { model, source, asset };
}

async function run(mod, kind, N, dir) {
  const { createMqttConnector, SqliteLog, startAedes, startMosquitto } = mod;
  const broker =
    kind === "mosquitto"
      ? await startMosquitto({ extraConfig: ["max_queued_messages 0", "max_inflight_messages 0"] })
      : kind === "mosquitto-20"
        ? await startMosquitto({ extraConfig: ["max_queued_messages 0"] })
        : await startAedes();
  const log = SqliteLog.open(dir, { program: "bench" });
  const { model, source, asset } = benchIr(broker.url);

  // the plant's batcher: what arrived is appended on the next turn of the event loop; each emit's
  // promise resolves once its batch is durable (the connector sends the PUBACKs then)
  let pending = [];
  let waiters = [];
  let scheduled = false;
  let appended = 0;
  let batches = 0;
  let maxBatch = 0;
  let appendMs = 0;
  let emits = 0;
  const flush = () => {
    scheduled = false;
    const batch = pending;
    const done = waiters;
    pending = [];
    waiters = [];
    if (batch.length > 0) {
      const t = performance.now();
      if (!process.env.NO_APPEND) log.append(batch);
      appendMs += performance.now() - t;
      appended += batch.length;
      batches++;
      maxBatch = Math.max(maxBatch, batch.length);
    }
    for (const w of done) w();
  };
  const logs = [];
  const ctx = {
    asset,
    model,
    source,
    emit(records) {
      emits++;
      for (const r of records) pending.push(r);
      if (!scheduled) (scheduled = true), setImmediate(flush);
      return new Promise((resolve) => waiters.push(resolve));
    },
    now: () => Date.now(),
    arg: (v) => v,
    log: (level, message) => logs.push(`${level}: ${message}`),
  };
  const connector = createMqttConnector()(ctx);
  await connector.start();
  const deadline = Date.now() + 10_000;
  while (!connector.status().detail.includes("1 subscription")) {
    if (Date.now() > deadline) throw new Error(`${kind}: no subscription: ${connector.status().detail}\n${logs.join("\n")}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const initial = appended + pending.length; // the avail record

  const t0 = Date.parse("2026-11-20T08:00:00.000Z");
  const start = performance.now();
  const worker = new Worker(new URL(import.meta.url), { workerData: { port: broker.port, n: N, assets: 50, topicPrefix: "bench", t0 } });
  const pub = await new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  // wait until every message is durable in the log (or nothing moved for 5 s)
  let last = -1;
  let still = performance.now();
  while (appended + pending.length < initial + N) {
    await new Promise((r) => setTimeout(r, 2));
    const now = appended + pending.length;
    if (now !== last) {
      last = now;
      still = performance.now();
    } else if (performance.now() - still > 5000) break;
  }
  flush();
  const ms = performance.now() - start;
  await connector.stop();
  flush();
  await worker.terminate();

  // the check: every value 0..N-1 exactly once, with its device time
  const seen = new Uint8Array(N);
  let count = 0;
  let dup = 0;
  let wrongTime = 0;
  for (const r of process.env.NO_APPEND ? [] : log.read({ topic: "ofa_assets" })) {
    if (r.value.ID !== "temperature") continue;
    count++;
    const i = Number(r.value.VALUE);
    if (seen[i]) dup++;
    seen[i] = 1;
    if (r.value.attributes.timestamp !== new Date(t0 + i).toISOString()) wrongTime++;
  }
  let missing = 0;
  for (let i = 0; i < N; i++) if (!seen[i]) missing++;
  log.close();
  await broker.close();
  const ok = count === N && missing === 0 && dup === 0 && wrongTime === 0 && pub.failed === 0;
  const rate = Math.round((N / ms) * 1000);
  console.log(
    `${kind}: ${N} messages published (QoS 1, ${pub.failed} failed) in ${(pub.ms / 1000).toFixed(2)} s; ` +
      `${count} in the log after ${(ms / 1000).toFixed(2)} s = ${rate} messages/s end to end; ` +
      `${batches} appends (max ${maxBatch}, ${(appendMs / 1000).toFixed(2)} s in SQLite), ${emits} emit calls; ` +
      `missing ${missing}, duplicates ${dup}, wrong times ${wrongTime} → ${ok ? "OK" : "FAILED"}`,
  );
  for (const l of logs) if (!l.startsWith("info")) console.log(`  ${l}`);
  return { broker: kind, messages: N, "in log": count, missing, duplicates: dup, "msg/s": rate, "seconds": +(ms / 1000).toFixed(2), ok };
}
