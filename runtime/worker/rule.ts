// The rule and command worker: runtime/engine over Kafka, for what ksqlDB cannot express
// (language.md §8). The same idea as the embedded runtime (runtime/embedded/runtime.ts): the log
// is the authority, and the engine's state is a pure function of its input records.
//
// Start: the engine replays `ofa_assets` from offset 0 up to the end offset E seen at start, then
// follows the topic live. Each output the engine writes is produced (idempotent producer) with a
// header `ofl-cause: <offset of the input record that caused it>`. That header is how a restarted
// worker knows, without a store or a consumer group of its own, which outputs already reached the
// log: while replaying [0, E) it matches the outputs it recomputes against the recorded ones with
// the same cause (same order: one partition, ordered idempotent producer), and at E produces only
// those that were never written (the process died between consuming an input and producing all
// its outputs). So a SIGKILL and restart gives the same records, once, and command correlation
// ids (deterministic: program, rule, asset, input offset, action index) are identical.
// Dead letters go to `ofl_deadletter`: at most one per input, so its last record's cause says
// which were written.
//
// Checkpoints (issue 12): after a batch whose outputs the broker acknowledged, when
// runtime/log/checkpointSchedule.ts says (every 25,000 inputs or 60 s by default), the worker
// writes the engine's state at the next input offset N to the compacted topic
// `ofl_<program>_checkpoints` (runtime/log/kafkaCheckpoints.ts). A restart restores the newest
// one and replays [N, E) only: every output of an input before N is on the log already, so the
// matching above runs over the outputs of inputs N.. and the scheme is unchanged. A changed
// program (another hash) or a checkpoint that does not verify rebuilds from offset 0, and says so.
//
// The worker also writes the clock (a clock record every `clockMs`) so that timers fire while
// devices are silent, exactly as `ofl run` does; replays read those records back.
//
// One rule worker per single-partition deployment: a run starts by appending a claim of the
// partition to the checkpoint topic (key `<program>/0#claim`, header `ofl-claim: <run>`) and
// follows that partition of the topic; another run's claim after its own supersedes it: it writes
// nothing more and stops (`SupersededError`: the bundled worker exits 3, not restarted). Without
// it, a second copy (two supervisors, a copy started by hand, a rolling update that starts the new
// worker first) would write every output again. With several partitions the consumer group does
// this (runtime/log/kafkaGroup.ts).
import { randomUUID } from "node:crypto";
import type { IrProgram } from "../../compiler/ir/types.js";
import { encodeCheckpoint } from "../engine/checkpoint.js";
import { Engine } from "../engine/index.js";
import { CheckpointSchedule, type ScheduleOptions } from "../log/checkpointSchedule.js";
import { KafkaCheckpoints, checkpointTopicSpec } from "../log/kafkaCheckpoints.js";
import type { KafkaLog, KafkaNewRecord, KafkaRecord, Tail } from "../log/kafka.js";
import { readAsGroup, ruleGroupId, type GroupReader } from "../log/kafkaGroup.js";
import { Clock } from "../wire/clock.js";
import { ASSETS_TOPIC, DEADLETTER_TOPIC, classify, descriptionValue } from "../wire/records.js";
import { CAUSE_HEADER, PROCESSED_HEADER, onPartition, outputHeaders } from "./headers.js";
import { commandRoutes, routeCommand, routeTopicSpecs } from "./routes.js";
import { StaleCommands } from "./stale.js";
import { checkpointsFromEnv, commandMaxAgeFromEnv, envNumber, exitOnFatal, readProgress, serveWorker, SupersededError, type WorkerSpec } from "./main.js";
import { crossDecisions, partitionProgram } from "../wire/partitions.js";
import type { NewRecord } from "../wire/types.js";

export { CAUSE_HEADER, PROCESSED_HEADER };
export { CORRELATION_HEADER } from "./routes.js";

/** `TYPE Method` records (wire.md §1: a command offered by an asset), one per asset and command. */
export function commandDescriptions(program: IrProgram): { key: string; command: string; text: string }[] {
  const out: { key: string; command: string; text: string }[] = [];
  for (const a of program.assets) {
    const m = program.models.find((x) => x.name === a.model);
    for (const c of m?.commands ?? []) {
      const args = c.params.map((p) => {
        const t = p.type.t === "enum" ? p.type.name : p.type.t;
        const unit = "unit" in p.type && typeof p.type.unit === "string" && p.type.unit ? `<${p.type.unit}>` : "";
        return { name: p.name, description: `${t}${unit}${p.range ? ` in ${p.range[0]}..${p.range[1]}` : ""}` };
      });
      const description = c.doc ?? (c.requiresText ? `requires ${c.requiresText}` : c.name);
      out.push({ key: a.uuid, command: c.name, text: JSON.stringify({ description, arguments: args }) });
    }
  }
  return out;
}

