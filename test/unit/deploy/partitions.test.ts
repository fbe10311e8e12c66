// What can be decided one partition at a time (runtime/worker/partitions.ts; docs/deploy.md,
// Partitions): reads of views and of other partitions' assets are named, and what reads them in
// turn; a program restricted to a partition keeps its assets and the rules about them, without
// what the cross stage decides; the cross stage's merge order depends on the partitions alone.
import { expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { crossDecisions, crossOutputFilter, crossPartition, partitionOfKey, partitionProgram } from "../../../runtime/wire/partitions.js";
import { mergedOrder, PartitionMerge } from "../../../runtime/wire/merge.js";
import type { WireEvent } from "../../../runtime/wire/types.js";

const P = 4;
/** uuids of two different partitions, and one more on the first one's */
const uuids = ((): [string, string, string] => {
  const a = "U-0";
  const b = Array.from({ length: 100 }, (_, i) => `U-${i}`).find((u) => partitionOfKey(u, P) !== partitionOfKey(a, P))!;
  const c = Array.from({ length: 100 }, (_, i) => `U-${i + 1}`).find((u) => partitionOfKey(u, P) === partitionOfKey(a, P))!;
  return [a, b, c];
})();
const [A, B, C] = uuids;
const pa = partitionOfKey(A, P);
const pb = partitionOfKey(B, P);
/** a fourth uuid, on a's partition */
const D = Array.from({ length: 100 }, (_, i) => `P-${i}`).find((u) => partitionOfKey(u, P) === pa)!;

function program(body: string): IrProgram {
  const text = `model Tank {\n  telemetry level: int\n  command reset()\n}\nasset a: Tank { uuid "${A}" }\nasset b: Tank { uuid "${B}" }\nasset c: Tank { uuid "${C}" }\n${body}\n`;
  const r = compile([{ path: "p.ofl", text }], { name: "p" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return r.ir;
}

test("per-asset logic partitions exactly; each partition keeps its assets and the `on` rules", () => {
  const ir = program(`rule drain on Tank {\n  when level >= 20\n  then reset()\n}`);
  expect(crossPartition(ir, P)).toEqual([]);
  const sub = partitionProgram(ir, pa, P);
  expect(sub.assets.map((x) => x.name)).toEqual(["a", "c"]);
  expect(sub.rules.map((r) => r.name)).toEqual(["drain"]);
  expect(partitionProgram(ir, pb, P).assets.map((x) => x.name)).toEqual(["b"]);
  // one partition: the program itself
  expect(partitionProgram(ir, 0, 1)).toBe(ir);
  expect(crossPartition(ir, 1)).toEqual([]);
});

test("a rule without `on` goes to the partition of the assets it names; across two partitions it is refused", () => {
  const local = program(`rule pair {\n  when a.level > c.level\n  then c.reset()\n}`);
  expect(crossPartition(local, P)).toEqual([]);
  expect(partitionProgram(local, pa, P).rules.map((r) => r.name)).toEqual(["pair"]);
  expect(partitionProgram(local, pb, P).rules).toEqual([]);
  const across = program(`rule pair {\n  when a.level > 5\n  then b.reset()\n}`);
  expect(crossPartition(across, P)).toEqual([`rule pair: reads or commands assets of several partitions: a (partition ${pa}), b (partition ${pb})`]);
});

test("reads of a view, and an `on` rule commanding another partition's asset, are named", () => {
  const ir = program(`view total = sum(level) from Tank\nrule overflow on Tank {\n  when level > total\n  then b.reset()\n}`);
  // one line per declaration: its first reason
  expect(crossPartition(ir, P)).toEqual(["rule overflow: reads view total"]);
  const commanding = program(`rule overflow on Tank {\n  when level > 50\n  then b.reset()\n}`);
  expect(crossPartition(commanding, P)).toEqual([`rule overflow: its instance for a reads or commands another partition's asset: a (partition ${pa}), b (partition ${pb})`]);
  // a view nothing reads is ksqlDB's alone: no refusal
  expect(crossPartition(program(`view total = sum(level) from Tank`), P)).toEqual([]);
});

test("what reads a state decided across partitions is decided across partitions too; the partition keeps the rest", () => {
  const ir = program(
    [
      `view total = sum(level) from Tank`,
      `model Pump {\n  telemetry flow: int\n  state share = flow * 100 / total\n  state big = share > 50\n  state fast = flow > 10\n  alarm hog severity low when big\n  alarm spin severity low when fast\n}`,
      `asset p1: Pump { uuid "${D}" }`,
      `rule calm on Pump {\n  when big\n  then c.reset()\n}`,
      `rule local on Pump {\n  when fast\n  then c.reset()\n}`,
    ].join("\n"),
  );
  const c = crossDecisions(ir, P);
  expect([...c.states]).toEqual(["Pump.share", "Pump.big"]);
  expect([...c.alarms]).toEqual(["Pump.hog"]);
  expect([...c.rules]).toEqual(["calm"]);
  expect(c.interlocks).toEqual([]);
  expect(c.reasons).toEqual([
    "state Pump.share: reads view total",
    "state Pump.big: reads share, decided across partitions",
    "alarm Pump.hog: reads big, decided across partitions",
    "rule calm: reads big, decided across partitions",
  ]);
  const local = partitionProgram(ir, pa, P);
  const pump = local.models.find((m) => m.name === "Pump")!;
  expect(pump.states.map((s) => s.name)).toEqual(["fast"]);
  expect(pump.alarms.map((a) => a.name)).toEqual(["spin"]);
  expect(local.rules.map((r) => r.name)).toEqual(["local"]);
  expect(local.views).toEqual([]);
  // one partition: nothing is across
  expect(crossDecisions(ir, 1).reasons).toEqual([]);
});

test("an interlock that reads across partitions is named apart (refused: an operator's command is checked on its asset's partition)", () => {
  const ir = program(`view total = sum(level) from Tank\nmodel Valve {\n  command open() requires total < 100\n}\nasset v: Valve { uuid "${D}" }`);
  expect(crossDecisions(ir, P).interlocks).toEqual(["command Valve.open (requires): reads view total"]);
});

test("the cross stage writes the outputs of its declarations: derived values, alarms, its rules' commands and their rejections", () => {
  const ir = program(`view total = sum(level) from Tank\nmodel Pump {\n  telemetry flow: int\n  state share = flow * 100 / total\n  state fast = flow > 10\n  alarm hog severity low when share > 50\n}\nasset p1: Pump { uuid "${A}x" }\nrule calm on Pump {\n  when share > 90\n  then c.reset()\n}`);
  const isCross = crossOutputFilter(ir, P);
  const rec = (ID: string, TAG: string, VALUE: string): { topic: string; key: string; ts: number; value: object } => ({ topic: "ofa_assets", key: `${A}x`, ts: 0, value: { ID, TAG, VALUE, TYPE: "Events", attributes: { timestamp: "" } } });
  const cmd = (rule: string, id: string): string => JSON.stringify({ header: { rule, correlation_id: id }, arguments: {} });
  expect(
    isCross([
      rec("share", "Derived", "60"),
      rec("fast", "Derived", "true"),
      rec("hog", "Alarm", "ACTIVE"),
      rec("reset_CMD", "Method.Command", cmd("calm", "id1")),
      rec("reset_RESULT", "Method.Result", JSON.stringify({ correlation_id: "id1", status: "rejected" })),
      rec("reset_CMD", "Method.Command", cmd("operator", "id2")),
      rec("reset_RESULT", "Method.Result", JSON.stringify({ correlation_id: "id2", status: "rejected" })),
    ]),
  ).toEqual([true, false, true, true, true, false, false]);
});

test("the merge takes the earliest head, only when every partition has one, so its order depends on the partitions alone", () => {
  const parts = [
    [1, 5, 9],
    [2, 5, 7],
    [3, 4],
  ];
  const run = (order: number[]): string[] => {
    // feed the same partitions in a different interleaving of arrivals
    const m = new PartitionMerge<{ time: number; id: string }>(3);
    const next = [0, 0, 0];
    const out: string[] = [];
    for (const p of order) {
      const t = parts[p]![next[p]!]!;
      m.push(p, { time: t, id: `${p}@${t}` });
      next[p]!++;
      for (let x = m.next(); x; x = m.next()) out.push(x.item.id);
    }
    return out;
  };
  // after 2@4 partition 2 is empty: nothing more is merged until it has a head again (0@5, 1@5 wait)
  const expected = ["0@1", "1@2", "2@3", "2@4"];
  expect(run([0, 0, 0, 1, 1, 1, 2, 2])).toEqual(expected);
  expect(run([2, 2, 1, 1, 1, 0, 0, 0])).toEqual(expected);
  expect(run([1, 0, 2, 1, 0, 2, 1, 0])).toEqual(expected);
});

test("mergedOrder streams: the same order for any interleaving of the partitions, holding only a few records of a session in merged order", () => {
  // 4 partitions, inputs (time) and outputs after them ("o"); seeded
  let seed = 7;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * n;
  type R = { p: number; i: number; time?: number };
  const parts: R[][] = [[], [], [], []];
  // one plant clock for every partition, as a live log's event times are (ties happen)
  let clock = 0;
  for (let k = 0; k < 4000; k++) {
    const p = Math.floor(rnd(4));
    const out = parts[p]!.length > 0 && rnd(1) < 0.3;
    parts[p]!.push(out ? { p, i: parts[p]!.length } : { p, i: parts[p]!.length, time: (clock += Math.floor(rnd(3))) });
  }
  const ev = (r: R): { partition: number; ev: WireEvent } => ({
    partition: r.p,
    ev: r.time === undefined ? ({ kind: "derived" } as WireEvent) : ({ kind: "clock", time: r.time } as WireEvent),
  });
  const id = (r: R): string => `${r.p}:${r.i}`;
  // the definition, directly: groups (an input and the records after it on its partition), merged
  // by (time, partition) while every partition has one, then the rest in the same way
  const groups = parts.map((rs) => rs.reduce<R[][]>((gs, r) => (r.time === undefined && gs.length > 0 ? gs[gs.length - 1]!.push(r) : gs.push([r]), gs), []));
  const expected: string[] = [];
  const heads = [0, 0, 0, 0];
  for (;;) {
    let best = -1;
    for (let p = 0; p < 4; p++) if (heads[p]! < groups[p]!.length && (best < 0 || groups[p]![heads[p]!]![0]!.time! < groups[best]![heads[best]!]![0]!.time!)) best = p;
    if (best < 0) break;
    expected.push(...groups[best]![heads[best]!++]!.map(id));
  }
  // partitions one after the other (as `ofl record --kafka` reads them)
  const sequential = [...mergedOrder(parts.flat(), 4, ev)].map(id);
  expect(sequential).toEqual(expected);
  // the merged order itself, and a random interleaving: the same
  const byId = new Map(parts.flat().map((r) => [id(r), r]));
  const merged = expected.map((x) => byId.get(x)!);
  let held = 0;
  let pulled = 0;
  let yielded = 0;
  const counting = function* (): Generator<R> {
    for (const r of merged) {
      pulled++;
      held = Math.max(held, pulled - yielded);
      yield r;
    }
  };
  const again: string[] = [];
  for (const r of mergedOrder(counting(), 4, ev)) {
    yielded++;
    again.push(id(r));
  }
  expect(again).toEqual(expected);
  // a session in merged order is streamed: a group is complete when its partition's next input is
  // read, and the next group is emitted once every partition's head is complete, so what is held
  // is at most twice what lies between two inputs of one partition (the gap), not the session
  const lastInput = [-1, -1, -1, -1];
  let gap = 0;
  merged.forEach((r, k) => {
    if (r.time === undefined) return;
    if (lastInput[r.p]! >= 0) gap = Math.max(gap, k - lastInput[r.p]!);
    lastInput[r.p] = k;
  });
  expect(held).toBeGreaterThan(0);
  expect(held).toBeLessThanOrEqual(2 * gap + 1);
  expect(gap).toBeLessThan(merged.length / 20);
  const next = [0, 0, 0, 0];
  const shuffled: R[] = [];
  while (shuffled.length < 4000) {
    const p = Math.floor(rnd(4));
    if (next[p]! < parts[p]!.length) shuffled.push(parts[p]![next[p]!++]!);
  }
  expect([...mergedOrder(shuffled, 4, ev)].map(id)).toEqual(expected);
});
