// A topic's partitions shared among the members of a Kafka consumer group (kafkajs, the eager
// rebalance protocol): the rule workers of a partitioned deployment (runtime/worker/rule.ts).
// Nothing is committed: the member that is assigned a partition decides where to read it from
// (its checkpoint), so this reader only tells it what it owns and delivers batches.
//
// The ownership guarantee rests on the protocol: a member's batch handler runs to its end
// (outputs acknowledged) before the member rejoins, and no member is assigned anything until
// every member has rejoined; so two members never process one partition at once, as long as a
// member stops its own writes (clock records) when `rebalancing` is called. A member that died
// is out of the group after the session timeout (10 s), and its partitions go to the others.
import type { Consumer } from "kafkajs";
import { FETCH_LIMITS, toRecord, type KafkaLog, type KafkaRecord } from "./kafka.js";

export interface GroupReaderOptions {
  groupId: string;
  topic: string;
  /** the member lost its partitions until the next `assigned` (stop writing for them now) */
  rebalancing(): void;
  /**
   * The partitions this member owns now (after every rebalance, also when unchanged). Returns,
   * per partition, the offset to deliver from; a partition left out is not read until
   * `reader.resume`, which may be called from now on (the first assignment comes before
   * readAsGroup resolves).
   */
  assigned(partitions: number[], reader: GroupReader): Map<number, number>;
  /** a batch of one partition, in offset order; the next waits for the promise */
  onBatch(partition: number, records: KafkaRecord[]): Promise<void>;
  onProblem?(message: string): void;
  /** the consumer stopped for good (an error kafkajs does not retry): this member owns nothing any more */
  onFatal?(e: Error): void;
  /** records carrying this header are delivered with a null value, not decoded (kafka.ts TailOptions.headerOnly) */
  headerOnly?: string;
  /** ms without a heartbeat before the group gives a member's partitions away (default 10,000) */
  sessionTimeoutMs?: number;
}

export interface GroupReader {
  /** starts delivering a partition (owned now) from an offset */
  resume(partition: number, fromOffset: number): void;
  /** the partitions owned now */
  owned(): number[];
  stop(): Promise<void>;
}

export async function readAsGroup(log: KafkaLog, opts: GroupReaderOptions): Promise<GroupReader> {
  /** next offset to deliver, per partition being delivered */
  const next = new Map<number, number>();
  /** partitions read again after the consumer jumped past `next` (said once) */
  const jumped = new Set<number>();
  let owned: number[] = [];
  let stopped = false;
  const c: Consumer = log.kafka.consumer({
    groupId: opts.groupId,
    maxWaitTimeInMs: 100,
    minBytes: 1,
    ...FETCH_LIMITS,
    sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
    rebalanceTimeout: 30_000,
    heartbeatInterval: 1000,
    retry: { initialRetryTime: 200, maxRetryTime: 3000, retries: 30 },
  });
  log.consumers.add(c);
  c.on(c.events.REBALANCING, () => {
    if (stopped) return;
    next.clear();
    opts.rebalancing();
  });
  const reader: GroupReader = {
    resume(p, fromOffset) {
      if (stopped || !owned.includes(p)) return;
      next.set(p, fromOffset);
      c.seek({ topic: opts.topic, partition: p, offset: String(fromOffset) });
      c.resume([{ topic: opts.topic, partitions: [p] }]);
    },
    owned: () => owned,
    async stop() {
      stopped = true;
      log.consumers.delete(c);
      await c.disconnect().catch(() => {});
    },
  };
  c.on(c.events.GROUP_JOIN, (e) => {
    if (stopped) return;
    owned = [...(e.payload.memberAssignment[opts.topic] ?? [])].sort((a, b) => a - b);
    next.clear();
    // nothing is read until its start is known: from `assigned`'s answer, or a `resume` (also one made inside `assigned`)
    if (owned.length > 0) c.pause([{ topic: opts.topic, partitions: owned }]);
    for (const [p, off] of opts.assigned(owned, reader)) reader.resume(p, off);
  });
  c.on(c.events.CRASH, (e) => {
    opts.onProblem?.(`Kafka consumer group ${opts.groupId}: ${e.payload.error.message}${e.payload.restart ? " (restarting)" : ""}`);
    if (!e.payload.restart && !stopped) opts.onFatal?.(e.payload.error);
  });
  await c.connect();
  await c.subscribe({ topic: opts.topic, fromBeginning: true });
  await c.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const p = batch.partition;
      const at = next.get(p);
      if (stopped || at === undefined) return; // not delivered (yet): fetched again after the seek
      const recs: KafkaRecord[] = [];
      for (const m of batch.messages) if (Number(m.offset) >= at) recs.push(toRecord(batch.topic, p, m, opts.headerOnly));
      if (recs.length > 0 && recs[0]!.offset > at) {
        // kafkajs delivered from past the offset asked for: records deleted by retention (the log
        // starts later), or its stored offsets jumped (after an "offset out of range" reset).
        // Records that are on the log are never skipped: read again from `at` until they come
        const first = recs[0]!.offset;
        const { low } = await log.offsets(opts.topic, p);
        if (low <= at) {
          if (!jumped.has(p)) opts.onProblem?.(`partition ${p}: the consumer jumped from offset ${at} to ${first}; reading again from ${at}`);
          jumped.add(p);
          c.seek({ topic: opts.topic, partition: p, offset: String(at) });
          return;
        }
        if (first !== low) {
          c.seek({ topic: opts.topic, partition: p, offset: String(low) });
          next.set(p, low);
          return;
        }
        opts.onProblem?.(`partition ${p}: offsets ${at} to ${low - 1} are no longer on the log (retention): reading from ${low}`);
      }
      jumped.delete(p);
      if (recs.length > 0) {
        if (!isRunning() || isStale()) return;
        // a long batch (a rebuild's outputs) keeps the session alive: a member the group drops
        // for silence would lose its partitions while it still writes for them
        const beat = setInterval(() => void heartbeat().catch(() => {}), 2000);
        try {
          await opts.onBatch(p, recs);
        } finally {
          clearInterval(beat);
        }
        if (next.get(p) === at) next.set(p, recs[recs.length - 1]!.offset + 1);
        resolveOffset(String(recs[recs.length - 1]!.offset));
      }
      await heartbeat();
    },
  });
  return reader;
}

/** The consumer group of a program's rule workers. */
export function ruleGroupId(program: string): string {
  return `ofl-rule-${program}`;
}

