// Checkpoints of the Kafka rule worker (issue 12, item 6): a compacted topic per program,
// `ofl_<program>_checkpoints`, one record per checkpoint, key `<program>/<partition>` (the
// partition of `ofa_assets` the checkpoint is of), written to that same partition of the
// checkpoint topic (which has as many partitions as `ofa_assets`). Compaction keeps the newest per
// key; the newest is the last record of its partition, so a restart reads a few records at the
// partition's end, not a history.
//
// Value (JSON, as every record OFL writes):
//   {"format":"ofl-kafka-checkpoint","offset":N,"last":{"ts":…,"key":…}|null,"checkpoint":BASE64}
// `checkpoint` is the engine checkpoint of runtime/engine/checkpoint.ts (format version, program
// hash, sha256 of the body: verified before use). `last` identifies the input record at N - 1:
// a checkpoint whose record is not on the topic any more (a topic deleted and created again) is
// not trusted. A checkpoint at N is written only after every output caused by the inputs before
// N was acknowledged by the broker (runtime/worker/rule.ts), so a restart from it matches only
// the outputs of inputs N.. (docs/deploy.md, the exactly-once scheme).
import type { IrProgram } from "../../compiler/ir/types.js";
import { CheckpointError, decodeCheckpoint, programHashOf, type Checkpoint } from "../engine/checkpoint.js";
import type { KafkaLog, KafkaNewRecord, KafkaRecord, TopicSpec } from "./kafka.js";

export const KAFKA_CHECKPOINT_FORMAT = "ofl-kafka-checkpoint";
export const KAFKA_RULE_CLAIM_FORMAT = "ofl-rule-claim";
/** records read back from the topic's end to find the newest valid checkpoint of this key */
const LOOK_BACK = 16;
/** the header of a claim record (a rule worker's or a connector worker's): the run that claims */
const CLAIM_HEADER = "ofl-claim";

/** The compacted topic of a program's rule-worker checkpoints. */
export function checkpointTopic(program: string): string {
  return `ofl_${program}_checkpoints`;
}

/**
 * Its topic settings: one partition per partition of `ofa_assets`; compacted; records up to
 * 64 MiB (a checkpoint of 10,000 assets is ~4 MB); segments rolled hourly so compaction can drop
 * old ones.
 */
export function checkpointTopicSpec(program: string, replication = 1, partitions = 1): TopicSpec {
  return {
    name: checkpointTopic(program),
    partitions,
    replication,
    cleanupPolicy: "compact",
    config: {
      "max.message.bytes": String(64 << 20),
      "segment.ms": String(3_600_000),
    },
  };
}

/**
 * Whether the record before `offset` on a partition is still the one a checkpoint was taken after
 * (its time and key, `last`): not so when the topic was deleted and created again. Offset 0 has none.
 */
async function takenAfter(log: KafkaLog, topic: string, partition: number, offset: number, last: { ts: number; key: string | null } | null | undefined): Promise<boolean> {
  if (offset === 0) return true;
  const before = (await log.readRange(topic, offset - 1, offset, partition))[0];
  return before !== undefined && before.offset === offset - 1 && before.ts === last?.ts && before.key === last?.key;
}

/** A claim by run `run` of what `key` names: header CLAIM_HEADER, so a header-only read tells claims apart. */
function claimRecord(topic: string, partition: number, key: string, format: string, run: string, ts: number): KafkaNewRecord {
  return { topic, key, ts, value: { format, run }, headers: { [CLAIM_HEADER]: run }, partition };
}

/** Whether a record is a claim by another run than `run` (a claim's deletion has no header). */
function claimedByOther(r: KafkaRecord, run: string): boolean {
  const by = r.headers[CLAIM_HEADER];
  return by !== undefined && by !== run;
}

interface StoredCheckpoint {
  format: typeof KAFKA_CHECKPOINT_FORMAT;
  offset: number;
  last: { ts: number; key: string | null } | null;
  checkpoint: string;
}

export interface RestoredCheckpoint extends Checkpoint {
  /** the record's offset on the checkpoint topic */
  at: number;
}

/**
 * A stored checkpoint's engine state, verified for `program`: "other program" (another program's:
 * passed over quietly, a rollback's older one is as good a start as offset 0), or undefined when it
 * does not verify (said through `say`).
 */
