// Comment attachment for the OFL prettier plugin. prettier finds, for each comment, the
// enclosing node and the nodes right before and after it (among the children `getVisitorKeys`
// and `canAttachComment` allow); `attach` then decides, by one rule, where the comment goes:
//
//   - a comment that ends its line (`x > 5 // why`, `a, // first`, `model M { // note`) trails
//     the node before it, printed as a line suffix, so it ends the line where that node ends;
//   - any other comment is glued to a neighbour it touches (only whitespace and comments
//     between), preferably the node after it (own-line notes above a member, `f(/*c*/ a)`),
//     else the node before it (`a /*c*/ + b`);
//   - a comment that touches neither (`stop( /*c*/ )`, `model M {\n // empty\n}`) is dangling
//     on the enclosing node, whose printer prints it inside its braces or parentheses, or after it.
//
// Keywords are not nodes, so the clauses of rules, alarms and commands (`when C`, `then a()`,
// `requires C`…) are given nodes of their own by the parser (`Clause`, parse.ts): a note above
// `when` belongs to the `when` clause, not to the expression after the keyword.
//
// Leading and trailing comments are printed by prettier's core around the node's own doc
// (trailing line comments as `lineSuffix`, so `// error` stays at the end of its line). Because a
// comment always stays next to the same token, a second pass attaches it the same way: stable.
import type { Doc } from "prettier";
import { builders } from "prettier/doc";
import type { PComment, PFile } from "./parse.js";

const { join, literalline } = builders;

interface Node {
  kind?: string;
  span?: { start: number; end: number };
  comments?: PComment[];
}

/** Keys never holding child nodes (spans, texts, keyword positions). */
const SKIP_KEYS = new Set([
  "kind",
  "span",
  "opSpan",
  "pathSpan",
  "factorSpan",
  "comments",
  "allComments",
  "text",
  "path",
  "doc",
  "shadow",
  "no",
  "verdict",
  "enclosingNode",
  "precedingNode",
  "followingNode",
]);

/** Nodes printed from their source text, whose insides never hold a comment of their own. */
const OPAQUE = new Set(["UnitExpr", "Range"]);
const COMMENT_KINDS = new Set(["line", "block", "doc"]);

/** Keys a node with `clauses` (rule, alarm, command) reaches through its clauses instead. */
const CLAUSE_KEYS = new Set(["when", "clearWhen", "requires", "actions", "cooldown", "repeatEvery"]);

export function getVisitorKeys(node: Node): string[] {
  if (node.kind && OPAQUE.has(node.kind)) return [];
  let keys = Object.keys(node).filter((k) => !SKIP_KEYS.has(k));
  if ("clauses" in node) keys = keys.filter((k) => !CLAUSE_KEYS.has(k));
  return node.kind === "Quantity" ? keys.filter((k) => k !== "unit") : keys;
}

export function canAttachComment(node: Node): boolean {
  return (
    !!node &&
    typeof node === "object" &&
    typeof node.kind === "string" &&
    !!node.span &&
    !OPAQUE.has(node.kind) &&
    !COMMENT_KINDS.has(node.kind) &&
    node.kind !== "File"
  );
}

export function isBlockComment(c: PComment): boolean {
  return c.kind === "block";
}

/** The printed form of a comment: line comments without trailing blanks; block comments verbatim. */
export function commentDoc(c: PComment): Doc {
  if (c.kind !== "block") return c.text.replace(/\s+$/, "");
  const lines = c.text.split(/\r\n|\r|\n/);
  return lines.length === 1 ? c.text : join(literalline, lines);
}

/** Whether text[from, to) holds only whitespace and comments. */
export function onlyTrivia(file: PFile, from: number, to: number): boolean {
  const text = file.text;
  let i = from;
  let k = 0;
  const cs = file.allComments;
  while (k < cs.length && cs[k]!.span.end <= from) k++;
  while (i < to) {
    if (k < cs.length && cs[k]!.span.start === i) {
      i = cs[k]!.span.end;
      k++;
      continue;
    }
    if (!/\s/.test(text[i]!)) return false;
    i++;
  }
  return true;
}

/**
 * Whether a blank line follows offset `end` (after the rest of its line: spaces, comments).
 * Used to keep one blank line between declarations, members and items where there was one.
 */
export function isNextLineEmpty(file: PFile, end: number): boolean {
  const text = file.text;
  const cs = file.allComments;
  let k = 0;
  while (k < cs.length && cs[k]!.span.start < end) k++;
  let i = end;
  // the rest of the line
  for (;;) {
    while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
    if (k < cs.length && cs[k]!.span.start === i) {
      const c = cs[k++]!;
      if (/[\r\n]/.test(c.text)) return false; // a block comment spanning lines: not a blank line
      i = c.span.end;
      continue;
    }
    break;
  }
  if (text[i] === "\r" && text[i + 1] === "\n") i += 2;
  else if (text[i] === "\n" || text[i] === "\r") i++;
  else return false;
  while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  return text[i] === "\n" || text[i] === "\r";
}

/** Whether text[from, to) holds a closing bracket outside comments. */
export function closesBetween(file: PFile, from: number, to: number): boolean {
  const cs = file.allComments;
  let k = 0;
  while (k < cs.length && cs[k]!.span.end <= from) k++;
  for (let i = from; i < to; i++) {
    if (k < cs.length && cs[k]!.span.start === i) {
      i = cs[k++]!.span.end - 1;
      continue;
    }
    const ch = file.text[i];
    if (ch === ")" || ch === "]" || ch === "}") return true;
  }
  return false;
}

function add(node: Node, c: PComment, leading: boolean, trailing: boolean): true {
  c.leading = leading;
  c.trailing = trailing;
  c.printed = false;
  (node.comments ??= []).push(c);
  return true;
}

function attach(c: PComment, _text: string, _options: unknown, ast: PFile): true {
  const p = c.precedingNode as Node | undefined;
  const f = c.followingNode as Node | undefined;
  const e = c.enclosingNode as Node | undefined;
  if (c.placement === "endOfLine") {
    // printed as a line suffix: it goes back to the end of the line where `p` ends; but not into
    // a bracketed list closed before the comment (`command go(a: int) // note`): breaking the
    // list's group would move it, so it dangles on the enclosing node, printed after the list
    if (p && closesBetween(ast, p.span!.end, c.span.start)) {
      c.afterClose = true;
      return add(e ?? (ast as unknown as Node), c, false, false);
    }
    if (p) return add(p, c, false, true);
    if (f) return add(f, c, true, false);
  } else {
    if (f && onlyTrivia(ast, c.span.end, f.span!.start)) return add(f, c, true, false);
    if (p && onlyTrivia(ast, p.span!.end, c.span.start)) return add(p, c, false, true);
  }
  return add(e ?? (ast as unknown as Node), c, false, false);
}

export const handleComments = {
  ownLine: attach,
  endOfLine: attach,
  remaining: attach,
};
