#!/usr/bin/env node
// A demo OPC UA device for examples/cnc-cell: one simulated mill on opc.tcp://127.0.0.1:PORT
// (PORT = first argument, default 4840). Plain JavaScript on node-opcua-server.
//
//   node examples/cnc-cell/opcua-demo-server.mjs [port]
//
// Address space (namespace 1, all under the object ns=1;s=Machine):
//   ns=1;s=Temperature   Double, degC   drifts; hotter with a higher feed, cools down when stopped
//   ns=1;s=Execution     Int32          0 READY, 1 ACTIVE, 2 INTERRUPTED, 3 STOPPED; cycles
//                                      READY 5 s → ACTIVE 25 s → READY … (a short INTERRUPTED now and then)
//   ns=1;s=SpindleSpeed  Double, rpm    ~12000 × feed while ACTIVE, 0 otherwise
//   ns=1;s=PartCount     Int32          +1 at the end of each ACTIVE phase
//   ns=1;s=FeedOverride  Double, %      writable (0..150)
//   methods ns=1;s=Stop(), ns=1;s=Start(), ns=1;s=SetFeed(Feed: Double) → Applied: Double
//
// Bindings for an OFL asset:
//   source opcua("opc.tcp://127.0.0.1:4840") {
//     temperature   <- node("ns=1;s=Temperature", sampling: 500ms, deadband: 0.1)
//     execution     <- node("ns=1;s=Execution") map { 0: READY, 1: ACTIVE, 2: INTERRUPTED, 3: STOPPED }
//     spindle_speed <- node("ns=1;s=SpindleSpeed", sampling: 500ms)
//     part_count    <- node("ns=1;s=PartCount")
//     stop          -> method("ns=1;s=Machine", "ns=1;s=Stop")
//     set_feed      -> method("ns=1;s=Machine", "ns=1;s=SetFeed")
//   }
//
// Prints `OPC UA demo server listening on opc.tcp://127.0.0.1:PORT` once it accepts connections;
// exits 0 on SIGTERM or SIGINT (and, with --exit-with-stdin, when its standard input closes).
import { createRequire } from "node:module";

// required, not imported: `ofl run` gives its services a NODE_PATH holding ofl's own packages,
// which `require` honours (an `import` does not), so this file works copied out of the checkout
const require = createRequire(import.meta.url);
const { DataType, StatusCodes } = require("node-opcua-client");
const { OPCUAServer } = require("node-opcua-server");

/** node-opcua's minimal nodeset (the standard one takes seconds to load): fast start-up. */
function miniNodeset() {
  try {
    return [require.resolve("node-opcua-address-space/nodesets/mini.Nodeset2.xml")];
  } catch {
    return undefined; // the standard nodeset
  }
}

const port = Number(process.argv[2] ?? process.env.OPCUA_DEMO_PORT ?? 4840);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`opcua-demo-server: bad port ${process.argv[2]}`);
  process.exit(2);
}

const READY = 0;
const ACTIVE = 1;
const INTERRUPTED = 2;
const STOPPED = 3;

const server = new OPCUAServer({
  port,
  hostname: "127.0.0.1",
  alternateHostname: ["127.0.0.1"],
  serverInfo: { applicationName: { text: "OFL demo mill" } },
  buildInfo: { productName: "OFL demo mill" },
  allowAnonymous: true,
  nodeset_filename: miniNodeset(),
});

let shuttingDown = false;
async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  clearInterval(tick);
  const force = setTimeout(() => process.exit(code), 1500);
  force.unref();
  try {
    await server.shutdown(0);
  } catch {
    // exiting anyway
  }
  process.exit(code);
}
process.on("SIGTERM", () => void shutdown(0));
process.on("SIGINT", () => void shutdown(0));
// Started by `ofl run` (ofl.json "services") with --exit-with-stdin: the end of standard input
// means the plant is gone (even after a SIGKILL), so the demo device goes too.
if (process.argv.includes("--exit-with-stdin")) {
  process.stdin.on("end", () => void shutdown(0));
  process.stdin.resume();
}

let tick;

await server.initialize();
const space = server.engine.addressSpace;
const ns = space.getOwnNamespace();
const machine = ns.addObject({ organizedBy: space.rootFolder.objects, browseName: "Machine", nodeId: "s=Machine" });

