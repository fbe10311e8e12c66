// The embedded runtime: the engine over a durable log (SQLite), in one process.
//
// The log is the authority. Opening rebuilds the engine's state by replaying every record of
// the log from offset 0 (the engine's outputs are recorded decisions: it sees them and ignores
// them). Ingesting appends each input record together with the outputs it caused, in one
// atomic, fsynced batch: after a crash the log holds whole batches only, and a rebuild gives
// exactly the state and the command ids an uninterrupted run would have.
import type { IrProgram } from "../../compiler/ir/types.js";
import { Engine } from "../engine/index.js";
import type { Log } from "../log/types.js";
import { openWithCheckpoint, Checkpointer, type CheckpointOptions } from "./checkpointing.js";
import { ASSETS_TOPIC, classify } from "../wire/records.js";
import type { LogRecord, NewRecord } from "../wire/types.js";

export interface RuntimeOptions {
  program: IrProgram;
  log: Log;
  /** the runtime's own uuid (sender of commands, key of clock records) */
  senderUuid?: string;
  /** every record appended by ingest, inputs and outputs, in log order */
  onAppend?: (records: LogRecord[]) => void;
  /** checkpoints beside the log (embedded/checkpointing.ts): open from the newest, write periodically */
  checkpoints?: CheckpointOptions;
}

export class EmbeddedRuntime {
  readonly engine: Engine;
  readonly log: Log;
  /** records replayed when the runtime opened (the tail after the checkpoint, if one was used) */
  readonly rebuilt: number;
  /** the offset of the checkpoint the runtime opened from (undefined: replayed from the start) */
  readonly restoredFrom: number | undefined;
  /** what the runtime's owner stored in that checkpoint (CheckpointOptions.extra) */
  readonly restoredExtra: unknown;
  private readonly checkpointer: Checkpointer | undefined;
  private pending: NewRecord[] = [];
  /** set when an append failed: the engine is then ahead of the log and must be rebuilt */
  private broken: Error | undefined;
  private readonly onAppend: ((records: LogRecord[]) => void) | undefined;

  constructor(opts: RuntimeOptions) {
    this.log = opts.log;
    this.onAppend = opts.onAppend;
    const engineOpts = { program: opts.program, senderUuid: opts.senderUuid, onOutput: (r: NewRecord) => this.pending.push(r) };
    const opened = opts.checkpoints ? openWithCheckpoint(engineOpts, this.log, opts.checkpoints) : undefined;
    this.engine = opened?.engine ?? new Engine(engineOpts);
    this.restoredFrom = opened?.offset;
    this.restoredExtra = opened?.extra;
    let n = 0;
    for (const rec of this.log.read({ topic: ASSETS_TOPIC, fromOffset: opened?.offset ?? 0 })) {
      this.engine.process(classify(rec));
      n++;
    }
    if (opts.checkpoints) this.checkpointer = new Checkpointer(this.engine, this.log, opts.checkpoints, n);
    this.pending = []; // outputs of the rebuild are already on the log
    this.rebuilt = n;
  }

  /**
   * Appends input records (telemetry, availability, clock ticks, operator commands) with the
   * outputs each causes, as one durable batch, and returns what was appended.
   */
  ingest(inputs: NewRecord[]): LogRecord[] {
    if (this.broken) throw new Error(`the runtime must be reopened after a failed append: ${this.broken.message}`);
    // a checkpoint due after the previous batch is written now, between batches (the owner has
    // seen that batch: CheckpointOptions.extra describes the same point of the log)
    this.checkpointer?.maybeWrite();
    const batch: NewRecord[] = [];
    let offset = this.log.endOffset(ASSETS_TOPIC);
    for (const input of inputs) {
      // the engine needs the offset the input will have on the log (the correlation-id cause)
      const rec: LogRecord = { topic: input.topic, partition: 0, offset: input.topic === ASSETS_TOPIC ? offset : -1, ts: input.ts, key: input.key, value: input.value };
      batch.push(input);
      if (input.topic === ASSETS_TOPIC) offset++;
      this.pending = [];
      this.engine.process(classify(rec));
      for (const out of this.pending) {
        batch.push(out);
        if (out.topic === ASSETS_TOPIC) offset++;
      }
      this.pending = [];
    }
    let appended: LogRecord[];
    try {
      appended = this.log.append(batch);
    } catch (e) {
      this.broken = e as Error;
      throw e;
    }
    this.onAppend?.(appended);
    this.checkpointer?.appended(inputs.length);
    return appended;
  }

  /** Writes a checkpoint now (if anything was processed since the last); false when none was written. */
  checkpoint(): boolean {
    if (this.broken || !this.checkpointer) return false;
    return this.checkpointer.write();
  }

  close(): void {
    if (!this.broken) this.checkpointer?.write();
    this.log.close();
  }
}
