// Public API of the OFL syntax stage: `parse` (text → AST + diagnostics) and `lex` (tokens for editors).
import { EOF, type IRecognitionException, type IToken } from "chevrotain";
import type { Comment, Decl, SourceFile, Span } from "../ast/nodes.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/registry.js";
import { AnyName, DocComment, Ident, keywordTokens, lexRaw } from "./lexer.js";
import { closest } from "../check/suggest.js";
import { DECL_START, OflParser } from "./parser.js";
import { repairFile } from "./repair.js";

export { lex, KEYWORDS, SOFT_KEYWORDS, TOKEN_CATEGORIES, type LexToken, type TokenCategory } from "./lexer.js";

export interface ParseResult {
  file: SourceFile;
  diagnostics: Diagnostic[];
}

let instance: OflParser | undefined;
/** The parser is built once (grammar analysis is the slow part); validations run only under tests. */
function parser(): OflParser {
  if (!instance) {
    const validate = typeof process !== "undefined" && !!process.env && (!!process.env["VITEST"] || process.env["OFL_PARSER_VALIDATE"] === "1");
    instance = new OflParser(!validate);
  }
  return instance;
}

/** Doc comments (`///` runs) by the offset of the first token after them. */
function docsByOffset(text: string, commentTokens: IToken[]): Map<number, string> {
  const docs = new Map<number, string>();
  let run: string[] = [];
  let runEnd = -1;
  const flush = () => {
    if (run.length === 0) return;
    let i = runEnd;
    while (i < text.length && /\s/.test(text[i]!)) i++;
    docs.set(i, run.join("\n"));
    run = [];
  };
  for (const c of commentTokens) {
    if (c.tokenType !== DocComment) {
      flush();
      continue;
    }
    if (run.length > 0) {
      const gap = text.slice(runEnd, c.startOffset);
      if (/\S/.test(gap) || (gap.match(/\r\n|\r|\n/g)?.length ?? 0) > 1) flush();
    }
    let body = c.image.slice(3);
    if (body.startsWith(" ")) body = body.slice(1);
    run.push(body.replace(/\s+$/, ""));
    runEnd = c.startOffset + c.image.length;
  }
  flush();
  return docs;
}

function errorSpan(t: IToken | undefined, len: number): Span {
  if (!t || t.tokenType === EOF || !Number.isFinite(t.startOffset)) return { start: len, end: len };
  const start = Math.min(Math.max(0, t.startOffset), len);
  return { start, end: Math.min(len, start + Math.max(1, t.image.length)) };
}

/** Clamps every span of the tree into [0, len] (recovery may leave virtual-token offsets). */
function sanitize(node: unknown, len: number, seen = new Set<object>()): void {
  if (!node || typeof node !== "object" || seen.has(node as object)) return;
  seen.add(node as object);
  if (Array.isArray(node)) {
    for (const n of node) sanitize(n, len, seen);
    return;
  }
  const o = node as Record<string, unknown>;
  for (const key in o) {
    const v = o[key];
    if (!v || typeof v !== "object") continue;
    const sp = v as Partial<Span>;
    if (!Array.isArray(v) && typeof sp.start === "number" && typeof sp.end === "number" && Object.keys(v).length === 2) {
      let s = Number.isFinite(sp.start) ? Math.min(Math.max(0, sp.start), len) : len;
      let e = Number.isFinite(sp.end) ? Math.min(Math.max(0, sp.end), len) : s;
      if (e < s) e = s;
      sp.start = s;
      sp.end = e;
    } else {
      sanitize(v, len, seen);
    }
  }
}

/** Parses one file. Never throws; every span lies within `text`. */
export function parse(text: string, path: string): ParseResult {
  try {
    return parseUnsafe(text, path);
  } catch (e) {
    const detail = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    instance = undefined; // rebuild: the failed instance may hold inconsistent state
    const span = { start: 0, end: Math.min(text.length, 1) };
    return {
      file: { kind: "File", path, text, decls: [], comments: [] },
      diagnostics: [e instanceof RangeError ? diag("OFL1011", path, span) : diag("OFL1010", path, span, { detail })],
    };
  }
}

