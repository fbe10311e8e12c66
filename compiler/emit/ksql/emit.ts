// IR → ksqlDB syntax tree → printed statements. See CONTEXT.md for the object graph.
//
// What ksqlDB can express (latest values, pointwise states over them, per-asset windowed
// aggregates of one signal, views) becomes ksqlDB; everything else is placed in the rule worker
// with a reason. The emitter never builds SQL text itself: it builds ast.ts nodes and print.ts
// prints them.
import { IR_FUNCTIONS } from "../../ir/types.js";
import type {
  IrAggFn,
  IrAsset,
  IrExpr,
  IrFunction,
  IrModel,
  IrProgram,
  IrRule,
  IrState,
  IrTelemetry,
  IrType,
  IrView,
  IrWindow,
  Value,
} from "../../ir/types.js";
import {
  and,
  bin,
  call,
  caseWhen,
  cast,
  col,
  dbl,
  eq,
  inList,
  isNotNull,
  isNull,
  lit,
  not,
  or,
  typedNull,
  BIGINT,
  BOOLEAN,
  DOUBLE,
  VARCHAR,
  type Duration,
  type Expr,
  type Projection,
  type Select,
  type SqlType,
  type Statement,
  type Window,
} from "./ast.js";
import { printStatement, printType } from "./print.js";

// ---------------------------------------------------------------- the plan

export interface KsqlStatement {
  /** the object created (or the property set) */
  name: string;
  sql: string;
  kind: "stream" | "table" | "set";
  /** true: `CREATE OR REPLACE` (re-run replaces in place); false: `IF NOT EXISTS` (a changed definition needs DROP + CREATE) */
  replaceable: boolean;
  /** the objects this statement reads; each comes earlier in `statements` (ASSETS_STREAM included) */
  dependsOn: string[];
  /** the OFL declaration it comes from (`CncMill.temp_avg`, `view hall_temp`), or `(program)` */
  source: string;
  /**
   * The value columns it creates, in order, with their types (CREATE statements only). ksqlDB's
   * CREATE OR REPLACE accepts a new definition only when the old columns come first, unchanged:
   * deploy compares these to decide between a replace and a recreate.
   */
  columns?: { name: string; type: string }[];
}

export interface KsqlPlacement {
  /** `Model.member` for states, alarms and commands; `view NAME`; `rule NAME` */
  declaration: string;
  runsOn: "ksqldb" | "worker";
  reason: string;
}

export interface KsqlPlan {
  program: string;
  /** `OFL_<PROGRAM>_`: every object OFL owns starts with it */
  prefix: string;
  statements: KsqlStatement[];
  placement: KsqlPlacement[];
  /**
   * Query properties every persistent query needs. The plan also starts with the equivalent
   * `SET` statement, which holds when the statements are sent as one script (one REST request,
   * or `RUN SCRIPT`); a deploy that sends statements one by one passes these as
   * `streamsProperties` with each request.
   */
  properties: Record<string, string>;
}

/** OpenFactory's stream over `ofa_assets` (not ours: created only when absent). */
export const ASSETS_STREAM = "ASSETS_STREAM";
export const ASSETS_TOPIC = "ofa_assets";
/**
 * `attributes.timestamp` as ksqlDB reads it (a java.time pattern: StringToTimestampParser, 0.29):
 * the widest it accepts of what the engine accepts. `T`, space or `t` before the time; seconds
 * optional; a fraction of 1 to 9 digits (one optional section per length: `S…S` is a fixed
 * width); a zone `Z`, `+01:00`, `+0100` or `+01`, or none (ksqlDB then reads the server JVM's
 * zone, the engine UTC). Texts ksqlDB cannot parse are dropped by it (processing log) where the
 * engine accepts them: date only, a `,` fraction, more than 9 fraction digits,
 * a space before the zone. Checked with the JDK by test/unit/emit/ksql-timestamp.test.ts.
 */
export const TIMESTAMP_FORMAT =
  "yyyy-MM-dd['T'][' ']HH:mm[:ss][.SSSSSSSSS][.SSSSSSSS][.SSSSSSS][.SSSSSS][.SSSSS][.SSSS][.SSS][.SS][.S][XXX][X]";
/**
 * A JSON number, anchored on the whole text: `\\z` (end of input), not `$`, which in Java
 * (java.util.regex, what REGEXP_EXTRACT compiles: udf/string/RegexpExtract.java) also matches
 * before a final line terminator, so `"12\\n"` would pass where the engine rejects it.
 */
export const JSON_NUMBER = "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?\\z";
const MAX_SAFE = 9007199254740991;

export function programPrefix(program: string): string {
  return `OFL_${program.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}_`;
}

class NotKsql extends Error {}

/** Why a construct cannot run in ksqlDB (thrown while translating, caught per declaration). */
function worker(reason: string): never {
  throw new NotKsql(reason);
}

// ---------------------------------------------------------------- types and values

function sqlType(t: IrType): SqlType {
  switch (t.t) {
    case "bool":
      return BOOLEAN;
    case "string":
    case "enum":
      return VARCHAR;
    default:
      // every number is a DOUBLE, as in the engine (JS numbers): `a / b` never divides integers
      return DOUBLE;
  }
}

function isSample(t: IrType): boolean {
  return t.t === "int" || t.t === "float" || t.t === "duration" || t.t === "timestamp";
}

/** The wire text of a typed value (`UNAVAILABLE` for unknown), as the engine writes it. */
function valueText(x: Expr, t: IrType): Expr {
  let text: Expr;
  if (t.t === "int") text = cast(cast(x, BIGINT), VARCHAR);
  else if (t.t === "string" || t.t === "enum") text = x;
  else text = cast(x, VARCHAR);
  return call("COALESCE", text, lit("UNAVAILABLE"));
}

function constant(v: Value): Expr {
  return lit(v);
}

function duration(ms: number): Duration {
  if (ms === 0) return { n: 0, unit: "SECONDS" };
  const units: [Duration["unit"], number][] = [
    ["DAYS", 86_400_000],
    ["HOURS", 3_600_000],
    ["MINUTES", 60_000],
    ["SECONDS", 1000],
  ];
  for (const [unit, f] of units) if (ms % f === 0) return { n: ms / f, unit };
  return { n: ms, unit: "MILLISECONDS" };
}

function window(w: IrWindow): Window {
  switch (w.kind) {
    case "tumbling":
      return { kind: "TUMBLING", size: duration(w.sizeMs), grace: duration(w.graceMs) };
    case "hopping":
      return { kind: "HOPPING", size: duration(w.sizeMs), advance: duration(w.hopMs ?? w.sizeMs), grace: duration(w.graceMs) };
    case "session":
      return { kind: "SESSION", gap: duration(w.sizeMs), grace: duration(w.graceMs) };
  }
}

