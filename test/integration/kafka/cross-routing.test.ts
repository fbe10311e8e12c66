// The cross stage routes the commands it decides to an `openfactory(command_topic: …)` topic as
// the rule worker does (docs/openfactory.md): live only, and only while the input it decided them
// on is recent (OFL_COMMAND_MAX_AGE_MS, runtime/worker/stale.ts). On Apache Kafka itself, P = 2:
// a rule on a view over two tanks, one on each partition, commands tank a, whose source routes
// `drain` to `ofa_cmds`.
import { expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { partitionOfKey, type KafkaNewRecord } from "../../../runtime/log/kafka.js";
import { CrossWorker } from "../../../runtime/worker/cross.js";
import { CROSS_CAUSE_HEADER } from "../../../runtime/worker/headers.js";
import { CORRELATION_HEADER } from "../../../runtime/worker/rule.js";
import { classify, telemetryValue } from "../../../runtime/wire/records.js";
import { ASSETS_TOPIC } from "../../../runtime/wire/types.js";
import { waitFor } from "../../support/wait.js";
import { brokerForFile } from "./broker.js";

const broker = brokerForFile();
const P = 2;
const uuidOn = (p: number): string => {
  for (let k = 0; ; k++) if (partitionOfKey(`CR-${k}`, P) === p) return `CR-${k}`;
};
const [A, B] = [uuidOn(0), uuidOn(1)];
const r = compile(
  [
    {
      path: "/routing.ofl",
      text: `model Tank {\n  telemetry level: int in 0..1000\n  command drain()\n}\nview total = sum(level) from Tank\nasset a: Tank {\n  uuid "${A}"\n  source openfactory(command_topic: "ofa_cmds") {\n    level <- id("level")\n    drain -> method("Drain")\n  }\n}\nasset b: Tank { uuid "${B}" }\nrule overflow { when total >= 100 then a.drain() }\n`,
    },
  ],
  { name: "routing" },
);
if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
const ir = r.ir;

let t = Date.now();
/** A level of `uuid`, measured now (event times increase); received `receivedAgo` ms ago. */
const level = (uuid: string, v: number, receivedAgo = 0): KafkaNewRecord => {
  t = Math.max(t + 1, Date.now());
  return { topic: ASSETS_TOPIC, key: uuid, ts: t - receivedAgo, value: telemetryValue("level", v, "Level", "Samples", t) };
};

test("the cross stage routes a command decided live on a recent input, and not one decided on an input received long ago", async () => {
  await broker.log.ensureTopics([{ name: ASSETS_TOPIC, partitions: P, replication: 1 }]);
  const reports: string[] = [];
  const w = new CrossWorker({ program: ir, log: broker.log, checkpoints: false, report: (l, m) => void reports.push(`${l}: ${m}`) });
  const drains = async (): Promise<string[]> =>
    (await broker.log.readRange(ASSETS_TOPIC, 0, undefined, 0)).flatMap((x) => {
      const ev = classify(x);
      return x.headers[CROSS_CAUSE_HEADER] !== undefined && ev.kind === "command" ? [ev.envelope.header.correlation_id] : [];
    });
  const routed = async (): Promise<string[]> => (await broker.log.readRange("ofa_cmds", 0).catch(() => [])).map((x) => x.headers[CORRELATION_HEADER]!);
  try {
    await w.start();
    await w.ready;
    // 1. the total rises past 100 on fresh readings: routed
    await broker.log.append([level(A, 60), level(B, 60)]);
    await waitFor("the first drain routed", async () => (await routed()).length === 1, { timeoutMs: 30_000, intervalMs: 100, detail: () => reports.join("\n") });
    // 2. it falls, and rises again on a reading of a received five minutes ago: written, not routed
    await broker.log.append([level(A, 0)]);
    await broker.log.append([level(A, 60, 300_000)]);
    await waitFor("the second drain written", async () => (await drains()).length === 2, { timeoutMs: 30_000, intervalMs: 100, detail: () => reports.join("\n") });
    // 3. and again on a fresh one: routed (the sentinel: routed records go out in order)
    await broker.log.append([level(A, 0)]);
    await broker.log.append([level(A, 60)]);
    await waitFor("the third drain routed", async () => (await routed()).length >= 2, { timeoutMs: 30_000, intervalMs: 100, detail: () => reports.join("\n") });
    const ids = await drains();
    expect(ids).toHaveLength(3);
    expect(await routed()).toEqual([ids[0], ids[2]]);
    expect(w.staleRoutes.count).toBe(1);
    expect(reports.filter((m) => m.includes("stale"))).toEqual([
      expect.stringMatching(/^warn: 1 command\(s\) not routed to their command topic: stale \(the last decided on an input received \d+ms \(about 5(\.\d)?m\) earlier; OFL_COMMAND_MAX_AGE_MS is 1m\)$/),
    ]);
  } finally {
    await w.stop();
  }
}, 90_000);
