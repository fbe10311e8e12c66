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
import type { IrProgram } from "../../compiler/ir/types.js";
import { encodeCheckpoint } from "../engine/checkpoint.js";
import { Engine } from "../engine/index.js";
import { CheckpointSchedule, type ScheduleOptions } from "../log/checkpointSchedule.js";
import { KafkaCheckpoints, checkpointTopicSpec } from "../log/kafkaCheckpoints.js";
import type { KafkaLog, KafkaNewRecord, KafkaRecord, Tail } from "../log/kafka.js";
import { Clock } from "../wire/clock.js";
import { ASSETS_TOPIC, DEADLETTER_TOPIC, classify, descriptionValue } from "../wire/records.js";
import { CAUSE_HEADER, PROCESSED_HEADER } from "./headers.js";
import { serveWorker, type WorkerSpec } from "./main.js";
import type { NewRecord } from "../wire/types.js";

export { CAUSE_HEADER, PROCESSED_HEADER };

/** Kafka header of an `ofa_cmds` record: the OFL correlation id of the command it carries. */
export const CORRELATION_HEADER = "ofl-correlation-id";

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

/** `openfactory(command_topic: …)` routes: asset uuid → topic and command → method name. */
function commandRoutes(program: IrProgram): Map<string, { topic: string; methods: Map<string, string> }> {
  const routes = new Map<string, { topic: string; methods: Map<string, string> }>();
  for (const a of program.assets)
    for (const src of a.sources) {
      const topic = src.named["command_topic"];
      if (src.kind !== "openfactory" || typeof topic !== "string") continue;
      const methods = new Map<string, string>();
      for (const b of src.bindings) if (b.direction === "command" && typeof b.named["name"] === "string") methods.set(b.target, b.named["name"]);
      routes.set(a.uuid, { topic, methods });
    }
  return routes;
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
  /** after a batch's outputs could not be produced: the worker stopped processing (the bundled worker exits, its supervisor restarts it) */
  onFatal?: (e: Error) => void;
  /** checkpoint schedule (runtime/log/checkpointSchedule.ts; defaults: 25,000 inputs or 60 s); false: none written or read */
  checkpoints?: ScheduleOptions | false;
}

export class RuleWorker {
  engine: Engine;
  /**
   * rebuilt: the end offset seen at start; restoredFrom: the offset of the checkpoint it replayed
   * from (0: the beginning); checkpoints: written by this run
   */
  readonly stats = { consumed: 0, produced: 0, rebuilt: 0, restoredFrom: 0, resent: 0, clock: 0, routed: 0, notRouted: 0, described: 0, checkpoints: 0 };
  /** `TYPE Method` records found on the log while rebuilding: `uuid/command` → VALUE */
  private readonly described = new Map<string, string>();
  private readonly routes: ReturnType<typeof commandRoutes>;
  private readonly checkpoints: KafkaCheckpoints | undefined;
  private schedule: CheckpointSchedule | undefined;
  /** the last ofa_assets record processed (what a checkpoint is taken after) */
  private lastInput: { ts: number; key: string | null } | null = null;
  /** the batch being processed (stop waits for it) */
  private batch: Promise<void> = Promise.resolve();
  private readonly opts: RuleWorkerOptions;
  private readonly sender: string;
  private out: NewRecord[] = [];
  private tail: Tail | undefined;
  private readonly clock: Clock;
  /** the offset of the last ofa_assets record processed (-1 before any) */
  private processed = -1;
  private stopped = false;
  /** live: rebuilt; broken: a batch failed, its outputs may be unwritten (no checkpoint after that) */
  private live = false;
  private broken = false;
  /** serializes appends (batches and clock ticks keep their order) */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly say: NonNullable<RuleWorkerOptions["report"]>;
  private caughtUp!: () => void;
  private failed!: (e: Error) => void;
  /** resolves when the state is rebuilt (the end offset seen at start is reached) */
  readonly ready: Promise<void>;

