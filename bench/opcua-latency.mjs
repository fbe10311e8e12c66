// Benchmark: closed-loop latency through OPC UA. A node-opcua device (in a worker thread: its own
// event loop, as a real device would be) changes Temperature; the OPC UA connector
// (runtime/connectors/opcua.ts, `sampling: 0ms`) emits the record; the record is classified and
// processed by the Engine running `rule r on M { when temperature > 50 degC then stop() }`; the
// accepted command is dispatched through the connector; the device's Stop method receives it.
// Loop latency = device value change → Stop call received, measured on the device's clock.
// Each loop toggles the temperature 40 → 60 (the rule fires on the edge). Reports p50/p90/p99/max
// and a breakdown (device → record, record → dispatch, dispatch → call received).
//
//   node bench/opcua-latency.mjs [loops=1000] [--device-publishing MS]   (default 5)
//
// The device decides how fast changes leave it: the connector asks for the smallest sampling
// interval of its bindings (0 here: exception-based, every change) as the publishing interval,
// and the server revises both up to its own minimums. node-opcua's defaults are 50 ms for both
// (MinSupportedSampleRate coalesces the changes of a 50 ms window; a value toggled back within
// one waits for its end, so this loop would measure ~50 ms of device-side delay). The device here
// is a fast controller: MinSupportedSampleRate 0 and a minimum publishing interval of
// `--device-publishing` ms (default 5). Bundles the TypeScript sources with esbuild, so it runs
// without a build step.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { importBundled } from "../scripts/bundle-modules.mjs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";


if (!isMainThread) await device(workerData);
else await main();

// ------------------------------------------------------------------------------------ device

async function device({ minPublishingMs }) {
  const { OPCUAServer, Subscription } = await import("node-opcua-server");
  const { DataType, StatusCodes } = await import("node-opcua-client");
  Subscription.minimumPublishingInterval = minPublishingMs;
  let mini;
  try {
    mini = [createRequire(import.meta.url).resolve("node-opcua-address-space/nodesets/mini.Nodeset2.xml")];
  } catch {
    mini = undefined;
  }
  const server = new OPCUAServer({
    port: 0,
    hostname: "127.0.0.1",
    alternateHostname: ["127.0.0.1"],
    nodeset_filename: mini,
    // every change of an exception-based item goes out (node-opcua's default, 50 ms, coalesces
    // the changes of each 50 ms window: a value toggled back within it waits for the window's end)
    serverCapabilities: { minSupportedSampleRate: 0 },
  });
  await server.initialize();
  const space = server.engine.addressSpace;
  const ns = space.getOwnNamespace();
  const machine = ns.addObject({ organizedBy: space.rootFolder.objects, browseName: "Machine", nodeId: "s=Machine" });
  const temp = ns.addVariable({
    componentOf: machine,
    browseName: "Temperature",
    nodeId: "s=Temperature",
    dataType: "Double",
    minimumSamplingInterval: 0,
    value: { dataType: DataType.Double, value: 40 },
  });
  const stop = ns.addMethod(machine, { browseName: "Stop", nodeId: "s=Stop", inputArguments: [], outputArguments: [] });
  const now = () => performance.timeOrigin + performance.now();
  let loop = -1;
  let t0 = 0;
  stop.bindMethod(async (_args, _context) => {
    const t1 = now();
    parentPort.postMessage({ stop: loop, t0, t1 });
    return { statusCode: StatusCodes.Good, outputArguments: [] };
  });
  parentPort.on("message", async (m) => {
    if (m.set !== undefined) {
      loop = m.loop;
      t0 = now();
      temp.setValueFromSource({ dataType: DataType.Double, value: m.set }, StatusCodes.Good, new Date());
    } else if (m.quit) {
      await server.shutdown(0);
      process.exit(0);
    }
  });
  await server.start();
  parentPort.postMessage({ ready: server.endpoints[0].port });
}

// ------------------------------------------------------------------------------------ main

