// A small typed syntax tree for the ksqlDB statements OFL emits. The emitter builds these nodes;
// print.ts is the only place that turns them into text (identifiers quoted and upper-cased
// there, string literals escaped there). Nothing else concatenates SQL.

export type SqlType =
  | { t: "DOUBLE" }
  | { t: "BIGINT" }
  | { t: "INT" }
  | { t: "BOOLEAN" }
  | { t: "VARCHAR" }
  | { t: "MAP"; key: SqlType; value: SqlType }
  | { t: "STRUCT"; fields: { name: string; type: SqlType }[] };

export const DOUBLE: SqlType = { t: "DOUBLE" };
export const BIGINT: SqlType = { t: "BIGINT" };
export const BOOLEAN: SqlType = { t: "BOOLEAN" };
export const VARCHAR: SqlType = { t: "VARCHAR" };

export type BinaryOp = "AND" | "OR" | "=" | "<>" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%";

export type Expr =
  /** a column (or pseudo column such as WINDOWSTART), optionally qualified by a source alias */
  | { k: "col"; name: string }
  /** `double`: print a number as a DOUBLE literal (exponent form), never INT or DECIMAL */
  | { k: "lit"; value: string | number | boolean | null; double?: boolean }
  /** `COUNT(*)` when `star` */
  | { k: "call"; fn: string; args: Expr[]; star?: boolean }
  /** searched CASE (the only form ksqlDB has) */
  | { k: "case"; whens: { when: Expr; then: Expr }[]; else?: Expr }
  | { k: "cast"; arg: Expr; type: SqlType }
  | { k: "binary"; op: BinaryOp; left: Expr; right: Expr }
  | { k: "unary"; op: "NOT" | "-"; arg: Expr }
  | { k: "isNull"; arg: Expr; negated: boolean }
  | { k: "in"; arg: Expr; list: Expr[] }
  /** struct field access `base->field` */
  | { k: "field"; base: Expr; field: string }
  /** map or array element `base[index]` */
  | { k: "subscript"; base: Expr; index: Expr }
  /** `MAP(k := v, …)` */
  | { k: "map"; entries: { key: Expr; value: Expr }[] };

export interface Duration {
  n: number;
  unit: "MILLISECONDS" | "SECONDS" | "MINUTES" | "HOURS" | "DAYS";
}

export type Window =
  | { kind: "TUMBLING"; size: Duration; grace: Duration }
  | { kind: "HOPPING"; size: Duration; advance: Duration; grace: Duration }
  | { kind: "SESSION"; gap: Duration; grace: Duration };

export interface Projection {
  expr: Expr;
  alias?: string;
}

export interface Select {
  projections: Projection[];
  from: string;
  window?: Window;
  where?: Expr;
  groupBy?: Expr[];
  having?: Expr;
  emit: "CHANGES" | "FINAL";
}

/** `WITH (KEY=value, …)`: values are printed as string literals, numbers as numbers */
export type Props = { key: string; value: string | number }[];

export interface ColumnDef {
  name: string;
  type: SqlType;
  key?: "KEY" | "PRIMARY KEY";
}

export type Statement =
  /** CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name (columns) WITH (…) */
  | { k: "createSource"; what: "STREAM" | "TABLE"; name: string; orReplace: boolean; ifNotExists: boolean; columns: ColumnDef[]; with: Props }
  /** CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (…)] AS SELECT … */
  | { k: "createAs"; what: "STREAM" | "TABLE"; name: string; orReplace: boolean; ifNotExists: boolean; with: Props; select: Select }
  | { k: "set"; property: string; value: string }
  | { k: "drop"; what: "STREAM" | "TABLE"; name: string; ifExists: boolean; deleteTopic: boolean };

// ---------------------------------------------------------------- builders

export const col = (name: string): Expr => ({ k: "col", name });
export const lit = (value: string | number | boolean | null): Expr => ({ k: "lit", value });
export const dbl = (value: number): Expr => ({ k: "lit", value, double: true });
export const call = (fn: string, ...args: Expr[]): Expr => ({ k: "call", fn, args });
export const bin = (op: BinaryOp, left: Expr, right: Expr): Expr => ({ k: "binary", op, left, right });
/** The operands of a chain of `op` (AND and OR are associative: chains print flat). */
const leaves = (op: "AND" | "OR", xs: Expr[]): Expr[] => xs.flatMap((x) => (x.k === "binary" && x.op === op ? leaves(op, [x.left, x.right]) : [x]));
export const and = (...xs: Expr[]): Expr => leaves("AND", xs).reduce((a, b) => bin("AND", a, b));
export const or = (...xs: Expr[]): Expr => leaves("OR", xs).reduce((a, b) => bin("OR", a, b));
export const not = (arg: Expr): Expr => ({ k: "unary", op: "NOT", arg });
export const eq = (l: Expr, r: Expr): Expr => bin("=", l, r);
export const cast = (arg: Expr, type: SqlType): Expr => ({ k: "cast", arg, type });
export const isNull = (arg: Expr): Expr => ({ k: "isNull", arg, negated: false });
export const isNotNull = (arg: Expr): Expr => ({ k: "isNull", arg, negated: true });
export const caseWhen = (whens: { when: Expr; then: Expr }[], otherwise?: Expr): Expr =>
  otherwise === undefined ? { k: "case", whens } : { k: "case", whens, else: otherwise };
export const inList = (arg: Expr, list: Expr[]): Expr => ({ k: "in", arg, list });
export const typedNull = (type: SqlType): Expr => cast(lit(null), type);
