// Prints the ksqlDB syntax tree of ast.ts. The one place where SQL text is made:
// - identifiers are upper-cased; one that is not a plain identifier or is a keyword is quoted
//   with backticks (a backtick inside doubled), so user names can never break out;
// - string literals are single-quoted with every quote doubled;
// - parentheses follow operator precedence (only where needed).
import type { Duration, Expr, Props, Select, SqlType, Statement, Window } from "./ast.js";

/**
 * ksqlDB 0.29's reserved words: every keyword token of its grammar
 * (ksqldb-parser/src/main/antlr4/io/confluent/ksql/parser/SqlBase.g4 at v0.29.0) that is not
 * listed in the `nonReserved` rule (88 words). A reserved word is not an identifier unless
 * quoted with backticks.
 */
export const KSQL_RESERVED: readonly string[] = (
  "ADVANCE ALL AND AS AT BEGINNING BETWEEN BY CASE CAST CATALOG CONNECTOR CONNECTORS CREATE DAYS DECIMAL DELETE " +
  "DESCRIBE DISTINCT DROP ELSE END EXISTS EXPORT EXTENDED FALSE FROM FULL GROUP HAVING HOPPING HOURS IN INNER " +
  "INSERT INTO IS JOIN LEFT LIKE LIMIT LIST LOAD MATERIALIZED MILLISECOND MILLISECONDS MINUTES MONTHS NAMESPACE " +
  "NOT NULL ON OR OUTER PAUSE PRINT PROPERTIES QUERIES QUERY RENAME RESUME RETENTION RIGHT RUN SAMPLE SCRIPT " +
  "SECONDS SELECT SIZE STREAM STREAMS TABLE TERMINATE THEN TO TOPIC TOPICS TRUE TUMBLING UNSET VALUES VIEW WHEN " +
  "WHERE WINDOW WITH WITHIN YEARS"
).split(" ");

/**
 * Words quoted too although `nonReserved` allows them bare: they start clauses or types where
 * a bare name would be ambiguous to a reader (and cost nothing to quote).
 */
const ALSO_QUOTED = (
  "ARRAY DATE EMIT CHANGES FINAL GRACE IF INTEGER INTERVAL KEY MAP PARTITION PERIOD PRIMARY REPLACE SESSION SET " +
  "STRUCT TIME TIMESTAMP"
).split(" ");

const RESERVED = new Set([...KSQL_RESERVED, ...ALSO_QUOTED]);

