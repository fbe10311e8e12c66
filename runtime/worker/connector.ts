// A connector worker: one asset source (simulate, OPC UA, MQTT) over Kafka. It produces the
// source's telemetry and availability records to `ofa_assets` (idempotent producer, key = asset
// uuid) and carries the accepted commands the rule worker issues for this source's command
// bindings to the device, at most once per correlation id, producing `<cmd>_RESULT` records.
//
// At most once: on start it reads its partition of `ofa_assets` to the end offset E seen at
// start, collecting every correlation id with a result. A command of its own found there without
// a result (the process stopped between issuing and answering) is answered `failed`, never
// re-sent: fail safe, as `ofl run` does (runtime/run/plant.ts). Live, an id is marked dispatched
// before the device is contacted. Commands the engine rejected (`header.verdict` = rejected) or
// issued in shadow mode are never dispatched. Operator commands (`ofl send`) carry no verdict:
// the rule worker checks their interlock after they are on the topic, so one waits until a
// clock record of the rule worker says it has processed that offset (`ofl-processed`); a
// rejection would be on the topic before that clock record, so without one it is dispatched.
//
// Never late: a command is dispatched only while the input it was decided on is younger than
// `commandMaxAgeMs` (the rule worker's `ofl-input-time` header; an operator command's own Kafka
// time); an older one is answered `failed` ("stale", runtime/worker/stale.ts). A rule worker that
// rebuilds over history it had not decided (a first start over records already there, a new
// program version) writes the commands that history calls for: none of them reaches the machine.
//
// Write-ahead: a command is sent to the device only once a checkpoint naming it open (the
// position after it) is on the log (runtime/log/kafkaCheckpoints.ts, `ConnectorCheckpoints`:
// the offset read, the commands open there, the operator commands waiting for a verdict; also
// written while live when its commands changed, else every 100,000 records or 10 min, and when
// it stops). So the newest checkpoint is exact: a restart, after a SIGTERM or a SIGKILL, answers
// its open commands `interrupted` unless a result came, and sends the ones after it (if still
// recent): none is sent twice, none decided while the worker was down is lost. The start-up read
// begins there, and for results alone a little more than `commandMaxAgeMs` before it (a command
// written twice, seconds apart, is never sent twice; an older one is stale anyway); without a
// checkpoint, at offset 0, and every command without a result is answered interrupted.
//
// One worker per source: a run starts by appending a claim of its source to the checkpoint topic
// and follows that topic; a newer claim supersedes it: it sends, produces and checkpoints nothing
// more and stops (`SupersededError`: the bundled worker exits 3, which `ofl deploy --local` does
// not restart). A send waits until that read has passed its write-ahead checkpoint, so a command
// whose checkpoint landed after a newer claim is never sent by the older run (the newer one reads
// the command and sends it, or answers it), and a checkpoint written after a newer claim is not
// trusted by the next start (`ConnectorCheckpoints.newest`).
import { randomUUID } from "node:crypto";
import type { IrAsset, IrBinding, IrModel, IrProgram, IrSource } from "../../compiler/ir/types.js";
import { connectorFor } from "../connectors/index.js";
import type { Connector } from "../connectors/types.js";
import { partitionOfKey, type KafkaLog, type KafkaNewRecord, type KafkaRecord, type Tail } from "../log/kafka.js";
import { ConnectorCheckpoints, connectorCheckpointTopicSpec, type ConnectorPosition } from "../log/kafkaCheckpoints.js";
import { resolveArg } from "../run/plant.js";
import { ASSETS_TOPIC, classify, durationText, resultValue } from "../wire/records.js";
import type { CommandResult, NewRecord } from "../wire/types.js";
import { commandMaxAgeFromEnv, exitOnFatal, readProgress, serveWorker, SupersededError, type WorkerSpec } from "./main.js";
import { INPUT_TIME_HEADER, PROCESSED_HEADER } from "./headers.js";
import { StaleCommands } from "./stale.js";

