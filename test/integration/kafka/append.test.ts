// KafkaLog.append (runtime/log/kafka.ts) on Apache Kafka itself: what it returns for each record
// (its topic, partition and offset) is where the broker put it, for records of two topics, keyed
// (murmur2, as Java producers) and with a partition given, interleaved, and an append larger than
// one produce request (1,000 records a request: in order, across requests).
import { expect, test } from "vitest";
import { partitionOfKey } from "../../../runtime/log/kafka.js";
import { brokerForFile } from "./broker.js";

const broker = brokerForFile();

test("append returns each record's partition and offset as the broker stored it, across topics, partitions and requests", async () => {
  await broker.log.ensureTopics([
    { name: "append-a", partitions: 3, replication: 1 },
    { name: "append-b", partitions: 2, replication: 1 },
  ]);
  const records = Array.from({ length: 2_500 }, (_, i) =>
    i % 3 === 0
      ? { topic: "append-b", partition: i % 2, key: `b${i}`, ts: 1_000 + i, value: { i } }
      : { topic: "append-a", key: `k${i % 7}`, ts: 1_000 + i, value: { i }, ...(i % 5 === 0 ? { headers: { h: String(i) } } : {}) },
  );
  const got = await broker.log.append(records);
  expect(got).toHaveLength(records.length);
  // expected from Kafka's semantics alone: per topic and partition, offsets 0, 1, 2 … in append order
  const next = new Map<string, number>();
  got.forEach((g, i) => {
    const r = records[i]!;
    const partition = "partition" in r ? r.partition : partitionOfKey(r.key, 3);
    const tp = `${r.topic}/${partition}`;
    const offset = next.get(tp) ?? 0;
    next.set(tp, offset + 1);
    expect(g).toEqual({ topic: r.topic, partition, offset, ts: r.ts, key: r.key, value: r.value });
  });
  // and the broker holds each record at the offset returned
  for (const [tp, n] of next) {
    const [topic, p] = tp.split("/") as [string, string];
    const stored = await broker.log.readRange(topic, 0, undefined, Number(p));
    expect(stored).toHaveLength(n);
    for (const s of stored) {
      const i = (s.value as { i: number }).i;
      expect(got[i]).toMatchObject({ topic, partition: Number(p), offset: s.offset, key: s.key });
      expect(s.headers).toEqual(i % 3 !== 0 && i % 5 === 0 ? { h: String(i) } : {});
    }
  }
  expect(next.size).toBe(5); // every partition of both topics received records
}, 60_000);
