// What the checker knows about a program's declarations, shared with lowering and the LSP.
import type * as A from "../ast/nodes.js";
import type { IrSource, Value } from "../ir/types.js";
import type { Ty, Unit } from "./types.js";

export interface Located<D> {
  decl: D;
  file: string;
  /** true for declarations of the standard library */
  std: boolean;
}

export interface UnitInfo extends Located<A.UnitDecl> {
  name: string;
  /** resolved lazily; undefined when invalid */
  unit?: Unit;
}

export interface EnumInfo extends Located<A.EnumDecl> {
  kind: "enum";
  name: string;
  members: string[];
}

export interface ParamInfo {
  name: string;
  ty: Ty;
  range?: [number, number];
  decl: A.Param;
}

export type MemberInfo =
  | { k: "attribute"; name: string; decl: A.AttributeMember; owner: ModelInfo; ty: Ty }
  | { k: "telemetry"; name: string; decl: A.TelemetryMember; owner: ModelInfo; ty: Ty; range?: [number, number] }
  | { k: "state"; name: string; decl: A.StateMember; owner: ModelInfo; ty?: Ty }
  | { k: "alarm"; name: string; decl: A.AlarmMember; owner: ModelInfo }
  | { k: "command"; name: string; decl: A.CommandMember; owner: ModelInfo; params: ParamInfo[] };

export interface ModelInfo extends Located<A.ModelDecl> {
  kind: "model";
  name: string;
  base?: ModelInfo;
  /** this model then its ancestors */
  lineage: string[];
  /** own and inherited members, inherited first */
  members: Map<string, MemberInfo>;
  /** own members only */
  own: Map<string, MemberInfo>;
}

export interface AssetInfo extends Located<A.AssetDecl> {
  kind: "asset";
  name: string;
  uuid: string;
  model?: ModelInfo;
  /** the asset's sources, checked and resolved (secrets stay `{ env }` references) */
  sources?: IrSource[];
  /** attribute values set in the asset, resolved */
  attributeValues?: Map<string, Value>;
}

export interface ViewInfo extends Located<A.ViewDecl> {
  kind: "view";
  name: string;
  model?: ModelInfo;
  /** type of one value (per group when grouped) */
  ty?: Ty;
  groupKey?: Ty;
}

export interface RuleInfo extends Located<A.RuleDecl> {
  kind: "rule";
  name: string;
  model?: ModelInfo;
}

export interface TestInfo extends Located<A.TestDecl> {
  kind: "test";
  name: string;
  /** filled by the checker */
  replay?: string;
  at?: { ms: number; item: A.AtItem }[];
  expectations?: ClassifiedExpect[];
  endMs?: number;
}

export type CmpOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";

/** An `expect` line, classified by what it is about. */
export type ClassifiedExpect =
  | { k: "command" | "no_command"; item: A.ExpectItem; call: A.CallExpr; asset: string; between?: [number, number] }
  | { k: "count_command"; item: A.ExpectItem; call: A.CallExpr; asset: string; op: CmpOp; n: number; between?: [number, number] }
  | { k: "count_deadletters"; item: A.ExpectItem; reason?: string; op: CmpOp; n: number }
  | { k: "state"; item: A.ExpectItem; expr: A.Expr; atMs?: number }
  | { k: "match_recorded"; item: A.ExpectMatchItem };

export type GlobalSymbol = EnumInfo | ModelInfo | AssetInfo | ViewInfo | RuleInfo;

/** How a name or member expression was resolved. */
export type Resolution =
  | { k: "member"; asset: string | null; member: MemberInfo }
  | { k: "alarm"; asset: string | null; name: string }
  | { k: "view"; view: ViewInfo }
  | { k: "enumMember"; enumName: string; member: string }
  | { k: "enumType"; enumName: string }
  | { k: "param"; name: string }
  | { k: "asset"; asset: AssetInfo }
  | { k: "command"; asset: string | null; command: Extract<MemberInfo, { k: "command" }> }
  | { k: "function"; name: string }
  | { k: "self" };

export interface WindowInfo {
  sizeMs: number;
  hopMs?: number;
  graceMs: number;
}

/**
 * The checked program: symbols plus per-node facts for lowering, the LSP and the formatter.
 * Invariant: everything lowering needs is in these tables; lowering never re-enters the checker.
 */
export interface CheckedProgram {
  name: string;
  files: A.SourceFile[];
  units: Map<string, UnitInfo>;
  globals: Map<string, GlobalSymbol>;
  enums: EnumInfo[];
  models: ModelInfo[];
  assets: AssetInfo[];
  views: ViewInfo[];
  rules: RuleInfo[];
  tests: TestInfo[];
  /** type of every checked expression */
  types: Map<A.Expr, Ty>;
  /** what each name/member/call expression refers to */
  resolutions: Map<A.Expr, Resolution>;
  /** a unit conversion factor to apply to an expression's value where it is used */
  conversions: Map<A.Expr, number>;
  /** resolved unit of a quantity literal, type or range owner */
  unitOf: Map<A.UnitExpr, Unit>;
  /** the value in ms of every constant duration the checker accepted (`for`, windows, `cooldown`, …) */
  durations: Map<A.Expr, number>;
  /** the size, hop and grace in ms of every window the checker accepted */
  windows: Map<A.WindowSpec, WindowInfo>;
  /** identifier → declaration it refers to (for go to definition / references) */
  references: { file: string; span: A.Span; target: { file: string; span: A.Span }; name: string }[];
}

/**
 * The value of a checked constant expression, converted where it is used (in the unit of
 * the type it was checked against): numbers, strings, bools, enum member names, ms.
 * A function of the program's side tables only (conversions, resolutions).
 */
export function constValue(p: CheckedProgram, e: A.Expr): Value | undefined {
  const factor = p.conversions.get(e) ?? 1;
  switch (e.kind) {
    case "Number":
    case "Quantity":
      return e.value * factor;
    case "Duration":
    case "Timestamp":
      return e.ms * factor;
    case "String":
    case "Bool":
      return e.value;
    case "Unavailable":
      return null;
    case "Paren": {
      const v = constValue(p, e.inner);
      return typeof v === "number" ? v * factor : v;
    }
    case "Unary": {
      const v = constValue(p, e.operand);
      return typeof v === "number" && e.op === "-" ? -v * factor : undefined;
    }
    case "Name":
    case "Member": {
      const r = p.resolutions.get(e);
      return r?.k === "enumMember" ? r.member : undefined;
    }
    default:
      return undefined;
  }
}