export interface RuleWorkerOptions {
  program: IrProgram;
  log: KafkaLog;
  /** clock record period, ms (0: no clock; default 100) */
  clockMs?: number;
  /** the worker's uuid: sender of commands, key of clock records (default `OFL-<program>`) */
  senderUuid?: string;
  now?: () => number;
  report?: (level: "info" | "warn" | "error", message: string) => void;
  /** after a batch's outputs could not be produced: the worker stopped processing (the bundled worker exits, its supervisor restarts it); a SupersededError: another worker claimed the partition (the bundled worker exits 3) */
  onFatal?: (e: Error) => void;
  /** checkpoint schedule (runtime/log/checkpointSchedule.ts; defaults: 25,000 inputs or 60 s); false: none written or read */
  checkpoints?: ScheduleOptions | false;
  /** a partitioned `ofa_assets`: ms without a heartbeat before the group gives a worker's partitions to the others (default 10,000) */
  sessionTimeoutMs?: number;
  /**
   * ms a partition may have records waiting on the log, none of them delivered, before the worker
   * stops (a stuck Kafka consumer: its rules would go undecided while it looks healthy; the
   * supervisor restarts it and it rebuilds). Default 60,000; 0: never.
   */
  stallMs?: number;
  /** a command routed to an `openfactory(command_topic: …)` topic only if its input was received less than this long ago (ms; OFL_COMMAND_MAX_AGE_MS, default 60,000; 0: no bound) */
  commandMaxAgeMs?: number;
  /** outputs a rebuild holds in memory (to match them against the log) before it counts this program's outputs on the rest of its range and holds none (default 100,000; PartitionTask.countOutputsAhead) */
  rebuildHoldLimit?: number;
}

/**
 * rebuilt: the end offset seen at start; restoredFrom: the offset of the checkpoint it replayed
 * from (0: the beginning); checkpoints: written by this run; heldMost: the most recomputed outputs
 * a partition's rebuild held in memory at once. Offsets are of one partition.
 */
export interface RuleWorkerStats {
  consumed: number;
  produced: number;
  rebuilt: number;
  restoredFrom: number;
  resent: number;
  clock: number;
  routed: number;
  notRouted: number;
  described: number;
  checkpoints: number;
  heldMost: number;
}
const noStats = (): RuleWorkerStats => ({ consumed: 0, produced: 0, rebuilt: 0, restoredFrom: 0, resent: 0, clock: 0, routed: 0, notRouted: 0, described: 0, checkpoints: 0, heldMost: 0 });
/** Adds a partition's stats to a worker's: sums, but the most held at once is the greatest of any partition. */
function addStats(into: RuleWorkerStats, from: RuleWorkerStats): void {
  for (const k of Object.keys(into) as (keyof RuleWorkerStats)[]) into[k] = k === "heldMost" ? Math.max(into[k], from[k]) : into[k] + from[k];
}

/** What the partitions of one worker share. */
interface WorkerContext {
  opts: RuleWorkerOptions;
  sender: string;
  now: () => number;
  say: NonNullable<RuleWorkerOptions["report"]>;
  routes: ReturnType<typeof commandRoutes>;
  /** routed commands not produced because their input is too old (runtime/worker/stale.ts) */
  staleRoutes: StaleCommands;
  /** the partition count of `ofa_assets` */
  partitions: number;
  /** single partition: the offset of this run's claim on the checkpoint topic (its checkpoints are before it) */
  claimedAt?: number;
}

/**
 * One partition of `ofa_assets`, decided alone (runtime/worker/partitions.ts): an engine over the
 * partition's program, its checkpoints, its clock records, its cause matching. With one partition
 * it is the whole worker.
 */
class PartitionTask {
  engine: Engine;
  readonly stats = noStats();
  /** `TYPE Method` records found on the log while rebuilding: `uuid/command` → VALUE */
  private readonly described = new Map<string, string>();
  private readonly checkpoints: KafkaCheckpoints | undefined;
  private schedule: CheckpointSchedule | undefined;
  /** the last ofa_assets record processed (what a checkpoint is taken after) */
  private lastInput: { ts: number; key: string | null } | null = null;
  /** the batch being processed (stop waits for it) */
  private batch: Promise<void> = Promise.resolve();
  private out: NewRecord[] = [];
  private readonly clock: Clock;
  /** the offset of the last ofa_assets record processed (-1 before any) */
  processed = -1;
  /** where the rebuild starts (a checkpoint's offset, or the log's first; 0: from the beginning), the end offset seen at start, and the cause of the last dead letter on the log */
  private start = 0;
  private end = 0;
  private deadMax = -1;
  /** an output of this program was found while rebuilding */
  private sawOutput = false;
  /** outputs recomputed during the rebuild and not (yet) found on the log, by cause (ascending), and how many */
  private readonly unconfirmed = new Map<number, KafkaNewRecord[]>();
  private held = 0;
  /** from when a rebuild held too many until it is live: how many of this program's outputs of each cause the rest of its range holds (rebuildHoldLimit) */
  private onLog: Map<number, number> | undefined;
  /** prepared: restored, reading; live: rebuilt; broken: a batch failed, its outputs may be unwritten (no checkpoint after that) */
  prepared = false;
  private live = false;
  private broken = false;
  /** fenced: this worker may not own the partition (a rebalance began): it writes nothing */
  private fenced = false;
  /** superseded: another worker claimed the partition: this one writes nothing more, not even what it had decided */
  private superseded = false;
  private stopped = false;
  /** a batch is being processed */
  private busy = false;
  /** an append of outputs failed: no later append is made (`append`) */
  private lostOutputs = false;
  /** serializes appends (batches and clock ticks keep their order) */
  private chain: Promise<unknown> = Promise.resolve();
  private caughtUp!: () => void;
  private failed!: (e: Error) => void;
  /** resolves when the state is rebuilt (the end offset seen at start is reached) */
  readonly ready: Promise<void>;