/** A command to send: what, with which arguments, decided on an input received at `received` (ms). */
type Queued = { command: string; args: Record<string, string>; received: number };

/** how long a send waits for the read of the checkpoint topic to pass its write-ahead checkpoint (no newer claim before it) */
const CLAIMS_WAIT_MS = 10_000;
/** ConnectorWorkerOptions.checkpointMs's default */
const CHECKPOINT_MS = 60_000;
/**
 * A periodic checkpoint is written when the worker's commands changed since the last (one read,
 * dispatched or answered), or the read moved this many records or this long on: a plant's
 * connectors share one checkpoint topic, and most of them see a command rarely.
 */
const CHECKPOINT_RECORDS = 100_000;
const CHECKPOINT_MAX_MS = 10 * 60_000;

/** Whether a periodic checkpoint is due: the read `moved` records since the last, the commands changed or not, `sinceMs` after it. */
export function periodicCheckpointDue(moved: number, commandsChanged: boolean, sinceMs: number): boolean {
  return moved > 0 && (commandsChanged || moved >= CHECKPOINT_RECORDS || sinceMs >= CHECKPOINT_MAX_MS);
}
/** a restart from a checkpoint reads the results from `commandMaxAgeMs` and this much more back (hosts' clocks differ) */
const RESULTS_MARGIN_MS = 60_000;

export interface ConnectorWorkerOptions {
  program: IrProgram;
  /** the asset's name */
  asset: string;
  /** index of the source among the asset's sources */
  source: number;
  log: KafkaLog;
  env?: NodeJS.ProcessEnv;
  /** where the connector keeps its files (the OPC UA PKI): `OFL_DATA`, else `.ofl/data` under the working directory */
  dataDir?: string;
  now?: () => number;
  /**
   * A command is dispatched only if the input it was decided on was received less than this long
   * ago (ms; `OFL_COMMAND_MAX_AGE_MS`, default 60,000; 0: no bound); an older one is answered
   * `failed`, stale, and never sent.
   */
  commandMaxAgeMs?: number;
  /** wall time between checkpoints while live (ms; default 60,000; 0: none, and none is read: the start-up reads from offset 0) */
  checkpointMs?: number;
  /** how long a send waits for its write-ahead checkpoint to be read back (no newer claim before it) before the worker stops (ms; default 10,000) */
  claimsWaitMs?: number;
  report?: (level: "info" | "warn" | "error", message: string) => void;
  /**
   * after records could not be produced: it stopped taking any (the bundled worker exits, its
   * supervisor restarts it); a SupersededError: another worker claimed the source (the bundled
   * worker exits 3, not restarted)
   */
  onFatal?: (e: Error) => void;
}

