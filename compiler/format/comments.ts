// Comment attachment for the OFL prettier plugin. prettier finds, for each comment, the
// enclosing node and the nodes right before and after it (among the children `getVisitorKeys`
// and `canAttachComment` allow); `attach` decides where it goes, by position only:
//
//   - a comment that ends its line trails the node before it when only whitespace and "glue"
//     tokens lie between (`x > 5 // why`, `a, // first`, `a and // c`, `model M { // note`):
//     the printer allows a line break right after each glue token, and prints the comment as a
//     line suffix, so it stays at the end of that line;
//   - any other comment is glued to a neighbour it touches (only whitespace and comments
//     between), preferably the node after it (own-line notes above a member, `f(/*c*/ a)`),
//     else the node before it (`a /*c*/ + b`, a note after the last member of a block);
//   - a comment that touches neither goes before the next node (`accepted /*c*/ at 5s` prints
//     `accepted at /*c*/ 5s`), or, when there is none (`stop( /*c*/ )`, `model M {\n // c\n}`),
//     dangles on the enclosing node, whose printer prints it inside its braces or parentheses,
//     or after it.
//
// The printer prints comments itself (`willPrintOwnComments`, print.ts `printOfl`), each behind a
// `lineSuffixBoundary` so a pending `// …` is flushed first and comments never change order.
// A printed comment sits next to the same tokens as in the input, so a second pass attaches it
// the same way: the output is a fixed point (test/unit/format/property.test.ts inserts comments
// between random tokens to check it).
//
// Keywords are not nodes, so the clauses of rules, alarms and commands (`when C`, `then a()`,
// `requires C`…) are given nodes of their own by the parser (`Clause`, parse.ts): a note above
// `when` belongs to the `when` clause, not to the expression after the keyword.
import type { Doc } from "prettier";
import { builders } from "prettier/doc";
import { CHILD_KEYS, walkAst, type Shape } from "../ast/children.js";
import type { PComment, PFile } from "./parse.js";

const { join, literalline } = builders;

interface Node {
  kind?: string;
  span?: { start: number; end: number };
  comments?: PComment[];
}

/** Nodes printed from their source text, whose insides never hold a comment of their own. */
const OPAQUE = new Set(["UnitExpr", "Range"]);
const COMMENT_KINDS = new Set(["line", "block", "doc"]);

/** Keys a node with `clauses` (rule, alarm, command) reaches through its clauses instead. */
const CLAUSE_KEYS = new Set(["when", "clearWhen", "requires", "actions", "cooldown", "repeatEvery"]);

/** The shapes of the nodes without a `kind` (`Arg`, `Param`…), recorded when the file is parsed. */
const kindless = new WeakMap<object, Shape>();

/** Records the shape of every kindless node of a parsed file (parse.ts), for `getVisitorKeys`. */
export function recordShapes(file: PFile): void {
  walkAst(file, (n, shape) => {
    if (!("kind" in n)) kindless.set(n, shape);
  });
}

