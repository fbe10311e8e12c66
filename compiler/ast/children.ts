// The one description of the AST's shape: for every node kind (and every node shape without a
// `kind`, such as a call's `Arg`), which fields hold child nodes, of which category, whether
// optional, whether a list. Every walk over the AST reads this table instead of reflecting
// over fields: parser repair (compiler/syntax/repair.ts), the formatter's visitor keys
// (compiler/format/comments.ts), node-at-offset and walks of the language server
// (lsp/features/nodeAt.ts, hover). Invariant: a node kind without an entry does not compile
// (the table's type is keyed by every kind), and test/unit/syntax/children.test.ts checks that
// every field of every parsed node that holds nodes is listed.
import type * as A from "./nodes.js";

/** Every node with a `kind` (the formatter adds its own `Clause`). */
export type KindedNode =
  | A.SourceFile
  | A.Ident
  | A.UnitExpr
  | A.PrimitiveType
  | A.NamedType
  | A.RangeSpec
  | A.Expr
  | A.WindowSpec
  | A.Decl
  | A.ModelMember
  | A.AssetItem
  | A.Binding
  | A.SetStep
  | A.SendStep
  | A.TestItem;

export type NodeKind = KindedNode["kind"];

/** Shapes without a `kind`, reached only through their parent's field. */
export interface KindlessShapes {
  Arg: A.Arg;
  Param: A.Param;
  BindingCall: A.BindingCall;
  MapEntry: A.MapEntry;
  UnitFactor: A.UnitFactor;
  UnitDefinition: NonNullable<A.UnitDecl["definition"]>;
}
export type KindlessShape = keyof KindlessShapes;
export type Shape = NodeKind | KindlessShape;

/** The node kinds a child field may hold. */
export const CATEGORIES = {
  Expr: ["Number", "String", "Bool", "Duration", "Timestamp", "Quantity", "Unavailable", "Name", "Self", "Member", "Index", "Call", "Unary", "Binary", "For", "If", "Paren", "ErrorExpr"],
  Ident: ["Ident"],
  Type: ["PrimitiveType", "NamedType"],
  UnitExpr: ["UnitExpr"],
  String: ["String"],
  Range: ["Range"],
  Window: ["Window"],
  Call: ["Call"],
  Decl: ["Use", "Unit", "Enum", "Model", "Asset", "View", "Rule", "Test"],
  ModelMember: ["Attribute", "Telemetry", "State", "Alarm", "Command"],
  AssetItem: ["Uuid", "AttributeAssign", "Source"],
  Binding: ["Binding"],
  Step: ["Set", "Send"],
  TestItem: ["At", "Replay", "Expect", "ExpectMatch"],
  MapKey: ["Number", "String", "Bool", "Unary"],
} as const satisfies Record<string, readonly NodeKind[]>;
export type Category = keyof typeof CATEGORIES;

/** `Expr`, `Expr?` (optional), `Arg[]` (a list): a category of kinded nodes or a kindless shape. */
export type ChildSpec = `${Category | KindlessShape}${"" | "?" | "[]" | "[]?"}`;

type FieldsOf<S extends Shape> = S extends NodeKind ? keyof Extract<KindedNode, { kind: S }> : S extends KindlessShape ? keyof KindlessShapes[S] : never;