export class ConnectorWorker {
  readonly asset: IrAsset;
  readonly model: IrModel;
  readonly source: IrSource;
  /** refused: records not produced because a produce failed (that batch's and every later one's) */
  readonly stats = { produced: 0, dispatched: 0, failed: 0, interrupted: 0, refused: 0 };
  /** correlation ids this worker dispatched, in order (tests) */
  readonly dispatchedIds: string[] = [];
  private connector: Connector | undefined;
  private readonly commands: Map<string, IrBinding>;
  /**
   * ids with a result (read on the log, or being given by this run) and when (ms): forgotten once
   * older than commandMaxAgeMs + 1 min, as a restart would not read them either (a command that
   * old is stale: it is never dispatched, known or not)
   */
  private readonly answered = new Map<string, number>();
  private queue: NewRecord[] = [];
  private flushing = false;
  /** settles when the batch being queued is produced (see enqueue) */
  private produced: Promise<void> = Promise.resolve();
  private chain: Promise<unknown> = Promise.resolve();
  private tail: Tail | undefined;
  private stopped = false;
  /** a produce failed: nothing more is produced or dispatched (a restart goes on from the log and the device) */
  private broken = false;
  private readonly now: () => number;
  /** commands answered `failed` because their input was older than commandMaxAgeMs */
  readonly stale: StaleCommands;
  private readonly say: NonNullable<ConnectorWorkerOptions["report"]>;
  private caughtUp!: () => void;
  /** the start-up read: where it began and the partition's end seen at start (status lines) */
  private startFrom = 0;
  private startEnd = -1;
  /** the next offset to read, and the record before it */
  private readTo = 0;
  private lastRead: { ts: number; key: string | null } | null = null;
  private partition = 0;
  /** the rule worker's `ofl-processed` seen so far */
  private processed = -1;
  /** operator commands for this source whose verdict the rule worker has not given yet */
  private readonly operator = new Map<string, { command: string; args: Record<string, string>; offset: number; received: number }>();
  /** ids this run dispatched or answers, whose result it has not read back yet (open in a checkpoint) */
  private readonly pending = new Map<string, string>();
  /** commands to send, each once a checkpoint naming it open is on the log (and the device's connector has started) */
  private toSend: (Queued & { id: string })[] = [];
  private deviceReady = false;
  /** the write-ahead checkpoints and the sends after them, in order */
  private sending: Promise<void> = Promise.resolve();
  private readonly checkpoints: ConnectorCheckpoints | undefined;
  /**
   * the read of the checkpoint topic after this run's claim (a newer claim supersedes it), opened
   * beside the start-up read (joining its group may take the broker's group delay); a send waits
   * for it (claimsPast)
   */
  private claims: Promise<Tail | undefined> | undefined;
  /** the next offset of the checkpoint topic that read will deliver */
  private claimsRead = 0;
  private claimWaiters: { offset: number; resolve: () => void }[] = [];
  /** the offset of the newer claim that superseded this run */
  supersededBy: number | undefined;
  /** while live: checkpoints, and forgetting old answered ids */
  private liveTimer: ReturnType<typeof setInterval> | undefined;
  /** the offset of the last checkpoint written */
  private checkpointed = -1;
  /** when it was written (ms), and whether the commands changed since */
  private checkpointedAt = 0;
  private commandsChanged = false;
  /** checkpoints written (tests) */
  checkpointsWritten = 0;
  /** where the start-up read began: offset 0, or a checkpoint (tests, status) */
  restoredFrom: number | undefined;
  /** resolves when the commands on the log at start have been read */
  readonly ready: Promise<void>;

  constructor(private readonly opts: ConnectorWorkerOptions) {
    const asset = opts.program.assets.find((a) => a.name === opts.asset);
    if (!asset) throw new Error(`no asset ${opts.asset} in program ${opts.program.program}`);
    const source = asset.sources[opts.source];
    if (!source) throw new Error(`asset ${opts.asset} has no source #${opts.source}`);
    this.asset = asset;
    this.source = source;
    this.model = opts.program.models.find((m) => m.name === asset.model)!;
    this.commands = new Map(source.bindings.filter((b) => b.direction === "command").map((b) => [b.target, b]));
    this.now = opts.now ?? (() => Date.now());
    this.stale = new StaleCommands(opts.commandMaxAgeMs, this.now, "not dispatched (each answered failed)", (m) => this.say("warn", m));
    if ((opts.checkpointMs ?? CHECKPOINT_MS) > 0) this.checkpoints = new ConnectorCheckpoints(opts.log, opts.program.program, asset.uuid, opts.source, randomUUID());
    this.say = opts.report ?? (() => {});
    this.ready = new Promise((r) => (this.caughtUp = r));
  }

