// The cross worker on Apache Kafka itself, in-process. Its checkpoint at the one moment that
// matters: an input read from a partition but not merged yet (the other partition has nothing
// newer) when the checkpoint is taken. The restored worker must read that input again and decide
// it: the checkpoint's position in that partition is the waiting input's, not the end of what was
// read; and a checkpoint taken after another record than the one before its position (the topic
// created again) is skipped, said. And two cross workers started at once: one runs the stage, the other stands by and takes
// over when the first stops, every output written once.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { KafkaLog, partitionOfKey } from "../../../runtime/log/kafka.js";
import { crossCheckpointTopic } from "../../../runtime/log/kafkaCheckpoints.js";
import { CrossMember, CrossWorker, CROSS_CAUSE_HEADER } from "../../../runtime/worker/cross.js";
import { classify, telemetryValue } from "../../../runtime/wire/records.js";
import { ASSETS_TOPIC, type WireEvent } from "../../../runtime/wire/types.js";
import { startKafka, type KafkaBroker } from "../../services/kafka/start.js";
import { waitFor } from "../../support/wait.js";
import { tearDown } from "./workers.js";

const P = 2;
const UUID_A = Array.from({ length: 50 }, (_, i) => `A-${i}`).find((u) => partitionOfKey(u, P) === 0)!;
const UUID_B = Array.from({ length: 50 }, (_, i) => `B-${i}`).find((u) => partitionOfKey(u, P) === 1)!;
const SOURCE = `
model Tank {
  telemetry level: int
  command reset()
}
view total = sum(level) from Tank
asset a: Tank { uuid "${UUID_A}" }
asset b: Tank { uuid "${UUID_B}" }
rule overfill {
  when total >= 10
  then a.reset()
}
`;

let kafka: KafkaBroker;
let log: KafkaLog;
let ir: IrProgram;
let dir: string;

