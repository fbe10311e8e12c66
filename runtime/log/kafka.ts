// The log on Apache Kafka (kafkajs). Same record shape as the embedded log (wire.md): key = the
// asset uuid as UTF-8, value = JSON. Unlike `Log` (types.ts), which is synchronous because
// SQLite and the engine are, this one is asynchronous: Kafka acknowledges a produce over the
// network. The workers (runtime/worker/) use it directly; nothing here knows about programs.
//
// - `append`: the idempotent producer (acks = all, retries without end, at most 5 requests in
//   flight: Kafka keeps them in order and never writes one twice), returns the records with their
//   offsets. Headers (e.g. `ofl-cause`) ride along.
// - `tail`: reads a topic from an offset, in order, then follows it live. A consumer group of its
//   own (unique per call: a restarted worker never waits for a dead member's session to time out;
//   nothing is committed, the position is kept here). After a broker restart kafkajs reconnects
//   and rejoins; the reader then seeks back to where it was and drops anything it already saw.
// - `readRange`, `endOffset`, `ensureTopics`: admin and bounded reads (deploy, tests, `ofl record`).
// - Partitions: a record goes to the partition its key hashes to with Kafka's default partitioner
//   (murmur2: runtime/wire/partitions.ts; as Java producers, ksqlDB and OpenFactory place keys), unless it
//   names one (`partition`: clock records, dead letters). With one partition that is always 0.
//   `tail`, `readRange` and `endOffset` read one partition (default 0); `readAsGroup` (kafkaGroup.ts)
//   shares a topic's partitions among the members of a consumer group.
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, type Admin, type Consumer, type IHeaders, type Producer, type KafkaConfig } from "kafkajs";
import { partitionOfKey } from "../wire/partitions.js";
import type { LogRecord, NewRecord } from "../wire/types.js";

export interface KafkaLogOptions {
  /** bootstrap brokers, `HOST:PORT` */
  brokers: string[];
  clientId?: string;
  /** kafkajs log level (default: errors only) */
  verbose?: boolean;
  /** extra kafkajs client settings (ssl, sasl) */
  client?: Partial<KafkaConfig>;
}

/** A record read from Kafka: a LogRecord plus its headers (UTF-8). */
export interface KafkaRecord extends LogRecord {
  headers: Record<string, string>;
}

/** A record to produce; `headers` optional. */
export interface KafkaNewRecord extends NewRecord {
  headers?: Record<string, string>;
  /** a null value (a tombstone on a compacted topic) instead of JSON `null` */
  tombstone?: boolean;
  /** the partition to write to (default: the key's, by Kafka's default partitioner) */
  partition?: number;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replication: number;
  /** `delete` (default) or `compact` */
  cleanupPolicy?: "delete" | "compact";
  /** more topic configs (`retention.ms`…) */
  config?: Record<string, string>;
}

export interface TailOptions {
  topic: string;
  /** the partition to read (default 0) */
  partition?: number;
  /** first offset to deliver */
  fromOffset: number;
  /** a batch of records in offset order; the next batch waits for the promise */
  onBatch(records: KafkaRecord[], info: { highWatermark: number }): Promise<void> | void;
  /** reported when kafkajs loses the broker (it keeps retrying) */
  onProblem?(message: string): void;
  /** records carrying this header are delivered with a null value, not decoded (the reader needs only the header: its own outputs); true: every record */
  headerOnly?: string | readonly string[] | true;
  /** only records with this key get their value decoded; the others are delivered with a null value (a connector needs its asset's records, and of the others their headers) */
  valuesOf?: string;
}

export interface Tail {
  stop(): Promise<void>;
  /** the next offset this reader will deliver */
  position(): number;
}

/** at most this many records in one produce request (see append) */
const MAX_REQUEST_RECORDS = 1000;
/** bytes of record values per produce request (the broker's default limit is 1 MB per batch) */
const MAX_REQUEST_BYTES = 512 * 1024;
/**
 * What one fetch brings at most: 256 KB of a partition, 2 MB in all (a record batch larger than
 * that still comes whole). With 16 MB a worker decoded a partition's whole backlog at once: every
 * record of it lived until the last one was decided, the young generation promoted them all, and
 * its heap grew to ~500 MB with old-generation collections on its GC threads; at 256 KB it stays
 * near 100 MB and decides faster (bench/kafka-partitions with --trace-gc).
 */
export const FETCH_LIMITS = { maxBytes: 2 << 20, maxBytesPerPartition: 256 << 10 };

export { partitionOfKey };

export class KafkaLog {
  readonly kafka: Kafka;
  private producer: Producer | undefined;
  private producing: Promise<Producer> | undefined;
  private adminClient: Admin | undefined;
  /** @internal consumers to disconnect on close (kafkaGroup.ts adds its own) */
  readonly consumers = new Set<Consumer>();
  private closed = false;
  /** partition counts of topics, as the broker reported them */
  private readonly partitionCounts = new Map<string, number>();