  async start(): Promise<void> {
    const log = this.opts.log;
    await log.ensureTopics([{ name: ASSETS_TOPIC, partitions: 1, replication: 1 }, ...(this.checkpoints ? [connectorCheckpointTopicSpec(this.opts.program.program)] : [])]);
    // everything of this asset (its commands, results, and the clock records of the rule worker
    // that decides it) is on the partition its uuid hashes to
    const partition = (this.partition = partitionOfKey(this.asset.uuid, await log.partitions(ASSETS_TOPIC)));
    const end = await log.endOffset(ASSETS_TOPIC, partition);
    if (this.checkpoints) {
      // the source is this run's from its claim on: an older run still going (a supervisor's
      // mistake, a host cut off) stops before its next send; its checkpoints after the claim are
      // not trusted (the start reads those before it). A read of the topic that cannot be opened
      // stops the worker: it could not know it was superseded
      const claimed = await this.checkpoints.claim(this.now());
      this.claimsRead = claimed + 1;
      this.claims = log
        .tail({ topic: this.checkpoints.topic, fromOffset: claimed + 1, headerOnly: true, onBatch: (recs) => this.readClaims(recs), onProblem: (m) => this.say("warn", m) })
        .catch((e: Error) => {
          if (!this.broken) {
            this.broken = true;
            this.say("error", `cannot follow ${this.checkpoints!.topic} for another worker's claim of the source: ${e.message}; stopping (a restart claims again)`);
            this.opts.onFatal?.(e);
          }
          return undefined;
        });
    }
    const issued = new Map<string, { command: string }>();
    /** commands the previous run did not send (after its newest checkpoint): sent at the end of the read, if still recent */
    const owed = new Map<string, Queued>();
    // from a checkpoint: its commands resume at its offset; the results from a little more than
    // commandMaxAgeMs back (with no bound on the age, a command of any age could come again: offset 0)
    const cp = this.checkpoints && this.stale.maxAgeMs > 0 ? await this.checkpoints.newest(ASSETS_TOPIC, partition, end, (l, m) => this.say(l, m)) : undefined;
    let from = 0;
    const resume = cp?.offset ?? 0;
    if (cp) {
      this.processed = cp.processed;
      for (const c of cp.open) issued.set(c.id, { command: c.command });
      for (const { id, ...o } of cp.operator) this.operator.set(id, o);
      const since = (await log.offsetsAt(ASSETS_TOPIC, this.now() - this.remembersMs)).get(partition) ?? 0;
      from = Math.min(resume, since);
      this.lastRead = cp.last;
      this.checkpointed = cp.offset;
      this.say("info", `${this.asset.name}: reading its partition from its checkpoint at offset ${resume}${from < resume ? ` (the results from offset ${from}: the last ${durationText(this.remembersMs)})` : ""}, not from offset 0`);
    }
    this.restoredFrom = cp?.offset;
    // a run sends a command only after a checkpoint naming it open is on the log: so the newest
    // checkpoint is exact, and nothing from its offset on (nor an operator command it lists as
    // waiting) was sent. Without one, what a previous run sent is unknown: answered interrupted
    const unseen = cp !== undefined;
    this.startFrom = this.readTo = from;
    this.startEnd = end;
    let live = false;
    const release = (): void => {
      for (const [id, c] of this.operator) {
        if (c.offset > this.processed) continue;
        this.operator.delete(id);
        if (this.answered.has(id)) continue; // rejected by the interlock (or answered before)
        if (live) this.dispatch(c.command, c.args, id, c.received);
        else if (unseen) owed.set(id, c);
        else issued.set(id, { command: c.command });
      }
    };
    if (from >= end) live = this.catchUp(issued, owed);
    const onBatch = (recs: KafkaRecord[]): Promise<void> => {
      const l = recs[recs.length - 1];
      if (l) (this.readTo = l.offset + 1), (this.lastRead = { ts: l.ts, key: l.key });
      for (const r of recs) {
        if (r.key !== this.asset.uuid) {
          const mark = r.headers[PROCESSED_HEADER];
          if (mark !== undefined && Number(mark) > this.processed) {
            this.processed = Number(mark);
            release();
          }
          if (!live && r.offset >= end - 1) live = this.catchUp(issued, owed);
          continue;
        }
        const ev = classify(r);
        if (ev.kind === "command_result" || ev.kind === "command" || ev.kind === "operator_command") this.commandsChanged = true;
        if (ev.kind === "command_result") {
          const id = ev.result.correlation_id;
          // (a rejection's time is the rule worker's stream time, which may lag: live, when it was read)
          this.answered.set(id, live ? this.now() : r.ts);
          this.pending.delete(id);
          issued.delete(id);
          owed.delete(id);
          this.operator.delete(id);
        } else if (r.offset < resume) {
          // before the checkpoint: its commands are in it (open, waiting, or answered)
        } else if (ev.kind === "operator_command" && this.commands.has(ev.command)) {
          const id = ev.envelope.header.correlation_id;
          if (!this.answered.has(id)) this.operator.set(id, { command: ev.command, args: ev.envelope.arguments ?? {}, offset: r.offset, received: r.ts });
        } else if (ev.kind === "command" && this.commands.has(ev.command)) {
          const h = ev.envelope.header;
          const id = h.correlation_id;
          if (h.verdict !== "rejected" && h.shadow !== true && !this.answered.has(id)) {
            // decided on the input received at ofl-input-time (a command without it: its own time)
            const at = r.headers[INPUT_TIME_HEADER];
            const received = at === undefined ? r.ts : Number(at);
            if (live) this.dispatch(ev.command, ev.envelope.arguments ?? {}, id, received);
            else if (unseen) owed.set(id, { command: ev.command, args: ev.envelope.arguments ?? {}, received });
            else issued.set(id, { command: ev.command });
          }
        }
        if (!live && r.offset >= end - 1) live = this.catchUp(issued, owed);
      }
      // the batch's commands go once their checkpoint is on the log; the next batch waits for it
      return this.flushSends();
    };
    // the partition holds every asset of it: of the others' records only headers count (ofl-processed)
    this.tail = await log.tail({ topic: ASSETS_TOPIC, partition, fromOffset: from, onBatch, onProblem: (m) => this.say("warn", m), valuesOf: this.asset.uuid });

    const factory = await connectorFor(this.source.kind);
    if (!factory) return void this.deviceStarted();
    this.connector = factory({
      asset: this.asset,
      model: this.model,
      source: this.source,
      emit: (recs) => this.enqueue(recs),
      now: this.now,
      dataDir: this.opts.dataDir ?? (this.opts.env ?? process.env).OFL_DATA,
      arg: (v) => resolveArg(v, this.opts.env ?? process.env),
      log: (level, message) => this.say(level, `${this.asset.name} (${this.source.kind}): ${message}`),
    });
    await this.connector.start();
    this.deviceStarted();
  }