  constructor(opts: RuleWorkerOptions) {
    this.opts = opts;
    this.sender = opts.senderUuid ?? `OFL-${opts.program.program}`;
    this.now = opts.now ?? (() => Date.now());
    this.say = opts.report ?? (() => {});
    this.engine = this.newEngine();
    this.clock = new Clock({ periodMs: opts.clockMs ?? 100, key: this.sender, now: this.now, onTick: (r) => this.tick(r) });
    this.routes = commandRoutes(opts.program);
    if (opts.checkpoints !== false) this.checkpoints = new KafkaCheckpoints(opts.log, opts.program);
    this.ready = new Promise((res, rej) => {
      this.caughtUp = res;
      this.failed = rej;
    });
    this.ready.catch(() => {});
  }

  private newEngine(): Engine {
    return new Engine({ program: this.opts.program, senderUuid: this.sender, onOutput: (r) => this.out.push(r) });
  }

  /** Restores the newest usable checkpoint; returns the input offset to replay from (0: none). */
  private async restore(end: number): Promise<number> {
    const cp = await this.checkpoints?.newest(ASSETS_TOPIC, end, (level, m) => this.say(level, m));
    if (!cp) return 0;
    try {
      this.engine.loadState(cp.state);
    } catch (e) {
      this.say("warn", `checkpoint at ${this.checkpoints!.topic} offset ${cp.at} skipped: it does not fit the program: ${(e as Error).message}`);
      this.engine = this.newEngine();
      return 0;
    }
    const extra = cp.extra as { described?: [string, string][] } | undefined;
    for (const [k, v] of extra?.described ?? []) this.described.set(k, v);
    return cp.header.offset;
  }

  /** Rebuilds from the log, produces what a previous run left unwritten, then runs live. */
  async start(): Promise<void> {
    const log = this.opts.log;
    await log.ensureTopics([
      { name: ASSETS_TOPIC, partitions: 1, replication: 1 },
      { name: DEADLETTER_TOPIC, partitions: 1, replication: 1 },
      ...[...new Set([...this.routes.values()].map((r) => r.topic))].map((name) => ({ name, partitions: 1, replication: 1 })),
      ...(this.checkpoints ? [checkpointTopicSpec(this.opts.program.program)] : []),
    ]);
    const end = await log.endOffset(ASSETS_TOPIC);
    const from = await this.restore(end);
    this.stats.restoredFrom = from;
    this.processed = from - 1;
    const deadEnd = await log.endOffset(DEADLETTER_TOPIC);
    let deadMax = -1;
    if (deadEnd > 0) {
      const last = await log.readRange(DEADLETTER_TOPIC, deadEnd - 1, deadEnd);
      const c = last[0]?.headers[CAUSE_HEADER];
      if (c !== undefined) deadMax = Number(c);
    }
    /** outputs recomputed during the rebuild and not (yet) found on the log, by cause */
    const unconfirmed = new Map<number, NewRecord[]>();
    let live = end <= from;
    if (this.opts.checkpoints !== false) this.schedule = new CheckpointSchedule(this.opts.checkpoints ?? {}, 0);
    if (live) this.goLive();

    const onBatch = async (recs: KafkaRecord[]): Promise<void> => {
      const send: KafkaNewRecord[] = [];
      for (const rec of recs) {
        const o = rec.offset;
        if (!live) {
          const cause = rec.headers[CAUSE_HEADER];
          if (cause !== undefined) {
            const u = unconfirmed.get(Number(cause));
            if (u && u.length > 0) {
              u.shift();
              if (u.length === 0) unconfirmed.delete(Number(cause));
            }
          }
        }
        this.out = [];
        const ev = classify(rec);
        if (ev.kind === "command_description") this.described.set(`${ev.key}/${ev.command}`, JSON.stringify((rec.value as Record<string, unknown>)["VALUE"] ?? (rec.value as Record<string, unknown>)["value"]));
        this.engine.process(ev);
        this.processed = o;
        this.lastInput = { ts: rec.ts, key: rec.key };
        this.stats.consumed++;
        for (const r of this.out) {
          const withCause: KafkaNewRecord = { ...r, headers: { [CAUSE_HEADER]: String(o) } };
          if (r.topic === DEADLETTER_TOPIC) {
            if (o > deadMax) send.push(withCause);
          } else if (!live) {
            let u = unconfirmed.get(o);
            if (!u) unconfirmed.set(o, (u = []));
            u.push(withCause);
          } else send.push(withCause);
          const routed = this.route(r, o);
          if (routed) {
            // a command is routed live only: one issued while rebuilding was either routed by the
            // previous run or is stale now (never dispatched late, never twice)
            if (live) send.push(routed), this.stats.routed++;
            else this.stats.notRouted++;
          }
        }
        this.out = [];
        if (!live && o >= end - 1) {
          // rebuilt: what is still unconfirmed never reached the log
          const causes = [...unconfirmed.keys()].sort((a, b) => a - b);
          for (const c of causes) for (const r of unconfirmed.get(c)!) send.push(r), this.stats.resent++;
          unconfirmed.clear();
          this.stats.rebuilt = end;
          live = true;
          if (this.stats.resent > 0) this.say("warn", `${this.stats.resent} output record(s) of the previous run never reached the log: produced now`);
          this.goLive();
        }
      }
      this.schedule?.counted(recs.length);
      if (send.length > 0) await this.append(send);
      // every output of the inputs up to `processed` is acknowledged now (while rebuilding, the
      // unconfirmed ones are not: no checkpoint before the worker is live)
      if (live && this.schedule?.due) this.checkpoint();
    };
    this.tail = await log.tail({
      topic: ASSETS_TOPIC,
      fromOffset: from,
      onBatch: (recs) =>
        (this.batch = this.broken
          ? Promise.resolve()
          : onBatch(recs).catch((e: Error) => {
              // the outputs of this batch may be partly unwritten and the engine is past them: this
              // worker processes nothing more (a restart rebuilds from the log and writes them)
              this.broken = true;
              this.failed(e);
              this.say("error", `cannot produce to the log: ${e.message}; stopping (a restart rebuilds and produces what is missing)`);
              this.opts.onFatal?.(e);
            })),
      onProblem: (m) => this.say("warn", m),
    });
  }

