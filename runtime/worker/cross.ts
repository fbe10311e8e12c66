// The cross stage (issue 14, item 3; docs/deploy.md "Partitions"): the worker that decides what a
// partitioned deployment cannot decide inside one partition: states, alarms and rules that read a
// view, read or command an asset of another partition, or read a state that does
// (runtime/wire/partitions.ts, crossDecisions). The rule workers decide everything else, each
// partition alone.
//
// It reads every partition of `ofa_assets` and runs the whole program over their inputs merged by
// event time (runtime/wire/merge.ts): the decisions are those `ofl run` would make on one log
// holding the partitions' inputs in that order, and `ofl test --replay` of a session of every
// partition makes them again. It writes only the outputs of the declarations it decides, each to
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
// worker). Then it runs live. A restart rebuilds from offset 0 (no checkpoints yet: the rule
// workers' are per partition; see the issue's note).
//
// One cross worker runs per deployment (a second one would write everything twice: `ofl deploy
// --local` starts one; the stack file gives it one replica).
import type { IrProgram } from "../../compiler/ir/types.js";
import { Engine } from "../engine/index.js";
import type { KafkaLog, KafkaNewRecord, KafkaRecord, Tail } from "../log/kafka.js";
import { PartitionMerge, isMergeInput } from "../wire/merge.js";
import { crossDecisions, crossOutputFilter, partitionOfKey } from "../wire/partitions.js";
import { ASSETS_TOPIC, classify } from "../wire/records.js";
import type { NewRecord, WireEvent } from "../wire/types.js";
import { CROSS_CAUSE_HEADER } from "./headers.js";
import { serveWorker, type WorkerSpec } from "./main.js";
import { commandRoutes, routeCommand, type CommandRoutes } from "./rule.js";

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
}

export interface CrossWorkerStats {
  /** inputs merged and decided */
  merged: number;
  produced: number;
  /** outputs of inputs before the start that were not on the log: produced at start */
  resent: number;
  routed: number;
  notRouted: number;
}

type Input = { time: number; ev: WireEvent; offset: number };

export class CrossWorker {
  readonly stats: CrossWorkerStats = { merged: 0, produced: 0, resent: 0, routed: 0, notRouted: 0 };
  engine: Engine;
  private partitions = 0;
  private merge!: PartitionMerge<Input>;
  /** which of an input's outputs are the cross stage's (known once the partition count is) */
  private isCross: (outputs: readonly NewRecord[]) => boolean[] = () => [];
  private readonly routes: CommandRoutes;
  private readonly say: NonNullable<CrossWorkerOptions["report"]>;
  private out: NewRecord[] = [];
  private tails: Tail[] = [];
  /** the end of each partition seen at start, and the next offset read from it */
  private ends: number[] = [];
  private read: number[] = [];
  private live = false;
  private broken = false;
  /** while rebuilding: recomputed outputs not found on the log yet, and found ones not recomputed yet, by `cause|partition` */
  private readonly pending = new Map<string, KafkaNewRecord[]>();
  private readonly found = new Map<string, number>();
  /** readers waiting for the others to catch up, by partition */
  private readonly waiters = new Map<number, () => void>();
  private chain: Promise<unknown> = Promise.resolve();
  private caughtUp!: () => void;
  private failed!: (e: Error) => void;
  /** resolves when every partition is read to its end seen at start */
  readonly ready: Promise<void>;

  constructor(private readonly opts: CrossWorkerOptions) {
    this.engine = new Engine({ program: opts.program, senderUuid: opts.senderUuid ?? `OFL-${opts.program.program}`, onOutput: (r) => this.out.push(r) });
    this.routes = commandRoutes(opts.program);
    this.say = opts.report ?? (() => {});
    this.ready = new Promise((res, rej) => {
      this.caughtUp = res;
      this.failed = rej;
    });
    this.ready.catch(() => {});
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
    this.isCross = crossOutputFilter(this.opts.program, partitions);
    this.merge = new PartitionMerge(partitions);
    this.ends = await Promise.all(Array.from({ length: partitions }, (_, p) => log.endOffset(ASSETS_TOPIC, p)));
    this.read = new Array<number>(partitions).fill(0);
    this.say("info", `deciding ${cross.reasons.length} declaration(s) over the ${partitions} partitions of ${ASSETS_TOPIC}:\n  ${cross.reasons.join("\n  ")}`);
    this.checkLive();
    for (let p = 0; p < partitions; p++)
      this.tails.push(await log.tail({ topic: ASSETS_TOPIC, partition: p, fromOffset: 0, onBatch: (recs) => this.take(p, recs), onProblem: (m) => this.say("warn", m) }));
  }