function decodeStored(base64: string, program: IrProgram, where: string, say: (level: "info" | "warn", m: string) => void): Checkpoint | "other program" | undefined {
  try {
    return decodeCheckpoint(Buffer.from(base64, "base64"), program);
  } catch (e) {
    if (e instanceof CheckpointError && e.kind === "program") return "other program";
    say("warn", `${where} skipped: ${(e as Error).message}`);
    return undefined;
  }
}

export class KafkaCheckpoints {
  readonly topic: string;
  readonly key: string;

  constructor(
    private readonly log: KafkaLog,
    private readonly program: IrProgram,
    private readonly partition = 0,
  ) {
    this.topic = checkpointTopic(program.program);
    this.key = `${program.program}/${partition}`;
  }

  /**
   * The newest checkpoint of this program and partition that verifies, restores into this
   * program, lies within the input topic (offset <= `inputEnd`) and whose last input record is
   * still the one on the topic. Unusable ones are reported through `say` and skipped, never
   * trusted. One of another program is passed over quietly: an older one of this program (a
   * rollback) is as good a start as offset 0, and shorter; with none, the rebuild says why.
   * `before`: look only before this offset of the checkpoint topic (the run's own claim, the
   * partition's last record: RuleWorker.claim).
   */
  async newest(inputTopic: string, inputEnd: number, say: (level: "info" | "warn", m: string) => void, before?: number): Promise<RestoredCheckpoint | undefined> {
    const p = this.partition;
    const end = before ?? (await this.log.endOffset(this.topic, p));
    if (end === 0) return undefined;
    // the last record first (the usual answer: one checkpoint read), then the LOOK_BACK before
    // it, and further back only while no record of this key has been met (claims, one per start,
    // can come one after the other: a worker restarted in a loop before its first checkpoint),
    // each read twice as long as the one before (each bounded read costs a group join)
    const key = this.key;
    const batches = async function* (log: KafkaLog, topic: string): AsyncGenerator<KafkaRecord[]> {
      const last = await log.readRange(topic, end - 1, end, p);
      yield last;
      let mine = last.some((r) => r.key === key);
      for (let to = end - 1, n = LOOK_BACK; to > 0; n *= 2) {
        const from = Math.max(0, to - n);
        const recs = (await log.readRange(topic, from, to, p)).reverse();
        mine ||= recs.some((r) => r.key === key);
        yield recs;
        if (mine) break;
        to = from;
      }
    };
    let otherProgram = false;
    for await (const batch of batches(this.log, this.topic))
      for (const rec of batch.filter((r) => r.key === this.key)) {
        const v = rec.value as StoredCheckpoint | null;
        const where = `checkpoint at ${this.topic}${p > 0 ? ` partition ${p}` : ""} offset ${rec.offset}`;
        if (v === null || typeof v !== "object" || v.format !== KAFKA_CHECKPOINT_FORMAT || typeof v.checkpoint !== "string" || typeof v.offset !== "number") {
          say("warn", `${where} skipped: not a checkpoint record`);
          continue;
        }
        const cp = decodeStored(v.checkpoint, this.program, where, say);
        if (cp === "other program") otherProgram = true;
        if (typeof cp !== "object") continue;
        if (cp.header.offset !== v.offset || v.offset > inputEnd) {
          say("warn", `${where} skipped: it is at offset ${v.offset} of ${inputTopic}, which ends at ${inputEnd} (was the topic created again?)`);
          continue;
        }
        if (!(await takenAfter(this.log, inputTopic, p, v.offset, v.last))) {
          say("warn", `${where} skipped: the record before offset ${v.offset} of ${inputTopic} is not the one it was taken after (was the topic created again?)`);
          continue;
        }
        return { ...cp, at: rec.offset };
      }
    if (otherProgram)
      say(
        "info",
        `the program changed since the last checkpoint (program hash ${programHashOf(this.program).slice(0, 12)}): rebuilding from offset 0 (${inputEnd} records)`,
      );
    return undefined;
  }

  /** The key of the partition's claim (one per partition: compaction keeps the newest). */
  get claimKey(): string {
    return `${this.key}#claim`;
  }