function windowText(w: IrWindow): string {
  const d = (ms: number): string => {
    const x = duration(ms);
    return `${x.n} ${x.unit.toLowerCase()}`;
  };
  const g = `grace ${d(w.graceMs)}`;
  if (w.kind === "tumbling") return `tumbling ${d(w.sizeMs)}, ${g}`;
  if (w.kind === "hopping") return `hopping ${d(w.sizeMs)} every ${d(w.hopMs ?? w.sizeMs)}, ${g}`;
  return `session gap ${d(w.sizeMs)}, ${g}`;
}

// ---------------------------------------------------------------- telemetry parsing

const VALUE = col("VALUE");
const ID = col("ID");
const ASSET_UUID = col("ASSET_UUID");
const UNAVAILABLE = lit("UNAVAILABLE");

function isNumeric(tel: IrTelemetry): boolean {
  return tel.type.t === "int" || tel.type.t === "float" || tel.type.t === "duration" || tel.type.t === "timestamp";
}

/**
 * A condition: `text` is a valid value of the telemetry (else the engine dead-letters it), or
 * null when every text is. For numbers, the JSON-number syntax is checked once per row by the
 * caller (`numberSyntax`), before this: here only what the CAST makes checkable.
 */
function validText(tel: IrTelemetry, text: Expr, enumMembers: string[] | undefined, maps: { uuid: string; map: [string, string][] }[]): Expr | null {
  const asNumber = cast(text, DOUBLE);
  switch (tel.type.t) {
    case "int":
    case "float":
    case "duration":
    case "timestamp": {
      const parts: Expr[] = [];
      if (tel.type.t === "int") {
        parts.push(eq(asNumber, call("FLOOR", asNumber)));
        parts.push(bin("<=", call("ABS", asNumber), lit(MAX_SAFE)));
      }
      if (tel.range) {
        parts.push(bin(">=", asNumber, lit(tel.range[0])));
        parts.push(bin("<=", asNumber, lit(tel.range[1])));
      }
      return parts.length === 0 ? null : and(...parts);
    }
    case "bool":
      return inList(text, [lit("true"), lit("false")]);
    case "string":
      return null;
    case "enum": {
      if (enumMembers === undefined) return null;
      // a raw value of a binding's map is valid only for the asset whose binding it is
      const alts: Expr[] = [inList(text, enumMembers.map(lit))];
      for (const m of maps) {
        const raws = [...new Set(m.map.map(([raw]) => raw))].filter((r) => !enumMembers.includes(r));
        if (raws.length > 0) alts.push(and(eq(ASSET_UUID, lit(m.uuid)), inList(text, raws.map(lit))));
      }
      return or(...alts);
    }
  }
}

/** One JSON-number check per row: rows of numeric signals must match it (UNAVAILABLE aside). */
function numberSyntax(numeric: string[]): Expr | null {
  if (numeric.length === 0) return null;
  const isNum = numeric.length === 1 ? eq(ID, lit(numeric[0]!)) : inList(ID, numeric.map(lit));
  return or(not(isNum), eq(VALUE, UNAVAILABLE), isNotNull(call("REGEXP_EXTRACT", lit(JSON_NUMBER), VALUE)));
}

/** The typed value of a valid text (never UNAVAILABLE). */
function typedText(tel: IrTelemetry, text: Expr, enumMembers: string[] | undefined, maps: { uuid: string; map: [string, string][] }[]): Expr {
  switch (tel.type.t) {
    case "bool":
      return eq(text, lit("true"));
    case "string":
      return text;
    case "enum": {
      const whens: { when: Expr; then: Expr }[] = [];
      if (enumMembers !== undefined) whens.push({ when: inList(text, enumMembers.map(lit)), then: text });
      for (const m of maps)
        for (const [raw, member] of m.map) whens.push({ when: and(eq(ASSET_UUID, lit(m.uuid)), eq(text, lit(raw))), then: lit(member) });
      return whens.length === 0 ? text : caseWhen(whens);
    }
    default:
      return cast(text, DOUBLE);
  }
}

// ---------------------------------------------------------------- expressions

interface ExprCtx {
  model: IrModel;
  assets: IrAsset[];
  /** signals read (row context: must stay within one) */
  signals: Set<string>;
  /** states being inlined (cycle guard) */
  inlining: Set<string>;
}

/**
 * A translated expression. ksqlDB has no three-valued logic (SqlToJavaVisitor, 0.29): a
 * comparison with a NULL operand compiles to `false` (nullCheckPrefix), AND/OR/NOT compile to
 * Java `&&`/`||`/`!`, arithmetic to Java operators over boxed numbers, and a CASE's WHEN is
 * unboxed (SearchedCaseFunction: `clause.operand.get()`): a NULL there, or a NULL unboxed by an
 * operator, throws, and CompiledExpression.evaluate makes the whole column NULL. So every
 * expression is built as a pair: `e`, the raw SQL, valid (never throws, never compares a NULL)
 * whenever `nul` is false; and `nul`, the SQL condition under which the OFL value is unknown
 * (`null`: never unknown; `"self"`: `e` is already NULL-safe and NULL exactly when unknown).
 * `full(x)` is the NULL-safe column; `isTrue(x)` a condition safe in a WHEN or WHERE.
 */
interface TE {
  e: Expr;
  nul: Expr | null | "self";
  type: SqlType;
  /** NOT of this value without repeating it (AND/OR chains swap their results) */
  neg?: () => TE;
}

const NULL_DOUBLE = typedNull(DOUBLE);

function attrExpr(ctx: ExprCtx, name: string): TE {
  const has = ctx.assets.filter((a) => a.attributes[name] !== null && a.attributes[name] !== undefined);
  const whens = has.map((a) => ({ when: eq(ASSET_UUID, lit(a.uuid)), then: asDouble(constant(a.attributes[name]!)) }));
  const v0 = has[0]?.attributes[name];
  const type: SqlType = typeof v0 === "string" ? VARCHAR : typeof v0 === "boolean" ? BOOLEAN : DOUBLE;
  if (whens.length === 0) return { e: typedNull(type), nul: "self", type };
  // an attribute every asset has is never unknown
  return { e: caseWhen(whens), nul: has.length === ctx.assets.length ? null : "self", type };
}

/** Numeric literal arguments of GREATEST/LEAST must share the DOUBLE type of the columns. */
function asDouble(e: Expr): Expr {
  return e.k === "lit" && typeof e.value === "number" ? dbl(e.value) : e;
}

/** The condition "x is unknown" (null: never). */
function nullCond(x: TE): Expr | null {
  return x.nul === "self" ? isNull(x.e) : x.nul;
}

/** A value strict in its operands: unknown when any operand is (`extra`: further unknown conditions, tested last). */
function strict(operands: TE[], e: Expr, type: SqlType, ...extra: Expr[]): TE {
  const conds = [...operands.map(nullCond).filter((c): c is Expr => c !== null), ...extra];
  return { e, nul: conds.length === 0 ? null : or(...conds), type };
}