  constructor(
    private readonly w: WorkerContext,
    readonly partition: number,
    private readonly program: IrProgram,
  ) {
    this.engine = this.newEngine();
    this.clock = new Clock({ periodMs: w.opts.clockMs ?? 100, key: w.sender, now: w.now, onTick: (r) => this.tick(r) });
    if (w.opts.checkpoints !== false) this.checkpoints = new KafkaCheckpoints(w.opts.log, program, partition);
    this.ready = new Promise((res, rej) => {
      this.caughtUp = res;
      this.failed = rej;
    });
    this.ready.catch(() => {});
  }

  private newEngine(): Engine {
    return new Engine({ program: this.program, senderUuid: this.w.sender, onOutput: (r) => this.out.push(r) });
  }

  /** While rebuilding: how far (`partition 1: 1,200,000 of 3,000,000 records read, 40 %`); undefined once live. */
  rebuilding(): string | undefined {
    if (this.live) return undefined;
    const total = this.end - this.start;
    const read = Math.max(0, Math.min(total, this.processed + 1 - this.start));
    return `${this.label}${this.prepared ? readProgress(read, total) : "restoring"}`;
  }

  /** `partition N: ` when there are several, for messages */
  private get label(): string {
    return this.w.partitions > 1 ? `partition ${this.partition}: ` : "";
  }

  /** Restores the newest usable checkpoint; returns the input offset to replay from (0: none). */
  private async restore(end: number): Promise<number> {
    const say = (level: "info" | "warn", m: string): void => this.w.say(level, this.label + m);
    const cp = await this.checkpoints?.newest(ASSETS_TOPIC, end, say, this.w.claimedAt);
    if (!cp) return 0;
    try {
      this.engine.loadState(cp.state);
    } catch (e) {
      say("warn", `checkpoint at ${this.checkpoints!.topic} offset ${cp.at} skipped: it does not fit the program: ${(e as Error).message}`);
      this.engine = this.newEngine();
      return 0;
    }
    const extra = cp.extra as { described?: [string, string][] } | undefined;
    for (const [k, v] of extra?.described ?? []) this.described.set(k, v);
    return cp.header.offset;
  }

  /** Restores, reads where the log ends; returns the offset to read the partition from. */
  async prepare(): Promise<number> {
    const log = this.w.opts.log;
    const p = this.partition;
    const { low, high } = await log.offsets(ASSETS_TOPIC, p);
    this.end = high;
    const restored = await this.restore(this.end);
    this.stats.restoredFrom = restored;
    // records deleted by retention are not waited for: a partition with none left is live at once
    const from = Math.max(restored, low);
    if (from > restored) this.w.say("warn", `${this.label}offsets ${restored} to ${from - 1} are no longer on the log (retention): rebuilding from ${from}`);
    this.start = from;
    this.processed = from - 1;
    const deadEnd = await log.endOffset(DEADLETTER_TOPIC, p);
    if (deadEnd > 0) {
      const last = await log.readRange(DEADLETTER_TOPIC, deadEnd - 1, deadEnd, p);
      const c = last[0]?.headers[CAUSE_HEADER];
      if (c !== undefined) this.deadMax = Number(c);
    }
    if (this.w.opts.checkpoints !== false) this.schedule = new CheckpointSchedule(this.w.opts.checkpoints ?? {}, 0);
    this.prepared = true;
    if (this.end <= from) this.goLive();
    return from;
  }

  /** The offset processed so far, when the partition is waiting for records (prepared, no batch in progress, writing); undefined otherwise. */
  idleAt(): number | undefined {
    return this.prepared && !this.busy && !this.broken && !this.fenced && !this.stopped ? this.processed : undefined;
  }

  /** Processes a batch of the partition's records (the next batch waits for it). */
  take(recs: KafkaRecord[]): Promise<void> {
    if (this.broken || this.fenced || this.stopped) return Promise.resolve();
    this.busy = true;
    return (this.batch = this.process(recs).finally(() => (this.busy = false)).catch((e: Error) => {
      // the outputs of this batch may be partly unwritten and the engine is past them: this
      // worker processes nothing more (a restart rebuilds from the log and writes them)
      this.broken = true;
      this.failed(e);
      this.w.say("error", `${this.label}cannot produce to the log: ${e.message}; stopping (a restart rebuilds and produces what is missing)`);
      this.w.opts.onFatal?.(e);
    }));
  }