  /** A batch of partition `p`: found outputs matched, inputs merged, what can be decided decided. */
  private async take(p: number, recs: KafkaRecord[]): Promise<void> {
    if (this.broken) return;
    for (const rec of recs) {
      this.read[p] = rec.offset + 1;
      const cause = rec.headers[CROSS_CAUSE_HEADER];
      if (cause !== undefined) {
        if (!this.live) this.foundOnLog(`${cause}|${p}`);
        continue;
      }
      const ev = classify(rec);
      if (isMergeInput(ev)) this.merge.push(p, { time: (ev as { time: number }).time, ev, offset: rec.offset });
    }
    const send = this.decide();
    this.checkLive(send);
    try {
      if (send.length > 0) await this.append(send);
    } catch (e) {
      this.broken = true;
      this.failed(e as Error);
      this.say("error", `cannot produce to the log: ${(e as Error).message}; stopping (a restart rebuilds and produces what is missing)`);
      this.opts.onFatal?.(e as Error);
      return;
    }
    // a partition far ahead of the others waits for them (memory stays bounded)
    const max = this.opts.maxWaiting ?? 50_000;
    if (this.merge.waiting(p) > max) await new Promise<void>((res) => this.waiters.set(p, res));
  }

  /** Merges and decides while every partition has an input waiting; returns what to produce now. */
  private decide(): KafkaNewRecord[] {
    const send: KafkaNewRecord[] = [];
    for (let next = this.merge.next(); next !== undefined; next = this.merge.next()) {
      const { partition, item } = next;
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
        const rec: KafkaNewRecord = { ...r, partition: q, headers: { [CROSS_CAUSE_HEADER]: cause } };
        if (this.live) send.push(rec);
        else this.recomputed(`${cause}|${q}`, rec);
        const routed = routeCommand(this.routes, r, cause, CROSS_CAUSE_HEADER);
        if (!routed) continue;
        // routed only when its input came after this start: one before it was routed by the previous run, or is stale
        if (item.offset >= this.ends[partition]!) send.push(routed), this.stats.routed++;
        else this.stats.notRouted++;
      }
    }
    this.out = [];
    for (const [p, wake] of this.waiters)
      if (this.merge.waiting(p) <= (this.opts.maxWaiting ?? 50_000) / 2) {
        this.waiters.delete(p);
        wake();
      }
    return send;
  }

  private foundOnLog(key: string): void {
    const u = this.pending.get(key);
    if (u && u.length > 0) {
      u.shift();
      if (u.length === 0) this.pending.delete(key);
    } else this.found.set(key, (this.found.get(key) ?? 0) + 1);
  }

  private recomputed(key: string, rec: KafkaNewRecord): void {
    const f = this.found.get(key) ?? 0;
    if (f > 0) {
      if (f === 1) this.found.delete(key);
      else this.found.set(key, f - 1);
      return;
    }
    let u = this.pending.get(key);
    if (!u) this.pending.set(key, (u = []));
    u.push(rec);
  }

  /** Live once every partition is read to its end seen at start: what is still unmatched goes out (in `send`). */
  private checkLive(send?: KafkaNewRecord[]): void {
    if (this.live || this.read.some((r, p) => r < this.ends[p]!)) return;
    this.live = true;
    const resend = [...this.pending.values()].flat();
    this.pending.clear();
    this.found.clear();
    this.stats.resent = resend.length;
    if (send) send.unshift(...resend);
    else if (resend.length > 0) void this.append(resend);
    const total = this.ends.reduce((a, b) => a + b, 0);
    this.say("info", `rebuilt from ${total} records of ${this.partitions} partitions (${this.stats.merged} inputs merged)${resend.length ? `; ${resend.length} unwritten outputs produced` : ""}; live`);
    if (this.stats.notRouted > 0) this.say("info", `${this.stats.notRouted} routed command(s) found in the rebuilt history: not produced again`);
    this.caughtUp();
  }

  private append(recs: KafkaNewRecord[]): Promise<unknown> {
    const p = this.chain.then(() => this.opts.log.append(recs));
    this.chain = p.catch(() => {});
    return p.then(() => {
      this.stats.produced += recs.length;
    });
  }

  /** Resolves once every append issued so far is done. */
  async idle(): Promise<void> {
    await this.chain;
  }

  async stop(): Promise<void> {
    for (const wake of this.waiters.values()) wake();
    this.waiters.clear();
    await Promise.all(this.tails.map((t) => t.stop()));
    await this.chain;
  }
}

/** The bundled cross worker's entry (build/workers/cross.mjs). */
export function runCrossWorker(program: IrProgram, spec: WorkerSpec): Promise<void> {
  return serveWorker(program, spec, async (log, report) => {
    const onFatal = (): void => void log.close().finally(() => process.exit(1));
    const w = new CrossWorker({ program, log, report, onFatal });
    await w.start();
    await w.ready;
    return { stop: () => w.stop(), status: () => `merged ${w.stats.merged} inputs, produced ${w.stats.produced}` };
  });
}