  /**
   * Appends the claim of run `run` to the partition (a single-partition deployment's rule worker
   * at its start: runtime/worker/rule.ts); returns its offset.
   */
  async claim(run: string, ts: number): Promise<number> {
    const [r] = await this.log.append([claimRecord(this.topic, this.partition, this.claimKey, KAFKA_RULE_CLAIM_FORMAT, run, ts)]);
    return r!.offset;
  }

  /** Whether a record of the partition is another run's claim of it. */
  isOtherClaim(r: KafkaRecord, run: string): boolean {
    return claimedByOther(r, run) && r.key === this.claimKey;
  }

  /** The record of a checkpoint at input offset `offset` (bytes of encodeCheckpoint), after input record `last`. */
  record(bytes: Buffer, offset: number, last: { ts: number; key: string | null } | null, ts: number): KafkaNewRecord {
    const value: StoredCheckpoint = { format: KAFKA_CHECKPOINT_FORMAT, offset, last, checkpoint: bytes.toString("base64") };
    return { topic: this.topic, key: this.key, ts, value, partition: this.partition };
  }
}

// ---------------------------------------------------------------- the cross stage's

export const KAFKA_CROSS_CHECKPOINT_FORMAT = "ofl-kafka-cross-checkpoint";

/** The compacted topic of the cross worker's checkpoints (one partition: one cross worker). */
export function crossCheckpointTopic(program: string): string {
  return `ofl_${program}_cross_checkpoints`;
}

export function crossCheckpointTopicSpec(program: string, replication = 1): TopicSpec {
  return { ...checkpointTopicSpec(program, replication, 1), name: crossCheckpointTopic(program) };
}

/** Where the merge of the partitions stood: per partition, the next input's offset and the record before it. */
export interface MergePosition {
  offset: number;
  last: { ts: number; key: string | null } | null;
}

interface StoredCrossCheckpoint {
  format: typeof KAFKA_CROSS_CHECKPOINT_FORMAT;
  positions: MergePosition[];
  checkpoint: string;
}

/**
 * Checkpoints of the cross worker (runtime/worker/cross.ts): the engine's state after the merge
 * reached `positions` (every input of partition p before positions[p].offset merged, none
 * after), written only once every output of those inputs was acknowledged. Verified as the rule
 * worker's are: format, program hash and digest, positions within the partitions, and the record
 * before each position still the one it was taken after.
 */
export class CrossCheckpoints {
  readonly topic: string;
  readonly key: string;

  constructor(
    private readonly log: KafkaLog,
    private readonly program: IrProgram,
  ) {
    this.topic = crossCheckpointTopic(program.program);
    this.key = `${program.program}/cross`;
  }

  /** The newest usable checkpoint for `ends` (the input partitions' end offsets), or undefined (reported through `say`). */
  async newest(inputTopic: string, ends: number[], say: (level: "info" | "warn", m: string) => void): Promise<(Checkpoint & { positions: MergePosition[] }) | undefined> {
    const end = await this.log.endOffset(this.topic);
    if (end === 0) return undefined;
    const recs = (await this.log.readRange(this.topic, Math.max(0, end - LOOK_BACK), end)).reverse();
    let otherProgram = false;
    next: for (const rec of recs.filter((r) => r.key === this.key)) {
      const v = rec.value as StoredCrossCheckpoint | null;
      const where = `checkpoint at ${this.topic} offset ${rec.offset}`;
      if (v === null || typeof v !== "object" || v.format !== KAFKA_CROSS_CHECKPOINT_FORMAT || typeof v.checkpoint !== "string" || !Array.isArray(v.positions)) {
        say("warn", `${where} skipped: not a checkpoint record`);
        continue;
      }
      const cp = decodeStored(v.checkpoint, this.program, where, say);
      if (cp === "other program") otherProgram = true;
      if (typeof cp !== "object") continue;
      if (v.positions.length !== ends.length) {
        say("warn", `${where} skipped: it is of ${v.positions.length} partitions, ${inputTopic} has ${ends.length}`);
        continue;
      }
      for (let p = 0; p < ends.length; p++) {
        const { offset, last } = v.positions[p]!;
        if (offset > ends[p]!) {
          say("warn", `${where} skipped: it is at offset ${offset} of ${inputTopic} partition ${p}, which ends at ${ends[p]} (was the topic created again?)`);
          continue next;
        }
        if (!(await takenAfter(this.log, inputTopic, p, offset, last))) {
          say("warn", `${where} skipped: the record before offset ${offset} of ${inputTopic} partition ${p} is not the one it was taken after (was the topic created again?)`);
          continue next;
        }
      }
      return { ...cp, positions: v.positions };
    }
    if (otherProgram) say("info", `the program changed since the last checkpoint (program hash ${programHashOf(this.program).slice(0, 12)}): rebuilding from offset 0`);
    return undefined;
  }

