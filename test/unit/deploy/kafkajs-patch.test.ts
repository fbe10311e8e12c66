// The worker bundles' patches of kafkajs (runtime/deploy/kafkajsPatches.mjs), each against the
// kafkajs module it replaces: the linear groupMessagesPerPartition gives the same groups; the
// Produce request writes the same bytes as kafkajs's own encoders, on random messages (keys,
// values and headers as strings, Buffers and null, multi-byte text, unsorted and missing
// timestamps, idempotent and transactional batches, compression); the record decoder gives the
// same messages on random records (small and 64-bit deltas and offsets, repeated headers, log
// append time); the record batch's CRC-32C is kafkajs's on random buffers; and the bundles carry all four.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterEach, expect, test, vi } from "vitest";
import { compile } from "../../../compiler/index.js";
import { bundleWorkers, packageRoot } from "../../../runtime/deploy/bundle.js";
import { emitWorkers } from "../../../runtime/deploy/entries.js";
import { kafkajsPatchFor } from "../../../runtime/deploy/kafkajsPatches.mjs";

const require = createRequire(import.meta.url);
const root = packageRoot();

/** the kafkajs module `rel` as the package has it, and as patched (loaded in the original's folder, so its requires are the same modules) */
function both<T>(rel: string): { original: T; patched: T } {
  const path = require.resolve(`kafkajs/${rel}`);
  const patch = kafkajsPatchFor(root, path);
  if (patch === undefined) throw new Error(`no patch for ${rel}`);
  const m = { exports: {} as T };
  new Function("require", "module", "exports", readFileSync(patch, "utf8"))(createRequire(path), m, m.exports);
  return { original: require(path) as T, patched: m.exports };
}

