// The JSON shapes between the plant's HTTP server (runtime/run/server.ts) and the dashboard page
// (runtime/dashboard/client/). Types only: imported by both sides, no code.

export type Val = number | string | boolean | null;

/** How a value is shown: numbers get units and charts, the others are text. */
export type ValKind = "number" | "bool" | "enum" | "string" | "time";

export interface SignalView {
  name: string;
  kind: ValKind;
  /** display unit ("degC"), "" when none */
  unit: string;
  range?: [number, number];
  /** enum members */
  members?: string[];
}

export interface ParamView extends SignalView {}

export interface CommandView {
  name: string;
  params: ParamView[];
  /** the interlock, as OFL text */
  requires?: string;
  doc?: string;
}

export interface ModelView {
  name: string;
  lineage: string[];
  telemetry: SignalView[];
  /** visible derived states */
  states: SignalView[];
  alarms: { name: string; severity: "low" | "medium" | "high" | "critical"; when: string; clear?: string }[];
  commands: CommandView[];
  doc?: string;
}

/** An asset without its sources (connector arguments may hold secrets: never sent). */
export interface AssetView {
  name: string;
  uuid: string;
  model: string;
  attributes: Record<string, Val>;
  doc?: string;
}

export interface ViewView {
  name: string;
  fn: string;
  from: string;
  by?: string;
  unit: string;
  kind: ValKind;
  windowed: boolean;
}

export interface RuleView {
  name: string;
  on?: string;
  shadow: boolean;
  when: string;
}

/** GET /api/program */
export interface ProgramInfo {
  program: string;
  /** changes at every start of `ofl run`: the page reloads the program when it does */
  instance: string;
  /** whether commands and acknowledgements can be sent from this page (the token is known) */
  canCommand: boolean;
  models: ModelView[];
  assets: AssetView[];
  views: ViewView[];
  rules: RuleView[];
}

export type AlarmState = "ACTIVE" | "ACKNOWLEDGED" | "NORMAL";

/** One record of the log, classified and parsed for display (the live feed, records around T). */
export interface FeedEvent {
  /** global append order (the SSE id is the next one) */
  seq: number;
  /** offset on ofa_assets (or on the dead-letter topic) */
  off: number;
  /** event time, ms */
  t: number;
  k: "tel" | "avail" | "clock" | "cmd" | "res" | "derived" | "alarm" | "dead" | "desc" | "bad";
  /** asset name (the record key when no asset has that uuid) */
  a?: string;
  /** signal, state, alarm or command name */
  id?: string;
  /** tel/derived: the parsed value; alarm: ACTIVE/NORMAL/ACKNOWLEDGED; avail: bool */
  v?: Val;
  /** tel: why the record was quarantined (then `v` is absent and `raw` is the VALUE) */
  bad?: string;
  raw?: string;
  /** cmd/res */
  corr?: string;
  rule?: string;
  shadow?: boolean;
  args?: Record<string, string>;
  /** cmd: the record that caused it, as text */
  cause?: string;
  status?: string;
  reason?: string;
  result?: unknown;
}

/** A command and, once known, its result. */
export interface CommandEntry {
  corr: string;
  t: number;
  a: string;
  cmd: string;
  args: Record<string, string>;
  rule: string;
  shadow: boolean;
  cause: string;
  status?: string;
  reason?: string;
  result?: unknown;
  /** result time */
  rt?: number;
}

export interface AssetState {
  telemetry: Record<string, Val>;
  states: Record<string, Val>;
  alarms: Record<string, AlarmState>;
  /** last report time (event time, ms) per telemetry */
  seen: Record<string, number>;
}

/** GET /api/state (live) and GET /api/state?at=ISO (time travel) */
export interface StateInfo {
  /** live: the next log seq (the feed continues from it) */
  seq: number;
  streamTime: number | null;
  assets: Record<string, AssetState>;
  views: Record<string, Val | Record<string, Val>>;
  /** the latest commands, oldest first */
  commands: CommandEntry[];
  /** time travel only */
  at?: number;
  replayed?: number;
  /** the checkpoint (ofa_assets offset) the replay started from; absent: from the log's first record */
  fromOffset?: number;
  around?: { before: FeedEvent[]; after: FeedEvent[] };
}

/** GET /api/range */
export interface RangeInfo {
  first: number | null;
  last: number | null;
  records: number;
}

/** GET /api/history?asset=NAME&minutes=N: numeric series from the log, for the charts */
export interface HistoryInfo {
  asset: string;
  series: Record<string, [number[], number[]]>;
  /** the scan stopped early (the plant is large): older points are missing */
  truncated: boolean;
}

/** An SSE `records` message: the records appended since the last message. */
export interface FeedMessage {
  /** the first seq this message covers: a page whose next seq is smaller missed records */
  from: number;
  /** the next seq (also the SSE id) */
  seq: number;
  streamTime: number | null;
  ev: FeedEvent[];
}

/** An SSE `tick` message, at most once a second while records arrive: views are not records. */
export interface TickMessage {
  seq: number;
  streamTime: number | null;
  views: Record<string, Val | Record<string, Val>>;
}
