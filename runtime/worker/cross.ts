// The cross stage (issue 14, item 3; docs/deploy.md "Partitions"): the worker that decides what a
// partitioned deployment cannot decide inside one partition: states, alarms and rules that read a
// view, read or command an asset of another partition, or read a state that does
// (runtime/wire/partitions.ts, crossDecisions). The rule workers decide everything else, each
// partition alone.
//
// It reads every partition of `ofa_assets` and runs the program over their inputs merged by
// event time (runtime/wire/merge.ts): the decisions are those `ofl run` would make on one log
// holding the partitions' inputs in that order, and `ofl test --replay` of a session of every
// partition makes them again. What it runs is the program without what no cross declaration
// reads (runtime/replay/prune.ts, crossStageProgram: the same outputs, less work). It writes only the outputs of the declarations it decides, each to
// its asset's partition, with the header `ofl-cross-cause: <partition>:<offset>` of the input
// that caused it; command correlation ids carry the same cause, so they are unique across
// partitions and the same on every run.
//
// Exactly once, without a store: on start it reads every partition from offset 0 to the end seen
// at start (E_p), and until it has, what it recomputes is held back and matched against the
// outputs it finds with the same cause and partition (one producer, ordered appends: the written
// ones are a prefix of the recomputed ones). The previous run cannot have merged past what was
// on the partitions before this start, so once every partition is read to E_p and merged as far
// as it goes, whatever is still unmatched was never written: it is produced then (a command of an
// input before E_p is never routed again to an `openfactory` command topic, as in the rule
// worker). Then it runs live. Past `rebuildHoldLimit` held outputs it counts instead (countOutputsAhead:
// the outputs on the rest of each partition's range, by cause and partition) and produces what
// is beyond the counts as it recomputes it: its memory stays bounded over any history.
//
// Checkpoints (runtime/log/kafkaCheckpoints.ts, CrossCheckpoints; the rule worker's schedule):
// the engine's state and where the merge stood in each partition (the next input's offset), to
// the compacted topic `ofl_<program>_cross_checkpoints`, appended after the outputs of every
// input merged before it, and only if those were acknowledged. A restart restores the newest one
// and reads each partition from its position; outputs found there of inputs before it match
// nothing recomputed and are passed over.
//
// One stage runs at a time: cross workers started more than once take turns (CrossMember below).
import type { IrProgram } from "../../compiler/ir/types.js";
import { encodeCheckpoint } from "../engine/checkpoint.js";
import { Engine } from "../engine/index.js";
import { CheckpointSchedule, type ScheduleOptions } from "../log/checkpointSchedule.js";
import { CrossCheckpoints, crossCheckpointTopic, crossCheckpointTopicSpec, type MergePosition } from "../log/kafkaCheckpoints.js";
import { readAsGroup, type GroupReader } from "../log/kafkaGroup.js";
import type { KafkaLog, KafkaNewRecord, KafkaRecord, Tail } from "../log/kafka.js";
import { PartitionMerge, mergeTime } from "../wire/merge.js";
import { crossDecisions, crossOutputFilter, partitionOfKey } from "../wire/partitions.js";
import { ASSETS_TOPIC, classify, clockValue } from "../wire/records.js";
import type { NewRecord, WireEvent } from "../wire/types.js";
import { crossStageProgram } from "../replay/prune.js";
import { CAUSE_HEADER, CROSS_CAUSE_HEADER, onPartition, outputHeaders } from "./headers.js";
import { StaleCommands } from "./stale.js";
import { checkpointsFromEnv, commandMaxAgeFromEnv, exitOnFatal, readProgress, serveWorker, type WorkerSpec } from "./main.js";
import { commandRoutes, routeCommand, routeTopicSpecs, type CommandRoutes } from "./routes.js";

export { CROSS_CAUSE_HEADER };

