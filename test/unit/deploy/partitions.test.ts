// What can be decided one partition at a time (runtime/worker/partitions.ts; docs/deploy.md,
// Partitions): reads of views and of other partitions' assets are named; a program restricted
// to a partition keeps its assets and the rules about them.
import { expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { crossPartition, partitionOfKey, partitionProgram } from "../../../runtime/wire/partitions.js";

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
  expect(crossPartition(ir, P)).toEqual([
    "rule overflow: reads view total",
    `rule overflow: its instance for a reads or commands another partition's asset: a (partition ${pa}), b (partition ${pb})`,
  ]);
  // a view nothing reads is ksqlDB's alone: no refusal
  expect(crossPartition(program(`view total = sum(level) from Tank`), P)).toEqual([]);
});
