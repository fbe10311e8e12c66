// A command decided on old input never reaches a machine (docs/deploy.md, "Connector workers").
// A rule worker that starts over a history it has not decided yet (its first start over records
// connectors wrote before it, a new program version rebuilding from offset 0, a restart after a
// long outage) produces the commands that history calls for, and a connector worker, live, would
// dispatch each of them now: a stop decided last week, sent to the mill today. The rule worker
// stamps each command with the receive time of the input it was decided on (`ofl-input-time`);
// the connector worker dispatches a command only while that input is younger than
// `commandMaxAgeMs` (OFL_COMMAND_MAX_AGE_MS, default a minute), and answers an older one `failed`
// ("stale"), never sending it. An operator command is judged by its own time the same way (one
// written while the rule worker was down waits for its verdict, then is stale).
// On Apache Kafka itself; the connector's device is the simulator, which answers `completed`.
import { expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { ConnectorWorker } from "../../../runtime/worker/connector.js";
import { RuleWorker } from "../../../runtime/worker/rule.js";
import { INPUT_TIME_HEADER } from "../../../runtime/worker/headers.js";
import { operatorCommandRecord } from "../../../runtime/wire/operator.js";
import { classify, telemetryValue } from "../../../runtime/wire/records.js";
import type { KafkaRecord } from "../../../runtime/log/kafka.js";
import { waitFor } from "../../support/wait.js";
import { brokerForFile } from "./broker.js";
import { pulseTank } from "./program.js";

const broker = brokerForFile();

// `level` comes from the test's records alone; the simulator answers `reset`
const PROGRAM = pulseTank("TANK-STALE", "\n  telemetry level: int", "rule drain on Tank {\n  when level >= 20\n  then reset()\n}\n");

function program(): IrProgram {
  const r = compile([{ path: "/stale.ofl", text: PROGRAM }], { name: "stale" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.ir;
}

/** A level reading of the tank received (Kafka time) at `t`, from a device whose clock is two minutes behind (its event time). */
function level(value: number, t: number) {
  return { topic: "ofa_assets", key: "TANK-STALE", ts: t, value: telemetryValue("level", value, "Level", "Samples", t - 120_000) };
}

type Event = ReturnType<typeof classify>;
async function mine(): Promise<{ rec: KafkaRecord; ev: Event }[]> {
  return (await broker.log.readRange("ofa_assets", 0)).filter((r) => r.key === "TANK-STALE").map((rec) => ({ rec, ev: classify(rec) }));
}
function commandIds(recs: { ev: Event }[]): string[] {
  return recs.flatMap(({ ev }) => (ev.kind === "command" ? [ev.envelope.header.correlation_id] : []));
}
function resultOf(recs: { ev: Event }[], id: string): { status: string; reason?: string } | undefined {
  for (const { ev } of recs) if (ev.kind === "command_result" && ev.result.correlation_id === id) return ev.result;
  return undefined;
}

test("a command decided on an input older than the connector's bound is answered stale, never dispatched; a fresh one is dispatched", async () => {
  const ir = program();
  await broker.log.ensureTopics([{ name: "ofa_assets", partitions: 1, replication: 1 }]);
  // ten minutes ago the tank rose past 20: history the rule worker has not decided yet
  const past = Date.now() - 10 * 60_000;
  await broker.log.append([level(0, past), level(25, past + 1000), level(0, past + 2000)]);
  const reports: string[] = [];
  const connector = new ConnectorWorker({ program: ir, asset: "t", source: 0, log: broker.log, report: (l, m) => void reports.push(`${l}: ${m}`) });
  const rule = new RuleWorker({ program: ir, log: broker.log, clockMs: 50, checkpoints: false });
  try {
    await connector.start();
    await connector.ready; // live before the rule worker decides the history
    await rule.start();
    await rule.ready;

    // the history's command: on the log, accepted, stamped with its input's receive time, answered stale
    const old = await waitFor("the answer to the command decided on the history", async () => {
      const recs = await mine();
      const id = commandIds(recs)[0];
      return id !== undefined && resultOf(recs, id) ? { id, recs } : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100, detail: () => reports.join("\n") });
    const cmd = old.recs.find(({ ev }) => ev.kind === "command")!;
    expect(Number(cmd.rec.headers[INPUT_TIME_HEADER])).toBe(past + 1000);
    expect(resultOf(old.recs, old.id)).toEqual({
      correlation_id: old.id,
      status: "failed",
      reason: expect.stringMatching(/^stale: decided on an input received \d+ms \(about 10m\) before it reached the connector \(more than OFL_COMMAND_MAX_AGE_MS: 1m\); not dispatched$/),
    });

    // live: the tank rises again now; that command is dispatched and completed (its age is the
    // reading's receive time's, not the device clock's)
    const now = Date.now();
    await broker.log.append([level(25, now)]);
    const fresh = await waitFor("the answer to the live command", async () => {
      const recs = await mine();
      const id = commandIds(recs)[1];
      const res = id === undefined ? undefined : resultOf(recs, id);
      return res ? { id, res } : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100, detail: () => reports.join("\n") });
    expect(fresh.res.status).toBe("completed");

    // an operator command written five minutes ago (its verdict given only now): stale as well
    const asset = ir.assets[0]!;
    const opRec = operatorCommandRecord(ir, asset, "reset", [], now - 5 * 60_000, await broker.log.endOffset("ofa_assets"));
    await broker.log.append([{ topic: opRec.topic, key: opRec.key, ts: opRec.ts, value: opRec.value }]);
    const opId = JSON.parse((opRec.value as { VALUE: string }).VALUE).header.correlation_id as string;
    const op = await waitFor("the answer to the old operator command", async () => resultOf(await mine(), opId), { timeoutMs: 30_000, intervalMs: 100 });
    expect(op.status).toBe("failed");
    expect(op.reason).toMatch(/^stale: decided on an input received \d+ms \(about 5(\.\d)?m\) before/);

    // the device got the live command alone
    expect(connector.dispatchedIds).toEqual([fresh.id]);
    expect(connector.stats.dispatched).toBe(1);
    expect(connector.stale.count).toBe(2);
    // one warning: the second came within 10 s of the first
    expect(reports.filter((r) => r.includes("stale"))).toEqual([
      expect.stringMatching(/^warn: 1 command\(s\) not dispatched \(each answered failed\): stale \(the last decided on an input received \d+ms \(about 10m\) earlier; OFL_COMMAND_MAX_AGE_MS is 1m\)$/),
    ]);
  } finally {
    await rule.stop();
    await connector.stop();
  }
}, 90_000);
