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

/** The checked program: symbols plus per-node facts for lowering, the LSP and the formatter. */
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
  /** identifier → declaration it refers to (for go to definition / references) */
  references: { file: string; span: A.Span; target: { file: string; span: A.Span }; name: string }[];
}