  record(bytes: Buffer, positions: MergePosition[], ts: number): KafkaNewRecord {
    const value: StoredCrossCheckpoint = { format: KAFKA_CROSS_CHECKPOINT_FORMAT, positions, checkpoint: bytes.toString("base64") };
    return { topic: this.topic, key: this.key, ts, value, partition: 0 };
  }
}

// ---------------------------------------------------------------- the connector workers'

export const KAFKA_CONNECTOR_CHECKPOINT_FORMAT = "ofl-connector-checkpoint";

/** The compacted topic of a program's connector-worker checkpoints (one partition; key `<program>/<asset uuid>/<source index>`). */
export function connectorCheckpointTopic(program: string): string {
  return `ofl_${program}_connector_checkpoints`;
}

/**
 * Compacted, and soon: a connector writes one before each dispatch (write-ahead), and a start reads
 * the topic whole, so segments roll every 10 minutes and are cleaned once a tenth of the log is
 * superseded records (the broker's default waits for half).
 */
export function connectorCheckpointTopicSpec(program: string, replication = 1): TopicSpec {
  return {
    name: connectorCheckpointTopic(program),
    partitions: 1,
    replication,
    cleanupPolicy: "compact",
    config: { "segment.ms": String(600_000), "min.cleanable.dirty.ratio": "0.1" },
  };
}

/**
 * What a connector worker knew of the commands on its partition once it had read every record
 * before `offset`. It sends a command only after a checkpoint naming it open is written, so the
 * newest one is exact: nothing after `offset` was sent, nor any operator command it lists waiting.
 */
export interface ConnectorPosition {
  /** the partition of `ofa_assets` and the next offset to read there */
  partition: number;
  offset: number;
  /** the record at offset - 1 (a topic deleted and created again is not trusted) */
  last: { ts: number; key: string | null } | null;
  /** the rule worker's `ofl-processed` seen so far */
  processed: number;
  /** commands of this source before `offset` with no result before it (dispatched, or being answered) */
  open: { id: string; command: string }[];
  /** operator commands before `offset` waiting for the rule worker's verdict */
  operator: { id: string; command: string; args: Record<string, string>; offset: number; received: number }[];
}

interface StoredConnectorCheckpoint extends ConnectorPosition {
  format: typeof KAFKA_CONNECTOR_CHECKPOINT_FORMAT;
  /** the offset of the claim of the run that wrote it (absent: written before claims, as if -1) */
  claim?: number;
}

export const KAFKA_CONNECTOR_CLAIM_FORMAT = "ofl-connector-claim";

/**
 * Checkpoints of one connector worker (runtime/worker/connector.ts): where its read of its
 * partition stood and the commands still open there, so a restart reads from there (and the
 * results of the last minutes before it) instead of the whole partition. The topic holds every
 * connector of the program; the newest record of a key is found by one read of the topic, which
 * compaction keeps to one record per connector and the last ten to twenty minutes of checkpoints.
 *
 * Claims: a run starts by appending a claim (key `<key>#claim/<run>`), and reads the checkpoints
 * before it; a run that sees a newer claim of its source on the topic stops (the worker checks
 * before each send). Each checkpoint names the offset of its run's claim, and one written after a
 * newer claim (by a run that had not seen it yet) is not trusted. Claims of older runs are deleted
 * (tombstones) once the run has a checkpoint of its own.
 */
export class ConnectorCheckpoints {
  readonly topic: string;
  readonly key: string;
  /** the offset of this run's claim (-1 before `claim`) */
  claimedAt = -1;
  /** keys of the older runs' claims found by `newest` (deleted by `tombstones`) */
  private older: string[] = [];

