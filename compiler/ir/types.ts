// The typed, JSON-serializable dataflow program: the one contract between the compiler and
// everything that runs programs (runtime/engine, the rule worker, the ksqlDB emitter, the LSP).
//
// Conventions:
// - Units are resolved by the compiler: every value is held in its declared unit, and the
//   compiler inserts `scale` nodes wherever a conversion is needed. The engine never sees units
//   except as display text.
// - Durations and timestamps are numbers of milliseconds. A quantity in a time unit is a duration.
// - Enum values are member names (strings). Unknown is `null`.
// - Member lists keep declaration order (inherited members first), so iteration is deterministic.

export const IR_VERSION = 1;

export type Value = number | string | boolean | null;

export type IrType =
  | { t: "bool" }
  | { t: "int"; unit?: string }
  | { t: "float"; unit?: string }
  | { t: "string" }
  | { t: "timestamp" }
  | { t: "duration" }
  | { t: "enum"; name: string };

/** Inclusive bounds in the declared unit. */
export type IrRange = [min: number, max: number];

// ---------------------------------------------------------------- expressions

/**
 * A reference to a member of an asset. `asset` is the asset *name* (not uuid); `null` means the
 * asset the expression is evaluated for (`self`: the model's asset, or the rule's asset).
 */
export interface IrRef {
  k: "ref";
  asset: string | null;
  /**
   * signal = telemetry, state = derived (named or hidden), attr = attribute,
   * alarm = `NAME.active`, param = a parameter of the command whose `requires` is evaluated
   * (asset is then null).
   */
  kind: "signal" | "state" | "attr" | "alarm" | "param";
  name: string;
}

export type IrUnaryOp = "neg" | "not";
export type IrBinaryOp =
  | "and"
  | "or"
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge"
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "mod";

/**
 * The built-in pointwise functions: one entry per function, read by every stage that knows
 * functions — the checker (names, arity, `typing`), the IR (`IrFunction`), the placement stage
 * and the ksqlDB emitter (`ksql`: every built-in translates, so none moves a declaration to the
 * rule worker; the SQL itself is `KSQL_FUNCTIONS` in compiler/emit/ksql/translate.ts, a record over
 * `IrFunction`, so TypeScript refuses an entry without one), the engine's code generator (`js`)
 * and hover (`doc`).
 * `min`..`max`: the arity the code generator accepts (the checker reads `min`/`max` with one
 * argument as the aggregates, and takes at most 16 arguments);
 * `typing`: the checker's rule — `same` (a number, the result has its type: `abs`), `integral`
 * (a number, an integer of its unit), `unitless` (unitless numbers, a float), `common` (numbers of
 * one unit or timestamps, the result of their common type);
 * `js`: the engine's JavaScript for already-generated argument expressions (`H.*` are the
 * generated code's helpers, each unknown (`null`) when an argument is); `doc`: one line for
 * users. Functions that need history (`known`, `previous`, `changed`, `age`) have their own IR
 * nodes instead. The test oracle (test/unit/engine/oracle.ts) does not read this table: it is
 * written from the spec, to check the generated code against.
 */
export const IR_FUNCTIONS = {
  abs: { min: 1, max: 1, typing: "same", ksql: true, js: (a: string[]) => `H.m1(Math.abs, ${a[0]})`, doc: "absolute value, same unit" },
  min: { min: 1, max: Infinity, typing: "common", ksql: true, js: (a: string[]) => `H.min([${a.join(", ")}])`, doc: "smallest argument, unknown if any is" },
  max: { min: 1, max: Infinity, typing: "common", ksql: true, js: (a: string[]) => `H.max([${a.join(", ")}])`, doc: "largest argument, unknown if any is" },
  round: { min: 1, max: 1, typing: "integral", ksql: true, js: (a: string[]) => `H.round(${a[0]})`, doc: "nearest integer, halves away from zero" },
  floor: { min: 1, max: 1, typing: "integral", ksql: true, js: (a: string[]) => `H.m1(Math.floor, ${a[0]})`, doc: "largest integer not above, same unit" },
  ceil: { min: 1, max: 1, typing: "integral", ksql: true, js: (a: string[]) => `H.m1(Math.ceil, ${a[0]})`, doc: "smallest integer not below, same unit" },
  sqrt: { min: 1, max: 1, typing: "unitless", ksql: true, js: (a: string[]) => `H.m1(Math.sqrt, ${a[0]})`, doc: "square root (unknown below 0)" },
  pow: { min: 2, max: 2, typing: "unitless", ksql: true, js: (a: string[]) => `H.pow(${a[0]}, ${a[1]})`, doc: "`x` to the power `y` (dimensionless)" },
  clamp: { min: 3, max: 3, typing: "common", ksql: true, js: (a: string[]) => `H.clamp(${a[0]}, ${a[1]}, ${a[2]})`, doc: "`x` limited to `lo..hi`" },
} as const satisfies Record<string, IrFunctionEntry>;