export interface CrossWorkerOptions {
  program: IrProgram;
  log: KafkaLog;
  /** sender of its commands (default `OFL-<program>`, the rule workers' too: one program) */
  senderUuid?: string;
  report?: (level: "info" | "warn" | "error", message: string) => void;
  /** after outputs could not be produced: it stopped (the bundled worker exits, its supervisor restarts it) */
  onFatal?: (e: Error) => void;
  /** inputs held per partition before that partition's reading waits for the others (default 50,000) */
  maxWaiting?: number;
  /** outputs a rebuild holds in memory (to match them against the log) before it counts the stage's outputs on the rest of the partitions and holds none (default 100,000; countOutputsAhead) */
  rebuildHoldLimit?: number;
  /** checkpoint schedule (defaults: 25,000 inputs or 60 s); false: none written or read */
  checkpoints?: ScheduleOptions | false;
  now?: () => number;
  /** a command routed to an `openfactory(command_topic: …)` topic only if its input was received less than this long ago (ms; OFL_COMMAND_MAX_AGE_MS, default 60,000; 0: no bound) */
  commandMaxAgeMs?: number;
  /**
   * ms the merge may wait on a partition with nothing new, while inputs of others wait, before
   * the stage writes a clock record to it (default 20; 0: never, the rule workers' clock alone)
   */
  nudgeMs?: number;
}

export interface CrossWorkerStats {
  /** inputs merged and decided */
  merged: number;
  produced: number;
  /** outputs of inputs before the start that were not on the log: produced at start */
  resent: number;
  routed: number;
  notRouted: number;
  /** the merged inputs a restored checkpoint stood for (0: none), and checkpoints written */
  restored: number;
  checkpoints: number;
  /** clock records it wrote to partitions the merge waited on */
  nudges: number;
  /** the most recomputed outputs held at once while rebuilding (rebuildHoldLimit) */
  heldMost: number;
}

/** An input waiting to be merged; `before`: the record before it on its partition (a checkpoint at it names it) */
type Input = { time: number; ev: WireEvent; offset: number; before: MergePosition["last"] };

export class CrossWorker {
  readonly stats: CrossWorkerStats = { merged: 0, produced: 0, resent: 0, routed: 0, notRouted: 0, restored: 0, checkpoints: 0, nudges: 0, heldMost: 0 };
  /** the program it runs (the cross declarations and what they read: runtime/replay/prune.ts), and its engine */
  private program!: IrProgram;
  engine!: Engine;
  private partitions = 0;
  private merge!: PartitionMerge<Input>;
  /** which of an input's outputs are the cross stage's (known once the partition count is) */
  private isCross: (outputs: readonly NewRecord[]) => boolean[] = () => [];
  private readonly routes: CommandRoutes;
  private readonly say: NonNullable<CrossWorkerOptions["report"]>;
  /** routed commands decided live but not routed: their input was older than commandMaxAgeMs */
  readonly staleRoutes: StaleCommands;
  private out: NewRecord[] = [];
  private tails: Tail[] = [];
  /** the end of each partition seen at start, and the next offset read from it */
  private ends: number[] = [];
  private read: number[] = [];
  /** where each partition was read from at start */
  private startedAt: number[] = [];
  /** the last record read from each partition (ts, key) */
  private lastRead: MergePosition["last"][] = [];
  private checkpoints: CrossCheckpoints | undefined;
  private schedule: CheckpointSchedule | undefined;
  private live = false;
  private broken = false;
  /** another member of the cross workers' group may be active now: this one writes nothing more */
  private fenced = false;
  /** while rebuilding: recomputed outputs not found on the log yet, and found ones not recomputed yet, by `cause|partition` */
  private readonly pending = new Map<string, KafkaNewRecord[]>();
  private readonly found = new Map<string, number>();
  /** the outputs in `pending` */
  private held = 0;
  /** from when a rebuild held too many until it is live: how many of the stage's outputs of each `cause|partition` the rest of the partitions hold */
  private onLog: Map<string, number> | undefined;
  /** the count of outputs ahead in progress: the partitions' batches wait for it */
  private counting: Promise<void> | undefined;
  /** readers waiting for the others to catch up, by partition */
  private readonly waiters = new Map<number, () => void>();
  /** a clock record of the stage's own is on its way to these partitions (not read back yet) */
  private readonly nudged = new Set<number>();
  /** per partition, the inputs waiting in the merge that are not clock records (what a nudge is for) */
  private decisionsWaiting: number[] = [];
  private nudgeTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** its uuid: sender of its commands, key of its clock records */
  private get sender(): string {
    return this.opts.senderUuid ?? `OFL-${this.opts.program.program}`;
  }
  private chain: Promise<unknown> = Promise.resolve();
  private caughtUp!: () => void;
  private failed!: (e: Error) => void;
  /** resolves when every partition is read to its end seen at start */
  readonly ready: Promise<void>;