  constructor(
    private readonly log: KafkaLog,
    program: string,
    assetUuid: string,
    source: number,
    private readonly run: string,
  ) {
    this.topic = connectorCheckpointTopic(program);
    this.key = `${program}/${assetUuid}/${source}`;
  }

  /** Whether a record of the topic is a claim of this source (this run's included). */
  isClaim(key: string | null): boolean {
    return key !== null && key.startsWith(`${this.key}#claim/`);
  }

  /** Whether a record after this run's claim is another run's claim of this source (its header: no value needs decoding; a claim's deletion has none). */
  isNewerClaim(r: KafkaRecord): boolean {
    return claimedByOther(r, this.run) && this.isClaim(r.key);
  }

  /** Appends this run's claim; returns its offset. */
  async claim(ts: number): Promise<number> {
    const [r] = await this.log.append([claimRecord(this.topic, 0, `${this.key}#claim/${this.run}`, KAFKA_CONNECTOR_CLAIM_FORMAT, this.run, ts)]);
    return (this.claimedAt = r!.offset);
  }

  /** Tombstones for the claims of older runs (once): a checkpoint of this run is on the log, so none of theirs is read any more. */
  tombstones(ts: number): KafkaNewRecord[] {
    const keys = this.older;
    this.older = [];
    return keys.map((key) => ({ topic: this.topic, key, ts, value: null, tombstone: true, partition: 0 }));
  }

  /**
   * The newest usable checkpoint before this run's claim for `partition` of `inputTopic`, which
   * ends at `inputEnd`; unusable ones are said through `say`.
   */
  async newest(inputTopic: string, partition: number, inputEnd: number, say: (level: "info" | "warn", m: string) => void): Promise<ConnectorPosition | undefined> {
    const { low } = await this.log.offsets(this.topic);
    if (this.claimedAt <= low) return undefined;
    let found: KafkaRecord | undefined;
    /** the newest claim before `found` */
    let claimBefore = -1;
    let lastClaim = -1;
    await this.log.scanRange({ topic: this.topic, from: low, to: this.claimedAt, onBatch: (recs) => {
        for (const r of recs)
          if (r.key === this.key) (found = r), (claimBefore = lastClaim);
          else if (this.isClaim(r.key) && r.value !== null) (lastClaim = r.offset), this.older.push(r.key!);
          else if (this.isClaim(r.key)) this.older = this.older.filter((k) => k !== r.key); // deleted already
      } });
    if (!found) return undefined;
    const v = found.value as StoredConnectorCheckpoint | null;
    const where = `checkpoint at ${this.topic} offset ${found.offset}`;
    if (v === null || typeof v !== "object" || v.format !== KAFKA_CONNECTOR_CHECKPOINT_FORMAT || typeof v.offset !== "number" || !Array.isArray(v.open) || !Array.isArray(v.operator)) {
      say("warn", `${where} skipped: not a connector checkpoint record`);
      return undefined;
    }
    if ((v.claim ?? -1) !== claimBefore) {
      say("warn", `${where} skipped: written by a worker of this source that had been superseded (another claimed the source at offset ${claimBefore}), so it may not name what was sent`);
      return undefined;
    }
    if (v.partition !== partition || v.offset > inputEnd) {
      say("warn", `${where} skipped: it is at offset ${v.offset} of ${inputTopic} partition ${v.partition}; the asset's partition is ${partition}, which ends at ${inputEnd} (was the topic created again?)`);
      return undefined;
    }
    if (!(await takenAfter(this.log, inputTopic, partition, v.offset, v.last))) {
      say("warn", `${where} skipped: the record before offset ${v.offset} of ${inputTopic} is not the one it was taken after (was the topic created again?)`);
      return undefined;
    }
    const { partition: p, offset, last, processed, open, operator } = v;
    return { partition: p, offset, last, processed, open, operator };
  }

  record(position: ConnectorPosition, ts: number): KafkaNewRecord {
    const value: StoredConnectorCheckpoint = { format: KAFKA_CONNECTOR_CHECKPOINT_FORMAT, ...position, claim: this.claimedAt };
    return { topic: this.topic, key: this.key, ts, value, partition: 0 };
  }
}