  constructor(readonly opts: KafkaLogOptions) {
    this.kafka = new Kafka({
      clientId: opts.clientId ?? "ofl",
      brokers: opts.brokers,
      logLevel: opts.verbose ? logLevel.INFO : logLevel.NOTHING,
      connectionTimeout: 3000,
      retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 10 },
      ...opts.client,
    });
  }

  /** The idempotent producer, connected on first use. */
  private async getProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    if (!this.producing) {
      this.producing = (async () => {
        const p = this.kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false });
        await p.connect();
        this.producer = p;
        return p;
      })();
      this.producing.catch(() => (this.producing = undefined));
    }
    return this.producing;
  }

  async admin(): Promise<Admin> {
    if (!this.adminClient) {
      const a = this.kafka.admin();
      await a.connect();
      this.adminClient = a;
    }
    return this.adminClient;
  }

  /** A topic's partition count (asked once per topic; 1 when it does not exist yet). */
  async partitions(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    const a = await this.admin();
    const n = await retrying(async () => {
      if (!(await a.listTopics()).includes(topic)) return 0;
      const md = await a.fetchTopicMetadata({ topics: [topic] });
      return md.topics[0]?.partitions.length ?? 0;
    });
    if (n > 0) this.partitionCounts.set(topic, n);
    return Math.max(1, n);
  }

  /**
   * Produces records (acks = all), in the given order per topic and partition, and returns them
   * with their partition and offsets. Values are JSON-encoded (a string value is written as JSON text
   * too, as every OFL value is JSON).
   */
  async append(records: KafkaNewRecord[]): Promise<LogRecord[]> {
    if (records.length === 0) return [];
    // a produce request's record batch must stay under the broker's message.max.bytes (1 MB by
    // default), and kafkajs groups a request's messages per partition in time quadratic in their
    // number (5 µs a message at 5,000, 2 µs at 1,000; linear in the worker bundles, which patch it:
    // runtime/deploy/kafkajs-patches/): larger appends go as several requests, in order
    const values = records.map((r) => (r.tombstone ? null : JSON.stringify(r.value)));
    const out: LogRecord[] = [];
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const size = (values[i]?.length ?? 0) + (r.key?.length ?? 0) + 64;
      if (i > from && (bytes + size > MAX_REQUEST_BYTES || i - from >= MAX_REQUEST_RECORDS)) {
        out.push(...(await this.appendChunk(records, values, from, i)));
        from = i;
        bytes = 0;
      }
      bytes += size;
    }
    out.push(...(await this.appendChunk(records, values, from, records.length)));
    return out;
  }

  /** Appends records[from..to) (values: their JSON text, null for a tombstone) in one request. */
  private async appendChunk(all: KafkaNewRecord[], values: (string | null)[], from: number, to: number): Promise<LogRecord[]> {
    const records = from === 0 && to === all.length ? all : all.slice(from, to);
    const p = await this.getProducer();
    const counts = new Map<string, number>();
    for (const r of records) if (r.partition === undefined && !counts.has(r.topic)) counts.set(r.topic, await this.partitions(r.topic));
    type Message = { key: string | null; value: string | null; timestamp: string; headers?: IHeaders; partition: number };
    /** per topic: its messages, and per partition how many of them so far (then the base offset the broker gave) */
    const byTopic = new Map<string, { messages: Message[]; next: number[] }>();
    /** per record: its partition and its index among the records of its topic and partition */
    const partitionOf = new Array<number>(records.length);
    const k = new Array<number>(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      let t = byTopic.get(r.topic);
      if (!t) byTopic.set(r.topic, (t = { messages: [], next: [] }));
      const partition = r.partition ?? (r.key === null ? 0 : partitionOfKey(r.key, counts.get(r.topic)!));
      partitionOf[i] = partition;
      k[i] = t.next[partition] ?? 0;
      t.next[partition] = k[i]! + 1;
      const m: Message = { key: r.key, value: values[from + i]!, timestamp: String(Math.trunc(r.ts)), partition };
      if (r.headers) m.headers = r.headers;
      t.messages.push(m);
    }
    const meta = await p.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, t]) => ({ topic, messages: t.messages })) });
    const base = new Map<string, number[]>();
    for (const m of meta) {
      let b = base.get(m.topicName);
      if (!b) base.set(m.topicName, (b = []));
      b[m.partition] = m.baseOffset !== undefined ? Number(m.baseOffset) : -1;
    }
    return records.map((r, i) => {
      const b = base.get(r.topic)?.[partitionOf[i]!] ?? -1;
      return { topic: r.topic, partition: partitionOf[i]!, offset: b < 0 ? -1 : b + k[i]!, ts: r.ts, key: r.key, value: r.value };
    });
  }

  /** Creates the topics that do not exist; returns which were created and which existed. */
  async ensureTopics(specs: TopicSpec[]): Promise<{ created: string[]; existing: string[] }> {
    const a = await this.admin();
    const have = new Set(await a.listTopics());
    const missing = specs.filter((s) => !have.has(s.name));
    if (missing.length > 0) {
      await retrying(() => a.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.name,
          numPartitions: s.partitions,
          replicationFactor: s.replication,
          configEntries: Object.entries({ "cleanup.policy": s.cleanupPolicy ?? "delete", ...s.config }).map(([name, value]) => ({ name, value })),
        })),
      }).catch((e: Error & { type?: string; errors?: { type?: string }[] }) => {
        // another client created it meanwhile
        const all = e.errors ?? [e];
        if (!all.every((x) => x.type === "TOPIC_ALREADY_EXISTS")) throw e;
        return false;
      }));
    }
    return { created: missing.map((s) => s.name), existing: specs.filter((s) => have.has(s.name)).map((s) => s.name) };
  }

  /** The next offset of a partition of a topic (its high watermark); 0 when it does not exist. */
  async endOffset(topic: string, partition = 0): Promise<number> {
    return (await this.offsets(topic, partition)).high;
  }

  /** The first offset still on a partition (records before it were deleted: retention) and its end; 0 when it does not exist. */
  async offsets(topic: string, partition = 0): Promise<{ low: number; high: number }> {
    return (await this.partitionOffsets(topic)).get(partition) ?? { low: 0, high: 0 };
  }

  /** `offsets` of every partition of a topic, in one request (none when the topic does not exist). */
  async partitionOffsets(topic: string): Promise<Map<number, { low: number; high: number }>> {
    const a = await this.admin();
    return retrying(async () => {
      if (!(await a.listTopics()).includes(topic)) return new Map();
      return new Map((await a.fetchTopicOffsets(topic)).map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }]));
    });
  }

  /** Per partition of a topic, the first offset whose record timestamp is `ms` or later (Kafka's offsets-for-times; the end when none is). */
  async offsetsAt(topic: string, ms: number): Promise<Map<number, number>> {
    const a = await this.admin();
    return retrying(async () => new Map((await a.fetchTopicOffsetsByTimestamp(topic, ms)).map((o) => [o.partition, Number(o.offset)])));
  }

  /** Records of a partition (default 0) in [from, to) (to: the end offset at call time). */
  async readRange(topic: string, from = 0, to?: number, partition = 0): Promise<KafkaRecord[]> {
    const out: KafkaRecord[] = [];
    await this.scanRange({ topic, partition, from, ...(to !== undefined ? { to } : {}), onBatch: (recs) => {
        for (const r of recs) out.push(r);
      } });
    return out;
  }

  /** Hands the records of a partition in [from, to) (to: the end offset at call time) to `onBatch` batch by batch, keeping none; resolves after the last. */
  async scanRange(opts: { topic: string; partition?: number; from: number; to?: number; onBatch: (recs: KafkaRecord[]) => void; headerOnly?: TailOptions["headerOnly"] }): Promise<void> {
    const { topic, partition = 0, from } = opts;
    const end = opts.to ?? (await this.endOffset(topic, partition));
    if (end <= from) return;
    await new Promise<void>((resolve, reject) => {
      let tail: Tail | undefined;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        void tail?.stop().then(resolve, reject);
      };
      void this.tail({
        topic,
        partition,
        fromOffset: from,
        ...(opts.headerOnly !== undefined ? { headerOnly: opts.headerOnly } : {}),
        onBatch: (recs) => {
          if (finished || recs.length === 0) return;
          const last = recs[recs.length - 1]!.offset;
          opts.onBatch(last < end ? recs : recs.filter((r) => r.offset < end));
          if (last >= end - 1) finish();
        },
      }).then((t) => {
        tail = t;
        if (finished) void t.stop().then(resolve, reject);
      }, reject);
    });
  }

  /** Reads a partition of a topic (default 0) from an offset, in order, and keeps following it. */
  async tail(opts: TailOptions): Promise<Tail> {
    const partition = opts.partition ?? 0;
    let next = opts.fromOffset;
    let stopped = false;
    let consumer: Consumer | undefined;
    const open = async (): Promise<Consumer> => {
      const c = this.kafka.consumer({
        groupId: `ofl-reader-${randomUUID()}`,
        maxWaitTimeInMs: 100,
        minBytes: 1,
        ...FETCH_LIMITS,
        sessionTimeout: 10_000,
        heartbeatInterval: 1000,
        retry: { initialRetryTime: 200, maxRetryTime: 3000, retries: 30 },
      });
      this.consumers.add(c);
      c.on(c.events.GROUP_JOIN, (e) => {
        // on every join: the first one positions the reader; a rejoin after a broker restart would
        // otherwise start from the beginning (nothing is committed). Records fetched before the
        // seek applies are dropped below (offset < next). The group is this reader's alone, so it
        // is assigned every partition: the others are paused (never fetched).
        if (stopped) return;
        const others = (e.payload.memberAssignment[opts.topic] ?? []).filter((p) => p !== partition);
        if (others.length > 0) c.pause([{ topic: opts.topic, partitions: others }]);
        c.seek({ topic: opts.topic, partition, offset: String(next) });
      });
      c.on(c.events.CRASH, (e) => {
        opts.onProblem?.(`Kafka consumer: ${e.payload.error.message}${e.payload.restart ? " (restarting)" : " (reopening)"}`);
        // kafkajs gives up on errors it deems not retriable (e.g. no group coordinator while the
        // broker restarts): a reader must keep following the log, so a new consumer takes over
        // from the position reached
        if (!e.payload.restart && !stopped) reopen(c);
      });
      await c.connect();
      await c.subscribe({ topic: opts.topic, fromBeginning: true });
      consumer = c; // the one whose batches count (a crashed one's are ignored)
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (batch.partition !== partition || stopped || c !== consumer) return;
          const recs: KafkaRecord[] = [];
          for (const m of batch.messages) {
            const off = Number(m.offset);
            if (off < next) continue; // seen already (a re-fetch after a rejoin)
            recs.push(toRecord(batch.topic, batch.partition, m, opts.headerOnly, opts.valuesOf));
          }
          if (recs.length > 0) {
            if (!isRunning() || isStale()) return;
            await opts.onBatch(recs, { highWatermark: Number(batch.highWatermark) });
            next = recs[recs.length - 1]!.offset + 1;
            resolveOffset(String(next - 1));
          }
          await heartbeat();
        },
      });
      return c;
    };
    const reopen = (old: Consumer): void => {
      this.consumers.delete(old);
      void old.disconnect().catch(() => {});
      const retry = (): void => {
        if (stopped) return;
        open().then(
          (c) => {
            if (stopped) void c.disconnect().catch(() => {});
          },
          (e: Error) => {
            opts.onProblem?.(`Kafka consumer: cannot reopen: ${e.message}; retrying`);
            setTimeout(retry, 1000).unref?.();
          },
        );
      };
      setTimeout(retry, 500).unref?.();
    };
    await open();
    return {
      position: () => next,
      stop: async () => {
        stopped = true;
        const c = consumer;
        if (c) {
          this.consumers.delete(c);
          await c.disconnect().catch(() => {});
        }
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.disconnect().catch(() => {})));
    if (this.producing) await this.producing.then((p) => p.disconnect()).catch(() => {});
    if (this.adminClient) await this.adminClient.disconnect().catch(() => {});
  }
}

