// Node-at-offset lookup and walks over the AST, driven by the AST's shape table
// (compiler/ast/children.ts through compiler/index.ts): a node is anything with a `span` that
// the table reaches, kinded (`Call`) or not (`Arg`, `Param`, `BindingCall`, `MapEntry`).
import { forEachChild, shapeOf, type Ast as A, type AstShape } from "../../compiler/index.js";

export type AnyNode = { span: A.Span; kind?: string } & Record<string, unknown>;

function hasSpan(v: object): v is AnyNode {
  const s = (v as { span?: unknown }).span;
  return !!s && typeof s === "object" && typeof (s as A.Span).start === "number";
}

/** The direct child nodes of `n` with their shapes; shapes without a span (unit factors) are looked through. */
function spannedChildren(n: object, shape: AstShape | undefined, out: [AnyNode, AstShape][] = []): [AnyNode, AstShape][] {
  forEachChild(
    n,
    (c, s) => {
      if (hasSpan(c)) out.push([c, s]);
      else spannedChildren(c, s, out);
    },
    shape,
  );
  return out;
}

/** The chain of nodes holding `offset`, outermost first (the file's declaration first). */
export function nodePath(file: A.SourceFile, offset: number, inclusiveEnd = true): AnyNode[] {
  const path: AnyNode[] = [];
  const within = (s: A.Span): boolean => s.start <= offset && (inclusiveEnd ? offset <= s.end : offset < s.end);
  let level = spannedChildren(file, "File");
  for (;;) {
    let next: [AnyNode, AstShape] | undefined;
    for (const c of level) {
      // prefer the narrowest of overlapping siblings
      if (within(c[0].span) && (!next || c[0].span.end - c[0].span.start < next[0].span.end - next[0].span.start)) next = c;
    }
    if (!next) break;
    path.push(next[0]);
    level = spannedChildren(next[0], next[1]);
  }
  return path;
}

/** Direct child nodes of a node. */
export function children(n: object, shape = shapeOf(n)): AnyNode[] {
  return spannedChildren(n, shape).map((c) => c[0]);
}

/** Calls `f` on every node under `root` (root included when it has a span), depth first in source order. */
export function walk(root: object, f: (n: AnyNode) => void, shape = shapeOf(root)): void {
  if (hasSpan(root)) f(root);
  for (const [c, s] of spannedChildren(root, shape)) walk(c, f, s);
}