  private async process(recs: KafkaRecord[]): Promise<void> {
    const send: KafkaNewRecord[] = [];
    const limit = this.w.opts.rebuildHoldLimit ?? 100_000;
    for (const rec of recs) {
      if (this.held > limit) await this.countOutputsAhead(send); // outputs are held only while rebuilding, until then
      const o = rec.offset;
      this.processed = o;
      this.lastInput = { ts: rec.ts, key: rec.key };
      this.stats.consumed++;
      const cause = rec.headers[CAUSE_HEADER];
      if (cause !== undefined) {
        // an output of this program (this run's or an earlier one's): only its header counts, and
        // the tail does not decode its value (`headerOnly`); while rebuilding it confirms one
        // recomputed output of its cause
        if (!this.live) {
          this.sawOutput = true;
          const u = this.unconfirmed.get(Number(cause));
          if (u && u.length > 0) {
            u.shift();
            this.held--;
            if (u.length === 0) this.unconfirmed.delete(Number(cause));
          }
        }
      } else this.decide(rec, o, send);
      if (!this.live && o >= this.end - 1) {
        // rebuilt: what is still unconfirmed never reached the log
        this.releaseHeld(send);
        this.stats.rebuilt = this.end;
        // none of this program's outputs on the partition: usually a first start over records
        // already there (connectors that ran first), not a run that stopped half-way
        if (this.stats.resent > 0 && !this.sawOutput && this.stats.restoredFrom === 0) this.w.say("info", `${this.label}no output of this program on the log yet: the ${this.stats.resent} output record(s) of the ${this.end - this.start} records already there produced now`);
        else if (this.stats.resent > 0) this.w.say("warn", `${this.label}${this.stats.resent} output record(s) of the records before offset ${this.end} were not on the log (a previous run stopped before writing them): produced now`);
        this.goLive();
      }
    }
    this.schedule?.counted(recs.length);
    if (send.length > 0) await this.append(send);
    // every output of the inputs up to `processed` is on the log now, when live or once a rebuild
    // holds nothing (countOutputsAhead): a checkpoint then bounds the next rebuild if this one stops
    if ((this.live || this.onLog) && this.schedule?.due) this.checkpoint();
  }

  /**
   * Keeps a rebuild's memory bounded. A rebuild holds each recomputed output until it reads it on
   * the log (a previous run wrote it) and produces those it did not find at the end: over a long
   * history with no output of this program (a first start) that was every output of it. Past
   * `rebuildHoldLimit` held outputs, it reads the rest of its range once and counts this program's
   * outputs there by cause (a cause's outputs go out in order, in one append: those on the log are
   * its first ones). The held outputs the log has further on are dropped, the others produced now, and
   * from then on each input's outputs beyond the count are produced as they are recomputed:
   * nothing is held, and a checkpoint can be taken before the rebuild ends (a rebuild that stops
   * resumes from there). The counts cover the causes from the oldest one held.
   */
  private async countOutputsAhead(send: KafkaNewRecord[]): Promise<void> {
    const oldest = this.unconfirmed.keys().next().value ?? this.processed + 1;
    const counts = new Map<number, number>();
    let found = 0;
    const onBatch = (recs: KafkaRecord[]): void => {
      for (const r of recs) {
        const c = r.headers[CAUSE_HEADER];
        if (c === undefined || Number(c) < oldest) continue;
        counts.set(Number(c), (counts.get(Number(c)) ?? 0) + 1);
        found++;
      }
    };
    const from = this.processed + 1;
    await this.w.opts.log.scanRange({ topic: ASSETS_TOPIC, partition: this.partition, from, to: this.end, onBatch, headerOnly: true }); // headers alone
    const held = this.held;
    this.releaseHeld(send, counts);
    this.onLog = counts;
    this.w.say("info", `${this.label}rebuilding: ${held} recomputed outputs held; ${found} output(s) of this program between offsets ${from} and ${this.end - 1}: the rest produced as they are recomputed`);
  }

  /** Produces the held outputs (in the order of their causes), but for the first `onLog.get(cause)` of each: those are on the log further on. Holds none after. */
  private releaseHeld(send: KafkaNewRecord[], onLog?: Map<number, number>): void {
    for (const [c, u] of this.unconfirmed) for (const r of u.slice(Math.min(onLog?.get(c) ?? 0, u.length))) send.push(r), this.stats.resent++;
    this.unconfirmed.clear();
    this.held = 0;
  }