/** Retries retriable Kafka errors (a leader not elected yet right after a topic is created, a broker restarting). */
export async function retrying<T>(f: () => Promise<T>, attempts = 40): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      const err = e as { retriable?: boolean; name?: string };
      const retriable = err.retriable === true || err.name === "KafkaJSNumberOfRetriesExceeded" || err.name === "KafkaJSConnectionError";
      if (!retriable || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * (i + 1))));
    }
  }
}

export function toRecord(
  topic: string,
  partition: number,
  m: { key: Buffer | null; value: Buffer | null; offset: string; timestamp: string; headers?: IHeaders },
  /** a record carrying this header (or one of these) gets a null value, its bytes not decoded (TailOptions.headerOnly); true: every record */
  headerOnly?: TailOptions["headerOnly"],
  /** only a record with this key gets its value decoded (TailOptions.valuesOf) */
  valuesOf?: string,
): KafkaRecord {
  const headers: Record<string, string> = {};
  const h = m.headers;
  if (h)
    for (const k in h) {
      const v = h[k];
      if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
    }
  const key = m.key === null ? null : m.key.toString("utf8");
  const skip =
    headerOnly === true ||
    (typeof headerOnly === "string" ? headers[headerOnly] !== undefined : headerOnly !== undefined && headerOnly.some((h) => headers[h] !== undefined)) ||
    (valuesOf !== undefined && key !== valuesOf);
  const text = m.value === null || skip ? null : m.value.toString("utf8");
  let value: unknown = text;
  if (text !== null) {
    try {
      value = JSON.parse(text);
    } catch {
      value = text; // not JSON: the engine dead-letters it as bad_json
    }
  }
  return { topic, partition, offset: Number(m.offset), ts: Number(m.timestamp), key, value, headers };
}