/** An identifier: upper-cased, quoted with backticks unless plain and not reserved. */
export function ident(name: string): string {
  const up = name.toUpperCase();
  if (/^[A-Z_][A-Z0-9_]*$/.test(up) && !RESERVED.has(up)) return up;
  return "`" + up.replace(/`/g, "``") + "`";
}

/** A string literal: single quotes, each quote doubled (ksqlDB's only escape). */
export function str(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

export function printType(t: SqlType): string {
  switch (t.t) {
    case "MAP":
      return `MAP<${printType(t.key)}, ${printType(t.value)}>`;
    case "STRUCT":
      return `STRUCT<${t.fields.map((f) => `${ident(f.name)} ${printType(f.type)}`).join(", ")}>`;
    default:
      return t.t;
  }
}

function number(v: number, double: boolean): string {
  if (!Number.isFinite(v)) throw new Error(`ksql: cannot print the number ${v}`);
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  let s: string;
  if (Number.isInteger(a) && !double && a <= Number.MAX_SAFE_INTEGER) s = String(a);
  else {
    // a DOUBLE literal needs an exponent (a bare `1.5` is a DECIMAL in ksqlDB)
    s = String(a).toUpperCase();
    if (!s.includes("E")) s += "E0";
    if (!s.includes(".")) s = s.replace("E", ".0E");
  }
  return neg ? `-${s}` : s;
}

// precedence: higher binds tighter
const PREC: Record<string, number> = {
  OR: 1,
  AND: 2,
  NOT: 3,
  "=": 4,
  "<>": 4,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
  "+": 5,
  "-": 5,
  "*": 6,
  "/": 6,
  "%": 6,
};
const ATOM = 9;

function prec(e: Expr): number {
  switch (e.k) {
    case "binary":
      return PREC[e.op]!;
    case "unary":
      return e.op === "NOT" ? 3 : 7;
    case "isNull":
    case "in":
      return 4;
    case "lit":
      return typeof e.value === "number" && e.value < 0 ? 7 : ATOM;
    default:
      return ATOM;
  }
}

function wrap(e: Expr, min: number): string {
  const s = printExpr(e);
  return prec(e) < min ? `(${s})` : s;
}

export function printExpr(e: Expr): string {
  switch (e.k) {
    case "col":
      return ident(e.name);
    case "lit":
      if (e.value === null) return "NULL";
      if (typeof e.value === "boolean") return e.value ? "TRUE" : "FALSE";
      if (typeof e.value === "number") return number(e.value, e.double === true);
      return str(e.value);
    case "call":
      return `${ident(e.fn)}(${e.star ? "*" : e.args.map(printExpr).join(", ")})`;
    case "case":
      return `CASE ${e.whens.map((w) => `WHEN ${printExpr(w.when)} THEN ${printExpr(w.then)}`).join(" ")}${e.else ? ` ELSE ${printExpr(e.else)}` : ""} END`;
    case "cast":
      return `CAST(${printExpr(e.arg)} AS ${printType(e.type)})`;
    case "binary": {
      const p = PREC[e.op]!;
      // left-associative: the right operand needs parentheses at equal precedence; an AND
      // under an OR is parenthesized too, for the reader
      const min = e.op === "OR" ? 3 : p;
      // a chain of ORs reads flat (OR is associative): only an AND under an OR gets parentheses
      const left = e.op === "OR" && e.left.k === "binary" && e.left.op === "OR" ? printExpr(e.left) : wrap(e.left, e.op === "OR" ? 3 : p);
      return `${left} ${e.op} ${wrap(e.right, Math.max(min, p + 1))}`;
    }
    case "unary":
      return e.op === "NOT" ? `NOT ${wrap(e.arg, 5)}` : `-${wrap(e.arg, ATOM)}`;
    case "isNull":
      return `${wrap(e.arg, 5)} IS ${e.negated ? "NOT " : ""}NULL`;
    case "in":
      return `${wrap(e.arg, 5)} IN (${e.list.map(printExpr).join(", ")})`;
    case "field":
      return `${wrap(e.base, ATOM)}->${ident(e.field)}`;
    case "subscript":
      return `${wrap(e.base, ATOM)}[${printExpr(e.index)}]`;
    case "map":
      return `MAP(${e.entries.map((x) => `${printExpr(x.key)} := ${printExpr(x.value)}`).join(", ")})`;
  }
}

export function printDuration(d: Duration): string {
  return `${d.n} ${d.unit}`;
}

export function printWindow(w: Window): string {
  switch (w.kind) {
    case "TUMBLING":
      return `TUMBLING (SIZE ${printDuration(w.size)}, GRACE PERIOD ${printDuration(w.grace)})`;
    case "HOPPING":
      return `HOPPING (SIZE ${printDuration(w.size)}, ADVANCE BY ${printDuration(w.advance)}, GRACE PERIOD ${printDuration(w.grace)})`;
    case "SESSION":
      return `SESSION (${printDuration(w.gap)}, GRACE PERIOD ${printDuration(w.grace)})`;
  }
}

function printProps(p: Props): string {
  return p
    .map(({ key, value }) => {
      if (!/^[A-Z_]+$/.test(key)) throw new Error(`ksql: bad property name ${key}`);
      return `${key}=${typeof value === "number" ? number(value, false) : str(value)}`;
    })
    .join(", ");
}

export function printSelect(s: Select, indent = ""): string {
  const lines: string[] = [];
  lines.push(`${indent}SELECT`);
  s.projections.forEach((p, i) => {
    const text = printExpr(p.expr) + (p.alias !== undefined ? ` AS ${ident(p.alias)}` : "");
    lines.push(`${indent}  ${text}${i < s.projections.length - 1 ? "," : ""}`);
  });
  lines.push(`${indent}FROM ${ident(s.from)}`);
  if (s.window) lines.push(`${indent}WINDOW ${printWindow(s.window)}`);
  if (s.where) lines.push(`${indent}WHERE ${printExpr(s.where)}`);
  if (s.groupBy && s.groupBy.length > 0) lines.push(`${indent}GROUP BY ${s.groupBy.map(printExpr).join(", ")}`);
  if (s.having) lines.push(`${indent}HAVING ${printExpr(s.having)}`);
  lines.push(`${indent}EMIT ${s.emit}`);
  return lines.join("\n");
}

/** One statement, terminated by `;`. */
export function printStatement(st: Statement): string {
  switch (st.k) {
    case "set":
      return `SET ${str(st.property)}=${str(st.value)};`;
    case "drop":
      return `DROP ${st.what} ${st.ifExists ? "IF EXISTS " : ""}${ident(st.name)}${st.deleteTopic ? " DELETE TOPIC" : ""};`;
    case "createSource": {
      const head = `CREATE ${st.orReplace ? "OR REPLACE " : ""}${st.what} ${st.ifNotExists ? "IF NOT EXISTS " : ""}${ident(st.name)}`;
      const cols = st.columns.map((c) => `  ${ident(c.name)} ${printType(c.type)}${c.key ? ` ${c.key}` : ""}`).join(",\n");
      return `${head} (\n${cols}\n) WITH (${printProps(st.with)});`;
    }
    case "createAs": {
      const head = `CREATE ${st.orReplace ? "OR REPLACE " : ""}${st.what} ${st.ifNotExists ? "IF NOT EXISTS " : ""}${ident(st.name)}`;
      const w = st.with.length > 0 ? ` WITH (${printProps(st.with)})` : "";
      return `${head}${w} AS\n${printSelect(st.select)};`;
    }
  }
}
