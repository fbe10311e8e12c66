// A live plant on one machine (`ofl run`): the embedded runtime over the durable log, the
// connectors of every asset's sources, the clock, and command dispatch.
//
// - Records from connectors are queued and ingested in small batches (each batch durable).
// - The clock appends a clock record every `clockMs` so timers fire when devices are silent.
// - Every accepted, non-shadow command in an appended batch (rule-issued or operator) is
//   dispatched once through the connector bound to it; the device's answer is appended as a
//   `<cmd>_RESULT` record. Correlation ids that already have a result on the log are never
//   dispatched again; a command found without a result at start-up (the process stopped
//   between issuing and answering) is marked failed, not re-sent: at most once, fail safe.
// - Durability for sources that acknowledge: `ctx.emit` returns a promise that resolves once
//   the batch holding the records is on disk (fsynced), and rejects if that append failed. A
//   source acknowledges its input (MQTT PUBACK) only then.
// - A failed append (disk full, read-only folder, I/O error) is fatal: the plant stops taking
//   input at once (nothing more is acknowledged), stops its connectors and clock, and calls
//   `onFatal`; the log keeps whole batches only (the failed batch rolled back).
import type { IrAsset, IrBinding, IrModel, IrProgram } from "../../compiler/ir/types.js";
import { connectorFor } from "../connectors/index.js";
import type { Connector } from "../connectors/types.js";
import { EmbeddedRuntime } from "../embedded/runtime.js";
import type { CheckpointOptions } from "../embedded/checkpointing.js";
import type { CheckpointStore } from "../log/checkpoints.js";
import { SqliteLog } from "../log/sqlite.js";
import { Retention } from "../embedded/retention.js";
import type { Log } from "../log/types.js";
import { Clock } from "../wire/clock.js";
import { ASSETS_TOPIC, classify, resultValue } from "../wire/records.js";
import type { CommandEnvelope, LogRecord, NewRecord } from "../wire/types.js";

export interface PlantOptions {
  program: IrProgram;
  log: Log;
  /** clock record period, ms (0: no clock) */
  clockMs?: number;
  /** wall clock (ms); injectable for tests */
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  /** progress lines for the terminal */
  report?: (level: "info" | "warn" | "error", message: string) => void;
  /** start connectors (false: a plant fed only through `ingest`, for tests and replays) */
  connect?: boolean;
  /** the data folder: connectors keep files there (the OPC UA PKI); see ConnectorContext.dataDir */
  dataDir?: string;
  /**
   * Called once when an append fails (disk full, read-only folder, I/O error): the plant has
   * already stopped taking input; the caller must stop the process (see `ofl run`, exit 70).
   */
  onFatal?: (error: AppendFailure) => void;
  /** correlation ids never to dispatch (commands removed from the log by `ofl run --repair`) */
  retiredCorrelationIds?: Iterable<string>;
  /** checkpoints beside the log (the plant adds its commands awaiting an answer to each) */
  checkpoints?: Omit<CheckpointOptions, "extra">;
  /**
   * Retention window, ms (`ofl run --retain`): records older than it (by stream time) move from
   * the live log into the archive (runtime/embedded/retention.ts). Needs `checkpoints` and a SqliteLog.
   */
  retainMs?: number;
  /** how often (wall ms) retention looks for records to move (default 10 s) */
  retentionCheckMs?: number;
}

/** An append to the log failed: nothing of the batch is on the log, nothing of it was acknowledged. */
export class AppendFailure extends Error {
  constructor(
    override readonly cause: Error,
    readonly records: number,
  ) {
    super(describeAppendFailure(cause, records));
    this.name = "AppendFailure";
  }
}