  /** Runs a record of the partition (not one of this program's outputs) through the engine; its outputs go to `send` (or wait for confirmation while rebuilding). */
  private decide(rec: KafkaRecord, o: number, send: KafkaNewRecord[]): void {
    const p = this.partition;
    this.out = [];
    const ev = classify(rec);
    if (ev.kind === "command_description") this.described.set(`${ev.key}/${ev.command}`, JSON.stringify((rec.value as Record<string, unknown>)["VALUE"] ?? (rec.value as Record<string, unknown>)["value"]));
    this.engine.process(ev);
    /** outputs of this input the log holds further on (counted: countOutputsAhead) */
    let onLog = this.onLog?.get(o) ?? 0;
    if (onLog > 0) this.onLog!.delete(o);
    for (const r of this.out) {
      // everything an input of this partition causes is of this partition's assets (or its dead letters)
      const withCause = onPartition(r, p, outputHeaders(r, CAUSE_HEADER, String(o), rec.ts));
      if (r.topic === DEADLETTER_TOPIC) {
        if (o > this.deadMax) send.push(withCause);
      } else if (this.onLog) {
        if (onLog > 0) onLog--;
        else send.push(withCause), this.stats.resent++;
      } else if (!this.live) {
        let u = this.unconfirmed.get(o);
        if (!u) this.unconfirmed.set(o, (u = []));
        u.push(withCause);
        if (++this.held > this.stats.heldMost) this.stats.heldMost = this.held;
      } else send.push(withCause);
      const routed = routeCommand(this.w.routes, r, String(o));
      if (routed) {
        // a command is routed live only: one issued while rebuilding was either routed by the
        // previous run or is stale now (never dispatched late, never twice); live, only while its
        // input is recent (a worker far behind the log does not route what it decides late)
        if (!this.live) this.stats.notRouted++;
        else if (this.w.staleRoutes.check(rec.ts) === undefined) send.push(routed), this.stats.routed++;
      }
    }
    this.out = [];
  }

  /**
   * Writes a checkpoint of the state after the last processed input (call only when every output
   * of the inputs up to it is acknowledged). A failed write is a warning: checkpoints are a cache.
   */
  private checkpoint(): void {
    if (!this.checkpoints || !this.schedule?.pending || this.broken || this.fenced) return;
    const started = this.schedule.clock();
    const offset = this.processed + 1;
    const extra = this.described.size > 0 ? { described: [...this.described] } : undefined;
    const rec = this.checkpoints.record(encodeCheckpoint(this.engine, offset, extra), offset, this.lastInput, this.w.now());
    this.schedule.written(started);
    this.stats.checkpoints++;
    void this.append([rec], false).catch((e: Error) => this.w.say("warn", `${this.label}cannot write a checkpoint: ${e.message}`));
  }

  /** Writes the `TYPE Method` records of the partition's assets the log does not hold yet (or holds with another text). */
  private describeCommands(): void {
    const recs: KafkaNewRecord[] = [];
    const t = this.w.now();
    for (const d of commandDescriptions(this.program)) {
      if (this.described.get(`${d.key}/${d.command}`) === JSON.stringify(d.text)) continue;
      const desc = JSON.parse(d.text) as { description: string; arguments: { name: string; description: string }[] };
      recs.push({ topic: ASSETS_TOPIC, key: d.key, ts: t, value: descriptionValue(d.command, desc.description, desc.arguments, t), partition: this.partition });
    }
    if (recs.length === 0) return;
    this.stats.described += recs.length;
    void this.append(recs).catch((e: Error) => this.w.say("warn", `${this.label}command descriptions: ${e.message}`));
  }

  private goLive(): void {
    this.live = true;
    this.onLog = undefined;
    this.describeCommands();
    if (this.stats.notRouted > 0) this.w.say("info", `${this.label}${this.stats.notRouted} routed command(s) found in the rebuilt history: not produced again`);
    const { restoredFrom: cp, resent } = this.stats;
    const records = `${this.end - this.start} records${this.start > cp ? ` from offset ${this.start}` : ""}`;
    const what = cp > 0 ? `the checkpoint at offset ${cp} and the ${records}${this.start > cp ? "" : " after it"}` : records;
    this.w.say("info", `${this.label}rebuilt from ${what}${resent ? ` (${resent} unwritten outputs produced)` : ""}; live`);
    this.caughtUp();
    if (!this.stopped && !this.fenced) this.clock.start();
  }

  /** Produces a clock record to the partition, with the offset processed so far (header `ofl-processed`). */
  private tick(r: NewRecord): void {
    if (this.broken || this.fenced) return; // its header would claim progress that stopped
    this.stats.clock++;
    const clock = onPartition(r, this.partition, { [PROCESSED_HEADER]: String(this.processed) });
    void this.append([clock], false).catch((e: Error) => this.w.say("warn", `${this.label}clock: ${e.message}`));
  }

  /** Appends after every append issued before; `outputs` false: a clock record or a checkpoint (not counted as produced, its failure stops nothing). */
  private append(recs: KafkaNewRecord[], outputs = true): Promise<unknown> {
    const p = this.chain.then(async () => {
      // nothing after outputs that did not reach the log: a clock record queued meanwhile would
      // claim their inputs processed (PROCESSED_HEADER), a checkpoint would skip them
      if (this.lostOutputs) throw new Error("outputs before these could not be produced: nothing more is written");
      if (this.superseded) return false; // the worker that claimed the partition decides and writes them
      await this.w.opts.log.append(recs);
      return true;
    });
    this.chain = p.catch(() => {
      if (outputs) this.lostOutputs = true;
    });
    return p.then((written) => {
      if (outputs && written) this.stats.produced += recs.length;
    });
  }

