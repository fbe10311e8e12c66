// Node-at-offset lookup over the plain-data AST (any object with a `span` is a node).
import type { Ast as A } from "../../compiler/index.js";

export type AnyNode = { span: A.Span; kind?: string } & Record<string, unknown>;

function isNode(v: unknown): v is AnyNode {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const s = (v as { span?: unknown }).span;
  return !!s && typeof s === "object" && typeof (s as A.Span).start === "number";
}

/** The chain of nodes holding `offset`, outermost first (the file's declaration first). */
export function nodePath(file: A.SourceFile, offset: number, inclusiveEnd = true): AnyNode[] {
  const path: AnyNode[] = [];
  const within = (s: A.Span): boolean => s.start <= offset && (inclusiveEnd ? offset <= s.end : offset < s.end);
  let level: unknown[] = file.decls;
  for (let depth = 0; depth < 500; depth++) {
    let next: AnyNode | undefined;
    for (const n of level) {
      if (isNode(n) && within(n.span)) {
        // prefer the narrowest of overlapping siblings
        if (!next || n.span.end - n.span.start < next.span.end - next.span.start) next = n;
      }
    }
    if (!next) break;
    path.push(next);
    level = children(next);
  }
  return path;
}

/** Direct child nodes of a node (through arrays and plain objects without spans). */
export function children(n: object): unknown[] {
  const out: unknown[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (!v || typeof v !== "object" || depth > 3) return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    if (isNode(v)) out.push(v);
    else for (const k in v as object) if (k !== "span") visit((v as Record<string, unknown>)[k], depth + 1);
  };
  for (const k in n) {
    if (k === "span" || k === "opSpan" || k === "nameSpan" || k === "pathSpan") continue;
    visit((n as Record<string, unknown>)[k], 0);
  }
  return out;
}

/** Calls `f` on every node under `root` (depth first). */
export function walk(root: object, f: (n: AnyNode) => void): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const n = stack.pop();
    if (!n || typeof n !== "object") continue;
    if (isNode(n)) f(n);
    for (const c of children(n as object)) stack.push(c);
  }
}
