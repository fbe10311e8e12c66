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
// The worker also writes the clock (a clock record every `clockMs`) so that timers fire while
// devices are silent, exactly as `ofl run` does; replays read those records back.
import type { IrProgram } from "../../compiler/ir/types.js";
import { Engine } from "../engine/index.js";
import type { KafkaLog, KafkaNewRecord, KafkaRecord, Tail } from "../log/kafka.js";
import { ASSETS_TOPIC, DEADLETTER_TOPIC, classify, clockValue, descriptionValue } from "../wire/records.js";
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
}

export class RuleWorker {
  readonly engine: Engine;
  readonly stats = { consumed: 0, produced: 0, rebuilt: 0, resent: 0, clock: 0, routed: 0, notRouted: 0, described: 0 };
  /** `TYPE Method` records found on the log while rebuilding: `uuid/command` → VALUE */
  private readonly described = new Map<string, string>();
  private readonly routes: ReturnType<typeof commandRoutes>;
  private readonly opts: RuleWorkerOptions;
  private readonly sender: string;
  private out: NewRecord[] = [];
  private tail: Tail | undefined;
  private clock: ReturnType<typeof setInterval> | undefined;
  private lastClock = 0;
  /** the offset of the last ofa_assets record processed (-1 before any) */
  private processed = -1;
  private stopped = false;
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
    this.engine = new Engine({ program: opts.program, senderUuid: this.sender, onOutput: (r) => this.out.push(r) });
    this.routes = commandRoutes(opts.program);
    this.ready = new Promise((res, rej) => {
      this.caughtUp = res;
      this.failed = rej;
    });
    this.ready.catch(() => {});
  }

  /** Rebuilds from the log, produces what a previous run left unwritten, then runs live. */
  async start(): Promise<void> {
    const log = this.opts.log;
    await log.ensureTopics([
      { name: ASSETS_TOPIC, partitions: 1, replication: 1 },
      { name: DEADLETTER_TOPIC, partitions: 1, replication: 1 },
      ...[...new Set([...this.routes.values()].map((r) => r.topic))].map((name) => ({ name, partitions: 1, replication: 1 })),
    ]);
    const end = await log.endOffset(ASSETS_TOPIC);
    const deadEnd = await log.endOffset(DEADLETTER_TOPIC);
    let deadMax = -1;
    if (deadEnd > 0) {
      const last = await log.readRange(DEADLETTER_TOPIC, deadEnd - 1, deadEnd);
      const c = last[0]?.headers[CAUSE_HEADER];
      if (c !== undefined) deadMax = Number(c);
    }
    /** outputs recomputed during the rebuild and not (yet) found on the log, by cause */
    const unconfirmed = new Map<number, NewRecord[]>();
    let live = end === 0;
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
      if (send.length > 0) await this.append(send);
    };
    this.tail = await log.tail({
      topic: ASSETS_TOPIC,
      fromOffset: 0,
      onBatch: (recs) => onBatch(recs).catch((e: Error) => {
        this.failed(e);
        throw e;
      }),
      onProblem: (m) => this.say("warn", m),
    });
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
    this.describeCommands();
    if (this.stats.notRouted > 0) this.say("info", `${this.stats.notRouted} routed command(s) found in the rebuilt history: not produced again`);
    this.caughtUp();
    const clockMs = this.opts.clockMs ?? 100;
    if (clockMs > 0 && !this.clock && !this.stopped) {
      this.clock = setInterval(() => this.tick(), clockMs);
      this.clock.unref?.();
    }
  }

  /** Appends a clock record (never going backwards). */
  tick(): void {
    const t = Math.max(this.now(), this.lastClock + 1);
    this.lastClock = t;
    this.stats.clock++;
    const clock: KafkaNewRecord = { topic: ASSETS_TOPIC, key: this.sender, ts: t, value: clockValue(t), headers: { [PROCESSED_HEADER]: String(this.processed) } };
    void this.append([clock], true).catch((e: Error) => this.say("warn", `clock: ${e.message}`));
  }

  private append(recs: KafkaNewRecord[], input = false): Promise<unknown> {
    const p = this.chain.then(() => this.opts.log.append(recs));
    this.chain = p.catch(() => {});
    return p.then(() => {
      if (!input) this.stats.produced += recs.length;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.clock) clearInterval(this.clock);
    await this.tail?.stop();
    await this.chain;
  }
}

/** The bundled rule worker's entry (build/workers/rule.mjs). */
export function runRuleWorker(program: IrProgram, spec: WorkerSpec): Promise<void> {
  return serveWorker(program, spec, async (log, report, env) => {
    const clockMs = env["OFL_CLOCK_MS"] === undefined ? 100 : Number(env["OFL_CLOCK_MS"]);
    const w = new RuleWorker({ program, log, clockMs, report });
    await w.start();
    await w.ready;
    report("info", `rebuilt from ${w.stats.rebuilt} records${w.stats.resent ? ` (${w.stats.resent} unwritten outputs produced)` : ""}; live`);
    const ignored = (): number => Object.values(w.engine.ignoredCounts()).reduce((a, b) => a + b, 0);
    return { stop: () => w.stop(), status: () => `consumed ${w.stats.consumed}, produced ${w.stats.produced}, ignored ${ignored()} undeclared data items` };
  });
}