  constructor(private readonly opts: CrossWorkerOptions) {
    this.routes = commandRoutes(opts.program);
    this.say = opts.report ?? (() => {});
    this.staleRoutes = new StaleCommands(opts.commandMaxAgeMs, opts.now ?? (() => Date.now()), "not routed to their command topic", (m) => this.say("warn", m));
    this.ready = new Promise((res, rej) => {
      this.caughtUp = res;
      this.failed = rej;
    });
    this.ready.catch(() => {});
  }

  private newEngine(): Engine {
    return new Engine({ program: this.program, senderUuid: this.sender, onOutput: (r) => this.out.push(r) });
  }

  /** Restores the newest usable checkpoint: where to read each partition from. */
  private async restore(): Promise<MergePosition[]> {
    const none = this.ends.map(() => ({ offset: 0, last: null }));
    if (!this.checkpoints) return none;
    await this.opts.log.ensureTopics([crossCheckpointTopicSpec(this.opts.program.program)]);
    const cp = await this.checkpoints.newest(ASSETS_TOPIC, this.ends, this.say);
    if (!cp) return none;
    try {
      this.engine.loadState(cp.state);
    } catch (e) {
      this.say("warn", `checkpoint skipped: it does not fit the program: ${(e as Error).message}`);
      this.engine = this.newEngine();
      return none;
    }
    this.stats.restored = cp.header.offset;
    return cp.positions;
  }

  /** What it decides over the topic's partitions; refuses a topic with nothing to decide across. */
  async start(): Promise<void> {
    const log = this.opts.log;
    const partitions = await log.partitions(ASSETS_TOPIC);
    const cross = crossDecisions(this.opts.program, partitions);
    if (cross.interlocks.length > 0) throw new Error(`these interlocks read across the ${partitions} partitions of ${ASSETS_TOPIC} (not supported):\n  ${cross.interlocks.join("\n  ")}`);
    if (cross.reasons.length === 0)
      throw new Error(`${ASSETS_TOPIC} has ${partitions} partition${partitions === 1 ? "" : "s"} and nothing of the program reads across partitions: the rule workers decide it all (no cross worker is needed)`);
    this.partitions = partitions;
    // the topics it routes commands to, as the rule worker: created when missing
    if (this.routes.size > 0) await log.ensureTopics(routeTopicSpecs(this.routes));
    this.program = crossStageProgram(this.opts.program, cross);
    this.engine = this.newEngine();
    if (this.opts.checkpoints !== false) this.checkpoints = new CrossCheckpoints(log, this.program);
    this.isCross = crossOutputFilter(this.opts.program, partitions);
    this.merge = new PartitionMerge(partitions);
    this.decisionsWaiting = new Array<number>(partitions).fill(0);
    this.ends = await Promise.all(Array.from({ length: partitions }, (_, p) => log.endOffset(ASSETS_TOPIC, p)));
    const from = await this.restore();
    this.read = from.map((x) => x.offset);
    this.startedAt = [...this.read];
    this.lastRead = from.map((x) => x.last);
    this.stats.merged = this.stats.restored;
    if (this.opts.checkpoints !== false) this.schedule = new CheckpointSchedule({ ...(this.opts.checkpoints ?? {}), ...(this.opts.now ? { now: this.opts.now } : {}) }, 0);
    this.say("info", `deciding ${cross.reasons.length} declaration(s) over the ${partitions} partitions of ${ASSETS_TOPIC}:\n  ${cross.reasons.join("\n  ")}`);
    this.checkLive(); // live at once when the partitions are empty (nothing recomputed yet)
    for (let p = 0; p < partitions; p++)
      // outputs (the stage's own, the rule workers') are never inputs: read for their headers alone
      this.tails.push(await log.tail({ topic: ASSETS_TOPIC, partition: p, fromOffset: from[p]!.offset, onBatch: (recs) => this.take(p, recs), onProblem: (m) => this.say("warn", m), headerOnly: [CROSS_CAUSE_HEADER, CAUSE_HEADER] }));
  }

