// Error recovery can leave a node half-built: a sub-rule that was skipped returns undefined.
// This pass, run on every parse, gives every node its required fields (an ErrorExpr for a
// missing expression, an empty name for a missing identifier, [] for a missing list) and drops
// null or malformed list entries, so later stages can trust the shapes of compiler/ast/nodes.ts.
// The syntax error itself has already been reported.
//
// It is driven by the AST's one shape table (compiler/ast/children.ts): which fields hold
// children, of which category, optional or not, lists or not. Only the few scalar fields that
// recovery can leave unset (flags, keyword spans, a unit factor) are fixed here by kind.
import { CATEGORIES, childFields, isKindless, type Category, type KindlessShape, type ParsedSpec, type Shape } from "../ast/children.js";
import type * as A from "../ast/nodes.js";

type Any = Record<string, unknown> & { kind?: string; span?: A.Span };

/** Shapes that carry no span of their own. */
const NO_SPAN = new Set<Shape>(["File", "UnitFactor", "UnitDefinition"]);

export function repairFile(file: A.SourceFile): void {
  const whole: A.Span = { start: 0, end: file.text.length };
  node(file as unknown as Any, "File", whole);
}

function validSpan(s: unknown, fallback: A.Span): A.Span {
  const x = s as A.Span | undefined;
  return x && typeof x.start === "number" && typeof x.end === "number" ? x : { start: fallback.start, end: fallback.start };
}

/** Whether `v` can stand as a child of category or shape `of`. */
function fits(v: unknown, of: Category | KindlessShape): v is Any {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const x = v as Any;
  switch (of) {
    case "Ident":
      return typeof x["name"] === "string";
    case "String":
      return typeof x["value"] === "string";
    case "UnitFactor":
      return !!x["name"] && typeof x["power"] === "number";
    case "MapEntry":
      return !!x["key"] && !!x["member"];
    default:
      return isKindless(of) || (CATEGORIES[of] as readonly string[]).includes(x.kind as string);
  }
}

/** What a missing required child becomes, placed at the parent's span `at`. */
function placeholder(of: Category | KindlessShape, at: A.Span): Any | undefined {
  const end = { start: at.end, end: at.end };
  switch (of) {
    case "Expr":
      return { kind: "ErrorExpr", span: end };
    case "Ident":
      return { kind: "Ident", name: "", span: { start: at.start, end: at.start } };
    case "Type":
      return { kind: "NamedType", name: { kind: "Ident", name: "", span: end }, span: end };
    case "UnitExpr":
      return { kind: "UnitExpr", factors: [], span: end };
    case "String":
      return { kind: "String", value: "", span: end };
    case "Call":
      return { kind: "Call", callee: { kind: "ErrorExpr", span: at }, args: [], final: false, span: at };
    case "BindingCall":
      return { span: end };
    default:
      return undefined;
  }
}

function shapeFor(v: Any, of: Category | KindlessShape): Shape {
  return isKindless(of) ? of : (v.kind as Shape);
}

function field(n: Any, key: string, spec: ParsedSpec, at: A.Span): void {
  const v = n[key];
  if (spec.list) {
    if (v === undefined && spec.optional) return;
    const items = (Array.isArray(v) ? v : []).filter((x) => fits(x, spec.of)) as Any[];
    n[key] = items;
    for (const x of items) node(x, shapeFor(x, spec.of), at);
    return;
  }
  if (fits(v, spec.of)) return node(v, shapeFor(v, spec.of), at);
  // missing, or not what the field holds: a placeholder when required (or when something
  // unusable was there), else nothing
  const p = spec.optional && (v === undefined || v === null) ? undefined : placeholder(spec.of, at);
  if (p) {
    n[key] = p;
    node(p, shapeFor(p, spec.of), at);
  } else if (spec.optional) delete n[key];
}

function node(n: Any, shape: Shape, parent: A.Span): void {
  const at = NO_SPAN.has(shape) ? parent : (n.span = validSpan(n.span, parent));
  scalars(n, shape, at);
  for (const [key, spec] of childFields(shape)) field(n, key, spec, at);
}

/** The scalar fields recovery can leave unset. */
function scalars(n: Any, shape: Shape, at: A.Span): void {
  switch (shape) {
    case "Call":
    case "View":
      n["final"] = n["final"] === true;
      return;
    case "Binary":
      n["opSpan"] = validSpan(n["opSpan"], at);
      return;
    case "Use":
      n["path"] = typeof n["path"] === "string" ? n["path"] : "";
      n["pathSpan"] = validSpan(n["pathSpan"], at);
      return;
    case "UnitDefinition":
      if (typeof n["factor"] !== "number") n["factor"] = 1;
      n["factorSpan"] = validSpan(n["factorSpan"], at);
      return;
    case "Expect": {
      // `between T1 and T2`: two times or none
      const b = n["between"];
      if (b !== undefined && !(Array.isArray(b) && b.length === 2)) delete n["between"];
      else if (Array.isArray(b)) n["between"] = b.map((x: unknown) => (fits(x, "Expr") ? x : placeholder("Expr", at)));
      return;
    }
  }
}