  /** The device's connector is up (or there is none): the commands waiting for it go now. */
  private deviceStarted(): Promise<void> {
    this.deviceReady = true;
    return this.flushSends();
  }

  /**
   * Sends the commands queued by `dispatch`, once the device's connector has started and a
   * checkpoint naming them open (the position after them) is on the log: a restart after a crash
   * then knows exactly what was sent (open: answered interrupted unless a result came) and what
   * was not (after the newest checkpoint: sent by the restart, if still recent). A checkpoint that
   * cannot be written stops the worker, as a failed produce does: nothing is sent.
   */
  private flushSends(): Promise<void> {
    if (!this.deviceReady || this.toSend.length === 0) return this.sending;
    const batch = this.toSend;
    this.toSend = [];
    // (and no newer claim of the source before that checkpoint: the read of the topic has passed it)
    const ahead = this.checkpoints && !this.broken ? this.writeCheckpoint().then((at) => this.claimsPast(at)) : Promise.resolve();
    this.sending = this.sending
      .then(() => ahead)
      .then(
        () => {
          for (const c of batch) this.send(c.command, c.args, c.id, c.received);
        },
        (e: Error) => {
          if (this.broken) return;
          this.broken = true;
          this.say("error", `cannot write the checkpoint that must precede a dispatch, or confirm it: ${e.message}; stopping, ${batch.length} command(s) not sent (the restart sends them, if still recent)`);
          this.opts.onFatal?.(e);
        },
      );
    return this.sending;
  }