function parseUnsafe(text: string, path: string): ParseResult {
  const lexed = lexRaw(text, path);
  lexed.diagnostics.push(...repairKeywordTypos(text, path, lexed.tokens));
  const p = parser();
  p.text = text;
  p.path = path;
  p.extra = [];
  p.decls = [];
  p.partial = null;
  p.allowOver = true;
  p.docs = docsByOffset(text, lexed.commentTokens);
  p.input = lexed.tokens;
  const tokens = lexed.tokens;
  for (let guard = 0; guard <= tokens.length; guard++) {
    p.file();
    const at = p.position() + 1;
    if (at >= tokens.length) break;
    let next = at + 1;
    while (next < tokens.length && !DECL_START.has(tokens[next]!.tokenType)) next++;
    if (next >= tokens.length) break;
    p.seek(next - 1);
  }
  const decls: Decl[] = p.decls;
  const len = text.length;

  const diagnostics: Diagnostic[] = [...lexed.diagnostics];
  const seen = new Set<number>();
  for (const d of lexed.diagnostics) seen.add(d.span.start);
  const errors = p.errors as IRecognitionException[];
  for (const e of errors) {
    const span = errorSpan(e.token, len);
    if (seen.has(span.start)) continue;
    seen.add(span.start);
    const [expected, found] = e.message.includes("\u0001") ? e.message.split("\u0001") : ["something else", e.message];
    const where = expected === "a declaration" ? BELONGS_INSIDE[found!.slice(1, -1)] : undefined;
    diagnostics.push(diag("OFL1001", path, span, { expected: expected!, found: where ? `${found} (${where})` : found! }));
  }
  for (const d of p.extra) {
    if (d.code === "OFL1001" && seen.has(d.span.start)) continue;
    diagnostics.push(d);
  }
  if (errors.length > 0 || p.extra.length > 0) sanitize(decls, len);
  for (const d of diagnostics) {
    const s = Math.min(Math.max(0, Number.isFinite(d.span.start) ? d.span.start : len), len);
    const en = Math.min(Math.max(s, Number.isFinite(d.span.end) ? d.span.end : s), len);
    d.span = { start: s, end: en };
  }
  diagnostics.sort((a, b) => a.span.start - b.span.start);
  const comments: Comment[] = lexed.comments;
  p.input = []; // release the token vector
  p.decls = [];
  const file: SourceFile = { kind: "File", path, text, decls, comments };
  repairFile(file);
  return { file, diagnostics };
}

/** Where a keyword that cannot start a declaration goes, said when one stands at the top level. */
const BELONGS_INSIDE: Record<string, string> = {
  ...Object.fromEntries(["attribute", "telemetry", "state", "alarm", "command"].map((k) => [k, "a model member: it goes inside `model Name { … }`"])),
  ...Object.fromEntries(["uuid", "source"].map((k) => [k, "an asset item: it goes inside `asset name: Model { … }`"])),
  ...Object.fromEntries(["at", "expect", "replay"].map((k) => [k, 'a test item: it goes inside `test "name" { … }`'])),
};

/** Keywords that start a declaration or a member and are followed by its name. */
const NAMED_DECL_KEYWORDS = ["model", "asset", "enum", "unit", "view", "rule", "attribute", "telemetry", "state", "alarm", "command"];

/**
 * A misspelled keyword (`telemtry t: float`, `modle M {`) would make the parser skip the whole
 * declaration and every later use of its name an error too. A word that starts a line (or follows
 * `{` or `}`), is followed by a name, and is close to a declaration keyword is read as that
 * keyword, with one error that says so (OFL1013).
 */
/** Only blanks, or one `{`/`}` among blanks, stand between the line's start and `offset`. */
function firstOnLine(text: string, offset: number): boolean {
  let i = offset - 1;
  let brace = false;
  for (; i >= 0; i--) {
    const c = text[i]!;
    if (c === "\n" || c === "\r") return true;
    if (c === " " || c === "\t") continue;
    if ((c === "{" || c === "}") && !brace) {
      brace = true;
      continue;
    }
    return false;
  }
  return true;
}

function repairKeywordTypos(text: string, path: string, tokens: IToken[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i]!;
    if (t.tokenType !== Ident) continue;
    // first on its line (only blanks before it, or a `{`/`}` on the same line), judged on the
    // text alone so that a parse of part of a file (the language server's chunks) agrees
    // (walked back over blanks only, so a long line or a file without `\r` costs nothing)
    if (!firstOnLine(text, t.startOffset)) continue;
    const next = tokens[i + 1]!;
    if (/[\r\n]/.test(text.slice(t.startOffset, next.startOffset))) continue; // its name on the same line
    if (!next.tokenType.CATEGORIES?.includes(AnyName) && next.tokenType !== Ident) continue;
    const k = NAMED_DECL_KEYWORDS.find((w) => swapped(t.image, w)) ?? closest(t.image, NAMED_DECL_KEYWORDS);
    if (!k || k === t.image) continue;
    const type = keywordTokens.get(k)!;
    out.push(diag("OFL1013", path, { start: t.startOffset, end: t.startOffset + t.image.length }, { found: "`" + t.image + "`", keyword: "`" + k + "`" }));
    t.tokenType = type;
    t.tokenTypeIdx = type.tokenTypeIdx!;
  }
  return out;
}

/** `modle` for `model`: two neighbouring letters swapped (an edit distance of 2, but one slip). */
function swapped(a: string, b: string): boolean {
  if (a.length !== b.length || a === b) return false;
  const i = [...a].findIndex((c, j) => c !== b[j]);
  return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}