  /** Another worker claimed the partition: write nothing more (appends already queued included). */
  supersede(): void {
    this.superseded = true;
    this.fence();
  }

  /** A rebalance began: write nothing (clock records included) until `unfence`. */
  fence(): void {
    this.fenced = true;
    this.clock.stop();
  }

  /** Owned again, with nothing processed by anyone else meanwhile. */
  unfence(): void {
    this.fenced = false;
    if (this.live && !this.stopped) this.clock.start();
  }

  /** Resolves once the batch in progress and every append issued so far are done. */
  async idle(): Promise<void> {
    await this.batch;
    await this.chain;
  }

  /** Stops; `checkpoint`: write a last one (a graceful restart replays nothing). */
  async stop(checkpoint: boolean): Promise<void> {
    this.stopped = true;
    this.clock.stop();
    await this.idle();
    if (checkpoint && (this.live || this.onLog) && !this.broken && !this.fenced) {
      this.checkpoint();
      await this.chain;
    }
  }
}

/**
 * The rule worker. With one partition of `ofa_assets` (the default, and OpenFactory's), it reads
 * partition 0 alone, as it always did. With several, the workers of a program form one consumer
 * group (`ofl-rule-<program>`) and each decides the partitions it is assigned (runtime/log/
 * kafkaGroup.ts): a partition's state is restored from its checkpoint and its tail replayed,
 * with the same cause matching, so a rebalance or a SIGKILL loses and repeats nothing.
 */
export class RuleWorker {
  private readonly ctx: WorkerContext;
  private readonly tasks = new Map<number, PartitionTask>();
  /** stats of partitions this worker no longer owns */
  private readonly retired = noStats();
  private tail: Tail | undefined;
  private group: GroupReader | undefined;
  /** this run (single partition: the claim it appends, RuleWorker.claim) */
  private readonly run = randomUUID();
  /** the read of the checkpoint topic's partition after this run's claim (opened beside the rebuild: joining its group may take the broker's group delay) */
  private claims: Promise<Tail | undefined> | undefined;
  /** the offset of the other run's claim that superseded this one */
  supersededBy: number | undefined;
  private caughtUp!: () => void;
  private failed!: (e: Error) => void;
  /** resolves when the partitions of the first assignment are rebuilt */
  readonly ready: Promise<void>;
  /** the stall watchdog (RuleWorkerOptions.stallMs): per partition, the offset it has been waiting at and since when */
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private readonly waiting = new Map<number, { at: number; since: number }>();

  constructor(opts: RuleWorkerOptions) {
    const sender = opts.senderUuid ?? `OFL-${opts.program.program}`;
    const now = opts.now ?? (() => Date.now());
    const say = opts.report ?? (() => {});
    const staleRoutes = new StaleCommands(opts.commandMaxAgeMs, now, "not routed to their command topic", (m) => say("warn", m));
    this.ctx = { opts, sender, now, say, routes: commandRoutes(opts.program), staleRoutes, partitions: 1 };
    this.ready = new Promise((res, rej) => {
      this.caughtUp = res;
      this.failed = rej;
    });
    this.ready.catch(() => {});
  }

  /** The partitions of `ofa_assets` (known after `start`). */
  get partitions(): number {
    return this.ctx.partitions;
  }

  /** The rebuild's progress of the partitions not live yet (status lines while rebuilding); "" when all are live. */
  rebuilding(): string {
    return this.owned().map((p) => this.tasks.get(p)!.rebuilding()).filter(Boolean).join("; ");
  }

  /** The partitions this worker decides now. */
  owned(): number[] {
    return [...this.tasks.keys()].sort((a, b) => a - b);
  }

  /** The engine of a partition this worker owns (default: partition 0, the only one unless partitioned). */
  engineOf(partition = 0): Engine | undefined {
    return this.tasks.get(partition)?.engine;
  }

  /** The engine of the one partition (single-partition deployments and tests). */
  get engine(): Engine {
    const e = this.engineOf(0);
    if (!e) throw new Error("the rule worker owns no partition 0");
    return e;
  }

  /** Counters over the partitions it owns and owned. */
  get stats(): RuleWorkerStats {
    const s = { ...this.retired };
    for (const t of this.tasks.values()) addStats(s, t.stats);
    return s;
  }

  /** Routed commands decided live but not routed: their input was older than commandMaxAgeMs. */
  get staleNotRouted(): number {
    return this.ctx.staleRoutes.count;
  }