/** The NULL-safe SQL of a value: NULL when unknown. */
function full(x: TE): Expr {
  if (x.nul === null || x.nul === "self") return x.e;
  return caseWhen([{ when: x.nul, then: typedNull(x.type) }], x.e);
}

/** A condition that is TRUE only when the boolean `x` is known and true (safe in WHEN/WHERE). */
function isTrue(x: TE): Expr {
  if (x.nul === null) return x.e;
  // a comparison with NULL is `false` in ksqlDB, never NULL; the && short-circuits before e
  if (x.nul === "self") return eq(x.e, lit(true));
  return and(negate(x.nul), x.e);
}

/** NOT c, as `x IS NOT NULL` when c is `x IS NULL`. */
function negate(c: Expr): Expr {
  return c.k === "isNull" ? { ...c, negated: !c.negated } : not(c);
}

function isFalse(x: TE): Expr {
  if (x.nul === "self") return eq(x.e, lit(false));
  return x.nul === null ? not(x.e) : and(negate(x.nul), not(x.e));
}

/** Operands of a chain of the same logical operator, flattened (each appears twice in the CASE). */
function flatten(e: IrExpr, op: "and" | "or"): IrExpr[] {
  return e.k === "binary" && e.op === op ? [...flatten(e.left, op), ...flatten(e.right, op)] : [e];
}

/** Kleene AND/OR as the engine computes them, from explicit CASEs. */
function logical(op: "and" | "or", xs: TE[], negated = false): TE {
  const decisive = op === "and" ? isFalse : isTrue;
  const unknown = xs.map(nullCond).filter((c): c is Expr => c !== null);
  // `negated`: NOT of the chain, by swapping the results (NOT unknown stays unknown)
  const whens = [{ when: or(...xs.map(decisive)), then: lit((op === "or") !== negated) }];
  if (unknown.length > 0) whens.push({ when: or(...unknown), then: typedNull(BOOLEAN) });
  return { e: caseWhen(whens, lit((op === "and") !== negated)), nul: unknown.length > 0 ? "self" : null, type: BOOLEAN, neg: () => logical(op, xs, !negated) };
}

const CMP: Record<string, "=" | "<>" | "<" | "<=" | ">" | ">="> = { eq: "=", ne: "<>", lt: "<", le: "<=", gt: ">", ge: ">=" };
const ARITH: Record<string, "+" | "-" | "*"> = { add: "+", sub: "-", mul: "*" };

function tx(e: IrExpr, ctx: ExprCtx): TE {
  switch (e.k) {
    case "const":
      if (e.value === null) return { e: NULL_DOUBLE, nul: "self", type: DOUBLE };
      return { e: constant(e.value), nul: null, type: typeof e.value === "boolean" ? BOOLEAN : typeof e.value === "string" ? VARCHAR : DOUBLE };
    case "ref": {
      if (e.asset !== null) worker(`reads another asset (${e.asset}.${e.name}): ksqlDB would need a cross-asset join`);
      switch (e.kind) {
        case "signal": {
          ctx.signals.add(e.name);
          const tel = ctx.model.telemetry.find((t) => t.name === e.name);
          const c = col(signalCol(e.name));
          return { e: c, nul: "self", type: tel ? sqlType(tel.type) : DOUBLE };
        }
        case "attr":
          return attrExpr(ctx, e.name);
        case "alarm":
          worker(`reads the alarm \`${e.name}.active\`, which the rule worker keeps`);
        case "param":
          worker(`reads a command parameter`);
        case "state": {
          const st = ctx.model.states.find((s) => s.name === e.name);
          if (!st) worker(`reads an unknown state \`${e.name}\``);
          if (ctx.inlining.has(st.name)) worker(`state \`${e.name}\` depends on itself`);
          const def = st.def;
          if ("k" in def && def.k === "for") worker(`reads \`${visibleName(st)}\`, a \`for\` duration that needs a timer`);
          if ("k" in def && def.k === "window")
            worker(`reads the windowed aggregate \`${visibleName(st)}\` pointwise: ksqlDB cannot join a windowed table back per asset`);
          ctx.inlining.add(st.name);
          const x = tx(def as IrExpr, ctx);
          ctx.inlining.delete(st.name);
          return x;
        }
      }
      break;
    }
    case "view":
      worker(`reads the view \`${e.name}\`, which is not per asset`);
    case "unary": {
      const a = tx(e.arg, ctx);
      if (e.op === "not" && a.neg) return a.neg();
      return e.op === "not" ? strict([a], not(a.e), BOOLEAN) : strict([a], { k: "unary", op: "-", arg: a.e }, DOUBLE);
    }
    case "binary": {
      if (e.op === "and" || e.op === "or") return logical(e.op, flatten(e, e.op).map((x) => tx(x, ctx)));
      const l = tx(e.left, ctx);
      const r = tx(e.right, ctx);
      const cmp = CMP[e.op];
      if (cmp) return strict([l, r], bin(cmp, asDouble(l.e), asDouble(r.e)), BOOLEAN);
      const ar = ARITH[e.op];
      if (ar) return strict([l, r], bin(ar, l.e, r.e), DOUBLE);
      // division and remainder by zero are not finite: unknown in OFL (NaN/Infinity never enter state);
      // the zero test comes last, when the divisor is known (Java `||` short-circuits)
      const op = e.op === "div" ? "/" : "%";
      const body = bin(op, asDouble(l.e), asDouble(r.e));
      if (r.e.k === "lit" && typeof r.e.value === "number" && r.e.value !== 0) return strict([l, r], body, DOUBLE);
      return strict([l, r], body, DOUBLE, eq(r.e, lit(0)));
    }
    case "scale": {
      const a = tx(e.arg, ctx);
      return strict([a], bin("*", a.e, lit(e.factor)), DOUBLE);
    }
    case "if": {
      // the engine takes the `then` branch only when the condition is known and true
      const c = tx(e.cond, ctx);
      const t = tx(e.then, ctx);
      const f = tx(e.else, ctx);
      // CASE branches must share a type: numeric literals are DOUBLE, like every number here
      return { e: caseWhen([{ when: isTrue(c), then: asDouble(full(t)) }], asDouble(full(f))), nul: "self", type: t.type };
    }
    case "known": {
      const a = tx(e.arg, ctx);
      const n = nullCond(a);
      return { e: n === null ? lit(true) : negate(n), nul: null, type: BOOLEAN };
    }
    case "call": {
      const a = e.args.map((x) => tx(x, ctx));
      if (!IR_FUNCTIONS[e.fn].ksql) worker(`\`${e.fn}\` has no ksqlDB translation`);
      return KSQL_FUNCTIONS[e.fn](a, a.map((x) => x.e));
    }
    case "previous":
      worker("`previous` needs the value before the latest change");
    case "changed":
      worker("`changed` needs the value before the latest change");
    case "age_cmp":
      worker("`age` needs a timer driven by the clock");
  }
  worker(`cannot translate ${(e as IrExpr).k}`);
}