let seed = 3;
const rnd = (n: number): number => Math.floor(((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * n);
afterEach(() => vi.restoreAllMocks());

test("a patch is found for each replaced module, at kafkajs's path as locked, and for no other", () => {
  for (const rel of ["src/producer/groupMessagesPerPartition.js", "src/protocol/requests/produce/v3/request.js", "src/protocol/recordBatch/record/v0/decoder.js", "src/protocol/recordBatch/crc32C/crc32C.js"])
    expect(kafkajsPatchFor(root, require.resolve(`kafkajs/${rel}`))).toBe(join(root, "runtime/deploy/kafkajs-patches", rel));
  expect(kafkajsPatchFor(root, require.resolve("kafkajs/src/protocol/requests/produce/v2/request.js"))).toBeUndefined();
  expect(kafkajsPatchFor(root, join(root, "runtime/deploy/kafkajs-patches/src/producer/groupMessagesPerPartition.js"))).toBeUndefined();
});

type Group = (a: { topic: string; partitionMetadata: unknown[]; messages: unknown[]; partitioner: (a: { message: { partition: number } }) => number }) => Record<string, unknown[]>;

test("groupMessagesPerPartition: the same groups as kafkajs's own, same keys in the same order, same messages in order", () => {
  const { original, patched } = both<Group>("src/producer/groupMessagesPerPartition.js");
  for (let run = 0; run < 200; run++) {
    const partitions = 1 + rnd(8);
    const partitionMetadata = run % 17 === 0 ? [] : Array.from({ length: partitions }, (_, i) => ({ partitionId: i }));
    const messages = Array.from({ length: rnd(300) }, (_, i) => ({ key: `k${i}`, value: String(i), partition: rnd(partitions) }));
    const args = { topic: "t", partitionMetadata, messages, partitioner: ({ message }: { message: { partition: number } }) => message.partition };
    const a = original(args);
    const b = patched(args);
    expect(Object.keys(b)).toEqual(Object.keys(a));
    expect(b).toEqual(a);
  }
});

type Produce = ((a: Record<string, unknown>) => { encode: () => Promise<{ buffer: Buffer }> }) & { encodeRecordsDirect?: (messages: unknown[], now: number, first: string | number) => Buffer | undefined };
const Long = require("kafkajs/src/utils/long") as { fromValue(v: unknown): unknown };
const { Types } = require("kafkajs/src/protocol/message/compression") as { Types: Record<string, number> };

const texts = ["", "a", "level", "Füllstand ≥ 15 °C", "🏭 plant", '{"ID":"level","VALUE":"42"}', "x".repeat(300)];
const bytesOf = (): unknown => {
  const k = rnd(10);
  return k === 0 ? null : k === 1 ? undefined : k < 4 ? Buffer.from(texts[rnd(texts.length)]!) : texts[rnd(texts.length)];
};
function message(i: number, base: number, plain: boolean): Record<string, unknown> {
  const m: Record<string, unknown> = { key: bytesOf(), value: bytesOf() };
  const t = rnd(10);
  // string timestamps as OFL sends them; numbers; missing (Date.now()); out of order; a shorter string (sorted as text by kafkajs)
  if (t < 5) m["timestamp"] = String(base + i);
  else if (t < 7) m["timestamp"] = base + i * 3;
  else if (t === 7) m["timestamp"] = String(base - rnd(1000));
  else if (t === 8) m["timestamp"] = String(rnd(100_000));
  const h = rnd(5);
  if (h === 1) m["headers"] = { "ofl-cause": String(rnd(1e9)) };
  else if (h === 2) m["headers"] = { a: Buffer.from("x"), b: ["1", "22", Buffer.from("333")], "ü": "" };
  else if (h === 3) m["headers"] = {};
  if (!plain) m["value"] = rnd(2) === 0 ? 12345 : { not: "bytes" };
  return m;
}

test("Produce v3 (v3–v7): the patched request is byte for byte kafkajs's own, and the direct path takes every plain batch", async () => {
  const { original, patched } = both<Produce>("src/protocol/requests/produce/v3/request.js");
  vi.spyOn(Date, "now").mockReturnValue(1_764_000_000_000);
  let direct = 0;
  for (let run = 0; run < 150; run++) {
    const base = 1_763_625_600_000 + rnd(1e6);
    const compression = run % 10 === 9 ? Types["GZIP"]! : Types["None"]!;
    const args = {
      acks: -1,
      timeout: 30_000,
      transactionalId: run % 7 === 0 ? "tx-1" : null,
      producerId: Long.fromValue(run % 3 === 0 ? -1 : 1000 + run),
      producerEpoch: rnd(5),
      compression,
      topicData: Array.from({ length: 1 + rnd(3) }, (_, t) => ({
        topic: `topic-${t}`,
        partitions: Array.from({ length: 1 + rnd(4) }, (_, p) => ({
          partition: p,
          firstSequence: run % 4 === 0 ? undefined : rnd(1e6),
          messages: Array.from({ length: 1 + rnd(run % 5 === 0 ? 2000 : 60) }, (_, i) => message(i, base, true)),
        })),
      })),
    };
    const a = (await original(args).encode()).buffer;
    const b = (await patched(args).encode()).buffer;
    expect(b.equals(a)).toBe(true);
    if (compression === Types["None"]) for (const t of args.topicData) for (const p of t.partitions) direct += patched.encodeRecordsDirect!(p.messages, Date.now(), 0) ? 1 : 0;
  }
  expect(direct).toBeGreaterThan(200);
});

test("Produce: a message outside the plain case goes through kafkajs's own encoders and fails as they do", async () => {
  const { original, patched } = both<Produce>("src/protocol/requests/produce/v3/request.js");
  for (let run = 0; run < 20; run++) {
    const messages = Array.from({ length: 5 }, (_, i) => message(i, 1_763_625_600_000, i !== 2));
    expect(patched.encodeRecordsDirect!(messages, 0, 0)).toBeUndefined();
    const args = { acks: -1, timeout: 1000, topicData: [{ topic: "t", partitions: [{ partition: 0, messages }] }] };
    const why = await original(args).encode().then(() => "encoded", (e: Error) => e.message);
    expect(await patched(args).encode().then(() => "encoded", (e: Error) => e.message)).toBe(why);
  }
});

type RecordDecode = (decoder: unknown, context?: Record<string, unknown>) => Record<string, unknown>;
const Decoder = require("kafkajs/src/protocol/decoder") as new (b: Buffer) => { offset: number; readVarIntBytes(): Buffer };
/** a record's bytes after its length, as the batch decoder hands them to the record decoder */
const recordBody = (r: Record<string, unknown>): Buffer => new Decoder((require("kafkajs/src/protocol/recordBatch/record/v0") as (r: Record<string, unknown>) => { buffer: Buffer })(r).buffer).readVarIntBytes();

test("record decoder: the same message as kafkajs's own from random records, and the decoder left at the same place", () => {
  const { original, patched } = both<RecordDecode>("src/protocol/recordBatch/record/v0/decoder.js");
  const big = (): string => String(BigInt(rnd(2 ** 30)) * 2n ** 33n + BigInt(rnd(1000))); // beyond 2^53
  let records = 0;
  for (let batch = 0; batch < 120; batch++) {
    const context = {
      firstOffset: batch % 9 === 0 ? big() : String(rnd(1e9)),
      firstTimestamp: batch % 11 === 0 ? big() : batch % 13 === 0 ? "-1" : String(1_763_625_600_000 + rnd(1e6)),
      maxTimestamp: String(1_763_625_700_000),
      timestampType: batch % 7 === 0 ? 1 : 0,
      isControlBatch: batch % 17 === 0,
      magicByte: 2,
    };
    for (let i = 0, n = 1 + rnd(50); i < n; i++, records++) {
      const k = rnd(10);
      // deltas: small either side, near and beyond the 7-byte varlong (2^48 after zigzag), and 2^62
      const timestampDelta = k < 6 ? rnd(100_000) - 50_000 : k === 6 ? 2 ** 47 + rnd(1000) : k === 7 ? -(2 ** 48) - rnd(1000) : k === 8 ? 2 ** 62 : -(2 ** 47);
      const headers: Record<string, unknown> = {};
      for (let h = rnd(4); h > 0; h--) headers[["ofl-cause", "a", "ü", "toString"][rnd(4)]!] = rnd(3) === 0 ? [Buffer.from("x"), "yy", "z"] : String(rnd(1e6));
      const bytes = recordBody({ offsetDelta: rnd(5000), timestampDelta, key: bytesOf(), value: bytesOf(), headers });
      const a = new Decoder(Buffer.concat([bytes, Buffer.from([7, 7])]));
      const b = new Decoder(Buffer.concat([bytes, Buffer.from([7, 7])]));
      expect(patched(b, context)).toEqual(original(a, context));
      expect(b.offset).toBe(a.offset);
    }
  }
  // a header named __proto__ is an own property, as kafkajs makes it
  const bytes = recordBody({ offsetDelta: 1, timestampDelta: 5, key: "k", value: "v", headers: JSON.parse('{"__proto__":"p"}') as Record<string, unknown> });
  const m = patched(new Decoder(bytes), { firstOffset: "10", firstTimestamp: "100", timestampType: 0 }) as { headers: object; offset: string; timestamp: string };
  expect(Object.getPrototypeOf(m.headers)).toBe(Object.prototype);
  expect(Object.keys(m.headers)).toEqual(["__proto__"]);
  expect(m).toEqual(original(new Decoder(bytes), { firstOffset: "10", firstTimestamp: "100", timestampType: 0 }));
  expect([m.offset, m.timestamp]).toEqual(["11", "105"]);
  expect(records).toBeGreaterThan(2000);
});

test("crc32C: kafkajs's CRC-32C of every length 0 … 300 at every alignment, of random buffers up to 64 KB, and the check value of '123456789'", () => {
  const { original, patched } = both<(b: Buffer) => number>("src/protocol/recordBatch/crc32C/crc32C.js");
  // the CRC-32C check value (RFC 3720, appendix B.4; Kafka's record batch CRC)
  expect(patched(Buffer.from("123456789"))).toBe(0xe3069283);
  const bytes = Buffer.from(Array.from({ length: 70_000 }, () => rnd(256)));
  for (let n = 0; n <= 300; n++) for (let at = 0; at < 8; at++) expect(patched(bytes.subarray(at, at + n))).toBe(original(bytes.subarray(at, at + n)));
  for (let run = 0; run < 50; run++) {
    const at = rnd(5000);
    const b = bytes.subarray(at, at + rnd(65_000));
    expect(patched(b)).toBe(original(b));
  }
  expect(patched(Buffer.alloc(0))).toBe(0);
});

test("the worker bundles carry the patches", async () => {
  const ir = compile([{ path: "t.ofl", text: 'model Tank {\n  telemetry level: int\n}\nasset t: Tank { uuid "T-1" }\n' }], { name: "t" }).ir!;
  const [rule] = await bundleWorkers(emitWorkers(ir).filter((e) => e.name === "rule"), { minify: false });
  expect(rule!.code).toContain("const current = result[partition]");
  expect(rule!.code).not.toContain("[...current, message]");
  expect(rule!.code).toContain("encodeRecordsDirect(messages, dateNow, firstTimestamp)");
  expect(rule!.code).toContain("const short = readShortVarLong(decoder)");
  expect(rule!.code).toMatch(/T\[1792 \+ \(a & (0xff|255)\)\]/);
}, 60_000);