  /** A batch of partition `p`: found outputs matched, inputs merged, what can be decided decided. */
  private async take(p: number, recs: KafkaRecord[]): Promise<void> {
    while (this.counting) await this.counting;
    if (this.broken || this.fenced) return;
    this.nudged.delete(p);
    for (const rec of recs) {
      const before = this.lastRead[p]!;
      this.read[p] = rec.offset + 1;
      this.lastRead[p] = { ts: rec.ts, key: rec.key };
      const cause = rec.headers[CROSS_CAUSE_HEADER];
      if (cause !== undefined) {
        // (once counting, the outputs ahead are counted already, and this run's own come back)
        if (!this.live && !this.onLog) this.foundOnLog(`${cause}|${p}`);
        continue;
      }
      if (rec.headers[CAUSE_HEADER] !== undefined) continue; // a rule worker's output
      const ev = classify(rec);
      const time = mergeTime(ev);
      if (time === undefined) continue;
      this.merge.push(p, { time, ev, offset: rec.offset, before });
      if (ev.kind !== "clock") this.decisionsWaiting[p]!++;
    }
    let send: KafkaNewRecord[] = [];
    try {
      this.decide(send);
      while (this.held > this.holdLimit) {
        // the other partitions' batches wait: the count covers each partition from where it was read to its end seen at start
        await (this.counting = this.countOutputsAhead(send).finally(() => (this.counting = undefined)));
        if (this.fenced) return;
        this.decide(send);
      }
      const unwritten = this.checkLive();
      if (unwritten.length > 0) send = unwritten.concat(send);
      // after these outputs (the chain keeps the order; a failed produce stops it)
      const checkpoint = this.checkpoint();
      if (send.length > 0) await this.append(send);
      if (checkpoint) void this.append([checkpoint], false).then(() => void this.stats.checkpoints++, (e: Error) => this.say("warn", `cannot write a checkpoint: ${e.message}`));
    } catch (e) {
      this.broken = true;
      if (this.fenced) return; // not a failure: it was told to stop writing
      this.failed(e as Error);
      this.say("error", `cannot produce to the log: ${(e as Error).message}; stopping (a restart rebuilds and produces what is missing)`);
      this.opts.onFatal?.(e as Error);
      return;
    }
    this.nudgeLater();
    // a partition far ahead of the others waits for them (memory stays bounded)
    const max = this.opts.maxWaiting ?? 50_000;
    if (this.merge.waiting(p) > max) await new Promise<void>((res) => this.waiters.set(p, res));
  }