  /**
   * End of the start-up read: commands the previous run may have dispatched and that have no
   * result are failed, not re-sent; those it never saw (`owed`) are dispatched now (if recent).
   */
  private catchUp(issued: Map<string, { command: string }>, owed: Map<string, Queued>): true {
    // (sent by flushSends: at the end of the batch being read, or once the device has started)
    for (const [id, c] of owed) if (!this.answered.has(id)) this.dispatch(c.command, c.args, id, c.received);
    const lost = [...issued].filter(([id]) => !this.answered.has(id));
    for (const [id, c] of lost) {
      this.answered.set(id, this.now());
      this.pending.set(id, c.command);
      this.stats.interrupted++;
      this.result(c.command, { correlation_id: id, status: "failed", reason: "interrupted: the connector stopped before the device answered; not re-sent" });
    }
    if (lost.length > 0) this.say("warn", `${lost.length} command(s) issued before the last stop had no answer: marked failed, not re-sent`);
    if (!this.stopped) {
      this.liveTimer = setInterval(() => {
        this.forgetOld();
        void this.checkpoint();
      }, this.opts.checkpointMs || CHECKPOINT_MS);
      this.liveTimer.unref?.();
    }
    this.caughtUp();
    return true;
  }

  /** Forgets the answered ids older than a restart would read (none without an age bound). */
  private forgetOld(): void {
    if (this.stale.maxAgeMs <= 0) return;
    const before = this.now() - this.remembersMs;
    for (const [id, t] of this.answered) if (t < before) this.answered.delete(id);
  }

  /** How far back a restart reads results, and how long answered ids are remembered: the age bound and a margin. */
  private get remembersMs(): number {
    return this.stale.maxAgeMs + RESULTS_MARGIN_MS;
  }

  /** Correlation ids it remembers as answered (bounded: forgetOld). */
  get remembered(): number {
    return this.answered.size;
  }

  /** Where its read stands and what is open there: a restart resumes from it. */
  position(): ConnectorPosition {
    return {
      partition: this.partition,
      offset: this.readTo,
      last: this.lastRead,
      processed: this.processed,
      open: [...this.pending].map(([id, command]) => ({ id, command })),
      operator: [...this.operator].map(([id, o]) => ({ id, ...o })),
    };
  }

  /**
   * Writes a checkpoint when one is due (live only; never after a failed produce, nor while
   * commands wait to be sent: it would name them open), and as it stops (`stopping`), once it
   * reads no more. A failed write is a warning: this checkpoint only shortens the next start.
   */
  private checkpoint(stopping = false): Promise<void> {
    if (!this.checkpoints || this.broken || this.toSend.length > 0) return Promise.resolve();
    if (!stopping && !periodicCheckpointDue(this.readTo - this.checkpointed, this.commandsChanged, this.now() - this.checkpointedAt)) return Promise.resolve();
    return this.writeCheckpoint().then(
      () => {},
      (e: Error) => this.say("warn", `cannot write a checkpoint: ${e.message}`),
    );
  }

  /**
   * Appends a checkpoint of the position now (the periodic ones, the write-ahead ones, the last);
   * resolves to its offset on the checkpoint topic, rejects when the broker refuses it. After the
   * first, the claims of older runs are deleted.
   */
  private writeCheckpoint(): Promise<number> {
    const at = this.readTo;
    this.commandsChanged = false;
    this.checkpointedAt = this.now();
    return this.opts.log.append([this.checkpoints!.record(this.position(), this.now())]).then(
      ([r]) => {
        this.checkpointed = Math.max(this.checkpointed, at);
        this.checkpointsWritten++;
        const tombstones = this.checkpoints!.tombstones(this.now());
        if (tombstones.length > 0) void this.opts.log.append(tombstones).catch((e: Error) => this.say("warn", `cannot delete older runs' claims: ${e.message}`));
        return r!.offset;
      },
      (e: Error) => {
        this.commandsChanged = true;
        throw e;
      },
    );
  }