  /**
   * Writes a checkpoint of the state after the last processed input (call only when every output
   * of the inputs up to it is acknowledged). A failed write is a warning: checkpoints are a cache.
   */
  private checkpoint(): void {
    if (!this.checkpoints || !this.schedule?.pending || this.broken) return;
    const started = this.schedule.clock();
    const offset = this.processed + 1;
    const extra = this.described.size > 0 ? { described: [...this.described] } : undefined;
    const rec = this.checkpoints.record(encodeCheckpoint(this.engine, offset, extra), offset, this.lastInput, this.now());
    this.schedule.written(started);
    this.stats.checkpoints++;
    void this.append([rec], true).catch((e: Error) => this.say("warn", `cannot write a checkpoint: ${e.message}`));
  }

  /** The `ofa_cmds`-style record of an accepted, non-shadow command of a routed asset, or null. */
  private route(r: NewRecord, cause: number): KafkaNewRecord | null {
    if (r.topic !== ASSETS_TOPIC || this.routes.size === 0) return null;
    const route = this.routes.get(r.key ?? "");
    const v = r.value as Record<string, unknown> | null;
    if (!route || !v || v["TAG"] !== "Method.Command" || typeof v["ID"] !== "string") return null;
    const command = (v["ID"] as string).slice(0, -4);
    const method = route.methods.get(command);
    if (method === undefined) return null;
    const env = (typeof v["VALUE"] === "string" ? JSON.parse(v["VALUE"] as string) : v["VALUE"]) as { header: { correlation_id: string; shadow?: boolean; verdict?: string }; arguments?: Record<string, string> };
    if (env.header.shadow === true || env.header.verdict === "rejected") return null;
    return {
      topic: route.topic,
      key: r.key,
      ts: r.ts,
      value: { cmd: method, args: env.arguments ?? {} },
      headers: { [CAUSE_HEADER]: String(cause), [CORRELATION_HEADER]: env.header.correlation_id },
    };
  }