  /**
   * The merge waits on partitions with nothing new while others have inputs waiting: after
   * `nudgeMs` (when the rule workers' next clock record has not come) the stage writes a clock
   * record to each of them itself. It is an input on the log like any clock record (a replay
   * reads it back), so the order stays a function of the partitions' contents; it only comes
   * sooner than the rule workers' (every `OFL_CLOCK_MS`), which bounds the stage's latency.
   * Only for inputs to decide (telemetry, availability, operator commands): a clock record
   * waiting for the others (the stage's own nudge, once it let an input through) waits for the
   * rule workers' next one. Nudging for those too kept the stage writing a clock record every
   * `nudgeMs` to one partition after the other for as long as no input came.
   */
  private nudgeLater(delay = this.nudgeMs): void {
    if (this.nudgeMs <= 0 || this.nudgeTimer !== undefined || !this.live || this.fenced || this.stopped) return;
    if (!this.stalled()) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = undefined;
      if (!this.live || this.fenced || this.broken || this.stopped || !this.stalled()) return;
      const now = (this.opts.now ?? Date.now)();
      // a clock record now lets through only inputs stamped now or earlier: wait for the earliest
      let earliest = Infinity;
      for (let p = 0; p < this.partitions; p++) earliest = Math.min(earliest, this.merge.peek(p)?.time ?? Infinity);
      if (earliest > now) return this.nudgeLater(Math.min(earliest - now, 1000));
      const recs: KafkaNewRecord[] = [];
      for (let p = 0; p < this.partitions; p++)
        if (this.merge.waiting(p) === 0 && !this.nudged.has(p)) {
          this.nudged.add(p);
          recs.push({ topic: ASSETS_TOPIC, key: this.sender, ts: now, value: clockValue(now), partition: p });
        }
      if (recs.length > 0) void this.append(recs, false).then(() => void (this.stats.nudges += recs.length), () => {});
    }, delay);
    this.nudgeTimer.unref?.();
  }

  /** CrossWorkerOptions.nudgeMs, default 20 */
  private get nudgeMs(): number {
    return this.opts.nudgeMs ?? 20;
  }

  /** Some partition has an input to decide waiting (not only clock records) and some other has nothing waiting. */
  private stalled(): boolean {
    let waiting = false;
    let empty = false;
    for (let p = 0; p < this.partitions; p++)
      if (this.merge.waiting(p) === 0) empty = true;
      else if (this.decisionsWaiting[p]! > 0) waiting = true;
    return waiting && empty;
  }

  /** Merges and decides while every partition has an input waiting (and a rebuild holds no more than its limit); what to produce now goes to `send`. */
  private decide(send: KafkaNewRecord[]): void {
    const merged = this.stats.merged;
    for (let next = this.held > this.holdLimit ? undefined : this.merge.next(); next !== undefined; next = this.held > this.holdLimit ? undefined : this.merge.next()) {
      const { partition, item } = next;
      if (item.ev.kind !== "clock") this.decisionsWaiting[partition]!--;
      this.out = [];
      this.engine.process(item.ev);
      this.stats.merged++;
      if (this.out.length === 0) continue;
      const cause = `${partition}:${item.offset}`;
      const keep = this.isCross(this.out);
      for (let i = 0; i < this.out.length; i++) {
        if (!keep[i]) continue;
        const r = this.out[i]!;
        const q = partitionOfKey(r.key ?? "", this.partitions);
        const rec = onPartition(r, q, outputHeaders(r, CROSS_CAUSE_HEADER, cause, item.ev.record.ts));
        if (this.live || this.recomputed(`${cause}|${q}`, rec)) send.push(rec);
        const routed = routeCommand(this.routes, r, cause, CROSS_CAUSE_HEADER);
        if (!routed) continue;
        // routed only when its input came after this start (one before it was routed by the
        // previous run, or is stale), and is recent (a stage far behind the log does not route late)
        if (item.offset < this.ends[partition]!) this.stats.notRouted++;
        else if (this.staleRoutes.check(item.ev.record.ts) === undefined) send.push(routed), this.stats.routed++;
      }
    }
    this.out = [];
    this.schedule?.counted(this.stats.merged - merged);
    for (const [p, wake] of this.waiters)
      if (this.merge.waiting(p) <= (this.opts.maxWaiting ?? 50_000) / 2) {
        this.waiters.delete(p);
        wake();
      }
  }

  /** CrossWorkerOptions.rebuildHoldLimit, default 100,000 */
  private get holdLimit(): number {
    return this.opts.rebuildHoldLimit ?? 100_000;
  }

  /** A checkpoint record of the state now, when one is due and the stage is live (rebuilt outputs are matched first). */
  private checkpoint(final = false): KafkaNewRecord | undefined {
    const schedule = this.schedule;
    if (!this.checkpoints || !schedule || !(final ? schedule.pending : schedule.due) || !this.live || this.broken) return undefined;
    const started = schedule.clock();
    const positions: MergePosition[] = this.read.map((read, p) => {
      const head = this.merge.peek(p);
      return head ? { offset: head.offset, last: head.before } : { offset: read, last: this.lastRead[p]! };
    });
    const rec = this.checkpoints.record(encodeCheckpoint(this.engine, this.stats.merged), positions, (this.opts.now ?? Date.now)());
    schedule.written(started);
    return rec;
  }

  private foundOnLog(key: string): void {
    const u = this.pending.get(key);
    if (u && u.length > 0) {
      u.shift();
      this.held--;
      if (u.length === 0) this.pending.delete(key);
    } else this.found.set(key, (this.found.get(key) ?? 0) + 1);
  }

  /** A recomputed output while rebuilding: true when it is to be produced now (it is not on the log, and the rebuild counted what is). */
  private recomputed(key: string, rec: KafkaNewRecord): boolean {
    if (takeOne(this.found, key)) return false;
    if (this.onLog) {
      if (takeOne(this.onLog, key)) return false;
      this.stats.resent++;
      return true;
    }
    let u = this.pending.get(key);
    if (!u) this.pending.set(key, (u = []));
    u.push(rec);
    if (++this.held > this.stats.heldMost) this.stats.heldMost = this.held;
    return false;
  }

  /**
   * Keeps a rebuild's memory bounded (the rule worker's countOutputsAhead, across partitions). Over
   * a long history with none of the stage's outputs (a first start) the rebuild held every
   * recomputed output until the end. Past `rebuildHoldLimit` held, it reads the rest of each
   * partition's range once (headers alone) and counts the stage's outputs there by cause and
   * partition: with the ones already found, those are the first recomputed ones of each (one
   * producer, ordered appends). The held outputs the log has further on are dropped, the others
   * produced now, and from then on what is beyond the counts is produced as it is recomputed.
   * No checkpoint is taken before the rebuild ends: an output of the previous run can sit on a
   * partition before the input its checkpoint position would name there (it was written before
   * that input arrived), and a restart from it would write that output again. A rebuild that stops
   * starts again from the previous checkpoint, and counts again.
   */
  private async countOutputsAhead(send: KafkaNewRecord[]): Promise<void> {
    const counts = new Map<string, number>();
    let ahead = 0;
    for (let q = 0; q < this.partitions; q++)
      await this.opts.log.scanRange({ topic: ASSETS_TOPIC, partition: q, from: this.read[q]!, to: this.ends[q]!, headerOnly: true, onBatch: (recs) => {
          for (const r of recs) {
            const c = r.headers[CROSS_CAUSE_HEADER];
            if (c === undefined) continue;
            const key = `${c}|${q}`;
            counts.set(key, (counts.get(key) ?? 0) + 1);
            ahead++;
          }
        } });
    const held = this.held;
    for (const [key, u] of this.pending) {
      const c = counts.get(key) ?? 0;
      for (let i = c; i < u.length; i++) send.push(u[i]!), this.stats.resent++;
      if (c > u.length) counts.set(key, c - u.length);
      else counts.delete(key);
    }
    this.pending.clear();
    this.held = 0;
    this.onLog = counts;
    const range = this.read.map((r, q) => `${r}–${this.ends[q]! - 1}`).join(", ");
    this.say("info", `rebuilding: ${held} recomputed outputs held; ${ahead} output(s) of the stage further on (offsets ${range} of the partitions): the rest produced as they are recomputed`);
  }

  /** Live once every partition is read to its end seen at start; returns what is still unmatched then, in merge order, to produce first. */
  private checkLive(): KafkaNewRecord[] {
    if (this.live || this.read.some((r, p) => r < this.ends[p]!)) return [];
    this.live = true;
    this.onLog = undefined;
    // (no spread: after a long rebuild these are many)
    const resend: KafkaNewRecord[] = [];
    for (const u of this.pending.values()) for (const r of u) resend.push(r);
    this.pending.clear();
    this.held = 0;
    this.found.clear();
    this.stats.resent += resend.length;
    const read = this.ends.reduce((n, e, p) => n + Math.max(0, e - this.startedAt[p]!), 0);
    const what = this.stats.restored > 0 ? `the checkpoint after ${this.stats.restored} merged inputs and the ${read} records after it` : `${read} records`;
    this.say("info", `rebuilt from ${what} of ${this.partitions} partitions (${this.stats.merged} inputs merged)${this.stats.resent ? `; ${this.stats.resent} unwritten outputs produced` : ""}; live`);
    if (this.stats.notRouted > 0) this.say("info", `${this.stats.notRouted} routed command(s) found in the rebuilt history: not produced again`);
    this.caughtUp();
    return resend;
  }

  /** Appends after every earlier append; after a failed one, nothing more (a restart produces what is missing). */
  private append(recs: KafkaNewRecord[], outputs = true): Promise<unknown> {
    const p = this.chain.then(() => {
      if (this.fenced) throw new Error("fenced: another cross worker may be active");
      if (this.broken) throw new Error("an earlier produce failed");
      return this.opts.log.append(recs);
    });
    this.chain = p.catch(() => void (this.broken = true));
    return p.then(() => {
      if (outputs) this.stats.produced += recs.length;
    });
  }

  /** While rebuilding: how far (`1,200,000 of 3,000,000 records read, 40 %; 900,000 inputs merged`); undefined once live. */
  rebuilding(): string | undefined {
    if (this.live) return undefined;
    if (this.partitions === 0) return "starting";
    let total = 0;
    let read = 0;
    for (let p = 0; p < this.partitions; p++) {
      total += Math.max(0, (this.ends[p] ?? 0) - (this.startedAt[p] ?? 0));
      read += Math.max(0, Math.min(this.read[p] ?? 0, this.ends[p] ?? 0) - (this.startedAt[p] ?? 0));
    }
    return `${readProgress(read, total)}; ${this.stats.merged.toLocaleString("en-US")} inputs merged${this.onLog ? " (counted ahead: producing as it goes)" : ""}`;
  }

  /** Resolves once every append issued so far is done. */
  async idle(): Promise<void> {
    await this.chain;
  }

  /** Writes nothing from now on (appends not yet sent are dropped); then `stop`. */
  fence(): void {
    this.fenced = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.nudgeTimer !== undefined) clearTimeout(this.nudgeTimer);
    for (const wake of this.waiters.values()) wake();
    this.waiters.clear();
    await Promise.all(this.tails.map((t) => t.stop()));
    await this.chain;
    // a last checkpoint: a graceful restart reads only what came after it
    const last = this.fenced ? undefined : this.checkpoint(true);
    if (last) await this.append([last], false).then(() => void this.stats.checkpoints++, (e: Error) => this.say("warn", `cannot write a checkpoint: ${(e as Error).message}`));
  }
}