/**
 * The SQL of each built-in of the table IR_FUNCTIONS (compiler/ir/types.ts): a record over
 * `IrFunction`, so a function added to the table without its translation does not compile.
 * `a`: the translated arguments (with their unknown-conditions), `r` their expressions.
 */
const KSQL_FUNCTIONS: { readonly [F in IrFunction]: (a: TE[], r: Expr[]) => TE } = {
  // ksqlDB's ABS/FLOOR/CEIL/SQRT/POWER/SIGN/ROUND return NULL for a NULL argument; strict() never passes one
  abs: (a, r) => strict(a, call("ABS", r[0]!), DOUBLE),
  floor: (a, r) => strict(a, call("FLOOR", r[0]!), DOUBLE),
  ceil: (a, r) => strict(a, call("CEIL", r[0]!), DOUBLE),
  sqrt: (a, r) => strict(a, call("SQRT", r[0]!), DOUBLE, bin("<", r[0]!, lit(0))),
  pow: (a, r) => strict(a, call("POWER", r[0]!, r[1]!), DOUBLE),
  // OFL rounds half away from zero; ksqlDB's ROUND rounds half up (-2.5 → -2)
  round: (a, r) => strict(a, cast(bin("*", call("SIGN", r[0]!), call("ROUND", call("ABS", r[0]!))), DOUBLE), DOUBLE),
  // GREATEST/LEAST skip NULLs; OFL's min/max are unknown when an argument is
  min: (a, r) => strict(a, call("LEAST", ...r.map(asDouble)), DOUBLE),
  max: (a, r) => strict(a, call("GREATEST", ...r.map(asDouble)), DOUBLE),
  clamp: (a, r) => {
    const [x, lo, hi] = r.map(asDouble) as [Expr, Expr, Expr];
    return strict(
      a,
      caseWhen(
        [
          { when: bin("<", x, lo), then: lo },
          { when: bin(">", x, hi), then: hi },
        ],
        x,
      ),
      DOUBLE,
    );
  },
};

function visibleName(s: IrState): string {
  return s.name;
}

// ---------------------------------------------------------------- aggregates

/** `table`: aggregating a table (views without a window): only table-capable functions. */
function aggregate(fn: IrAggFn, argTe: TE | undefined, table: boolean): Expr {
  // aggregate functions skip NULL inputs: the argument is the NULL-safe column
  const arg = argTe ? full(argTe) : undefined;
  const a = (): Expr => arg ?? worker(`\`${fn}\` needs an argument`);
  const streamOnly = (name: string): void => {
    if (table) worker(`${name} cannot aggregate a table in ksqlDB (current values across assets)`);
  };
  switch (fn) {
    case "count":
      return arg ? call("COUNT", arg) : { k: "call", fn: "COUNT", args: [], star: true };
    case "sum":
      return call("SUM", a());
    case "avg":
      // SUM/COUNT over known values: AVG's handling of NULL is not documented
      return caseWhen([{ when: eq(call("COUNT", a()), lit(0)), then: NULL_DOUBLE }], bin("/", call("SUM", a()), call("COUNT", a())));
    case "stddev":
      // STDDEV_SAMPLE (0.25+; a TableUdaf, so tables too) is the square root of the sample
      // variance; STDDEV_SAMP in 0.29 returns the variance itself (StandardDeviationSampUdaf.map:
      // M2 / (count - 1), no sqrt). Both skip NULL inputs; STDDEV_SAMPLE gives 0.0 under 2 values.
      return caseWhen([{ when: bin("<", call("COUNT", a()), lit(2)), then: NULL_DOUBLE }], call("STDDEV_SAMPLE", a()));
    case "min":
      streamOnly("MIN");
      return call("MIN", a());
    case "max":
      streamOnly("MAX");
      return call("MAX", a());
    case "first":
      streamOnly("EARLIEST_BY_OFFSET");
      return call("EARLIEST_BY_OFFSET", a(), lit(true));
    case "last":
      streamOnly("LATEST_BY_OFFSET");
      return call("LATEST_BY_OFFSET", a(), lit(true));
    case "delta":
      streamOnly("EARLIEST_BY_OFFSET/LATEST_BY_OFFSET");
      return bin("-", call("LATEST_BY_OFFSET", a(), lit(true)), call("EARLIEST_BY_OFFSET", a(), lit(true)));
    case "ratio": {
      // unknown conditions are skipped, as in the engine: the CASE is NULL for them (no ELSE),
      // and a WHEN never tests a bare boolean (a NULL one would throw: see TE)
      const c = argTe ?? worker("`ratio` needs an argument");
      const v = caseWhen([
        { when: isTrue(c), then: dbl(1) },
        { when: isFalse(c), then: dbl(0) },
      ]);
      return caseWhen([{ when: eq(call("COUNT", v), lit(0)), then: NULL_DOUBLE }], bin("/", call("SUM", v), call("COUNT", v)));
    }
  }
}

// ---------------------------------------------------------------- the emitter

interface Pending {
  name: string;
  ast: Statement;
  kind: "stream" | "table" | "set";
  replaceable: boolean;
  dependsOn: string[];
  source: string;
}

class Emitter {
  readonly prefix: string;
  readonly topicPrefix: string;
  readonly out: Pending[] = [];
  readonly placement: KsqlPlacement[] = [];
  private readonly names = new Set<string>();
  private readonly enums = new Map<string, string[]>();
  private readonly models = new Map<string, IrModel>();
  /** concrete model → objects */
  private readonly telemetryStream = new Map<string, string>();
  private readonly latestTable = new Map<string, string>();
  /** models whose telemetry stream and latest table carry the constant ALL_KEY (ungrouped views) */
  private readonly needsAllKey = new Set<string>();

  constructor(private readonly ir: IrProgram) {
    this.prefix = programPrefix(ir.program);
    this.topicPrefix = this.prefix.toLowerCase();
    for (const e of ir.enums) this.enums.set(e.name, e.members);
    for (const m of ir.models) this.models.set(m.name, m);
  }