  /** Rebuilds from the log, produces what a previous run left unwritten, then runs live. */
  async start(): Promise<void> {
    const { opts } = this.ctx;
    const log = opts.log;
    const partitions = await log.partitions(ASSETS_TOPIC);
    this.ctx.partitions = partitions;
    const cross = crossDecisions(opts.program, partitions);
    if (cross.interlocks.length > 0)
      throw new Error(`${ASSETS_TOPIC} has ${partitions} partitions and these interlocks read across them (an interlock is checked where its asset is decided):\n  ${cross.interlocks.join("\n  ")}`);
    if (cross.reasons.length > 0) this.ctx.say("info", `${cross.reasons.length} declaration(s) read across partitions: the cross worker decides them (its outputs are not this worker's)`);
    // the checkpoint topic also carries a single-partition worker's claim (with checkpoints off too)
    const checkpointSpec = checkpointTopicSpec(opts.program.program, 1, partitions);
    await log.ensureTopics([
      { name: ASSETS_TOPIC, partitions, replication: 1 },
      { name: DEADLETTER_TOPIC, partitions, replication: 1 },
      ...routeTopicSpecs(this.ctx.routes),
      checkpointSpec,
    ]);
    for (const t of [DEADLETTER_TOPIC, checkpointSpec.name]) {
      const n = await log.partitions(t);
      if (n !== partitions) throw new Error(`${t} has ${n} partition${n === 1 ? "" : "s"} and ${ASSETS_TOPIC} ${partitions}: they must have as many (ofl deploy creates them so)`);
    }
    const stallMs = opts.stallMs ?? 60_000;
    if (stallMs > 0) {
      let checking = false;
      this.watchdog = setInterval(() => {
        if (checking) return;
        checking = true;
        void this.checkStalls(stallMs).finally(() => (checking = false));
      }, Math.max(50, stallMs / 6));
      this.watchdog.unref();
    }
    if (partitions === 1) return this.startSingle();
    this.group = await readAsGroup(log, {
      groupId: ruleGroupId(opts.program.program),
      topic: ASSETS_TOPIC,
      ...(opts.sessionTimeoutMs ? { sessionTimeoutMs: opts.sessionTimeoutMs } : {}),
      rebalancing: () => {
        for (const t of this.tasks.values()) t.fence();
      },
      assigned: (owned, reader) => {
        // the first assignment arrives before readAsGroup resolves: a partition prepared by then resumes through `reader`
        this.group = reader;
        return this.assigned(owned);
      },
      onBatch: (p, recs) => this.tasks.get(p)?.take(recs) ?? Promise.resolve(),
      headerOnly: CAUSE_HEADER, // this program's outputs: read for their header alone
      onProblem: (m) => this.ctx.say("warn", m),
      onFatal: (e) => this.stopFor(e, `the consumer group stopped: ${e.message}; stopping (a restart rejoins)`),
    });
  }

  private async startSingle(): Promise<void> {
    await this.claim();
    const task = new PartitionTask(this.ctx, 0, this.ctx.opts.program);
    this.tasks.set(0, task);
    if (this.supersededBy !== undefined) task.supersede();
    task.ready.then(this.caughtUp, this.failed);
    const from = await task.prepare();
    this.tail = await this.ctx.opts.log.tail({ topic: ASSETS_TOPIC, partition: 0, fromOffset: from, onBatch: (recs) => task.take(recs), onProblem: (m) => this.ctx.say("warn", m), headerOnly: CAUSE_HEADER });
  }

  /**
   * Claims partition 0 before anything is read (an older run still going stops as soon as it reads
   * the claim, before the read of the log's end below), then follows the checkpoint topic's
   * partition 0 for another run's claim. A read that cannot be opened stops the worker (exit 1):
   * it could not know it was superseded.
   */
  private async claim(): Promise<void> {
    const { log, program } = this.ctx.opts;
    const cps = new KafkaCheckpoints(log, program, 0);
    const at = (this.ctx.claimedAt = await cps.claim(this.run, this.ctx.now()));
    const onBatch = (recs: KafkaRecord[]): void => {
      const other = recs.find((r) => cps.isOtherClaim(r, this.run));
      if (other) this.superseded(other.offset, cps.topic);
    };
    this.claims = log.tail({ topic: cps.topic, partition: 0, fromOffset: at + 1, headerOnly: true, onBatch, onProblem: (m) => this.ctx.say("warn", m) }).catch((e: Error) => {
      this.stopFor(e, `cannot follow ${cps.topic} for another worker's claim: ${e.message}; stopping (a restart claims again)`);
      return undefined;
    });
  }

  /** Another run claimed the partition (its claim at `offset` of `topic`): this one writes nothing more and stops. */
  private superseded(offset: number, topic: string): void {
    if (this.supersededBy !== undefined) return;
    this.supersededBy = offset;
    for (const t of this.tasks.values()) t.supersede();
    const e = new SupersededError(
      `another rule worker of ${this.ctx.opts.program.program} started: its claim is at ${topic} offset ${offset}; this one stops and writes nothing more (the other decides from the log, what this one had not written included)`,
    );
    this.stopFor(e, e.message);
  }

  /** Stops for good: no partition writes anything more, `message` is said, `ready` fails and onFatal is told (the bundled worker exits). */
  private stopFor(e: Error, message: string): void {
    for (const t of this.tasks.values()) t.fence();
    this.ctx.say("error", message);
    this.failed(e);
    this.ctx.opts.onFatal?.(e);
  }