/** Takes one from a count; false when there is none. */
function takeOne(counts: Map<string, number>, key: string): boolean {
  const n = counts.get(key) ?? 0;
  if (n === 0) return false;
  if (n === 1) counts.delete(key);
  else counts.set(key, n - 1);
  return true;
}

/** The consumer group of a program's cross workers. */
export function crossGroupId(program: string): string {
  return `ofl-cross-${program}`;
}

/**
 * Cross workers started more than once (a second replica, a restart overlapping the old process)
 * take turns instead of writing twice: they join the consumer group `ofl-cross-<program>` on the
 * one partition of the cross checkpoint topic (runtime/log/kafkaGroup.ts; nothing of it is read),
 * and the member it is assigned to runs the cross stage; the others stand by. When a rebalance
 * begins the active one stops writing at once (fenced) and stops; the member assigned next starts
 * from the newest checkpoint and matches outputs as after any restart. An active one that dies is
 * replaced after the group's session timeout (6 s, the broker's least): a worker restarted after
 * a crash waits that long for its own dead membership to expire.
 */
export class CrossMember {
  /** the cross stage while this member runs it */
  active: CrossWorker | undefined;
  private group: GroupReader | undefined;
  private owner = false;
  /** start and stop of the stage, one after the other */
  private turn: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private joined!: () => void;
  /** resolves once it knows whether it runs the stage (and, if so, the stage is rebuilt) */
  readonly ready: Promise<void>;
  /** stages this member ran (tests) */
  readonly runs: CrossWorker[] = [];