/** A clear sentence for an append failure (SQLite's codes named in words). */
export function describeAppendFailure(e: Error, records: number): string {
  const code = (e as { code?: string }).code ?? "";
  const what =
    code === "SQLITE_FULL"
      ? "the disk is full"
      : code.startsWith("SQLITE_READONLY") || code === "EACCES" || code === "EROFS"
        ? "the data folder is read-only"
        : code.startsWith("SQLITE_IOERR")
          ? "an I/O error"
          : code.startsWith("SQLITE_CORRUPT")
            ? "the log file is corrupt"
            : "an error";
  return `appending ${records} record${records === 1 ? "" : "s"} to the log failed: ${what} (${code ? code + ": " : ""}${e.message})`;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Attached {
  asset: IrAsset;
  kind: string;
  connector: Connector;
  /** command name → its binding in this source */
  commands: Map<string, IrBinding>;
}

export interface CommandOutcome {
  correlationId: string;
  status: "completed" | "failed" | "rejected" | "shadow" | "pending";
  reason?: string;
  result?: unknown;
}

export class Plant {
  readonly runtime: EmbeddedRuntime;
  readonly program: IrProgram;
  private readonly attached: Attached[] = [];
  private queue: NewRecord[] = [];
  private flushScheduled = false;
  private readonly clock: Clock;
  private readonly answered = new Set<string>();
  /** what else is stored with each checkpoint, by name (checkpointExtra) */
  private readonly extras = new Map<string, () => unknown>();
  /** dispatched commands without an answer yet (stored with checkpoints) */
  private readonly inFlight = new Map<string, { key: string; command: string }>();
  private readonly waiting = new Map<string, (o: CommandOutcome) => void>();
  private readonly outcomes = new Map<string, CommandOutcome>();
  private readonly listeners = new Set<(recs: LogRecord[]) => void>();
  private readonly now: () => number;
  private readonly say: NonNullable<PlantOptions["report"]>;
  private stopped = false;
  /** sources waiting for the next flush to be durable */
  private waiters: Waiter[] = [];
  /** set once an append failed: the plant takes no more input */
  private failure: AppendFailure | undefined;
  /** retention (PlantOptions.retainMs), and the run in progress */
  readonly retention: Retention | undefined;
  private retaining: Promise<number> | undefined;
  private retentionTimer: ReturnType<typeof setInterval> | undefined;
  /** counters for the status line */
  readonly stats = { records: 0, commands: 0, rejected: 0, dispatched: 0, failed: 0, last: [] as string[] };

  constructor(private readonly opts: PlantOptions) {
    this.program = opts.program;
    this.now = opts.now ?? (() => Date.now());
    this.say = opts.report ?? (() => {});
    this.clock = new Clock({ periodMs: opts.clockMs ?? 100, key: `OFL-${this.program.program}`, now: this.now, onTick: (r) => this.enqueue([r]) });
    this.runtime = new EmbeddedRuntime({
      program: opts.program,
      log: opts.log,
      ...(opts.checkpoints ? { checkpoints: { report: (l, m) => this.say(l, m), ...opts.checkpoints, extra: () => this.checkpointExtras() } } : {}),
    });
    for (const id of opts.retiredCorrelationIds ?? []) this.answered.add(id);
    this.recoverUnanswered();
    if (opts.retainMs !== undefined) {
      if (!opts.checkpoints || !(opts.log instanceof SqliteLog)) throw new Error("retention needs checkpoints and a log on disk");
      this.retention = new Retention({ retainMs: opts.retainMs, log: opts.log, store: opts.checkpoints.store, program: opts.program, report: (l, m) => this.say(l, m) });
    }
  }

  /**
   * Moves what is older than the retention window into the archive now (also done every
   * `retentionCheckMs`); resolves with the records moved. A failure is reported, never fatal:
   * the records stay on the live log.
   */
  retain(): Promise<number> {
    if (!this.retention || this.stopped) return Promise.resolve(0);
    this.retaining ??= this.retention
      .run(this.runtime.engine.streamTime)
      .catch((e: Error) => {
        this.say("warn", `retention: cannot archive old records (they stay on the live log): ${e.message}`);
        return 0;
      })
      .finally(() => (this.retaining = undefined));
    return this.retaining;
  }

  /**
   * Commands on the log without a result: marked failed, never re-sent. Opened from a
   * checkpoint: the commands in flight at the checkpoint plus those of the tail after it.
   */
  private recoverUnanswered(): void {
    const issued: { key: string; command: string; id: string; shadow: boolean }[] = [];
    const from = this.runtime.restoredFrom ?? 0;
    const extra = this.runtime.restoredExtra as { inFlight?: { id: string; key: string; command: string }[] } | undefined;
    if (from > 0) for (const c of extra?.inFlight ?? []) issued.push({ key: c.key, command: c.command, id: c.id, shadow: false });
    for (const r of this.opts.log.read({ topic: ASSETS_TOPIC, fromOffset: from })) {
      const ev = classify(r);
      if (ev.kind === "command_result") this.answered.add(ev.result.correlation_id);
      else if (ev.kind === "command" || ev.kind === "operator_command")
        issued.push({ key: ev.key, command: ev.command, id: ev.envelope.header.correlation_id, shadow: ev.envelope.header.shadow === true });
    }
    const lost = issued.filter((c) => !c.shadow && !this.answered.has(c.id));
    if (lost.length === 0) return;
    const t = this.now();
    this.append(
      lost.map((c) => this.result(c.key, c.command, { correlation_id: c.id, status: "failed", reason: "interrupted: the runtime stopped before the device answered; not re-sent" }, t)),
    );
    this.say("warn", `${lost.length} command${lost.length === 1 ? "" : "s"} issued before the last stop had no answer: marked failed, not re-sent`);
  }

  /** The last records of an asset (key) on the log, oldest first: looks at the last 20 × `limit` records. */
  history(key: string, limit: number): LogRecord[] {
    const end = this.opts.log.endOffset(ASSETS_TOPIC);
    const out: LogRecord[] = [];
    for (const r of this.opts.log.read({ topic: ASSETS_TOPIC, fromOffset: Math.max(0, end - 20 * limit) })) if (r.key === key) out.push(r);
    return out.slice(-limit);
  }

  /** Starts the connectors and the clock. */
  async start(): Promise<void> {
    if (this.opts.connect !== false) {
      const models = new Map<string, IrModel>(this.program.models.map((m) => [m.name, m]));
      for (const asset of this.program.assets) {
        const model = models.get(asset.model)!;
        for (const source of asset.sources) {
          const factory = await connectorFor(source.kind);
          if (!factory) continue;
          const connector = factory({
            asset,
            model,
            source,
            emit: (recs) => this.enqueueDurable(recs),
            history: (limit) => this.history(asset.uuid, limit),
            now: this.now,
            dataDir: this.opts.dataDir,
            arg: (v) => resolveArg(v, this.opts.env ?? process.env),
            log: (level, message) => this.say(level, `${asset.name} (${source.kind}): ${message}`),
          });
          const commands = new Map(source.bindings.filter((b) => b.direction === "command").map((b) => [b.target, b]));
          this.attached.push({ asset, kind: source.kind, connector, commands });
        }
      }
      await Promise.all(
        this.attached.map((a) =>
          a.connector.start().catch((e: Error) => this.say("error", `${a.asset.name} (${a.kind}): cannot start: ${e.message}`)),
        ),
      );
    }
    this.clock.start();
    if (this.retention) {
      void this.retain();
      this.retentionTimer = setInterval(() => void this.retain(), this.opts.retentionCheckMs ?? 10_000);
      this.retentionTimer.unref?.();
    }
  }

  /** Queues input records; they are ingested together on the next turn of the event loop. */
  enqueue(recs: NewRecord[]): void {
    if (this.stopped || this.failure) return;
    for (const r of recs) this.queue.push(r);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Queues input records like `enqueue`, and resolves once the batch holding them is durable
   * (rejects if that append failed, or the plant stopped or failed before it). A source that
   * acknowledges its input acknowledges only on resolution.
   */
  enqueueDurable(recs: NewRecord[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(new Error("the plant has stopped"));
    this.enqueue(recs);
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Whether an append failed (the plant then takes no more input). */
  get failed(): AppendFailure | undefined {
    return this.failure;
  }

  /** Ingests what is queued now (nothing once an append failed). */
  flush(): LogRecord[] {
    this.flushScheduled = false;
    const waiters = this.waiters;
    this.waiters = [];
    if (this.failure) {
      for (const w of waiters) w.reject(this.failure);
      return [];
    }
    const batch = this.queue;
    this.queue = [];
    let appended: LogRecord[];
    try {
      appended = batch.length === 0 ? [] : this.ingestBatch(batch);
    } catch (e) {
      const f = e instanceof AppendFailure ? e : new AppendFailure(e as Error, batch.length);
      for (const w of waiters) w.reject(f);
      this.fail(f);
      return [];
    }
    for (const w of waiters) w.resolve();
    if (appended.length > 0) this.afterIngest(appended);
    return appended;
  }

  /** Stops taking input after a failed append: the clock stops, connectors stop (without flushing), `onFatal` is told. */
  private fail(f: AppendFailure): void {
    if (this.failure) return;
    this.failure = f;
    this.queue = [];
    this.clock.stop();
    this.say("error", f.message);
    for (const a of this.attached) void a.connector.stop().catch(() => {});
    this.opts.onFatal?.(f);
  }

  /** The durable append: throws AppendFailure when the log did not take the batch. */
  private ingestBatch(batch: NewRecord[]): LogRecord[] {
    try {
      return this.runtime.ingest(batch);
    } catch (e) {
      throw new AppendFailure(e as Error, batch.length);
    }
  }

  private append(batch: NewRecord[]): LogRecord[] {
    const appended = this.ingestBatch(batch);
    this.afterIngest(appended);
    return appended;
  }

  /** Counting, dispatch and live listeners for a durable batch. */
  private afterIngest(appended: LogRecord[]): void {
    this.stats.records += appended.length;
    this.afterAppend(appended);
    for (const l of this.listeners) l(appended);
  }

  /**
   * Stores `save()` under `name` with every checkpoint from now on; it must describe the log up to
   * the records the plant last handed to onAppend listeners (checkpoints are written between
   * batches). What the checkpoint the plant opened from stored under that name: `restored(name)`.
   * Returns a function that stops it.
   */
  checkpointExtra(name: string, save: () => unknown): () => void {
    if (name === "inFlight") throw new Error("checkpointExtra: 'inFlight' is the plant's own");
    this.extras.set(name, save);
    return () => this.extras.delete(name);
  }

  /** What the checkpoint the plant opened from stored under `name` (undefined: no checkpoint, or nothing there). */
  restored(name: string): unknown {
    return (this.runtime.restoredExtra as Record<string, unknown> | undefined)?.[name];
  }

  /** Where the plant's checkpoints are (undefined: it writes none). */
  get checkpoints(): CheckpointStore | undefined {
    return this.opts.checkpoints?.store;
  }

  private checkpointExtras(): Record<string, unknown> {
    const out: Record<string, unknown> = { inFlight: [...this.inFlight].map(([id, c]) => ({ id, ...c })) };
    for (const [name, save] of this.extras) out[name] = save();
    return out;
  }

  /** Subscribes to every appended record (the dashboard's live feed). */
  onAppend(listener: (recs: LogRecord[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Finds the commands of a batch and dispatches the accepted ones. */
  private afterAppend(appended: LogRecord[]): void {
    const rejected = new Map<string, string | undefined>();
    const commands: { rec: LogRecord; command: string; env: CommandEnvelope }[] = [];
    for (const r of appended) {
      const ev = classify(r);
      if (ev.kind === "command_result") {
        this.answered.add(ev.result.correlation_id);
        this.inFlight.delete(ev.result.correlation_id);
        if (ev.result.status === "rejected") rejected.set(ev.result.correlation_id, ev.result.reason);
        this.settle(ev.result.correlation_id, { correlationId: ev.result.correlation_id, status: ev.result.status, reason: ev.result.reason, result: ev.result.result });
      } else if (ev.kind === "command" || ev.kind === "operator_command") commands.push({ rec: r, command: ev.command, env: ev.envelope });
    }
    for (const c of commands) {
      const id = c.env.header.correlation_id;
      this.stats.commands++;
      const asset = this.program.assets.find((a) => a.uuid === c.rec.key)?.name ?? c.rec.key;
      const verdict = rejected.has(id) ? "rejected" : c.env.header.shadow === true ? "shadow" : "accepted";
      this.stats.last = [...this.stats.last, `${asset}.${c.command}() ${verdict}${c.env.header.rule && c.env.header.rule !== "operator" ? ` by ${c.env.header.rule}` : ""}`].slice(-3);
      if (rejected.has(id)) {
        this.stats.rejected++;
        continue;
      }
      if (c.env.header.shadow === true) {
        this.settle(id, { correlationId: id, status: "shadow" });
        continue;
      }
      if (this.answered.has(id)) continue;
      this.answered.add(id); // never twice, whatever happens next
      this.inFlight.set(id, { key: c.rec.key ?? "", command: c.command });
      this.dispatch(c.rec.key ?? "", c.command, c.env);
    }
  }

  private dispatch(assetUuid: string, command: string, env: CommandEnvelope): void {
    const id = env.header.correlation_id;
    const asset = this.program.assets.find((a) => a.uuid === assetUuid);
    const target = this.attached.find((a) => a.asset.uuid === assetUuid && a.commands.has(command));
    const answer = (status: "completed" | "failed", reason?: string, result?: unknown): void => {
      if (this.stopped) return;
      if (status === "failed") this.stats.failed++;
      const res: { correlation_id: string; status: "completed" | "failed"; reason?: string; result?: unknown } = { correlation_id: id, status };
      if (reason !== undefined) res.reason = reason;
      if (result !== undefined) res.result = result;
      this.enqueue([this.result(assetUuid, command, res, this.now())]);
    };
    if (!asset || !target) {
      answer("failed", "no device binding: the command is logged only");
      return;
    }
    const model = this.program.models.find((m) => m.name === asset.model)!;
    const params = model.commands.find((c) => c.name === command)?.params ?? [];
    this.stats.dispatched++;
    target.connector
      .dispatch({ command, args: env.arguments ?? {}, params, correlationId: id, binding: target.commands.get(command)! })
      .then(
        (r) => answer(r.status, r.reason, r.result),
        (e: Error) => answer("failed", e.message),
      );
  }

  private result(key: string, command: string, result: { correlation_id: string; status: "completed" | "failed" | "rejected"; reason?: string; result?: unknown }, t: number): NewRecord {
    return { topic: ASSETS_TOPIC, key, ts: t, value: resultValue(command, result, t) };
  }

  private settle(id: string, o: CommandOutcome): void {
    this.outcomes.set(id, o);
    if (this.outcomes.size > 10_000) this.outcomes.delete(this.outcomes.keys().next().value!);
    const w = this.waiting.get(id);
    if (w) {
      this.waiting.delete(id);
      w(o);
    }
  }

  /** Resolves with a command's outcome: rejected at once, else the device's answer (or pending after timeoutMs). */
  outcome(id: string, timeoutMs = 10_000): Promise<CommandOutcome> {
    const known = this.outcomes.get(id);
    if (known) return Promise.resolve(known);
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        done({ correlationId: id, status: "pending", reason: `no answer from the device within ${timeoutMs} ms` });
      }, timeoutMs);
      this.waiting.set(id, (o) => {
        clearTimeout(timer);
        done(o);
      });
    });
  }

  connectorStatus(): { asset: string; kind: string; connected: boolean; detail: string }[] {
    return this.attached.map((a) => ({ asset: a.asset.name, kind: a.kind, ...a.connector.status() }));
  }

  /** Stops the connectors and the clock, ingests what is queued, and closes the log. */
  async stop(): Promise<void> {
    this.clock.stop();
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.retaining; // a step in progress finishes (its index and the log agree)
    await Promise.all(this.attached.map((a) => a.connector.stop().catch(() => {})));
    this.flush();
    this.stopped = true;
    for (const w of this.waiters.splice(0)) w.reject(new Error("the plant has stopped"));
    this.runtime.close();
  }
}

/** A source or binding argument: literals as they are, `{ env }` from the environment. */
export function resolveArg(v: unknown, env: NodeJS.ProcessEnv): string | number | boolean | null | undefined {
  if (v !== null && typeof v === "object" && "env" in v) return env[(v as { env: string }).env];
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  return undefined;
}