/** Per shape, its child fields in source order. */
export const CHILD_KEYS: { readonly [S in Shape]: { readonly [F in FieldsOf<S>]?: ChildSpec } } = {
  File: { decls: "Decl[]" },
  Ident: {},
  UnitExpr: { factors: "UnitFactor[]" },
  UnitFactor: { name: "Ident" },
  PrimitiveType: { unit: "UnitExpr?" },
  NamedType: { name: "Ident", unit: "UnitExpr?" },
  Range: {},
  // expressions
  Number: {},
  String: {},
  Bool: {},
  Duration: {},
  Timestamp: {},
  Quantity: { unit: "UnitExpr" },
  Unavailable: {},
  Name: { name: "Ident" },
  Self: {},
  Member: { object: "Expr", member: "Ident" },
  Index: { object: "Expr", index: "Expr" },
  Arg: { name: "Ident?", value: "Expr" },
  Window: { size: "Expr", every: "Expr?", grace: "Expr?" },
  Call: { callee: "Expr", args: "Arg[]", over: "Window?" },
  Unary: { operand: "Expr" },
  Binary: { left: "Expr", right: "Expr" },
  For: { cond: "Expr", duration: "Expr" },
  If: { cond: "Expr", then: "Expr", else: "Expr" },
  Paren: { inner: "Expr" },
  ErrorExpr: {},
  // declarations
  Use: {},
  Unit: { name: "Ident", definition: "UnitDefinition?" },
  UnitDefinition: { unit: "UnitExpr" },
  Enum: { name: "Ident", members: "Ident[]" },
  Model: { name: "Ident", extends: "Ident?", members: "ModelMember[]" },
  Attribute: { name: "Ident", type: "Type", default: "Expr?" },
  Telemetry: { name: "Ident", type: "Type", range: "Range?" },
  State: { name: "Ident", type: "Type?", expr: "Expr" },
  Alarm: { name: "Ident", severity: "Ident", when: "Expr", clearWhen: "Expr?" },
  Param: { name: "Ident", type: "Type", range: "Range?" },
  Command: { name: "Ident", params: "Param[]", requires: "Expr?" },
  Asset: { name: "Ident", model: "Ident", items: "AssetItem[]" },
  Uuid: { value: "String" },
  AttributeAssign: { name: "Ident", value: "Expr" },
  Source: { sourceKind: "Ident", args: "Arg[]", bindings: "Binding[]" },
  Binding: { target: "Ident", call: "BindingCall", map: "MapEntry[]?" },
  BindingCall: { name: "Ident", args: "Arg[]" },
  MapEntry: { key: "MapKey", member: "Ident" },
  View: { name: "Ident", aggregate: "Ident", arg: "Expr?", from: "Ident", where: "Expr?", by: "Ident?", over: "Window?" },
  Rule: { name: "Ident", on: "Ident?", when: "Expr?", actions: "Call[]", cooldown: "Expr?", repeatEvery: "Expr?" },
  Test: { name: "String", items: "TestItem[]" },
  At: { time: "Expr", steps: "Step[]" },
  Set: { target: "Expr", value: "Expr" },
  Send: { call: "Call" },
  Replay: { path: "String" },
  Expect: { expr: "Expr", at: "Expr?", between: "Expr[]?" },
  ExpectMatch: {},
};

export interface ParsedSpec {
  of: Category | KindlessShape;
  optional: boolean;
  list: boolean;
}

const parsedSpecs = new Map<string, ParsedSpec>();
export function parseSpec(spec: ChildSpec): ParsedSpec {
  let p = parsedSpecs.get(spec);
  if (!p) {
    const optional = spec.endsWith("?");
    const base = optional ? spec.slice(0, -1) : spec;
    const list = base.endsWith("[]");
    p = { of: (list ? base.slice(0, -2) : base) as Category | KindlessShape, optional, list };
    parsedSpecs.set(spec, p);
  }
  return p;
}

export function isKindless(of: string): of is KindlessShape {
  return !(of in CATEGORIES);
}

const fieldCache = new Map<Shape, readonly [string, ParsedSpec][]>();
/** The child fields of a shape, parsed, in source order (computed once per shape). */
export function childFields(shape: Shape): readonly [string, ParsedSpec][] {
  let f = fieldCache.get(shape);
  if (!f) {
    const t = CHILD_KEYS[shape] as Record<string, ChildSpec> | undefined;
    f = t ? Object.entries(t).map(([k, s]): [string, ParsedSpec] => [k, parseSpec(s)]) : [];
    fieldCache.set(shape, f);
  }
  return f;
}

/** The shape of a node: its `kind`, or the kindless shape its parent's field says. */
export function shapeOf(node: object, fromParent?: KindlessShape): Shape | undefined {
  const k = (node as { kind?: unknown }).kind;
  if (typeof k === "string" && k in CHILD_KEYS) return k as NodeKind;
  return fromParent;
}

/**
 * Calls `f` on every direct child of `node` (of shape `shape`, by default its `kind`), in the
 * order of the table, with the child's shape. Values that are not objects are skipped.
 */
export function forEachChild(node: object, f: (child: object, shape: Shape) => void, shape = shapeOf(node)): void {
  if (!shape) return;
  for (const [key, spec] of childFields(shape)) {
    const v = (node as Record<string, unknown>)[key];
    const one = (x: unknown): void => {
      if (!x || typeof x !== "object") return;
      const s = isKindless(spec.of) ? spec.of : shapeOf(x);
      if (s) f(x, s);
    };
    if (Array.isArray(v)) for (const x of v) one(x);
    else one(v);
  }
}

/** Every node under `root` (root included), depth first in source order, with its shape. */
export function walkAst(root: object, f: (node: object, shape: Shape) => void, shape = shapeOf(root)): void {
  if (!shape) return;
  f(root, shape);
  forEachChild(root, (c, s) => walkAst(c, f, s), shape);
}