  constructor(private readonly opts: CrossWorkerOptions & { sessionTimeoutMs?: number }) {
    this.ready = new Promise((res) => (this.joined = res));
  }

  async start(): Promise<void> {
    const { log, program } = this.opts;
    const say = this.opts.report ?? (() => {});
    await log.ensureTopics([crossCheckpointTopicSpec(program.program)]);
    this.group = await readAsGroup(log, {
      groupId: crossGroupId(program.program),
      topic: crossCheckpointTopic(program.program),
      // the broker's least (group.min.session.timeout.ms): a restarted worker waits this long for its dead self
      sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 6000,
      rebalancing: () => this.release(),
      assigned: (owned) => {
        this.owner = owned.includes(0);
        if (this.owner) this.take();
        else {
          this.release();
          say("info", "another cross worker runs the cross stage: standing by");
          void this.turn.then(this.joined);
        }
        return new Map(); // the checkpoint topic itself is not read through the group
      },
      onBatch: async () => {},
      onProblem: (m) => say("warn", m),
      onFatal: (e) => {
        this.release();
        this.opts.onFatal?.(e);
      },
    });
  }

  private take(): void {
    this.turn = this.turn.then(async () => {
      if (!this.owner || this.stopped || this.active) return;
      const w = new CrossWorker(this.opts);
      this.active = w;
      this.runs.push(w);
      await w.start();
      // (a stage fenced before it is rebuilt is never ready: the next turn does not wait for it)
      void w.ready.then(this.joined);
    });
    this.turn.catch((e: Error) => this.opts.onFatal?.(e));
  }

  private release(): void {
    const w = this.active;
    if (!w) return;
    this.active = undefined;
    w.fence();
    this.turn = this.turn.then(() => w.stop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const w = this.active;
    this.active = undefined;
    await this.turn.catch(() => {});
    await w?.stop();
    await this.group?.stop();
  }
}

/** The bundled cross worker's entry (build/workers/cross.mjs). */
export function runCrossWorker(program: IrProgram, spec: WorkerSpec): Promise<void> {
  return serveWorker(program, spec, async (log, report, env, progress) => {
    const m = new CrossMember({ program, log, report, onFatal: exitOnFatal(log), checkpoints: checkpointsFromEnv(env), ...commandMaxAgeFromEnv(env) });
    progress(() => {
      const r = m.active?.rebuilding();
      return r ? `rebuilding the cross stage: ${r}` : "joining the cross workers' group";
    });
    await m.start();
    await m.ready;
    const status = (): string => {
      const w = m.active;
      return w ? `running the cross stage: merged ${w.stats.merged} inputs, produced ${w.stats.produced}, checkpoints ${w.stats.checkpoints}` : "standing by";
    };
    return { stop: () => m.stop(), status };
  });
}
