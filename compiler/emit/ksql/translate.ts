// The translation of OFL expressions and aggregates to ksqlDB SQL (ast.ts nodes), with OFL's
// three-valued logic, and the reasons a construct cannot be translated (`worker(reason)` throws
// `NotKsql`). Pure functions of the IR: the placement stage (compiler/place/place.ts) runs them to
// decide where each declaration runs, the emitter (emit.ts) to build the statements of what
// placement put on ksqlDB.
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
  IrState,
  IrTelemetry,
  IrType,
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
  type SqlType,
  type Window,
} from "./ast.js";

/**
 * A JSON number, anchored on the whole text: `\\z` (end of input), not `$`, which in Java
 * (java.util.regex, what REGEXP_EXTRACT compiles: udf/string/RegexpExtract.java) also matches
 * before a final line terminator, so `"12\\n"` would pass where the engine rejects it.
 */
export const JSON_NUMBER = "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?\\z";
export const MAX_SAFE = 9007199254740991;

export class NotKsql extends Error {}

/** Why a construct cannot run in ksqlDB (thrown while translating, caught per declaration). */
export function worker(reason: string): never {
  throw new NotKsql(reason);
}

// ---------------------------------------------------------------- types and values

export function sqlType(t: IrType): SqlType {
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

export function isSample(t: IrType): boolean {
  return t.t === "int" || t.t === "float" || t.t === "duration" || t.t === "timestamp";
}

/** The wire text of a typed value (`UNAVAILABLE` for unknown), as the engine writes it. */
export function valueText(x: Expr, t: IrType): Expr {
  let text: Expr;
  if (t.t === "int") text = cast(cast(x, BIGINT), VARCHAR);
  else if (t.t === "string" || t.t === "enum") text = x;
  else text = cast(x, VARCHAR);
  return call("COALESCE", text, lit("UNAVAILABLE"));
}

export function constant(v: Value): Expr {
  return lit(v);
}

export function duration(ms: number): Duration {
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

export function window(w: IrWindow): Window {
  switch (w.kind) {
    case "tumbling":
      return { kind: "TUMBLING", size: duration(w.sizeMs), grace: duration(w.graceMs) };
    case "hopping":
      return { kind: "HOPPING", size: duration(w.sizeMs), advance: duration(w.hopMs ?? w.sizeMs), grace: duration(w.graceMs) };
    case "session":
      return { kind: "SESSION", gap: duration(w.sizeMs), grace: duration(w.graceMs) };
  }
}

export function windowText(w: IrWindow): string {
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

export const VALUE = col("VALUE");
export const ID = col("ID");
export const ASSET_UUID = col("ASSET_UUID");
export const UNAVAILABLE = lit("UNAVAILABLE");

export function isNumeric(tel: IrTelemetry): boolean {
  return tel.type.t === "int" || tel.type.t === "float" || tel.type.t === "duration" || tel.type.t === "timestamp";
}

/**
 * A condition: `text` is a valid value of the telemetry (else the engine dead-letters it), or
 * null when every text is. For numbers, the JSON-number syntax is checked once per row by the
 * caller (`numberSyntax`), before this: here only what the CAST makes checkable.
 */
export function validText(tel: IrTelemetry, text: Expr, enumMembers: string[] | undefined, maps: { uuid: string; map: [string, string][] }[]): Expr | null {
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
export function numberSyntax(numeric: string[]): Expr | null {
  if (numeric.length === 0) return null;
  const isNum = numeric.length === 1 ? eq(ID, lit(numeric[0]!)) : inList(ID, numeric.map(lit));
  return or(not(isNum), eq(VALUE, UNAVAILABLE), isNotNull(call("REGEXP_EXTRACT", lit(JSON_NUMBER), VALUE)));
}

/** The typed value of a valid text (never UNAVAILABLE). */
export function typedText(tel: IrTelemetry, text: Expr, enumMembers: string[] | undefined, maps: { uuid: string; map: [string, string][] }[]): Expr {
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

export interface ExprCtx {
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
export interface TE {
  e: Expr;
  nul: Expr | null | "self";
  type: SqlType;
  /** NOT of this value without repeating it (AND/OR chains swap their results) */
  neg?: () => TE;
}

export const NULL_DOUBLE = typedNull(DOUBLE);

export function attrExpr(ctx: ExprCtx, name: string): TE {
  const has = ctx.assets.filter((a) => a.attributes[name] !== null && a.attributes[name] !== undefined);
  const whens = has.map((a) => ({ when: eq(ASSET_UUID, lit(a.uuid)), then: asDouble(constant(a.attributes[name]!)) }));
  const v0 = has[0]?.attributes[name];
  const type: SqlType = typeof v0 === "string" ? VARCHAR : typeof v0 === "boolean" ? BOOLEAN : DOUBLE;
  if (whens.length === 0) return { e: typedNull(type), nul: "self", type };
  // an attribute every asset has is never unknown
  return { e: caseWhen(whens), nul: has.length === ctx.assets.length ? null : "self", type };
}

/** Numeric literal arguments of GREATEST/LEAST must share the DOUBLE type of the columns. */
export function asDouble(e: Expr): Expr {
  return e.k === "lit" && typeof e.value === "number" ? dbl(e.value) : e;
}

/** The condition "x is unknown" (null: never). */
export function nullCond(x: TE): Expr | null {
  return x.nul === "self" ? isNull(x.e) : x.nul;
}

/** A value strict in its operands: unknown when any operand is (`extra`: further unknown conditions, tested last). */
export function strict(operands: TE[], e: Expr, type: SqlType, ...extra: Expr[]): TE {
  const conds = [...operands.map(nullCond).filter((c): c is Expr => c !== null), ...extra];
  return { e, nul: conds.length === 0 ? null : or(...conds), type };
}

/** The NULL-safe SQL of a value: NULL when unknown. */
export function full(x: TE): Expr {
  if (x.nul === null || x.nul === "self") return x.e;
  return caseWhen([{ when: x.nul, then: typedNull(x.type) }], x.e);
}

/** A condition that is TRUE only when the boolean `x` is known and true (safe in WHEN/WHERE). */
export function isTrue(x: TE): Expr {
  if (x.nul === null) return x.e;
  // a comparison with NULL is `false` in ksqlDB, never NULL; the && short-circuits before e
  if (x.nul === "self") return eq(x.e, lit(true));
  return and(negate(x.nul), x.e);
}

/** NOT c, as `x IS NOT NULL` when c is `x IS NULL`. */
export function negate(c: Expr): Expr {
  return c.k === "isNull" ? { ...c, negated: !c.negated } : not(c);
}

export function isFalse(x: TE): Expr {
  if (x.nul === "self") return eq(x.e, lit(false));
  return x.nul === null ? not(x.e) : and(negate(x.nul), not(x.e));
}

/** Operands of a chain of the same logical operator, flattened (each appears twice in the CASE). */
export function flatten(e: IrExpr, op: "and" | "or"): IrExpr[] {
  return e.k === "binary" && e.op === op ? [...flatten(e.left, op), ...flatten(e.right, op)] : [e];
}

/** Kleene AND/OR as the engine computes them, from explicit CASEs. */
export function logical(op: "and" | "or", xs: TE[], negated = false): TE {
  const decisive = op === "and" ? isFalse : isTrue;
  const unknown = xs.map(nullCond).filter((c): c is Expr => c !== null);
  // `negated`: NOT of the chain, by swapping the results (NOT unknown stays unknown)
  const whens = [{ when: or(...xs.map(decisive)), then: lit((op === "or") !== negated) }];
  if (unknown.length > 0) whens.push({ when: or(...unknown), then: typedNull(BOOLEAN) });
  return { e: caseWhen(whens, lit((op === "and") !== negated)), nul: unknown.length > 0 ? "self" : null, type: BOOLEAN, neg: () => logical(op, xs, !negated) };
}

export const CMP: Record<string, "=" | "<>" | "<" | "<=" | ">" | ">="> = { eq: "=", ne: "<>", lt: "<", le: "<=", gt: ">", ge: ">=" };
export const ARITH: Record<string, "+" | "-" | "*"> = { add: "+", sub: "-", mul: "*" };

export function tx(e: IrExpr, ctx: ExprCtx): TE {
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
          const c = col(signalCol(ctx.model, e.name));
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
export const KSQL_FUNCTIONS: { readonly [F in IrFunction]: (a: TE[], r: Expr[]) => TE } = {
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

export function visibleName(s: IrState): string {
  return s.name;
}

// ---------------------------------------------------------------- aggregates

/** `table`: aggregating a table (views without a window): only table-capable functions. */
export function aggregate(fn: IrAggFn, argTe: TE | undefined, table: boolean): Expr {
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

// Signal columns carry a prefix no emitted or system column has (issue 13, item 4): a signal
// may be called `id`, `event_ts`, `asset_uuid`, `all_key`, `rowtime`, `windowstart`, … — the
// columns the emitter adds (ASSET_UUID, ID, EVENT_TS, ALL_KEY, VIEW_GROUP, VALUE, TAG, TYPE,
// ATTRIBUTES) and ksqlDB's pseudo and window columns (ROWTIME, ROWKEY, ROWPARTITION, ROWOFFSET,
// WINDOWSTART, WINDOWEND: SystemColumns.java) never start with `S_` or `T_`.

// ksqlDB folds unquoted names to upper case: two signals of a model whose names differ only in
// case (`Temp`, `temp`) would make two columns S_TEMP, and ksqlDB refuses the statement
// ("Duplicate value columns found in schema"). The later one is numbered (S_TEMP_2), as object
// names are (emit.ts, objectName).
const columnBodies = new WeakMap<IrModel, Map<string, string>>();

/** A telemetry signal's column name after its prefix: upper-cased, unique in its model. */
function columnBody(model: IrModel, signal: string): string {
  let bodies = columnBodies.get(model);
  if (!bodies) {
    bodies = new Map();
    const used = new Set<string>();
    for (const t of model.telemetry) {
      const base = t.name.toUpperCase();
      let body = base;
      for (let i = 2; used.has(body); i++) body = `${base}_${i}`;
      used.add(body);
      bodies.set(t.name, body);
    }
    columnBodies.set(model, bodies);
  }
  return bodies.get(signal) ?? signal.toUpperCase();
}

/** The column of a signal's text (validated, mapped; 'UNAVAILABLE' as a sentinel). */
export function textCol(model: IrModel, signal: string): string {
  return `T_${columnBody(model, signal)}`;
}

/** The column of a signal's typed value. */
export function signalCol(model: IrModel, signal: string): string {
  return `S_${columnBody(model, signal)}`;
}

/** The group of an asset: its attribute's value as text (static per asset, so inlined). */
export function attrGroup(assets: IrAsset[], attr: string): Expr {
  const whens = assets
    .filter((a) => a.attributes[attr] !== null && a.attributes[attr] !== undefined)
    .map((a) => ({ when: eq(ASSET_UUID, lit(a.uuid)), then: lit(String(a.attributes[attr])) }));
  return whens.length === 0 ? typedNull(VARCHAR) : caseWhen(whens);
}