  /** A new assignment: partitions kept go on where they were, lost ones are dropped, new ones restored. */
  private assigned(owned: number[]): Map<number, number> {
    const { opts, partitions } = this.ctx;
    const from = new Map<number, number>();
    for (const [p, t] of this.tasks)
      if (!owned.includes(p)) {
        this.tasks.delete(p);
        addStats(this.retired, t.stats);
        void t.stop(false);
        this.ctx.say("info", `partition ${p}: given to another worker`);
      }
    for (const p of owned) {
      const t = this.tasks.get(p);
      if (t) {
        t.unfence();
        if (t.prepared) from.set(p, t.processed + 1); // else its prepare resumes it
        continue;
      }
      const task = new PartitionTask(this.ctx, p, partitionProgram(opts.program, p, partitions));
      this.tasks.set(p, task);
      task.prepare().then(
        (off) => {
          if (this.tasks.get(p) === task) this.group?.resume(p, off);
        },
        (e: Error) => {
          this.ctx.say("error", `partition ${p}: cannot restore: ${e.message}; stopping`);
          this.failed(e);
          opts.onFatal?.(e);
        },
      );
    }
    void Promise.all([...this.tasks.values()].map((t) => t.ready)).then(this.caughtUp, this.failed);
    return from;
  }

  /** Resolves once every partition's batch in progress and appends issued so far are done. */
  async idle(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => t.idle()));
  }

  /**
   * Stops the worker when a partition has had records waiting past the offset it processed, with
   * no batch delivered, for `stallMs` (the wall clock: this watches the Kafka client, not the
   * plant). Seen with kafkajs consumers started just after a topic was deleted and created again
   * under the same name: they fetched nothing, silently.
   */
  private async checkStalls(stallMs: number): Promise<void> {
    let offsets: Map<number, { high: number }>;
    try {
      offsets = await this.ctx.opts.log.partitionOffsets(ASSETS_TOPIC);
    } catch {
      return; // the broker is unreachable: kafkajs says so, and there is nothing to read anyway
    }
    const now = Date.now();
    for (const p of this.waiting.keys()) if (!this.tasks.has(p)) this.waiting.delete(p); // given away
    for (const [p, t] of this.tasks) {
      const at = t.idleAt();
      const end = offsets.get(p)?.high ?? 0;
      if (at === undefined || end <= at + 1) {
        this.waiting.delete(p);
        continue;
      }
      const w = this.waiting.get(p);
      if (!w || w.at !== at) this.waiting.set(p, { at, since: now });
      else if (now - w.since >= stallMs) {
        if (this.watchdog) clearInterval(this.watchdog);
        const e = new Error(`partition ${p}: ${end - at - 1} record(s) on the log after offset ${at} and none delivered for ${Math.round((now - w.since) / 1000)} s: the Kafka consumer is stuck`);
        this.stopFor(e, `${e.message}; stopping (a restart rebuilds from the checkpoint)`);
        return;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    await (await this.claims)?.stop();
    await this.tail?.stop();
    // a last checkpoint of each partition, then leave the group: whoever takes a partition over
    // finds its checkpoint (a stopped partition takes no more batches meanwhile)
    await Promise.all([...this.tasks.values()].map((t) => t.stop(true)));
    await this.group?.stop();
  }
}

/** The bundled rule worker's entry (build/workers/rule.mjs). */
export function runRuleWorker(program: IrProgram, spec: WorkerSpec): Promise<void> {
  return serveWorker(program, spec, async (log, report, env, progress) => {
    const clockMs = envNumber(env, "OFL_CLOCK_MS") ?? 100;
    const stallMs = envNumber(env, "OFL_STALL_MS");
    const w = new RuleWorker({
      program,
      log,
      clockMs,
      report,
      checkpoints: checkpointsFromEnv(env),
      onFatal: exitOnFatal(log),
      ...(stallMs !== undefined ? { stallMs } : {}),
      ...commandMaxAgeFromEnv(env),
    });
    progress(() => `rebuilding: ${w.rebuilding() || "starting"}`);
    await w.start();
    await w.ready;
    // each partition said where it was rebuilt from (PartitionTask.goLive)
    if (w.partitions > 1) report("info", `${ASSETS_TOPIC} has ${w.partitions} partitions; this worker decides ${w.owned().length ? `partition${w.owned().length === 1 ? "" : "s"} ${w.owned().join(", ")}` : "none yet"}`);
    const ignored = (): number => w.owned().reduce((n, p) => n + Object.values(w.engineOf(p)!.ignoredCounts()).reduce((a, b) => a + b, 0), 0);
    const owned = (): string => (w.partitions > 1 ? `partitions [${w.owned().join(",")}] of ${w.partitions}, ` : "");
    // a partition assigned later (a rebalance) rebuilds while the others run: its progress leads
    const rebuilding = (): string => (w.rebuilding() ? `rebuilding: ${w.rebuilding()}; ` : "");
    return { stop: () => w.stop(), status: () => `${rebuilding()}${owned()}consumed ${w.stats.consumed}, produced ${w.stats.produced}, checkpoints ${w.stats.checkpoints}, ignored ${ignored()} undeclared data items${w.staleNotRouted > 0 ? `, ${w.staleNotRouted} stale commands not routed` : ""}` };
  });
}
