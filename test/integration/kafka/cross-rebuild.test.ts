// The cross worker's rebuild keeps its memory bounded, on Apache Kafka itself. Until it has read
// every partition to the end seen at start, the stage held each recomputed output to match it
// against the previous run's; over a long history with none of them (a first start) that was every
// output. Past `rebuildHoldLimit` it now counts the stage's outputs on the rest of the partitions
// and produces the others as it recomputes them. Runs that die half-way (rebuilding, or live
// between two outputs of one input), and the next ones, write every output the documented
// semantics give (docs/deploy.md, "Partitions": the whole program over the partitions' inputs
// merged by event time), once, in order.
// And while it rebuilds it says how far (the bundled worker's status line).
import { expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { partitionOfKey, type KafkaNewRecord, type KafkaRecord } from "../../../runtime/log/kafka.js";
import { CROSS_CAUSE_HEADER, CrossWorker, type CrossWorkerOptions } from "../../../runtime/worker/cross.js";
import { telemetryValue } from "../../../runtime/wire/records.js";
import { ASSETS_TOPIC } from "../../../runtime/wire/types.js";
import { waitFor } from "../../support/wait.js";
import { brokerForFile } from "./broker.js";
import { CutLog, GatedReadLog } from "./test-logs.js";
import { crossOutputs, documentedMerge } from "./merge.js";

const broker = brokerForFile();

const P = 2;
const uuidOn = (p: number): string => {
  for (let k = 0; ; k++) if (partitionOfKey(`TANK-${k}`, P) === p) return `TANK-${k}`;
};
const [A, B] = [uuidOn(0), uuidOn(1)];
// each tank's `others` and `twice` read the view: a level of one changes the other's (two outputs,
// on the other tank's partition, caused by an input of this one)
const r = compile([{ path: "/tanks.ofl", text: `model Tank {\n  telemetry level: int in 0..1000\n  state others = total - level\n  state twice = (total - level) * 2\n}\nview total = sum(level) from Tank\nasset a: Tank { uuid "${A}" }\nasset b: Tank { uuid "${B}" }\n` }], { name: "tanks" });
if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
const ir = r.ir;

// event times in the past (a live stage's clock records, stamped now, come after them all)
let t = Date.now() - 3_600_000;
let n = 0;
/** a's and b's levels in turn, each new (n % 997 over 1,000 inputs a tank never repeats its last) */
const next = (): KafkaNewRecord => {
  const uuid = n % 2 === 0 ? A : B;
  const v = (n++ * 7) % 997;
  return { topic: ASSETS_TOPIC, key: uuid, ts: (t += 100), value: telemetryValue("level", v, "Level", "Samples", t) };
};

const parts = (): Promise<KafkaRecord[][]> => Promise.all(Array.from({ length: P }, (_, p) => broker.log.readRange(ASSETS_TOPIC, 0, undefined, p)));
const written = (recs: KafkaRecord[]): KafkaRecord[] => recs.filter((x) => x.headers[CROSS_CAUSE_HEADER] !== undefined);

test("a first start holds at most rebuildHoldLimit outputs; stopped half-way, the next run writes every output the merge gives, once", async () => {
  await broker.log.ensureTopics([{ name: ASSETS_TOPIC, partitions: P, replication: 1 }]);
  await broker.log.append(Array.from({ length: 3000 }, next));
  const options = { program: ir, checkpoints: { everyRecords: 200, costShare: 0 }, rebuildHoldLimit: 50 };

  // a first run: past 50 held outputs it finds none of the stage's further on, so it produces them,
  // and the rest as it goes (before: every one held until both partitions were read); it dies after 2,000
  const cut = new CutLog(broker.kafka.brokers, 2000, CROSS_CAUSE_HEADER);
  const reports: string[] = [];
  const first = new CrossWorker({ ...options, log: cut, report: (l, m) => void reports.push(`${l}: ${m}`), onFatal: () => {} });
  try {
    await first.start();
    await waitFor("the first run's death", () => reports.some((m) => m.includes("simulated death")), { timeoutMs: 60_000, detail: () => reports.join("\n") });
    expect(reports.join("\n")).toMatch(/^info: rebuilding: 52 recomputed outputs held; 0 output\(s\) of the stage further on \(offsets \d+–1499, \d+–1499 of the partitions\): the rest produced as they are recomputed$/m);
    expect(first.stats.heldMost).toBe(52); // two outputs an input
    expect(first.stats.checkpoints).toBe(0); // none before the rebuild ends (cross.ts, countOutputsAhead)
  } finally {
    await first.stop().catch(() => {});
    await cut.close();
  }
  expect((await parts()).flatMap(written).length).toBe(2000);

  // 1,000 more inputs; a new run from the start finds the first run's outputs further on past 50
  // held, drops those and produces every other one, once
  await broker.log.append(Array.from({ length: 1000 }, next));
  const w = await rebuildToTheEnd(options);
  expect(w.stats.heldMost).toBe(52);
  await expectDocumentedOutputs();
}, 180_000);

test("a live run that dies between two outputs of one input: the next rebuild, counting, writes the second once", async () => {
  // a history the stage has not seen (the next rebuilds hold 52 outputs early, and count)
  await broker.log.append(Array.from({ length: 3000 }, next));
  // (maxWaiting 100: a partition is read no further than 100 inputs ahead of the merge, so the
  // next rebuild counts before it reads the death's place: a partition read far ahead finds every
  // output there before its input is recomputed, and held stays small until later)
  const options = { program: ir, checkpoints: false as const, rebuildHoldLimit: 50, maxWaiting: 100 };
  const cut = new CutLog(broker.kafka.brokers, Infinity, CROSS_CAUSE_HEADER);
  const reports: string[] = [];
  const died = (): boolean => reports.some((m) => m.includes("simulated death"));
  const w = new CrossWorker({ ...options, log: cut, report: (l, m) => void reports.push(`${l}: ${m}`), onFatal: () => {} });
  try {
    await w.start();
    await w.ready;
    await w.idle(); // the rebuild's last outputs on the log
    // live: 20 inputs at a time, each decided before the next (the partitions then hold each
    // input's outputs right after the input that let it be merged); 40 outputs a round, and the
    // log takes 101 more: the third round's append stops between an input's two
    cut.allow = 101;
    for (let round = 0; !died(); round++) {
      expect(round).toBeLessThan(10);
      const appended = await broker.log.append(Array.from({ length: 20 }, next));
      const lastA = `0:${appended[18]!.offset}`; // a's inputs go first in each pair
      await waitFor("the round decided, or the death", async () => died() || (await parts())[1]!.some((x) => x.headers[CROSS_CAUSE_HEADER] === lastA), { timeoutMs: 30_000, detail: () => reports.join("\n") });
    }
  } finally {
    await w.stop().catch(() => {});
    await cut.close();
  }
  // the premise: one input has one of its two outputs on the log
  const byCause = new Map<string, number>();
  for (const x of (await parts()).flatMap(written)) byCause.set(x.headers[CROSS_CAUSE_HEADER]!, (byCause.get(x.headers[CROSS_CAUSE_HEADER]!) ?? 0) + 1);
  expect([...byCause.values()].filter((c) => c === 1)).toHaveLength(1);

  await broker.log.append(Array.from({ length: 500 }, next));
  await rebuildToTheEnd(options);
  await expectDocumentedOutputs();
}, 180_000);

test("while it rebuilds, the stage says how far; live, it says nothing of it", async () => {
  // partition 1's reading held at its first batch: partition 0 is read to its end, nothing merges
  const gated = new GatedReadLog(broker.kafka.brokers, ASSETS_TOPIC, 1);
  const w = new CrossWorker({ program: ir, log: gated, checkpoints: false, nudgeMs: 0 });
  const [end0, end1] = await Promise.all([0, 1].map((p) => broker.log.endOffset(ASSETS_TOPIC, p)));
  try {
    await w.start();
    const want = `${end0!.toLocaleString("en-US")} of ${(end0! + end1!).toLocaleString("en-US")} records read, ${Math.floor((100 * end0!) / (end0! + end1!))} %; 0 inputs merged`;
    await waitFor("partition 0 read to its end, partition 1 held", () => gated.holding && w.rebuilding() === want, { timeoutMs: 30_000, detail: () => String(w.rebuilding()) });
    gated.release();
    await w.ready;
    expect(w.rebuilding()).toBeUndefined();
  } finally {
    await w.stop();
    await gated.close();
  }
}, 60_000);

/**
 * A run on the real log from the start: it counts past its hold limit, and decides up to the last
 * input on the partitions. That input (b's, on partition 1) is merged once partition 0 has a
 * later one: the stage's own clock record (a nudge, stamped now); its output on a's partition is
 * the sentinel. (The input is found before the run starts, by its key: the run's next nudge, once
 * partition 0's clock record waits, is a clock record on partition 1 after it.)
 */
async function rebuildToTheEnd(options: Omit<CrossWorkerOptions, "log">): Promise<CrossWorker> {
  const last = (await broker.log.readRange(ASSETS_TOPIC, 0, undefined, 1)).filter((x) => x.key === B && x.headers[CROSS_CAUSE_HEADER] === undefined).at(-1)!;
  expect(last.value).toMatchObject({ ID: "level" });
  const cause = `1:${last.offset}`;
  const reports: string[] = [];
  const w = new CrossWorker({ ...options, log: broker.log, report: (l, m) => void reports.push(`${l}: ${m}`) });
  try {
    await w.start();
    await w.ready;
    expect(reports.join("\n")).toMatch(/^info: rebuilding: 52 recomputed outputs held; [1-9]\d* output\(s\) of the stage further on/m);
    await waitFor("the output of the last input", async () => (await parts())[0]!.some((x) => x.headers[CROSS_CAUSE_HEADER] === cause), { timeoutMs: 30_000, detail: () => reports.join("\n") });
    await w.idle();
  } finally {
    await w.stop();
  }
  return w;
}

/** Every output on the partitions once, in merge order: the program over the documented merge of the inputs there (every input appended merged). */
async function expectDocumentedOutputs(): Promise<void> {
  const recs = await parts();
  const merged = documentedMerge(recs);
  const telemetry = merged.filter((m) => m.ev.kind === "telemetry").length;
  expect(telemetry).toBe(n);
  const expected = crossOutputs(ir, merged, P);
  expect(expected.flat().length).toBeGreaterThanOrEqual(2 * telemetry - 4); // every input but the first of each tank changes the other's two
  for (let q = 0; q < P; q++) expect(written(recs[q]!).map((x) => JSON.stringify([x.key, x.value])), `partition ${q}`).toEqual(expected[q]);
}
