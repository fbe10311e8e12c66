// `npm run bench`: every benchmark of the project, one after the other, each printing its own
// figures (see the README's table for the targets and the latest measured values).
//   node bench/run.mjs [name…]     e.g. node bench/run.mjs check engine replay
import { spawnSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const all = [
  ["check", "ofl check on a generated 31,000-line plant (issue 2)"],
  ["engine", "engine alone, pre-classified events, 1,000 assets (issue 3a)"],
  ["replay", "ofl test --replay of a 1,000,000-record session, and its peak memory (issue 3b, 3d)"],
  ["log-append", "durable append to the embedded log (issue 3c)"],
  ["opcua-latency", "closed loop device → rule → OPC UA method call (issue 4)"],
  ["mqtt-ingest", "MQTT ingest into the durable log (issue 4)"],
  ["kafka", "rule worker throughput and command latency on a real Kafka broker (issue 5)"],
  ["lsp", "language server: edit → diagnostics, completion (issue 6)"],
  ["dashboard", "dashboard with 1,000 assets: first render, memory, feed (issue 7)"],
  ["control-under-load", "ingest → decision → device over MQTT while 5 time-travel requests replay an 800,000-record log (issue 11 #10)"],
  ["feed-slow-clients", "500 live-feed clients that never read: the plant's answer time, a reader's rate, memory (issue 11 #11)"],
  ["checkpoint", "restart and ofl state --at on a 2,000,000-record embedded log, with and without checkpoints (issue 12)"],
  ["checkpoint-cost", "checkpoint size and write time for 1,000 assets, effect on ingest throughput (issue 12)"],
  ["retention", "disk use per million records on the live log and in the archive, and the rate ofl run --retain moves old records (issue 12)"],
  ["kafka-cross", "the cross stage on a 4-partition ofa_assets: inputs/s with every output acknowledged, latency of a rule reading a view (issue 14)"],
  ["connector-start", "a connector worker's start on a 1,000,000-record partition: from offset 0, and from its checkpoint"],
  ["kafka-partitions", "1 and 2 rule workers on a 4-partition ofa_assets: records/s with every output acknowledged, command latency (issue 14)"],
];
const wanted = process.argv.slice(2);
const chosen = wanted.length > 0 ? all.filter(([n]) => wanted.includes(n)) : all;
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
let failed = 0;
for (const [name, what] of chosen) {
  console.log(`\n== ${name}: ${what}`);
  const r = spawnSync(process.execPath, [join(here, `${name}.mjs`)], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.log(`(${name} exited ${r.status})`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