async function bundle() {
  return importBundled({
    compile: "compiler/index.ts",
    Engine: "runtime/engine/index.ts",
    classify: "runtime/wire/records.ts",
    opcuaConnector: "runtime/connectors/opcua.ts",
  });
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summary(name, xs) {
  const s = [...xs].sort((a, b) => a - b);
  const f = (v) => v.toFixed(2).padStart(7);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `${name.padEnd(28)} p50 ${f(pct(s, 50))}  p90 ${f(pct(s, 90))}  p99 ${f(pct(s, 99))}  max ${f(s.at(-1))}  mean ${f(mean)} ms`;
}

async function main() {
  const args = process.argv.slice(2);
  const flag = (name, dflt) => {
    const i = args.indexOf(name);
    if (i < 0) return dflt;
    const v = Number(args[i + 1]);
    args.splice(i, 2);
    return v;
  };
  const minPublishingMs = flag("--device-publishing", 5);
  const LOOPS = Number(args[0] ?? 1000);
  const WARMUP = 50;

  const { compile, Engine, classify, opcuaConnector } = await bundle();

  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { minPublishingMs } });
  const fromDevice = [];
  let wake = null;
  worker.on("message", (m) => {
    fromDevice.push(m);
    wake?.();
  });
  worker.on("error", (e) => {
    console.error(e);
    process.exit(1);
  });
  const next = async (pred, what, ms = 5000) => {
    const end = Date.now() + ms;
    for (;;) {
      const i = fromDevice.findIndex(pred);
      if (i >= 0) return fromDevice.splice(i, 1)[0];
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => {
        wake = r;
        setTimeout(r, 50);
      });
      wake = null;
    }
  };
  const { ready: port } = await next((m) => m.ready !== undefined, "the device", 60_000);

  const text = `
model M {
  telemetry temperature: float<degC>
  command stop()
}
asset m: M {
  uuid "M-1"
  source opcua("opc.tcp://127.0.0.1:${port}") {
    temperature <- node("ns=1;s=Temperature", sampling: 0ms)
    stop        -> method("ns=1;s=Machine", "ns=1;s=Stop")
  }
}
rule r on M { when temperature > 50 degC then stop() }
`;
  const r = compile([{ path: "bench.ofl", text }], { name: "bench" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  const ir = r.ir;
  const asset = ir.assets[0];
  const model = ir.models[0];
  const source = asset.sources[0];

  const now = () => performance.timeOrigin + performance.now();
  let offset = 0;
  let conn;
  let lastTemp = null;
  let tRecord = 0;
  let tDispatch = 0;
  let dispatched = 0;
  let failed = 0;
  let tempWaiter = null;
  const outputs = [];
  const engine = new Engine({ program: ir, onOutput: (o) => outputs.push(o) });
  const feed = (recs) => {
    for (const rec of recs) {
      if (rec.value.ID === "temperature") tRecord = now();
      const from = outputs.length;
      engine.process(classify({ topic: rec.topic, partition: 0, offset: offset++, ts: rec.ts, key: rec.key, value: rec.value }));
      if (rec.value.ID === "temperature") {
        lastTemp = rec.value.VALUE;
        tempWaiter?.();
      }
      const batch = outputs.slice(from).map((o) => o.value);
      const rejected = new Set(batch.filter((v) => v.ID.endsWith("_RESULT")).map((v) => JSON.parse(v.VALUE).correlation_id));
      for (const v of batch) {
        if (!v.ID.endsWith("_CMD")) continue;
        const env = JSON.parse(v.VALUE);
        if (rejected.has(env.header.correlation_id) || env.header.shadow) continue;
        const name = v.ID.slice(0, -4);
        tDispatch = now();
        void conn
          .dispatch({
            command: name,
            args: env.arguments,
            params: model.commands.find((c) => c.name === name).params,
            correlationId: env.header.correlation_id,
            binding: source.bindings.find((b) => b.direction === "command" && b.target === name),
          })
          .then((res) => {
            dispatched++;
            if (res.status !== "completed") failed++;
          });
      }
    }
  };
  const logs = [];
  conn = opcuaConnector({
    asset,
    model,
    source,
    emit: feed,
    now: () => Date.now(),
    // the project PKI (client certificate, server pins) in a folder of its own
    dataDir: fs.mkdtempSync(join(os.tmpdir(), "ofl-bench-opcua-")),
    arg: (v) => (v !== null && typeof v === "object" ? undefined : v),
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  await conn.start();
  if (!conn.status().connected) throw new Error(`not connected: ${conn.status().detail}`);
  const waitTemp = async (v) => {
    const end = Date.now() + 5000;
    while (lastTemp !== v) {
      if (Date.now() > end) throw new Error(`timed out waiting for temperature ${v}`);
      await new Promise((r) => {
        tempWaiter = r;
        setTimeout(r, 50);
      });
      tempWaiter = null;
    }
  };
  await waitTemp("40");

  const loop = [];
  const toRecord = [];
  const toDispatch = [];
  const toCall = [];
  const t0all = Date.now();
  for (let i = 0; i < WARMUP + LOOPS; i++) {
    worker.postMessage({ set: 60, loop: i });
    const m = await next((x) => x.stop === i, `Stop of loop ${i}`);
    if (i >= WARMUP) {
      loop.push(m.t1 - m.t0);
      toRecord.push(tRecord - m.t0);
      toDispatch.push(tDispatch - tRecord);
      toCall.push(m.t1 - tDispatch);
    }
    worker.postMessage({ set: 40, loop: -1 });
    await waitTemp("40");
  }
  const elapsed = (Date.now() - t0all) / 1000;
  await conn.stop();
  worker.postMessage({ quit: true });

  console.log(`OPC UA closed loop, ${LOOPS} loops (+${WARMUP} warm-up) in ${elapsed.toFixed(1)} s; device publishing interval ${minPublishingMs} ms, sampling 0 ms`);
  console.log(summary("device change → Stop call", loop));
  console.log(summary("  device change → record", toRecord));
  console.log(summary("  record → dispatch (engine)", toDispatch));
  console.log(summary("  dispatch → call received", toCall));
  const p99 = pct([...loop].sort((a, b) => a - b), 99);
  console.log(`target p99 < 20 ms: ${p99 < 20 ? "met" : "NOT met"} (p99 ${p99.toFixed(2)} ms); dispatches ${dispatched}, failed ${failed}`);
  process.exit(0);
}