export interface IrFunctionEntry {
  readonly min: number;
  readonly max: number;
  readonly typing: "same" | "integral" | "unitless" | "common";
  /** ksqlDB can compute it (a declaration using it may run there) */
  readonly ksql: boolean;
  readonly js: (args: string[]) => string;
  readonly doc: string;
}

export type IrFunction = keyof typeof IR_FUNCTIONS;

export type IrExpr =
  | { k: "const"; value: Value }
  | IrRef
  /** a view's current value; `group` for a grouped view (`hall_temp["north"]`) */
  | { k: "view"; name: string; group?: IrExpr }
  | { k: "unary"; op: IrUnaryOp; arg: IrExpr }
  /** three-valued logic for and/or/not; null propagates through the others */
  | { k: "binary"; op: IrBinaryOp; left: IrExpr; right: IrExpr }
  /** multiplies by a unit conversion factor: `1 kW` compared with `W` becomes scale(1000) */
  | { k: "scale"; factor: number; arg: IrExpr }
  | { k: "if"; cond: IrExpr; then: IrExpr; else: IrExpr }
  | { k: "call"; fn: IrFunction; args: IrExpr[] }
  | { k: "known"; arg: IrExpr }
  /** the value before the latest change of a signal or state (unknown counts as a value) */
  | { k: "previous"; ref: IrRef }
  /** true on the record that changed the signal or state */
  | { k: "changed"; ref: IrRef }
  /**
   * `age(x) OP d`, the only form in which `age` is allowed: a comparison between the time since
   * `x` last reported (even an unchanged value) and a duration. Unknown before the first report.
   * The engine arms a timer at the instant the comparison flips.
   */
  | { k: "age_cmp"; ref: IrRef; op: "lt" | "le" | "gt" | "ge" | "eq" | "ne"; duration: IrExpr };

/**
 * Stateful definitions that hold history. They appear only as the top-level `def` of a state
 * (the compiler hoists nested ones into hidden states named `$…`).
 */
export type IrStatefulDef =
  /** `C for D`: true once C has been true continuously for D ms; false otherwise, never unknown */
  | { k: "for"; cond: IrExpr; ms: number }
  /** a windowed aggregate over the events of one asset */
  | { k: "window"; agg: IrAggregate };

export type IrAggFn = "avg" | "min" | "max" | "sum" | "count" | "stddev" | "first" | "last" | "delta" | "ratio";

export interface IrWindow {
  kind: "tumbling" | "hopping" | "session";
  /** tumbling/hopping: size; session: gap */
  sizeMs: number;
  /** hopping only: the hop (advance) */
  hopMs?: number;
  graceMs: number;
}

export interface IrAggregate {
  fn: IrAggFn;
  /** The aggregated expression; absent for `count()`. */
  arg?: IrExpr;
  window: IrWindow;
  /** `final`: the most recently closed window with events (EMIT FINAL); else the running value. */
  final: boolean;
  /**
   * The events of the aggregate: records of the asset that report one of these telemetry names
   * (the signals named in `arg`, directly or through states). Empty with no `arg`: every
   * telemetry record of the asset.
   */
  triggers: string[];
}

// ---------------------------------------------------------------- declarations

export interface IrState {
  name: string;
  /** Hidden states are compiler-made (`$overheating$for0`): not shown, not written as records. */
  hidden: boolean;
  type: IrType;
  /** Either a pointwise expression or a stateful definition. */
  def: IrExpr | IrStatefulDef;
  /** Names of states of the same scope this one reads (for ordering). */
  dependsOn: string[];
}

export interface IrAttribute {
  name: string;
  type: IrType;
  default?: Value;
}

export interface IrTelemetry {
  name: string;
  type: IrType;
  range?: IrRange;
}

export type IrSeverity = "low" | "medium" | "high" | "critical";

export interface IrAlarm {
  name: string;
  severity: IrSeverity;
  when: IrExpr;
  /** Without it, the alarm clears when `when` becomes false. */
  clear?: IrExpr;
}

export interface IrParam {
  name: string;
  type: IrType;
  range?: IrRange;
}

export interface IrCommand {
  name: string;
  params: IrParam[];
  /** The interlock, evaluated for the asset with the parameters as `{k:"ref", kind:"param"}`. */
  requires?: IrExpr;
  /** The interlock as written (one line), for rejection reasons. */
  requiresText?: string;
  doc?: string;
}

export interface IrModel {
  name: string;
  /** this model first, then its ancestors: `from MODEL` / `on MODEL` match any of them */
  lineage: string[];
  attributes: IrAttribute[];
  telemetry: IrTelemetry[];
  /** in evaluation order: a state comes after every state it depends on */
  states: IrState[];
  alarms: IrAlarm[];
  commands: IrCommand[];
  doc?: string;
}