  /** Writes the `TYPE Method` records the log does not hold yet (or holds with another text). */
  private describeCommands(): void {
    const recs: KafkaNewRecord[] = [];
    const t = this.now();
    for (const d of commandDescriptions(this.opts.program)) {
      if (this.described.get(`${d.key}/${d.command}`) === JSON.stringify(d.text)) continue;
      const desc = JSON.parse(d.text) as { description: string; arguments: { name: string; description: string }[] };
      recs.push({ topic: ASSETS_TOPIC, key: d.key, ts: t, value: descriptionValue(d.command, desc.description, desc.arguments, t) });
    }
    if (recs.length === 0) return;
    this.stats.described += recs.length;
    void this.append(recs).catch((e: Error) => this.say("warn", `command descriptions: ${e.message}`));
  }

  private goLive(): void {
    this.live = true;
    this.describeCommands();
    if (this.stats.notRouted > 0) this.say("info", `${this.stats.notRouted} routed command(s) found in the rebuilt history: not produced again`);
    this.caughtUp();
    if (!this.stopped) this.clock.start();
  }

  /** Produces a clock record, with the offset processed so far (header `ofl-processed`). */
  private tick(r: NewRecord): void {
    if (this.broken) return; // its header would claim progress that stopped
    this.stats.clock++;
    const clock: KafkaNewRecord = { ...r, headers: { [PROCESSED_HEADER]: String(this.processed) } };
    void this.append([clock], true).catch((e: Error) => this.say("warn", `clock: ${e.message}`));
  }

  private append(recs: KafkaNewRecord[], input = false): Promise<unknown> {
    const p = this.chain.then(() => this.opts.log.append(recs));
    this.chain = p.catch(() => {});
    return p.then(() => {
      if (!input) this.stats.produced += recs.length;
    });
  }

  /** Resolves once the batch in progress and every append issued so far are done. */
  async idle(): Promise<void> {
    await this.batch;
    await this.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.stop();
    await this.tail?.stop();
    await this.idle();
    // a last checkpoint: a graceful restart replays nothing
    if (this.live && !this.broken) {
      this.checkpoint();
      await this.chain;
    }
  }
}

/** The bundled rule worker's entry (build/workers/rule.mjs). */
export function runRuleWorker(program: IrProgram, spec: WorkerSpec): Promise<void> {
  return serveWorker(program, spec, async (log, report, env) => {
    const num = (name: string): number | undefined => (env[name] === undefined || env[name] === "" ? undefined : Number(env[name]));
    const clockMs = num("OFL_CLOCK_MS") ?? 100;
    const everyRecords = num("OFL_CHECKPOINT_RECORDS");
    const everyMs = num("OFL_CHECKPOINT_MS");
    const checkpoints = everyRecords === 0 ? false : { ...(everyRecords ? { everyRecords } : {}), ...(everyMs ? { everyMs } : {}) };
    // exit 1: the supervisor (ofl deploy --local, Docker) restarts the worker, which rebuilds
    const onFatal = (): void => void log.close().finally(() => process.exit(1));
    const w = new RuleWorker({ program, log, clockMs, report, checkpoints, onFatal });
    await w.start();
    await w.ready;
    const { rebuilt, restoredFrom, resent } = w.stats;
    const from = restoredFrom > 0 ? `the checkpoint at offset ${restoredFrom} and the ${rebuilt - restoredFrom} records after it` : `${rebuilt} records`;
    report("info", `rebuilt from ${from}${resent ? ` (${resent} unwritten outputs produced)` : ""}; live`);
    const ignored = (): number => Object.values(w.engine.ignoredCounts()).reduce((a, b) => a + b, 0);
    return { stop: () => w.stop(), status: () => `consumed ${w.stats.consumed}, produced ${w.stats.produced}, checkpoints ${w.stats.checkpoints}, ignored ${ignored()} undeclared data items` };
  });
}