  /** The checkpoint topic after this run's claim: a newer claim of the source supersedes it. */
  private readClaims(recs: KafkaRecord[]): void {
    for (const r of recs) if (this.checkpoints!.isNewerClaim(r)) this.superseded(r.offset);
    const last = recs[recs.length - 1];
    if (!last) return;
    this.claimsRead = last.offset + 1;
    const due = this.claimWaiters.filter((w) => w.offset < this.claimsRead);
    this.claimWaiters = this.claimWaiters.filter((w) => w.offset >= this.claimsRead);
    for (const w of due) w.resolve();
  }

  /** Resolves once the read of the checkpoint topic has passed `offset` (rejects after claimsWaitMs). */
  private claimsPast(offset: number): Promise<void> {
    if (!this.claims || offset < this.claimsRead) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const ms = this.opts.claimsWaitMs ?? CLAIMS_WAIT_MS;
      const t = setTimeout(() => reject(new Error(`the checkpoint topic was not read back up to offset ${offset} within ${durationText(ms)}: no other worker's claim of the source can be ruled out`)), ms);
      this.claimWaiters.push({ offset, resolve: () => (clearTimeout(t), resolve()) });
    });
  }

  /** Another run claimed the source (its claim at `offset`): this one sends, produces and checkpoints nothing more, and stops. */
  private superseded(offset: number): void {
    if (this.supersededBy !== undefined) return;
    this.supersededBy = offset;
    const was = this.broken;
    this.broken = true;
    const m = `another connector worker of ${this.asset.name} (source #${this.opts.source}, ${this.source.kind}) started: its claim is at ${this.checkpoints!.topic} offset ${offset}; this one stops and sends nothing more (what it had not sent, the other sends or answers)`;
    this.say("error", m);
    if (!was) this.opts.onFatal?.(new SupersededError(m));
  }

  /** Takes a command of the device as answered by this run and queues it (flushSends sends it, or answers it stale; its input was received at `received`, ms). */
  private dispatch(command: string, args: Record<string, string>, id: string, received: number): void {
    this.answered.set(id, this.now());
    this.pending.set(id, command);
    this.commandsChanged = true;
    this.toSend.push({ command, args, id, received });
  }

  private send(command: string, args: Record<string, string>, id: string, received: number): void {
    // its result could not be written: after a restart it is answered `interrupted`, never sent
    if (this.broken) return;
    const age = this.stale.check(received);
    if (age !== undefined) return this.result(command, { correlation_id: id, status: "failed", reason: this.stale.reason(age) });
    const c = this.connector;
    if (!c) {
      this.result(command, { correlation_id: id, status: "failed", reason: "the connector is not started" });
      return;
    }
    this.stats.dispatched++;
    this.dispatchedIds.push(id);
    const params = this.model.commands.find((x) => x.name === command)?.params ?? [];
    c.dispatch({ command, args, params, correlationId: id, binding: this.commands.get(command)! }).then(
      (r) => {
        const res: CommandResult = { correlation_id: id, status: r.status };
        if (r.reason !== undefined) res.reason = r.reason;
        if (r.result !== undefined) res.result = r.result;
        if (r.status === "failed") this.stats.failed++;
        this.result(command, res);
      },
      (e: Error) => {
        this.stats.failed++;
        this.result(command, { correlation_id: id, status: "failed", reason: e.message });
      },
    );
  }

  private result(command: string, res: CommandResult): void {
    const t = this.now();
    // not produced (stopped, or a produce failed): after a restart the command is answered `interrupted`
    this.enqueue([{ topic: ASSETS_TOPIC, key: this.asset.uuid, ts: t, value: resultValue(command, res, t) }]).catch(() => {});
  }

  /**
   * Queues records; they are produced together on the next turn of the event loop, in order. The
   * promise settles once the batch holding them is on the topic (acks=all) or failed to get
   * there: a source that acknowledges its device (MQTT's PUBACK) does so only then.
   */
  private enqueue(recs: NewRecord[]): Promise<void> {
    if (this.stopped) return Promise.reject(new Error("the connector worker has stopped"));
    for (const r of recs) this.queue.push(r);
    if (!this.flushing) {
      this.flushing = true;
      let settle!: { resolve: () => void; reject: (e: Error) => void };
      this.produced = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      this.produced.catch(() => {}); // a caller that does not wait must not see an unhandled rejection
      setImmediate(() => {
        this.flushing = false;
        const batch: KafkaNewRecord[] = this.queue;
        this.queue = [];
        if (batch.length === 0) return settle.resolve();
        // after a failed batch nothing more goes out: a later batch on the log before the failed
        // one's records (which a device redelivers after the restart) would change their order
        const p = this.chain.then(() => {
          if (this.broken) throw new Error("an earlier produce failed");
          return this.opts.log.append(batch);
        });
        this.chain = p.then(
          () => {
            this.stats.produced += batch.length;
            settle.resolve();
          },
          (e: Error) => {
            settle.reject(e);
            this.stats.refused += batch.length;
            if (this.broken) return;
            this.broken = true;
            this.say("error", `cannot produce ${batch.length} record(s): ${e.message}; stopping (a device that acknowledges, as MQTT's, redelivers what was not produced after the restart)`);
            this.opts.onFatal?.(e);
          },
        );
      });
    }
    return this.produced;
  }

  /** While it reads the commands on the log at start: how far (`120,000 of 3,000,000 records read, 4 %`). */
  startingUp(): string {
    if (this.startEnd < 0) return "starting";
    const from = this.restoredFrom === undefined ? "" : ` from offset ${this.startFrom.toLocaleString("en-US")} (its checkpoint is at ${this.restoredFrom.toLocaleString("en-US")})`;
    return readProgress(Math.min(this.readTo, this.startEnd) - this.startFrom, this.startEnd - this.startFrom) + from;
  }

  status(): { connected: boolean; detail: string } {
    return this.connector?.status() ?? { connected: false, detail: "not started" };
  }

  async stop(): Promise<void> {
    if (this.liveTimer) clearInterval(this.liveTimer);
    // no command is read after this: its last checkpoint is where it stopped reading; the commands
    // on their way to the device go before it stops
    await this.tail?.stop();
    await this.sending;
    await (await this.claims)?.stop();
    await this.connector?.stop().catch(() => {});
    await new Promise((r) => setImmediate(r));
    this.stopped = true;
    await this.chain;
    // the results it produced last are read back by the next start (they are open here)
    if (this.liveTimer) await this.checkpoint(true);
  }
}

/** The bundled connector worker's entry (build/workers/connector-*.mjs). */
export function runConnectorWorker(program: IrProgram, spec: WorkerSpec & { kind: "connector" }): Promise<void> {
  return serveWorker(program, spec, async (log, report, env, progress) => {
    const w = new ConnectorWorker({ program, asset: spec.asset, source: spec.source, log, env, report, onFatal: exitOnFatal(log), ...commandMaxAgeFromEnv(env) });
    // its telemetry flows meanwhile; commands wait until it knows which ids were answered
    progress(() => `reading the commands on its partition before dispatching any: ${w.startingUp()}`);
    await w.start();
    await w.ready;
    report("info", `${w.asset.name} (${w.source.kind}): ${w.status().detail}`);
    return {
      stop: () => w.stop(),
      status: () => `produced ${w.stats.produced}, dispatched ${w.stats.dispatched} (${w.stats.failed} failed)${w.stale.count > 0 ? `, ${w.stale.count} stale not dispatched` : ""}`,
    };
  });
}
