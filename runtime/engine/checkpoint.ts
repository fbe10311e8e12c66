// Engine checkpoints: the engine's complete state at a log offset, as bytes.
//
//   line 1: a JSON header {"format":"ofl-checkpoint","version":3,"program":HASH,"offset":N,
//           "streamTime":T|null,"records":R,"bytes":B,"sha256":HEX}\n
//   (version 2: per-asset windowed aggregates that fit panes, window.ts PaneSet, are saved as panes;
//   version 3: windowed views that fit panes too)
//   then:   B bytes, deflate (zlib, level 1) of the JSON {"state": Engine.saveState(), "extra"?: ...}
//
// `offset` is the next offset of the input topic: the state is that after processing every
// record with offset < N (restore, then process N..). `program` is programHash(ir): a checkpoint
// is restored only into an engine of the very same compiled program. `sha256` covers the
// compressed body: a torn or corrupted checkpoint is detected and never trusted.
// Numbers that JSON cannot carry (-0, ±Infinity, NaN) are written as {"$n":"-0"|"Infinity"|...}.

import { createHash } from "node:crypto";
import { deflateSync, inflateSync } from "node:zlib";
import type { IrProgram } from "../../compiler/ir/types.js";
import { Engine, type EngineOptions, type EngineState } from "./index.js";

export const CHECKPOINT_FORMAT = "ofl-checkpoint";
export const CHECKPOINT_VERSION = 3;

export interface CheckpointHeader {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** programHash of the compiled program */
  program: string;
  /** the next input offset: the state is after every record with offset < offset */
  offset: number;
  /** the engine's stream time (null before any input) */
  streamTime: number | null;
  /** the largest event time of the input records before offset (Engine.inputHorizon; null: none) */
  horizon: number | null;
  /** byte length and sha256 (hex) of the compressed body */
  bytes: number;
  sha256: string;
}

export interface Checkpoint {
  header: CheckpointHeader;
  state: EngineState;
  /** what the runtime stored beside the engine state (e.g. commands awaiting an answer) */
  extra?: unknown;
}

/** A checkpoint that cannot be used: corrupt, another format version, or another program. */
export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly kind: "corrupt" | "version" | "program",
  ) {
    super(message);
  }
}

/** sha256 (hex) of the compiled program's canonical JSON. */
export function programHash(program: IrProgram): string {
  return createHash("sha256").update(JSON.stringify(program)).digest("hex");
}

const programHashes = new WeakMap<IrProgram, string>();
/** programHash, cached per program object */
export function programHashOf(program: IrProgram): string {
  let h = programHashes.get(program);
  if (h === undefined) programHashes.set(program, (h = programHash(program)));
  return h;
}

function replacer(_k: string, v: unknown): unknown {
  if (typeof v === "number" && (v - v !== 0 || Object.is(v, -0))) return { $n: Object.is(v, -0) ? "-0" : String(v) };
  return v;
}

/**
 * Restores the numbers replacer() wrote as {$n}, in place: a walk after a plain JSON.parse is
 * several times faster than a JSON.parse reviver (called for every value of a large state).
 */
function revive(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x !== null && typeof x === "object") v[i] = revive(x);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  const n = o.$n;
  if (typeof n === "string" && Object.keys(o).length === 1) return n === "-0" ? -0 : Number(n);
  for (const k in o) {
    const x = o[k];
    if (x !== null && typeof x === "object") o[k] = revive(x);
  }
  return o;
}

/** Encodes the engine's state after input offset `offset - 1` as checkpoint bytes. */
export function encodeCheckpoint(engine: Engine, offset: number, extra?: unknown): Buffer {
  const state = engine.saveState();
  const body = deflateSync(Buffer.from(JSON.stringify(extra === undefined ? { state } : { state, extra }, replacer)), { level: 1 });
  const header: CheckpointHeader = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    program: programHashOf(engine.program),
    offset,
    streamTime: Number.isFinite(engine.streamTime) ? engine.streamTime : null,
    horizon: Number.isFinite(engine.inputHorizon) ? engine.inputHorizon : null,
    bytes: body.length,
    sha256: createHash("sha256").update(body).digest("hex"),
  };
  return Buffer.concat([Buffer.from(JSON.stringify(header) + "\n"), body]);
}

/** Reads only the header (cheap); throws CheckpointError("corrupt") when it is not one. */
export function readCheckpointHeader(bytes: Uint8Array): CheckpointHeader {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nl = buf.indexOf(10);
  if (nl < 0 || nl > 4096) throw new CheckpointError("not a checkpoint (no header line)", "corrupt");
  let h: CheckpointHeader;
  try {
    h = JSON.parse(buf.subarray(0, nl).toString("utf8")) as CheckpointHeader;
  } catch {
    throw new CheckpointError("not a checkpoint (header is not JSON)", "corrupt");
  }
  if (h === null || typeof h !== "object" || h.format !== CHECKPOINT_FORMAT) throw new CheckpointError("not a checkpoint (format)", "corrupt");
  if (typeof h.offset !== "number" || typeof h.program !== "string" || typeof h.bytes !== "number" || typeof h.sha256 !== "string")
    throw new CheckpointError("checkpoint header incomplete", "corrupt");
  return h;
}

/**
 * Decodes and verifies checkpoint bytes: format, version, program hash (when `program` is
 * given), length and checksum of the body. Throws CheckpointError with the reason.
 */
export function decodeCheckpoint(bytes: Uint8Array, program?: IrProgram): Checkpoint {
  const header = readCheckpointHeader(bytes);
  if (header.version !== CHECKPOINT_VERSION) throw new CheckpointError(`checkpoint format version ${header.version}, this ofl reads ${CHECKPOINT_VERSION}`, "version");
  if (program !== undefined && header.program !== programHashOf(program)) throw new CheckpointError("checkpoint of another program (hash differs)", "program");
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const body = buf.subarray(buf.indexOf(10) + 1);
  if (body.length !== header.bytes) throw new CheckpointError(`checkpoint body is ${body.length} bytes, header says ${header.bytes} (torn write?)`, "corrupt");
  if (createHash("sha256").update(body).digest("hex") !== header.sha256) throw new CheckpointError("checkpoint checksum mismatch", "corrupt");
  let parsed: { state: EngineState; extra?: unknown };
  try {
    parsed = revive(JSON.parse(inflateSync(body).toString("utf8"))) as { state: EngineState; extra?: unknown };
  } catch (e) {
    throw new CheckpointError(`checkpoint body unreadable: ${(e as Error).message}`, "corrupt");
  }
  if (parsed === null || typeof parsed !== "object" || typeof parsed.state !== "object") throw new CheckpointError("checkpoint body has no engine state", "corrupt");
  const out: Checkpoint = { header, state: parsed.state };
  if (parsed.extra !== undefined) out.extra = parsed.extra;
  return out;
}

/**
 * A new engine restored from checkpoint bytes (verified as in decodeCheckpoint against
 * opts.program). Process records from `header.offset` on.
 */
export function restoreEngine(bytes: Uint8Array, opts: EngineOptions): { engine: Engine; header: CheckpointHeader; extra?: unknown } {
  const { header, state, extra } = decodeCheckpoint(bytes, opts.program);
  const engine = new Engine(opts);
  try {
    engine.loadState(state);
  } catch (e) {
    throw new CheckpointError(`checkpoint does not fit the program: ${(e as Error).message}`, "corrupt");
  }
  return { engine, header, extra };
}