beforeAll(async () => {
  const r = compile([{ path: "tanks.ofl", text: SOURCE }], { name: "tanks" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  ir = r.ir;
  dir = mkdtempSync(join(tmpdir(), "ofl-cross-cp-"));
  kafka = await startKafka();
  log = new KafkaLog({ brokers: kafka.brokers });
  await log.ensureTopics([{ name: ASSETS_TOPIC, partitions: P, replication: 1 }]);
}, 180_000);

afterAll(() => tearDown([], [log, kafka], dir));

const level = (key: string, value: number, ts: number): { topic: string; key: string; ts: number; value: unknown } => ({
  topic: ASSETS_TOPIC,
  key,
  ts,
  value: telemetryValue("level", String(value), "Sample", "Samples", ts),
});

test("an input read but not merged when the checkpoint is taken is decided after the restore", async () => {
  const t0 = Date.now() - 60_000;
  const reports: string[] = [];
  const report = (_l: string, m: string): void => void reports.push(m);
  // nudgeMs 0: no clock record of its own lets b's input through (the moment under test)
  const first = new CrossWorker({ program: ir, log, report, checkpoints: { everyRecords: 1, costShare: 0 }, nudgeMs: 0 });
  await first.start();
  await first.ready;
  // a (partition 0) at t0+1 is merged once b's input (partition 1, t0+2) is there; b's waits for partition 0's next
  await log.append([level(UUID_A, 5, t0 + 1), level(UUID_B, 5, t0 + 2)]);
  await waitFor("the checkpoint after a's input", async () => (await log.endOffset(crossCheckpointTopic(ir.program))) > 0, { timeoutMs: 30_000, intervalMs: 50, detail: () => reports.join("\n") });
  expect(first.stats.merged).toBe(1);
  await first.stop();

  const second = new CrossWorker({ program: ir, log, report, checkpoints: { everyRecords: 1, costShare: 0 }, nudgeMs: 0 });
  await second.start();
  await second.ready;
  expect(second.stats.restored).toBe(1);
  expect(reports.at(-1)).toMatch(/^rebuilt from the checkpoint after 1 merged inputs and the 1 records after it of 2 partitions/);
  // partition 0's next input lets b's be merged: total 10, the rule fires, caused by b's input (partition 1, offset 0)
  await log.append([level(UUID_A, 5, t0 + 3)]);
  const commands = async (): Promise<{ cause: string | undefined; ev: WireEvent }[]> =>
    (await log.readRange(ASSETS_TOPIC, 0, undefined, 0)).map((r) => ({ cause: r.headers[CROSS_CAUSE_HEADER], ev: classify(r) })).filter((x) => x.ev.kind === "command");
  await waitFor("the overfill command", async () => (await commands()).length > 0, { timeoutMs: 30_000, intervalMs: 50, detail: () => reports.join("\n") });
  await second.stop();
  const cmds = await commands();
  expect(cmds.map((c) => c.cause)).toEqual(["1:0"]);
  expect((cmds[0]!.ev as Extract<WireEvent, { kind: "command" }>).envelope.header.rule).toBe("overfill");

  // the newest checkpoint again, as if taken after another record than the one before its
  // position in partition 0 (the topic created again since, with as many records): skipped, said;
  // the one before it is restored
  const cps = await log.readRange(crossCheckpointTopic(ir.program));
  const newest = cps.at(-1)!;
  const v = newest.value as { positions: { offset: number; last: { ts: number; key: string } | null }[] };
  expect(v.positions[0]!.offset).toBeGreaterThan(0);
  const positions = v.positions.map((x, p) => (p === 0 ? { ...x, last: { ...x.last!, ts: x.last!.ts + 1 } } : x));
  await log.append([{ topic: crossCheckpointTopic(ir.program), key: newest.key, ts: Date.now(), partition: 0, value: { ...v, positions } }]);
  reports.length = 0;
  const third = new CrossWorker({ program: ir, log, report, checkpoints: { everyRecords: 1, costShare: 0 }, nudgeMs: 0 });
  await third.start();
  await third.ready;
  await third.stop();
  expect(reports, reports.join("\n")).toContain(`checkpoint at ${crossCheckpointTopic(ir.program)} offset ${newest.offset + 1} skipped: the record before offset ${v.positions[0]!.offset} of ofa_assets partition 0 is not the one it was taken after (was the topic created again?)`);
  expect(reports.at(-1)).toMatch(/^rebuilt from the checkpoint after 2 merged inputs/); // the one before (both inputs of partition 0 and b's merged)
}, 90_000);

test("two cross workers take turns: one runs the stage, the other stands by and takes over when it stops; every output once", async () => {
  const say = (who: string) => (_l: string, m: string) => void log_.push(`${who}: ${m}`);
  const log_: string[] = [];
  const detail = (): string => log_.join("\n");
  // the group's round-robin assignor gives the partition to the member id that sorts first, and
  // a member id starts with its client id: m2 (client "a-…") takes the stage from m1 ("z-…")
  const logs = [new KafkaLog({ brokers: kafka.brokers, clientId: "z-cross" }), new KafkaLog({ brokers: kafka.brokers, clientId: "a-cross" })];
  const member = (who: string, l: KafkaLog): CrossMember => new CrossMember({ program: ir, log: l, report: say(who), checkpoints: { everyRecords: 1, costShare: 0 }, sessionTimeoutMs: 6000 });
  const m1 = member("m1", logs[0]!);
  await m1.start();
  await m1.ready;
  expect(m1.active).toBeDefined();
  const m2 = member("m2", logs[1]!);
  await m2.start();
  await m2.ready;
  const running = (): CrossMember[] => [m1, m2].filter((m) => m.active !== undefined);
  await waitFor("m2 alone running the stage after it joined", () => running().length === 1 && m2.active !== undefined, { timeoutMs: 30_000, intervalMs: 50, detail });
  expect(detail()).toContain("m1: another cross worker runs the cross stage: standing by");

  // a rise of the total over 10 per round (a to 10, then both back to 0), each round at later event times
  let t = Date.now() - 30_000;
  const round = (): Promise<unknown> => log.append([level(UUID_A, 10, ++t), level(UUID_B, 0, ++t), level(UUID_A, 0, ++t), level(UUID_B, 0, ++t)]);
  const overfills = async (): Promise<string[]> =>
    (await log.readRange(ASSETS_TOPIC, 0, undefined, 0)).flatMap((r) => {
      const ev = classify(r);
      return ev.kind === "command" && ev.envelope.header.rule === "overfill" ? [ev.envelope.header.correlation_id] : [];
    });
  // both to 0 first: total below 10 whatever the test before left (its b is at 5)
  await log.append([level(UUID_A, 0, ++t), level(UUID_B, 0, ++t)]);
  const before = (await overfills()).length;
  await round();
  await round();
  await waitFor("two overfills", async () => (await overfills()).length >= before + 2, { timeoutMs: 30_000, intervalMs: 50, detail });
  // the active one stops (leaves the group): the other takes the stage over, from the checkpoint
  const first = running()[0]!;
  const other = first === m1 ? m2 : m1;
  await first.stop();
  await waitFor("the other member running the stage", () => other.active !== undefined, { timeoutMs: 30_000, intervalMs: 50, detail });
  await round();
  await round();
  await waitFor("two more overfills", async () => (await overfills()).length >= before + 4, { timeoutMs: 30_000, intervalMs: 50, detail });
  // and a round more, as a sentinel: everything before it is decided; nothing was written twice
  await round();
  await waitFor("the sentinel overfill", async () => (await overfills()).length >= before + 5, { timeoutMs: 30_000, intervalMs: 50, detail });
  await other.stop();
  const ids = await overfills();
  expect(ids.length, detail()).toBe(before + 5);
  expect(new Set(ids).size).toBe(ids.length);
  for (const l of logs) await l.close();
  const written = (await log.readRange(ASSETS_TOPIC, 0, undefined, 0)).filter((r) => r.headers[CROSS_CAUSE_HEADER] !== undefined).map((r) => `${r.headers[CROSS_CAUSE_HEADER]} ${JSON.stringify(r.value)}`);
  expect(new Set(written).size).toBe(written.length);
}, 120_000);

test("a partition with nothing new and no rule worker's clock: the stage writes a clock record to it and decides what waited", async () => {
  // whatever the stage writes to partition 1 counts, from before it starts (it may nudge it at once)
  const p1End = await log.endOffset(ASSETS_TOPIC, 1);
  const reports: string[] = [];
  const w = new CrossWorker({ program: ir, log, report: (_l, m) => void reports.push(m), checkpoints: false });
  await w.start();
  await w.ready;
  // stamped now: later than anything the tests before left on the partitions (clock records of
  // their stages included), so b's 0 is merged before a's 10, and a's 10 then needs a next input
  // on partition 1: written after b's, by the stage alone (no rule worker runs)
  const t = Date.now();
  await log.append([level(UUID_A, 0, t), level(UUID_B, 0, t + 1)]);
  const [a10] = await log.append([level(UUID_A, 10, t + 2)]);
  // nothing more is written to partition 1 by anyone but the stage: a's 10 is decided all the same
  const overfill = async (): Promise<string | undefined> =>
    (await log.readRange(ASSETS_TOPIC, 0, undefined, 0)).find((r) => {
      const ev = classify(r);
      return ev.kind === "command" && r.headers[CROSS_CAUSE_HEADER] === `0:${a10!.offset}`;
    })?.headers[CROSS_CAUSE_HEADER];
  await waitFor("the overfill of a's 10", overfill, { timeoutMs: 10_000, intervalMs: 50, detail: () => reports.join("\n") });
  expect(w.stats.nudges).toBeGreaterThan(0);
  const clocks = (await log.readRange(ASSETS_TOPIC, p1End, undefined, 1)).filter((r) => classify(r).kind === "clock");
  expect(clocks.length).toBeGreaterThan(0);
  expect(clocks.every((r) => r.key === `OFL-${ir.program}` && r.headers[CROSS_CAUSE_HEADER] === undefined)).toBe(true);

  // a clock record only for an input to decide: the one that let a's 10 through now waits on
  // partition 1 for partition 0, and gets none (the stage wrote one every 20 ms, to one partition
  // after the other, for as long as nothing came). Each next level of a's waits for partition 1:
  // one clock record there each, none on partition 0 (no input ever waits on partition 1)
  const stageClocks = async (p: number, from: number): Promise<number> => (await log.readRange(ASSETS_TOPIC, from, undefined, p)).filter((r) => classify(r).kind === "clock" && r.key === `OFL-${ir.program}`).length;
  const [p0From, p1From] = await Promise.all([0, 1].map((p) => log.endOffset(ASSETS_TOPIC, p)));
  const rounds = 5;
  for (let k = 1; k <= rounds; k++) {
    const merged = w.stats.merged;
    await log.append([level(UUID_A, 0, Date.now() + 1)]); // later than the clock record waiting on partition 1
    // decided: the clock record waiting on partition 1, a's level, after the stage's next clock record there
    await waitFor(`a's level of round ${k} decided`, () => w.stats.merged >= merged + 2, { timeoutMs: 10_000, intervalMs: 50, detail: () => reports.join("\n") });
  }
  await w.stop();
  expect(await stageClocks(0, p0From!)).toBe(0);
  expect(await stageClocks(1, p1From!)).toBe(rounds);
}, 60_000);
