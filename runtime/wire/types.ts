// Records of ../spec/wire.md as typed data. Raw JSON is parsed once, at the edge
// (runtime/wire/records.ts), into a WireEvent; the engine never sees raw JSON.

export const ASSETS_TOPIC = "ofa_assets";
export const DEADLETTER_TOPIC = "ofl_deadletter";

/** The value of an `ofa_assets` record, as written (field names in OpenFactory's upper case). */
export interface AssetValue {
  ID: string;
  VALUE: string;
  TAG: string;
  TYPE: string;
  attributes: { timestamp: string; [k: string]: unknown };
}

/** The value of an `ofl_deadletter` record. */
export interface DeadLetterValue {
  reason: DeadLetterReason;
  detail: string;
  record: unknown;
  source: string;
}

export type DeadLetterReason =
  | "bad_json"
  | "unknown_asset"
  | "unknown_signal"
  | "future_time"
  | "wrong_type"
  | "not_finite"
  | "out_of_range";

/** A record on a log, Kafka-shaped. `value` is the parsed JSON value (or the raw text when it is not JSON). */
export interface LogRecord {
  topic: string;
  partition: number;
  offset: number;
  /** record time (Kafka `ts`), ms */
  ts: number;
  key: string | null;
  value: unknown;
  /**
   * OFL addition (optional): the global append order across all topics of one embedded log
   * (0-based, gap-free). Set by `Log.append`/`Log.read`; absent on records read from session files
   * or Kafka. Never written to session files.
   */
  seq?: number;
}

/** A record to append: the log assigns partition and offset. */
export interface NewRecord {
  topic: string;
  key: string | null;
  value: unknown;
  /** record time, ms; also the event time of the engine's outputs */
  ts: number;
}

/** The header of a command envelope (wire.md §2). */
export interface CommandHeader {
  correlation_id: string;
  sender_uuid: string;
  timestamp: string;
  signature: null | string;
  /** absent or "operator" for operator commands */
  rule?: string;
  cause_offset?: number | null;
  shadow?: boolean;
  /** OFL extension: the interlock verdict at issue time */
  verdict?: "accepted" | "rejected";
}
export interface CommandEnvelope {
  header: CommandHeader;
  arguments: Record<string, string>;
}

export interface CommandResult {
  correlation_id: string;
  status: "completed" | "rejected" | "failed";
  reason?: string;
  result?: unknown;
}

interface EventBase {
  /** where the record sits on its log: the correlation-id cause `offset:PARTITION:OFFSET` */
  partition: number;
  offset: number;
  /** the asset uuid (record key) */
  key: string;
  /** event time, ms (`attributes.timestamp`) */
  time: number;
  /** the record as read, for dead letters and diffs */
  record: LogRecord;
}

/**
 * A log record classified by what it means (wire.md §1 and §4). Inputs drive the engine;
 * outputs are what a program wrote, compared by replays and never re-applied.
 */
export type WireEvent =
  | (EventBase & { kind: "telemetry"; id: string; value: string; tag: string; type: string })
  | (EventBase & { kind: "avail"; available: boolean })
  | (EventBase & { kind: "clock" })
  | (EventBase & { kind: "operator_command"; command: string; envelope: CommandEnvelope })
  | (EventBase & { kind: "command"; command: string; envelope: CommandEnvelope })
  | (EventBase & { kind: "command_result"; command: string; result: CommandResult })
  | (EventBase & { kind: "derived"; id: string; value: string })
  | (EventBase & { kind: "alarm"; id: string; value: string })
  | (EventBase & { kind: "command_description"; command: string })
  /**
   * OFL addition: a record on the dead-letter topic (`ofl_deadletter`, wire.md §3). An output of the
   * program, never re-applied. `time` is the record time `ts` (dead letters carry no event time);
   * `original` is the quarantined record as it was read.
   */
  | {
      kind: "deadletter";
      partition: number;
      offset: number;
      key: string | null;
      time: number;
      reason: string;
      detail: string;
      original: unknown;
      source: string;
      record: LogRecord;
    }
  /** not a record at all: not JSON, no ID, no parseable timestamp… (dead letter `bad_json`) */
  | { kind: "bad"; partition: number; offset: number; key: string | null; detail: string; record: LogRecord };