const sim = {
  temperature: 65,
  execution: READY,
  spindle: 0,
  parts: 0,
  feed: 100,
  /** the simulated machine is running its cycle (Stop clears it, Start sets it) */
  running: true,
  phaseLeft: 5000,
};

const types = {
  Temperature: DataType.Double,
  Execution: DataType.Int32,
  SpindleSpeed: DataType.Double,
  PartCount: DataType.Int32,
  FeedOverride: DataType.Double,
};
const vars = {};
for (const [name, dataType] of Object.entries(types)) {
  const writable = name === "FeedOverride";
  vars[name] = ns.addVariable({
    componentOf: machine,
    browseName: name,
    nodeId: `s=${name}`,
    dataType: DataType[dataType],
    minimumSamplingInterval: 0, // exception-based: every change is reported
    accessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
    userAccessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
    value: { dataType, value: 0 },
  });
}
const set = (name, value) => vars[name].setValueFromSource({ dataType: types[name], value }, StatusCodes.Good, new Date());
vars.FeedOverride.on("value_changed", (dv) => {
  const f = dv.value.value;
  if (typeof f === "number" && f !== sim.feed) sim.feed = Math.max(0, Math.min(150, f));
});

function publishAll() {
  set("Temperature", Math.round(sim.temperature * 100) / 100);
  set("Execution", sim.execution);
  set("SpindleSpeed", Math.round(sim.spindle));
  set("PartCount", sim.parts);
  set("FeedOverride", sim.feed);
}

function method(name, inputs, outputs, run) {
  const m = ns.addMethod(machine, {
    browseName: name,
    nodeId: `s=${name}`,
    inputArguments: inputs.map((i) => ({ name: i.name, description: { text: i.name }, dataType: i.dataType })),
    outputArguments: outputs.map((o) => ({ name: o.name, description: { text: o.name }, dataType: o.dataType })),
  });
  m.bindMethod(async (args, _context) => {
    const out = run(args.map((a) => a.value));
    console.log(`opcua-demo-server: ${name}(${args.map((a) => a.value).join(", ")})`);
    publishAll();
    return { statusCode: StatusCodes.Good, outputArguments: out };
  });
}

method("Stop", [], [], () => {
  sim.running = false;
  sim.execution = STOPPED;
  sim.spindle = 0;
  return [];
});
method("Start", [], [], () => {
  sim.running = true;
  sim.execution = ACTIVE;
  sim.phaseLeft = 25_000;
  return [];
});
method("SetFeed", [{ name: "Feed", dataType: DataType.Double }], [{ name: "Applied", dataType: DataType.Double }], ([f]) => {
  sim.feed = Math.max(0, Math.min(150, Number(f)));
  return [{ dataType: DataType.Double, value: sim.feed }];
});

const STEP_MS = 500;
function step() {
  if (sim.running) {
    sim.phaseLeft -= STEP_MS;
    if (sim.phaseLeft <= 0) {
      if (sim.execution === ACTIVE) {
        sim.parts += 1;
        sim.execution = READY;
        sim.phaseLeft = 5000;
      } else if (sim.execution === INTERRUPTED) {
        sim.execution = ACTIVE;
        sim.phaseLeft = 10_000;
      } else {
        sim.execution = ACTIVE;
        sim.phaseLeft = 25_000;
      }
    } else if (sim.execution === ACTIVE && Math.random() < 0.005) {
      sim.execution = INTERRUPTED;
      sim.phaseLeft = 3000;
    }
  }
  const active = sim.execution === ACTIVE;
  const load = active ? sim.feed / 100 : 0;
  sim.spindle = active ? 12000 * load + (Math.random() - 0.5) * 200 : 0;
  // drifts toward 55 °C idle, up to ~95 °C at full feed, with noise
  const target = 55 + 35 * load;
  sim.temperature += (target - sim.temperature) * 0.02 + (Math.random() - 0.5) * 0.6;
  publishAll();
}

publishAll();
await server.start();
tick = setInterval(step, STEP_MS);
console.log(`OPC UA demo server listening on opc.tcp://127.0.0.1:${server.endpoints[0].port}`);