/** The child keys of a node: the AST's shape table (compiler/ast/children.ts), with clauses. */
export function getVisitorKeys(node: Node): string[] {
  if (node.kind === "Clause") return ["expr", "actions"];
  if (node.kind && OPAQUE.has(node.kind)) return [];
  const shape = node.kind && node.kind in CHILD_KEYS ? (node.kind as Shape) : kindless.get(node);
  if (!shape) return [];
  let keys = Object.keys(CHILD_KEYS[shape]);
  if ("clauses" in node) keys = [...keys.filter((k) => !CLAUSE_KEYS.has(k)), "clauses"];
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

/**
 * Tokens an end-of-line comment may follow and still trail the node before them: the printer
 * always allows a line break right after each (`a, // c`, `a and // c`, `f( // c`, `M { // c`).
 */
const GLUE = new Set([",", "{", "and", "or", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%"]);

/** Whether text[from, to) holds only whitespace, comments and `GLUE` tokens: "none" (not even
 *  whitespace-only… that is: a non-glue token), "trivia" (nothing but whitespace and comments)
 *  or "glue" (at least one glue token). */
function gap(file: PFile, from: number, to: number): "none" | "trivia" | "glue" {
  let rest = "";
  let i = from;
  for (const c of file.allComments) {
    if (c.span.end <= from || c.span.start >= to) continue;
    rest += " " + file.text.slice(i, c.span.start);
    i = c.span.end;
  }
  rest += " " + file.text.slice(i, to);
  // split glued punctuation: `),`
  const words = rest.replace(/([,()[\]{}])/g, " $1 ").split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return "trivia";
  return words.every((w) => GLUE.has(w)) ? "glue" : "none";
}

const STATEMENT_KINDS = new Set([
  "Use", "Unit", "Enum", "Model", "Asset", "View", "Rule", "Test",
  "Attribute", "Telemetry", "State", "Alarm", "Command",
  "Uuid", "AttributeAssign", "Source", "Binding",
  "At", "Replay", "Expect", "ExpectMatch", "Clause",
]);

/** Nodes that start their own line: their leading comments go on lines of their own above them. */
export function isStatement(node: { kind?: string }): boolean {
  return !!node.kind && STATEMENT_KINDS.has(node.kind);
}

/** The first character after offset `from` that is not whitespace or inside a comment. */
function nextSignificant(file: PFile, from: number): string {
  let i = from;
  for (;;) {
    while (i < file.text.length && /\s/.test(file.text[i]!)) i++;
    const c = file.allComments.find((x) => x.span.start === i);
    if (!c) return file.text[i] ?? "";
    i = c.span.end;
  }
}

/** How a line comment trailing a node inside a statement is printed (see `PComment.breakHere`). */
function lineTrailing(file: PFile, c: PComment, p: Node): void {
  if (isStatement(p) || c.glued) return;
  // before `)` `]` `}` `,` a line break is allowed (the comment stays at the end of its line);
  // before anything else the comment ends its line where it stands
  c.breakHere = !/^[)\]},]$/.test(nextSignificant(file, c.span.end));
}

function attach(c: PComment, _text: string, _options: unknown, ast: PFile): true {
  const p = c.precedingNode as Node | undefined;
  const f = c.followingNode as Node | undefined;
  const e = c.enclosingNode as Node | undefined;
  const touchesF = !!f && onlyTrivia(ast, c.span.end, f.span!.start);
  const before = p ? gap(ast, p.span!.end, c.span.start) : "none";
  if (c.kind === "block") {
    // printed in place, next to the node it touches (the one before it when it ends the line)
    if (c.placement === "endOfLine" && before === "trivia") return add(p!, c, false, true);
    if (touchesF) return add(f!, c, true, false);
    if (before === "trivia") return add(p!, c, false, true);
  } else if (c.placement === "ownLine") {
    // a line comment on a line of its own: above the statement after it; else at the end of the
    // line of the node right before it; else above the node after it
    if (touchesF && isStatement(f!)) return add(f!, c, true, false);
    if (before === "trivia") {
      lineTrailing(ast, c, p!);
      return add(p!, c, false, true);
    }
    if (touchesF) return add(f!, c, true, false);
  } else {
    // a line comment ending a line: at the end of the line of the node before it (a line break is
    // allowed after glue tokens, so it stays there); else above the node after it
    if (before !== "none") {
      c.glued = before === "glue";
      lineTrailing(ast, c, p!);
      return add(p!, c, false, true);
    }
    if (touchesF) return add(f!, c, true, false);
  }
  // nothing touches: before the next node of the enclosing one (across keywords, so comments
  // keep their order), or dangling when there is none
  if (f) return add(f, c, true, false);
  return add(e ?? (ast as unknown as Node), c, false, false);
}

export const handleComments = {
  ownLine: attach,
  endOfLine: attach,
  remaining: attach,
};
