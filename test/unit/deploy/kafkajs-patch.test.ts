// The linear replacement of kafkajs's groupMessagesPerPartition (runtime/deploy/kafkajsPatch.ts)
// against the original, on random messages and partitioners; and the worker bundles carry it.
import { createRequire } from "node:module";
import { expect, test } from "vitest";
import { GROUP_MESSAGES_LINEAR, GROUP_MESSAGES_MODULE } from "../../../runtime/deploy/kafkajsPatch.js";
import { bundleWorkers } from "../../../runtime/deploy/bundle.js";
import { emitWorkers } from "../../../runtime/deploy/entries.js";
import { compile } from "../../../compiler/index.js";

const require = createRequire(import.meta.url);
type Group = (a: { topic: string; partitionMetadata: unknown[]; messages: unknown[]; partitioner: (a: { message: { partition: number } }) => number }) => Record<string, unknown[]>;
const original = require("kafkajs/src/producer/groupMessagesPerPartition.js") as Group;
const linear = ((): Group => {
  const m = { exports: {} as Group };
  new Function("module", "exports", GROUP_MESSAGES_LINEAR)(m, m.exports);
  return m.exports;
})();

test("the original module is where the patch looks for it (kafkajs as locked)", () => {
  expect(GROUP_MESSAGES_MODULE.test(require.resolve("kafkajs/src/producer/groupMessagesPerPartition.js"))).toBe(true);
});

test("the same groups as kafkajs's own: same keys in the same order, same messages in order", () => {
  let seed = 3;
  const rnd = (n: number): number => Math.floor(((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * n);
  for (let run = 0; run < 200; run++) {
    const partitions = 1 + rnd(8);
    const partitionMetadata = run % 17 === 0 ? [] : Array.from({ length: partitions }, (_, i) => ({ partitionId: i }));
    const messages = Array.from({ length: rnd(300) }, (_, i) => ({ key: `k${i}`, value: String(i), partition: rnd(partitions) }));
    const args = { topic: "t", partitionMetadata, messages, partitioner: ({ message }: { message: { partition: number } }) => message.partition };
    const a = original(args);
    const b = linear(args);
    expect(Object.keys(b)).toEqual(Object.keys(a));
    expect(b).toEqual(a);
  }
});

test("the worker bundles carry the linear grouping", async () => {
  const ir = compile([{ path: "t.ofl", text: 'model Tank {\n  telemetry level: int\n}\nasset t: Tank { uuid "T-1" }\n' }], { name: "t" }).ir!;
  const [rule] = await bundleWorkers(emitWorkers(ir).filter((e) => e.name === "rule"), { minify: false });
  expect(rule!.code).toContain("const current = result[partition]");
  expect(rule!.code).not.toContain("[...current, message]");
}, 60_000);
