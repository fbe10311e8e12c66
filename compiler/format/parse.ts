// The prettier parser of the OFL plugin: compiler/syntax `parse`, refusing files with syntax errors.
import type { CallExpr, Comment, Expr, SourceFile, Span } from "../ast/nodes.js";
import { lex, parse } from "../syntax/index.js";
import { recordShapes } from "./comments.js";

/** A comment as prettier handles it: our `Comment` plus the fields prettier's comment machinery sets. */
export interface PComment extends Comment {
  /** prettier's error messages read `value` */
  value: string;
  leading?: boolean;
  trailing?: boolean;
  printed?: boolean;
  placement?: "ownLine" | "endOfLine" | "remaining";
  /** a trailing line comment with a glue token (`,` `and` `(`…) between it and its node */
  glued?: boolean;
  /** a trailing line comment inside a statement that ends its line where it stands */
  breakHere?: boolean;
  enclosingNode?: unknown;
  precedingNode?: unknown;
  followingNode?: unknown;
}

/**
 * A clause of a rule, an alarm or a command, made a node of its own so that comments attach
 * to it (the AST keeps the expression but not the keyword): `when C`, `clear when C`,
 * `requires C`, `shadow`, `then a(), b()`, `cooldown D`, `repeat every D`.
 * The span runs from the keyword to the end of the clause.
 */
export interface Clause {
  kind: "Clause";
  keyword: "when" | "clear when" | "requires" | "shadow" | "then" | "cooldown" | "repeat every";
  expr?: Expr;
  actions?: CallExpr[];
  span: Span;
}

/** The root handed to prettier: the `SourceFile`, with every comment kept aside (prettier deletes `comments`). */
export interface PFile extends SourceFile {
  allComments: PComment[];
}

interface Spanned {
  span: Span;
}

export function locStart(node: Spanned): number {
  return node.span.start;
}
export function locEnd(node: Spanned): number {
  return node.span.end;
}

/** A syntax error shaped as prettier's own (`loc` with 1-based line and column; the CLI prints a code frame). */
export class OflSyntaxError extends SyntaxError {
  loc: { start: { line: number; column: number }; end: { line: number; column: number } };
  code: string;
  constructor(code: string, message: string, text: string, span: Span) {
    const start = lineColumn(text, span.start);
    const end = lineColumn(text, span.end);
    super(`${code} ${message} (${start.line}:${start.column})`);
    this.name = "SyntaxError";
    this.code = code;
    this.loc = { start, end };
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * A doc comment (`///`) stays right before its declaration: blank lines between the last `///`
 * line of a run and the next token are dropped (the parser attaches the run across them anyway).
 */
export function preprocess(text: string): string {
  const { comments } = lex(text);
  const cuts: Span[] = [];
  for (let i = 0; i < comments.length; i++) {
    const c = comments[i]!;
    if (c.kind !== "doc") continue;
    let j = c.span.end;
    while (j < text.length && /\s/.test(text[j]!)) j++;
    if (j >= text.length) continue;
    const next = comments[i + 1];
    if (next && next.span.start === j) continue; // another comment follows: keep the gap as written
    const gap = text.slice(c.span.end, j);
    if ((gap.match(/\r\n|\r|\n/g)?.length ?? 0) > 1) cuts.push({ start: c.span.end, end: j });
  }
  if (cuts.length === 0) return text;
  let out = "";
  let at = 0;
  for (const cut of cuts) {
    out += text.slice(at, cut.start) + "\n";
    at = cut.end;
  }
  return out + text.slice(at);
}

/** Parses for prettier; throws `OflSyntaxError` on the first syntax error (broken code is never formatted). */
export function parseForPrettier(text: string, options?: { filepath?: string }): PFile {
  const { file, diagnostics } = parse(text, options?.filepath ?? "input.ofl");
  const first = diagnostics.find((d) => d.severity === "error");
  if (first) throw new OflSyntaxError(first.code, first.message, text, first.span);
  const comments = file.comments as PComment[];
  for (const c of comments) c.value = c.text;
  const root = file as PFile;
  root.allComments = comments.slice();
  addClauses(root);
  recordShapes(root);
  return root;
}

/** Canonical order of a rule's clauses. */
const RULE_ORDER: Clause["keyword"][] = ["shadow", "when", "then", "cooldown", "repeat every"];

/** Gives rules, alarms and commands a `clauses` list (see `Clause`). */
function addClauses(file: PFile): void {
  const commentAt = new Map(file.allComments.map((c) => [c.span.end, c]));
  /** Start of the keyword(s) written right before `pos` (words given last first). */
  const keywordStart = (pos: number, words: string[]): number => {
    for (const w of words) {
      for (;;) {
        if (pos > 0 && /\s/.test(file.text[pos - 1]!)) pos--;
        else if (commentAt.has(pos)) pos = commentAt.get(pos)!.span.start;
        else break;
      }
      if (file.text.slice(pos - w.length, pos) !== w) throw new Error(`ofl format: expected \`${w}\` before offset ${pos}`);
      pos -= w.length;
    }
    return pos;
  };
  const clause = (keyword: Clause["keyword"], expr: Expr): Clause => ({
    kind: "Clause",
    keyword,
    expr,
    span: { start: keywordStart(expr.span.start, keyword.split(" ").reverse()), end: expr.span.end },
  });
  for (const d of file.decls) {
    if (d.kind === "Model") {
      for (const m of d.members) {
        if (m.kind === "Alarm") {
          const cs = [clause("when", m.when)];
          if (m.clearWhen) cs.push(clause("clear when", m.clearWhen));
          (m as { clauses?: Clause[] }).clauses = cs;
        } else if (m.kind === "Command") {
          (m as { clauses?: Clause[] }).clauses = m.requires ? [clause("requires", m.requires)] : [];
        }
      }
    } else if (d.kind === "Rule") {
      const cs: Clause[] = [];
      if (d.shadow) cs.push({ kind: "Clause", keyword: "shadow", span: { ...d.shadow } });
      if (d.when) cs.push(clause("when", d.when));
      if (d.actions.length > 0) {
        const first = d.actions[0]!;
        const last = d.actions[d.actions.length - 1]!;
        cs.push({ kind: "Clause", keyword: "then", actions: d.actions, span: { start: keywordStart(first.span.start, ["then"]), end: last.span.end } });
      }
      if (d.cooldown) cs.push(clause("cooldown", d.cooldown));
      if (d.repeatEvery) cs.push(clause("repeat every", d.repeatEvery));
      cs.sort((a, b) => RULE_ORDER.indexOf(a.keyword) - RULE_ORDER.indexOf(b.keyword));
      (d as { clauses?: Clause[] }).clauses = cs;
    }
  }
}