/**
 * A value given in source, a secret read from the environment when a connector starts, or
 * (in a simulator's `set(telemetry, PARAM)`) the value of one of the command's parameters.
 */
export type IrArg = Value | { env: string } | { param: string };

export interface IrBinding {
  /** telemetry `x <- fn(...)`, command `c -> fn(...)` */
  direction: "telemetry" | "command";
  /** the telemetry or command name */
  target: string;
  /** node, topic, constant, random_walk, sine, sequence, id, method, write, publish, set */
  fn: string;
  positional: IrArg[];
  named: Record<string, IrArg>;
  /** `map { 0: READY }`: raw device value text → enum member */
  map?: [raw: string, member: string][];
}

export interface IrSource {
  kind: "opcua" | "mqtt" | "simulate" | "openfactory";
  positional: IrArg[];
  named: Record<string, IrArg>;
  bindings: IrBinding[];
}

export interface IrAsset {
  name: string;
  uuid: string;
  model: string;
  /** every attribute of the model, defaults applied */
  attributes: Record<string, Value>;
  sources: IrSource[];
  doc?: string;
}

export interface IrView {
  name: string;
  fn: IrAggFn;
  /** evaluated for each asset of `from` (self = that asset); absent for `count()` */
  arg?: IrExpr;
  /** model name; sub-models included */
  from: string;
  where?: IrExpr;
  /** attribute name to group by */
  by?: string;
  window?: IrWindow;
  final: boolean;
  type: IrType;
  /** with a window: telemetry names whose records are the view's events (empty = all) */
  triggers: string[];
}

export interface IrAction {
  /** asset name; null = the rule's own asset */
  asset: string | null;
  command: string;
  args: { name: string; value: IrExpr }[];
}

export interface IrRule {
  name: string;
  /** model name; absent: the rule runs once, not per asset */
  on?: string;
  shadow: boolean;
  when: IrExpr;
  /** hidden states of the rule (hoisted `for`/windows in `when` or in action arguments) */
  locals: IrState[];
  actions: IrAction[];
  cooldownMs?: number;
  repeatMs?: number;
}

// ---------------------------------------------------------------- tests

export interface IrSetStep {
  k: "set";
  asset: string;
  signal: string;
  /** the value in the telemetry's declared unit, or null for `unavailable` */
  value: Value;
}
export interface IrSendStep {
  k: "send";
  asset: string;
  command: string;
  args: { name: string; value: Value }[];
}
export interface IrAtLine {
  atMs: number;
  line: number;
  steps: (IrSetStep | IrSendStep)[];
}

export type IrCmpOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";

/** Which commands an expectation is about. */
export interface IrCommandPattern {
  asset: string;
  command: string;
  /** given arguments must match; omitted ones match anything */
  args: { name: string; value: Value }[];
  shadow: boolean;
  verdict?: "accepted" | "rejected";
  /** inclusive time bounds [from, to]; absent: any time */
  between?: [number, number];
}

export type IrExpectation =
  | { k: "command"; line: number; text: string; pattern: IrCommandPattern }
  | { k: "no_command"; line: number; text: string; pattern: IrCommandPattern }
  | { k: "count_command"; line: number; text: string; pattern: IrCommandPattern; op: IrCmpOp; n: number }
  | { k: "count_deadletters"; line: number; text: string; reason?: string; op: IrCmpOp; n: number }
  /** a boolean over state; `atMs` absent = at the test's end time */
  | { k: "state"; line: number; text: string; expr: IrExpr; atMs?: number }
  | { k: "match_recorded"; line: number; text: string };

export interface IrTest {
  name: string;
  /** the file the test was written in, as given to the compiler */
  file: string;
  line: number;
  /** `replay "path"`: the path as written, relative to the test's file */
  replay?: string;
  at: IrAtLine[];
  expectations: IrExpectation[];
  /** the latest time named by `at` lines and expectations (a replay may extend it) */
  endMs: number;
}

// ---------------------------------------------------------------- program

export interface IrEnum {
  name: string;
  members: string[];
}

export interface IrProgram {
  ir: typeof IR_VERSION;
  /** program name (ofl.json `name`, or the single file's base name) */
  program: string;
  enums: IrEnum[];
  models: IrModel[];
  assets: IrAsset[];
  views: IrView[];
  rules: IrRule[];
  tests: IrTest[];
  /**
   * How far (ms) a telemetry record's event time may be ahead of its receive time before it is
   * dead-lettered `future_time` (language spec §7.6); ofl.json `future_tolerance`. Absent: 5 min.
   */
  futureToleranceMs?: number;
}