  /** A unique object name `OFL_<PROGRAM>_<PARTS>`. */
  private objectName(...parts: string[]): string {
    const base = this.prefix + parts.map((p) => p.toUpperCase().replace(/[^A-Z0-9_]/g, "_")).join("_");
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  private topic(name: string): string {
    return name.toLowerCase();
  }

  private push(p: Pending): void {
    this.out.push(p);
  }

  private assetsOf(model: string): IrAsset[] {
    return this.ir.assets.filter((a) => a.model === model);
  }

  /** Concrete models (with assets) that are `from` or a sub-model of it. */
  private concreteModels(from: string): string[] {
    const seen: string[] = [];
    for (const a of this.ir.assets) {
      const m = this.models.get(a.model);
      if (m && m.lineage.includes(from) && !seen.includes(m.name)) seen.push(m.name);
    }
    return seen;
  }

  run(): void {
    this.push({
      name: "auto.offset.reset",
      ast: { k: "set", property: "auto.offset.reset", value: "earliest" },
      kind: "set",
      replaceable: true,
      dependsOn: [],
      source: "(program)",
    });
    this.push({
      name: ASSETS_STREAM,
      ast: {
        k: "createSource",
        what: "STREAM",
        name: ASSETS_STREAM,
        orReplace: false,
        ifNotExists: true,
        columns: [
          { name: "ASSET_UUID", type: VARCHAR, key: "KEY" },
          { name: "ID", type: VARCHAR },
          { name: "VALUE", type: VARCHAR },
          { name: "TAG", type: VARCHAR },
          { name: "TYPE", type: VARCHAR },
          // OpenFactory declares attributes as a map; IF NOT EXISTS keeps whichever came first
          { name: "ATTRIBUTES", type: { t: "MAP", key: VARCHAR, value: VARCHAR } },
        ],
        with: [
          { key: "KAFKA_TOPIC", value: ASSETS_TOPIC },
          { key: "VALUE_FORMAT", value: "JSON" },
        ],
      },
      kind: "stream",
      replaceable: false,
      dependsOn: [],
      source: "(OpenFactory)",
    });

    // which models need a constant group key (ungrouped views)
    for (const v of this.ir.views) if (v.by === undefined) for (const m of this.concreteModels(v.from)) this.needsAllKey.add(m);

    const events = this.ir.assets.length > 0 ? this.eventsStream() : undefined;
    for (const m of this.ir.models) {
      const assets = this.assetsOf(m.name);
      if (events && assets.length > 0 && m.telemetry.length > 0) this.modelObjects(m, assets, events);
      this.modelPlacement(m, assets);
    }
    for (const v of this.ir.views) this.view(v);
    for (const r of this.ir.rules) this.placement.push({ declaration: `rule ${r.name}`, runsOn: "worker", reason: ruleReason(r) });
  }

  // ---- the event-time stream of the program's assets

  private eventsStream(): string {
    const name = this.objectName("EVENTS");
    const ts = { k: "subscript", base: col("ATTRIBUTES"), index: lit("timestamp") } as Expr;
    // `openfactory()` bindings: records under a bound data item id are that telemetry, for that
    // asset only; the telemetry's own name still works and wins, as in the engine (issue 13, item 14)
    const aliases: { when: Expr; then: Expr }[] = [];
    for (const a of this.ir.assets) {
      const m = this.models.get(a.model);
      const names = new Set(m?.telemetry.map((t) => t.name) ?? []);
      for (const src of a.sources)
        for (const b of src.bindings) {
          const item = b.named["data_item_id"];
          if (src.kind !== "openfactory" || b.direction !== "telemetry" || typeof item !== "string" || names.has(item)) continue;
          aliases.push({ when: and(eq(ASSET_UUID, lit(a.uuid)), eq(ID, lit(item))), then: lit(b.target) });
        }
    }
    const id: Projection = aliases.length === 0 ? { expr: ID } : { expr: caseWhen(aliases, ID), alias: "ID" };
    const select: Select = {
      projections: [{ expr: ASSET_UUID }, id, { expr: VALUE }, { expr: col("TAG") }, { expr: col("TYPE") }, { expr: ts, alias: "EVENT_TS" }],
      from: ASSETS_STREAM,
      where: and(inList(ASSET_UUID, this.ir.assets.map((a) => lit(a.uuid))), isNotNull(ts)),
      emit: "CHANGES",
    };
    this.push({
      name,
      ast: { k: "createAs", what: "STREAM", name, orReplace: true, ifNotExists: false, with: this.eventTimeProps(name), select },
      kind: "stream",
      replaceable: true,
      dependsOn: [ASSETS_STREAM],
      source: "(program)",
    });
    return name;
  }

  private eventTimeProps(name: string): { key: string; value: string }[] {
    return [
      { key: "KAFKA_TOPIC", value: this.topic(name) },
      { key: "VALUE_FORMAT", value: "JSON" },
      { key: "TIMESTAMP", value: "EVENT_TS" },
      { key: "TIMESTAMP_FORMAT", value: TIMESTAMP_FORMAT },
    ];
  }

  // ---- per model: typed telemetry, latest values, states

  private modelObjects(m: IrModel, assets: IrAsset[], events: string): void {
    const telName = this.objectName(m.name, "TELEMETRY");
    const allKey = this.needsAllKey.has(m.name);
    const members = (t: IrTelemetry): string[] | undefined => (t.type.t === "enum" ? this.enums.get(t.type.name) : undefined);
    const mapsOf = (t: IrTelemetry): { uuid: string; map: [string, string][] }[] =>
      assets.flatMap((a) =>
        a.sources.flatMap((s) => s.bindings.filter((b) => b.direction === "telemetry" && b.target === t.name && b.map).map((b) => ({ uuid: a.uuid, map: b.map! }))),
      );

    // a row per accepted telemetry record (and per `avail` UNAVAILABLE, which makes every signal unknown)
    const accepted: Expr[] = [and(eq(ID, lit("avail")), eq(VALUE, UNAVAILABLE))];
    // Column order (issue 13, item 10): ksqlDB's CREATE OR REPLACE accepts only appended
    // columns, so each signal's two columns sit together and ALL_KEY comes last: a signal added
    // at the end of a model appends columns (a replace); anything else is planned as a recreate.
    const proj: Projection[] = [{ expr: ASSET_UUID }, { expr: ID }, { expr: col("EVENT_TS") }];
    for (const t of m.telemetry) {
      const maps = mapsOf(t);
      const valid = validText(t, VALUE, members(t), maps);
      accepted.push(valid === null ? eq(ID, lit(t.name)) : and(eq(ID, lit(t.name)), or(eq(VALUE, UNAVAILABLE), valid)));
      proj.push({
        expr: caseWhen([{ when: and(eq(ID, lit(t.name)), bin("<>", VALUE, UNAVAILABLE)), then: typedText(t, VALUE, members(t), maps) }]),
        alias: signalCol(t.name),
      });
      // the value text for latest values: UNAVAILABLE is a value here (a non-NULL sentinel), so
      // LATEST_BY_OFFSET(…, true) skips only the rows of other signals
      const text = t.type.t === "enum" && maps.length > 0 ? typedText(t, VALUE, members(t), maps) : VALUE;
      proj.push({
        expr: caseWhen([
          { when: and(eq(ID, lit(t.name)), eq(VALUE, UNAVAILABLE)), then: UNAVAILABLE },
          { when: eq(ID, lit(t.name)), then: text },
          { when: eq(ID, lit("avail")), then: UNAVAILABLE },
        ]),
        alias: textCol(t.name),
      });
    }
    if (allKey) proj.push({ expr: lit("all"), alias: "ALL_KEY" });
    this.push({
      name: telName,
      ast: {
        k: "createAs",
        what: "STREAM",
        name: telName,
        orReplace: true,
        ifNotExists: false,
        with: this.eventTimeProps(telName),
        select: {
          projections: proj,
          from: events,
          // Java && evaluates left to right: the number syntax (one REGEXP_EXTRACT per row of a
          // numeric signal) comes before any CAST of the text
          where: and(
            ...[inList(ASSET_UUID, assets.map((a) => lit(a.uuid))), numberSyntax(m.telemetry.filter(isNumeric).map((t) => t.name)), or(...accepted)].filter(
              (x): x is Expr => x !== null,
            ),
          ),
          emit: "CHANGES",
        },
      },
      kind: "stream",
      replaceable: true,
      dependsOn: [events],
      source: `model ${m.name}`,
    });
    this.telemetryStream.set(m.name, telName);

    // latest values: text per signal, then typed
    const rawName = this.objectName(m.name, "LATEST_TEXT");
    this.push({
      name: rawName,
      ast: {
        k: "createAs",
        what: "TABLE",
        name: rawName,
        orReplace: false,
        ifNotExists: true,
        with: this.plainProps(rawName),
        select: {
          projections: [
            { expr: ASSET_UUID },
            { expr: call("LATEST_BY_OFFSET", col("EVENT_TS"), lit(true)), alias: "EVENT_TS" },
            ...m.telemetry.map((t) => ({ expr: call("LATEST_BY_OFFSET", col(textCol(t.name)), lit(true)), alias: textCol(t.name) })),
          ],
          from: telName,
          groupBy: [ASSET_UUID],
          emit: "CHANGES",
        },
      },
      kind: "table",
      replaceable: false,
      dependsOn: [telName],
      source: `model ${m.name}`,
    });
    const latestName = this.objectName(m.name, "LATEST");
    const lproj: Projection[] = [{ expr: ASSET_UUID }, { expr: col("EVENT_TS") }];
    for (const t of m.telemetry) {
      const text = col(textCol(t.name));
      // the text is already validated and mapped: only the type conversion is left
      const typed = t.type.t === "bool" ? eq(text, lit("true")) : t.type.t === "string" || t.type.t === "enum" ? text : cast(text, DOUBLE);
      // never reported (NULL) is unknown too: without the IS NULL test a bool would read `false`
      lproj.push({ expr: caseWhen([{ when: or(isNull(text), eq(text, UNAVAILABLE)), then: typedNull(sqlType(t.type)) }], typed), alias: signalCol(t.name) });
    }
    if (allKey) lproj.push({ expr: lit("all"), alias: "ALL_KEY" });
    this.push({
      name: latestName,
      ast: { k: "createAs", what: "TABLE", name: latestName, orReplace: true, ifNotExists: false, with: this.plainProps(latestName), select: { projections: lproj, from: rawName, emit: "CHANGES" } },
      kind: "table",
      replaceable: true,
      dependsOn: [rawName],
      source: `model ${m.name}`,
    });
    this.latestTable.set(m.name, latestName);

    for (const s of m.states) if (!s.hidden) this.state(m, assets, s);
  }

  private plainProps(name: string): { key: string; value: string }[] {
    return [
      { key: "KAFKA_TOPIC", value: this.topic(name) },
      { key: "VALUE_FORMAT", value: "JSON" },
    ];
  }

  private derivedProps(name: string): { key: string; value: string }[] {
    // derived records go to a topic of their own, `ofl_<program>_derived_<model>_<state>`
    return [
      { key: "KAFKA_TOPIC", value: this.topicPrefix + "derived_" + this.topic(name).slice(this.topicPrefix.length) },
      { key: "VALUE_FORMAT", value: "JSON" },
    ];
  }

  /** the ofa_assets value layout: ID, VALUE (text), TAG 'Derived', TYPE, ATTRIBUTES */
  private wireLayout(key: Expr, keyAlias: string | undefined, id: string, value: Expr, type: IrType, timestamp: Expr | undefined): Projection[] {
    const p: Projection[] = [
      keyAlias === undefined ? { expr: key } : { expr: key, alias: keyAlias },
      { expr: lit(id), alias: "ID" },
      { expr: valueText(value, type), alias: "VALUE" },
      { expr: lit("Derived"), alias: "TAG" },
      { expr: lit(isSample(type) ? "Samples" : "Events"), alias: "TYPE" },
    ];
    if (timestamp) p.push({ expr: { k: "map", entries: [{ key: lit("timestamp"), value: timestamp }] }, alias: "ATTRIBUTES" });
    return p;
  }

  private state(m: IrModel, assets: IrAsset[], s: IrState): void {
    const decl = `${m.name}.${s.name}`;
    const ctx: ExprCtx = { model: m, assets, signals: new Set(), inlining: new Set([s.name]) };
    const def = s.def;
    try {
      if ("k" in def && def.k === "for") worker("`for` needs a timer");
      if ("k" in def && def.k === "window") {
        const agg = def.agg;
        const arg = agg.arg ? tx(agg.arg, ctx) : undefined;
        if (ctx.signals.size > 1)
          worker(`aggregates an expression over several signals (${[...ctx.signals].join(", ")}): each event needs the asset's other latest values`);
        const triggers = agg.triggers.length > 0 ? agg.triggers : m.telemetry.map((t) => t.name);
        const from = this.telemetryStream.get(m.name)!;
        const name = this.objectName(m.name, s.name);
        const value = aggregate(agg.fn, arg, false);
        this.push({
          name,
          ast: {
            k: "createAs",
            what: "TABLE",
            name,
            orReplace: false,
            ifNotExists: true,
            with: this.derivedProps(name),
            select: {
              projections: this.wireLayout(ASSET_UUID, undefined, s.name, value, s.type, call("LATEST_BY_OFFSET", col("EVENT_TS"), lit(true))),
              from,
              window: window(agg.window),
              where: triggers.length === 1 ? eq(ID, lit(triggers[0]!)) : inList(ID, triggers.map(lit)),
              groupBy: [ASSET_UUID],
              emit: agg.final ? "FINAL" : "CHANGES",
            },
          },
          kind: "table",
          replaceable: false,
          dependsOn: [from],
          source: decl,
        });
        this.placement.push({
          declaration: decl,
          runsOn: "ksqldb",
          reason: `windowed aggregate (${agg.fn} over ${windowText(agg.window)}, ${agg.final ? "EMIT FINAL" : "EMIT CHANGES"}): ${name}`,
        });
        return;
      }
      const x = full(tx(def as IrExpr, ctx));
      const from = this.latestTable.get(m.name)!;
      const name = this.objectName(m.name, s.name);
      this.push({
        name,
        ast: {
          k: "createAs",
          what: "TABLE",
          name,
          orReplace: true,
          ifNotExists: false,
          with: this.derivedProps(name),
          select: { projections: this.wireLayout(ASSET_UUID, undefined, s.name, x, s.type, col("EVENT_TS")), from, emit: "CHANGES" },
        },
        kind: "table",
        replaceable: true,
        dependsOn: [from],
        source: decl,
      });
      this.placement.push({ declaration: decl, runsOn: "ksqldb", reason: `pointwise over the latest values: ${name}` });
    } catch (err) {
      if (!(err instanceof NotKsql)) throw err;
      this.placement.push({ declaration: decl, runsOn: "worker", reason: `${err.message}: runs in the rule worker` });
    }
  }

  /** Placement of a model's declarations that the emitter does not handle itself. */
  private modelPlacement(m: IrModel, assets: IrAsset[]): void {
    if (assets.length === 0 || m.telemetry.length === 0) {
      for (const s of m.states)
        if (!s.hidden)
          this.placement.push({
            declaration: `${m.name}.${s.name}`,
            runsOn: "worker",
            reason: assets.length === 0 ? `no asset of ${m.name} itself (sub-models list their own): nothing for ksqlDB` : `${m.name} has no telemetry: runs in the rule worker`,
          });
    }
    for (const a of m.alarms)
      this.placement.push({
        declaration: `${m.name}.${a.name}`,
        runsOn: "worker",
        reason: `an alarm is raised and cleared on transitions${a.clear ? " with hysteresis (`clear when`)" : ""} and acknowledged: runs in the rule worker`,
      });
    for (const c of m.commands)
      this.placement.push({
        declaration: `${m.name}.${c.name}`,
        runsOn: "worker",
        reason: c.requires ? "the interlock (`requires`) and dispatch need current state and the connector: runs in the rule worker" : "command dispatch goes through the connector: runs in the rule worker",
      });
  }

  // ---- views

  private view(v: IrView): void {
    const decl = `view ${v.name}`;
    try {
      const ms = this.concreteModels(v.from);
      if (ms.length === 0) worker(`no asset of ${v.from}: nothing for ksqlDB to aggregate`);
      if (ms.length > 1) worker(`spans the models ${ms.join(", ")}: ksqlDB would need a union of their streams (INSERT INTO, not idempotent)`);
      const m = this.models.get(ms[0]!)!;
      if (m.telemetry.length === 0) worker(`${m.name} has no telemetry`);
      const assets = this.assetsOf(m.name);
      const ctx: ExprCtx = { model: m, assets, signals: new Set(), inlining: new Set() };
      const arg = v.arg ? tx(v.arg, ctx) : undefined;
      const whereTe = v.where ? tx(v.where, ctx) : undefined;
      // a row is in the view when the condition is known and true (the engine: `=== true`)
      const where = whereTe ? isTrue(whereTe) : undefined;
      const group: Expr = v.by === undefined ? col("ALL_KEY") : attrGroup(assets, v.by);
      const name = this.objectName("VIEW", v.name);
      const value = aggregate(v.fn, arg, v.window === undefined);
      if (v.window) {
        if (ctx.signals.size > 1)
          worker(`reads several signals (${[...ctx.signals].join(", ")}) per event: each event needs the asset's other latest values`);
        const triggers = v.triggers.length > 0 ? v.triggers : m.telemetry.map((t) => t.name);
        const from = this.telemetryStream.get(m.name)!;
        const byTrigger = triggers.length === 1 ? eq(ID, lit(triggers[0]!)) : inList(ID, triggers.map(lit));
        this.push({
          name,
          ast: {
            k: "createAs",
            what: "TABLE",
            name,
            orReplace: false,
            ifNotExists: true,
            with: this.derivedProps(name),
            select: {
              projections: this.wireLayout(group, "VIEW_GROUP", v.name, value, v.type, call("LATEST_BY_OFFSET", col("EVENT_TS"), lit(true))),
              from,
              window: window(v.window),
              where: where ? and(byTrigger, where) : byTrigger,
              groupBy: [group],
              emit: v.final ? "FINAL" : "CHANGES",
            },
          },
          kind: "table",
          replaceable: false,
          dependsOn: [from],
          source: decl,
        });
        this.placement.push({
          declaration: decl,
          runsOn: "ksqldb",
          reason: `windowed aggregate across ${m.name} assets${v.by ? ` by ${v.by}` : ""} (${v.fn} over ${windowText(v.window)}): ${name}`,
        });
        return;
      }
      const from = this.latestTable.get(m.name)!;
      this.push({
        name,
        ast: {
          k: "createAs",
          what: "TABLE",
          name,
          orReplace: false,
          ifNotExists: true,
          with: this.derivedProps(name),
          select: {
            projections: this.wireLayout(group, "VIEW_GROUP", v.name, value, v.type, undefined),
            from,
            ...(where ? { where } : {}),
            groupBy: [group],
            emit: "CHANGES",
          },
        },
        kind: "table",
        replaceable: false,
        dependsOn: [from],
        source: decl,
      });
      this.placement.push({
        declaration: decl,
        runsOn: "ksqldb",
        reason: `table aggregation of the current values of ${m.name} assets${v.by ? ` by ${v.by}` : ""}: ${name}`,
      });
    } catch (err) {
      if (!(err instanceof NotKsql)) throw err;
      this.placement.push({ declaration: decl, runsOn: "worker", reason: `${err.message}: runs in the rule worker` });
    }
  }
}

// Signal columns carry a prefix no emitted or system column has (issue 13, item 4): a signal
// may be called `id`, `event_ts`, `asset_uuid`, `all_key`, `rowtime`, `windowstart`, … — the
// columns the emitter adds (ASSET_UUID, ID, EVENT_TS, ALL_KEY, VIEW_GROUP, VALUE, TAG, TYPE,
// ATTRIBUTES) and ksqlDB's pseudo and window columns (ROWTIME, ROWKEY, ROWPARTITION, ROWOFFSET,
// WINDOWSTART, WINDOWEND: SystemColumns.java) never start with `S_` or `T_`.

/** The column of a signal's text (validated, mapped; 'UNAVAILABLE' as a sentinel). */
function textCol(signal: string): string {
  return `T_${signal}`;
}

/** The column of a signal's typed value. */
function signalCol(signal: string): string {
  return `S_${signal}`;
}

/** The group of an asset: its attribute's value as text (static per asset, so inlined). */
function attrGroup(assets: IrAsset[], attr: string): Expr {
  const whens = assets
    .filter((a) => a.attributes[attr] !== null && a.attributes[attr] !== undefined)
    .map((a) => ({ when: eq(ASSET_UUID, lit(a.uuid)), then: lit(String(a.attributes[attr])) }));
  return whens.length === 0 ? typedNull(VARCHAR) : caseWhen(whens);
}

function ruleReason(r: IrRule): string {
  const parts = ["fires on the rising edge of its condition"];
  if (r.cooldownMs !== undefined) parts.push("keeps a cooldown");
  if (r.repeatMs !== undefined) parts.push("repeats on a timer");
  parts.push("and issues commands through the interlocks");
  return `${parts.join(", ")}: runs in the rule worker`;
}

// ---------------------------------------------------------------- public API

/** Compiles a program's IR to ksqlDB statements (in dependency order) and a placement list. */
/**
 * Kafka Streams checks for closed windows of an `EMIT FINAL` aggregate at most once per
 * `__emit.interval.ms.kstreams.windowed.aggregation__` of *wall-clock* time (default 1 s), so a
 * closed window would be emitted late or, in a burst, with a later record than the engine's.
 * 0 checks on every record. ksqlDB passes this internal Streams property through
 * (KsqlConfigResolver.isInternalStreamsConfig, 0.29) and its own query-validation tests of
 * EMIT FINAL set it to 0 (ksqldb-functional-tests/.../query-validation-tests/suppress.json).
 */
export const EMIT_INTERVAL_PROPERTY = "ksql.streams.__emit.interval.ms.kstreams.windowed.aggregation__";

export function emitKsql(ir: IrProgram): KsqlPlan {
  const e = new Emitter(ir);
  e.run();
  const properties: Record<string, string> = { "auto.offset.reset": "earliest" };
  const known = new Map<string, Map<string, string>>();
  if (e.out.some((p) => p.ast.k === "createAs" && p.ast.select.emit === "FINAL")) {
    properties[EMIT_INTERVAL_PROPERTY] = "0";
    e.out.splice(1, 0, { name: EMIT_INTERVAL_PROPERTY, ast: { k: "set", property: EMIT_INTERVAL_PROPERTY, value: "0" }, kind: "set", replaceable: true, dependsOn: [], source: "(program)" });
  }
  return {
    program: ir.program,
    prefix: e.prefix,
    statements: e.out.map((p) => {
      const columns = columnsOf(p.ast, known);
      if (columns) known.set(p.name, new Map(columns.map((c) => [c.name, c.type])));
      return { name: p.name, sql: printStatement(p.ast), kind: p.kind, replaceable: p.replaceable, dependsOn: p.dependsOn, source: p.source, ...(columns ? { columns } : {}) };
    }),
    placement: e.placement,
    properties,
  };
}

/** The SQL type of a projected expression, given the column types of its source. */
function exprType(e: Expr, src: Map<string, string>): string {
  switch (e.k) {
    case "col":
      return src.get(e.name.toUpperCase()) ?? "?";
    case "lit":
      if (typeof e.value === "string") return "VARCHAR";
      if (typeof e.value === "boolean") return "BOOLEAN";
      if (typeof e.value === "number") return e.double || !Number.isInteger(e.value) ? "DOUBLE" : "INTEGER";
      return "?";
    case "cast":
      return printType(e.type);
    case "case": {
      for (const b of [...e.whens.map((w) => w.then), ...(e.else ? [e.else] : [])]) {
        const t = exprType(b, src);
        if (t !== "?") return t;
      }
      return "?";
    }
    case "binary":
      return ["+", "-", "*", "/", "%"].includes(e.op) ? "DOUBLE" : "BOOLEAN";
    case "unary":
      return e.op === "NOT" ? "BOOLEAN" : exprType(e.arg, src);
    case "isNull":
    case "in":
      return "BOOLEAN";
    case "call":
      if (e.fn === "COUNT") return "BIGINT";
      if (["COALESCE", "LATEST_BY_OFFSET", "EARLIEST_BY_OFFSET", "MIN", "MAX", "SUM"].includes(e.fn)) return exprType(e.args[0]!, src);
      return "DOUBLE";
    case "map":
      return `MAP<VARCHAR, ${exprType(e.entries[0]!.value, src)}>`;
    case "subscript":
      return exprType(e.base, src).replace(/^MAP<[^,]+, (.*)>$/, "$1");
    case "field":
      return "?";
  }
}

/** The value columns each CREATE makes (key columns included: their order matters too). */
function columnsOf(st: Statement, known: Map<string, Map<string, string>>): { name: string; type: string }[] | undefined {
  if (st.k === "createSource") return st.columns.map((c) => ({ name: c.name.toUpperCase(), type: printType(c.type) }));
  if (st.k !== "createAs") return undefined;
  const src = known.get(st.select.from) ?? new Map<string, string>();
  return st.select.projections.map((p) => ({
    name: (p.alias ?? (p.expr.k === "col" ? p.expr.name : "?")).toUpperCase(),
    type: exprType(p.expr, src),
  }));
}

/** The statements as one script (what `ofl build` writes), each headed by where it comes from. */
export function ksqlScript(plan: KsqlPlan): string {
  const head = [
    `-- ksqlDB statements of the OFL program ${JSON.stringify(plan.program)}, generated by ofl build: do not edit.`,
    `-- Objects are prefixed ${plan.prefix}; ASSETS_STREAM is OpenFactory's (created only when absent).`,
  ];
  const body = plan.statements.map((s) => `-- ${s.source}${s.kind === "set" ? "" : `: ${s.kind} ${s.name}${s.replaceable ? " (replaceable)" : ""}`}\n${s.sql}`);
  return [...head, "", body.join("\n\n"), ""].join("\n");
}

/** What `ofl build --explain` prints: where each declaration runs, and the ksqlDB objects. */
export function explainKsql(plan: KsqlPlan): string {
  const lines: string[] = [];
  const width = Math.max(0, ...plan.placement.map((p) => p.declaration.length));
  const section = (title: string, runsOn: "ksqldb" | "worker"): void => {
    const ps = plan.placement.filter((p) => p.runsOn === runsOn);
    lines.push(`${title} (${ps.length}):`);
    if (ps.length === 0) lines.push("  (none)");
    for (const p of ps) lines.push(`  ${p.declaration.padEnd(width)}  ${p.reason}`);
  };
  lines.push(`Program ${JSON.stringify(plan.program)}: ksqlDB objects are prefixed ${plan.prefix}`);
  lines.push("");
  section("Runs in ksqlDB", "ksqldb");
  lines.push("");
  section("Runs in the rule worker", "worker");
  lines.push("");
  lines.push(`ksqlDB statements, in order (${plan.statements.length}):`);
  plan.statements.forEach((s, i) => {
    const what = s.kind === "set" ? `SET ${s.name}` : `${s.kind} ${s.name}`;
    const how = s.kind === "set" ? "" : s.replaceable ? " [CREATE OR REPLACE]" : " [IF NOT EXISTS]";
    const deps = s.dependsOn.length > 0 ? ` <- ${s.dependsOn.join(", ")}` : "";
    lines.push(`  ${String(i + 1).padStart(2)}. ${what}${how}${deps}`);
  });
  return lines.join("\n") + "\n";
}

/**
 * The NULL-safe ksqlDB expression of a pointwise state, as the emitter puts it in the state's
 * table (before the text conversion). For tests that evaluate it under ksqlDB's semantics.
 */
export function ksqlStateExpr(ir: IrProgram, model: string, state: string): Expr {
  const m = ir.models.find((x) => x.name === model)!;
  const s = m.states.find((x) => x.name === state)!;
  const ctx: ExprCtx = { model: m, assets: ir.assets.filter((a) => a.model === model), signals: new Set(), inlining: new Set([s.name]) };
  return full(tx(s.def as IrExpr, ctx));
}
