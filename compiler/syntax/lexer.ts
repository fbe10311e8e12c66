// The OFL lexer (spec §2): chevrotain token types, one lexer instance, and a post-pass that
// turns identifiers into keywords, numbers into durations, and validates literals.
import { createToken, Lexer, type IToken, type TokenType } from "chevrotain";
import type { Comment, Span } from "../ast/nodes.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/registry.js";

// ---------------------------------------------------------------- token types

/** Category matched by every token that may serve as a name (identifiers and soft keywords). */
export const AnyName = createToken({ name: "AnyName", pattern: Lexer.NA, label: "a name" });
export const StringLit = createToken({ name: "StringLit", pattern: Lexer.NA, label: "a string" });
export const TimestampLit = createToken({ name: "TimestampLit", pattern: Lexer.NA, label: "a timestamp" });

export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n\f\v\u00a0\ufeff\u2028\u2029]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
export const DocComment = createToken({ name: "DocComment", pattern: /\/\/\/[^\n\r]*/, group: "comments" });
export const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\n\r]*/, group: "comments" });
export const BlockComment = createToken({
  name: "BlockComment",
  pattern: /\/\*[\s\S]*?\*\//,
  group: "comments",
  line_breaks: true,
});
export const UnterminatedBlockComment = createToken({
  name: "UnterminatedBlockComment",
  pattern: /\/\*[\s\S]*/,
  group: "comments",
  line_breaks: true,
});

export const StringTok = createToken({
  name: "String",
  pattern: /"(?:[^"\\\n\r]|\\[^\n\r])*"/,
  categories: [StringLit],
  label: "a string",
});
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  pattern: /"(?:[^"\\\n\r]|\\[^\n\r])*\\?/,
  categories: [StringLit],
  label: "a string",
});
export const Timestamp = createToken({
  name: "Timestamp",
  pattern: /@\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?Z/,
  categories: [TimestampLit],
  label: "a timestamp",
});
export const BadTimestamp = createToken({
  name: "BadTimestamp",
  pattern: /@\d[A-Za-z0-9_:.+\-]*/,
  categories: [TimestampLit],
  label: "a timestamp",
});
export const AtSign = createToken({ name: "AtSign", pattern: "@", label: "`@`" });

/** Numbers; the lexer also matches a glued identifier suffix, and the post-pass re-types
 *  `250ms` etc. as Duration and reports other suffixes (OFL1008). */
export const NumberTok = createToken({
  name: "Number",
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:[A-Za-z_][A-Za-z0-9_]*)?/,
  label: "a number",
});
export const Duration = createToken({ name: "Duration", pattern: Lexer.NA, label: "a duration" });

export const Ident = createToken({
  name: "Ident",
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  categories: [AnyName],
  label: "a name",
});

function punct(name: string, pattern: string): TokenType {
  return createToken({ name, pattern, label: "`" + pattern + "`" });
}
export const LArrow = punct("LArrow", "<-");
export const RArrow = punct("RArrow", "->");
export const DotDot = punct("DotDot", "..");
export const EqEq = punct("EqEq", "==");
export const NotEq = punct("NotEq", "!=");
export const LtEq = punct("LtEq", "<=");
export const GtEq = punct("GtEq", ">=");
export const Lt = punct("Lt", "<");
export const Gt = punct("Gt", ">");
export const Eq = punct("Eq", "=");
export const Plus = punct("Plus", "+");
export const Minus = punct("Minus", "-");
export const Star = punct("Star", "*");
export const Slash = punct("Slash", "/");
export const Percent = punct("Percent", "%");
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const LBrace = punct("LBrace", "{");
export const RBrace = punct("RBrace", "}");
export const LBracket = punct("LBracket", "[");
export const RBracket = punct("RBracket", "]");
export const Comma = punct("Comma", ",");
export const Colon = punct("Colon", ":");
export const Dot = punct("Dot", ".");
export const Caret = punct("Caret", "^");

// ---------------------------------------------------------------- keywords (§10)

/** Every reserved word of §10, in the spec's order. */
export const KEYWORDS: readonly string[] = [
  "model", "extends", "attribute", "telemetry", "state", "alarm", "severity", "clear", "command",
  "requires", "asset", "uuid", "source", "view", "from", "where", "by", "over", "tumbling", "hopping",
  "every", "session", "gap", "grace", "final", "rule", "on", "when", "then", "cooldown", "repeat",
  "shadow", "self", "test", "at", "send", "between", "expect", "no", "match", "recorded", "replay",
  "commands", "accepted", "rejected", "unavailable", "and", "or", "not", "if", "else", "true", "false",
  "unit", "enum", "use", "in", "for",
];
/** Keywords that may also serve as ordinary names (§10). */
export const SOFT_KEYWORDS: readonly string[] = ["every", "session", "match", "commands"];

function kwName(word: string): string {
  return "Kw" + word[0]!.toUpperCase() + word.slice(1);
}
/** Keyword token types by word. They have no pattern: the post-pass re-types identifiers. */
export const keywordTokens: ReadonlyMap<string, TokenType> = new Map(
  KEYWORDS.map((w) => [
    w,
    createToken({
      name: kwName(w),
      pattern: Lexer.NA,
      label: "`" + w + "`",
      categories: SOFT_KEYWORDS.includes(w) ? [AnyName] : [],
    }),
  ]),
);
export function kw(word: string): TokenType {
  const t = keywordTokens.get(word);
  if (!t) throw new Error(`not a keyword: ${word}`);
  return t;
}

/** Token types the lexer matches, in priority order. */
const lexerTokens: TokenType[] = [
  WhiteSpace,
  DocComment,
  LineComment,
  BlockComment,
  UnterminatedBlockComment,
  StringTok,
  UnterminatedString,
  Timestamp,
  BadTimestamp,
  AtSign,
  NumberTok,
  Ident,
  LArrow,
  RArrow,
  DotDot,
  EqEq,
  NotEq,
  LtEq,
  GtEq,
  Lt,
  Gt,
  Eq,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  LParen,
  RParen,
  LBrace,
  RBrace,
  LBracket,
  RBracket,
  Comma,
  Colon,
  Dot,
  Caret,
];

/** Every token type the parser knows (lexer tokens, categories, keywords, re-typed kinds). */
export const allTokenTypes: TokenType[] = [
  AnyName,
  StringLit,
  TimestampLit,
  Duration,
  ...lexerTokens,
  ...keywordTokens.values(),
];

const oflLexer = new Lexer(lexerTokens, {
  positionTracking: "onlyOffset",
  ensureOptimizations: true,
  skipValidations: true,
});

// ---------------------------------------------------------------- categories for editors

export type TokenCategory =
  | "keyword"
  | "number"
  | "string"
  | "duration"
  | "timestamp"
  | "operator"
  | "punctuation"
  | "identifier"
  | "comment";

export const TOKEN_CATEGORIES: Readonly<Record<string, TokenCategory>> = (() => {
  const map: Record<string, TokenCategory> = {
    DocComment: "comment",
    LineComment: "comment",
    BlockComment: "comment",
    UnterminatedBlockComment: "comment",
    String: "string",
    UnterminatedString: "string",
    Timestamp: "timestamp",
    BadTimestamp: "timestamp",
    AtSign: "operator",
    Number: "number",
    Duration: "duration",
    Ident: "identifier",
  };
  for (const t of [LArrow, RArrow, DotDot, EqEq, NotEq, LtEq, GtEq, Lt, Gt, Eq, Plus, Minus, Star, Slash, Percent, Caret]) {
    map[t.name] = "operator";
  }
  for (const t of [LParen, RParen, LBrace, RBrace, LBracket, RBracket, Comma, Colon, Dot]) map[t.name] = "punctuation";
  for (const t of keywordTokens.values()) map[t.name] = "keyword";
  return map;
})();

// ---------------------------------------------------------------- literal values

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const NUMBER_PREFIX = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/;

/** Splits a Number/Duration token image into its numeric part and suffix. */
export function splitNumber(image: string): { num: string; suffix: string } {
  const m = NUMBER_PREFIX.exec(image);
  const num = m ? m[0] : "0";
  return { num, suffix: image.slice(num.length) };
}
export function numberValue(image: string): number {
  const v = Number(splitNumber(image).num);
  return Number.isFinite(v) ? v : 0;
}
export function isIntText(text: string): boolean {
  return /^\d+$/.test(text);
}
export function durationMs(image: string): number {
  const { num, suffix } = splitNumber(image);
  const v = Number(num) * (DURATION_UNITS[suffix] ?? 0);
  return Number.isFinite(v) ? Math.round(v * 1000) / 1000 : 0;
}

const TS_RE = /^@(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z$/;
/** Unix milliseconds of a timestamp literal, or undefined when it is not a real instant. */
export function timestampMs(image: string): number | undefined {
  const m = TS_RE.exec(image);
  if (!m) return undefined;
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const s = m[6] ? Number(m[6]) : 0;
  const ms = m[7] ? Number(m[7].padEnd(3, "0")) : 0;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  if (d > days) return undefined;
  const dt = new Date(Date.UTC(2000, mo - 1, d, h, mi, s, ms));
  dt.setUTCFullYear(y);
  return dt.getTime();
}

/** Decodes a string token (quotes included); reports bad escapes through `bad`. */
export function decodeString(image: string, bad?: (offset: number, length: number, escape: string) => void): string {
  const closed = image.length >= 2 && image.endsWith('"') && !isEscapedQuoteAtEnd(image);
  const body = image.slice(1, closed ? -1 : undefined);
  if (body.indexOf("\\") < 0) return body;
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = body[i + 1];
    if (n === '"' || n === "\\") {
      out += n;
      i++;
    } else if (n === "n") {
      out += "\n";
      i++;
    } else if (n === "t") {
      out += "\t";
      i++;
    } else if (n === "u") {
      const m = /^u\{([0-9A-Fa-f]{1,6})\}/.exec(body.slice(i + 1, i + 11));
      const cp = m ? parseInt(m[1]!, 16) : -1;
      if (m && cp <= 0x10ffff) {
        out += String.fromCodePoint(cp);
        i += m[0].length;
      } else {
        const len = m ? m[0].length + 1 : 2;
        bad?.(1 + i, len, body.slice(i, i + len));
        i += len - 1;
      }
    } else {
      bad?.(1 + i, n === undefined ? 1 : 2, body.slice(i, i + 2));
      if (n !== undefined) i++;
    }
  }
  return out;
}
function isEscapedQuoteAtEnd(image: string): boolean {
  // `"abc\"` (unterminated): the final quote is escaped when preceded by an odd run of backslashes
  let k = image.length - 2;
  let n = 0;
  while (k >= 1 && image[k] === "\\") {
    n++;
    k--;
  }
  return n % 2 === 1;
}

// ---------------------------------------------------------------- lexing

export interface LexToken {
  /** Token type name: `Ident`, `Number`, `Duration`, `KwModel`, `LArrow`, … */
  type: string;
  image: string;
  start: number;
  end: number;
}

export interface RawLexResult {
  /** chevrotain tokens, keywords and durations re-typed, ready for the parser */
  tokens: IToken[];
  commentTokens: IToken[];
  comments: Comment[];
  diagnostics: Diagnostic[];
}

function span(t: IToken): Span {
  return { start: t.startOffset, end: t.startOffset + t.image.length };
}

/** Lexes and validates literals. Never throws. */
/** Declarations whose keyword is followed by the declared name. */
const DECLARING = new Set(["model", "attribute", "telemetry", "state", "alarm", "command", "asset", "view", "rule", "unit", "enum"]);

/**
 * Whether the keyword at `i` stands where a declaration's name goes: right after a declaring
 * keyword and right before what follows a declared name (`:`, `=`, `(`, `{`, `severity`).
 */
function keywordAsDeclaredName(tokens: IToken[], i: number): boolean {
  if (SOFT_KEYWORDS.includes(tokens[i]!.image)) return false;
  const prev = tokens[i - 1];
  const next = tokens[i + 1];
  if (!prev || !next || !DECLARING.has(prev.image) || prev.tokenType === Ident) return false;
  return [":", "=", "(", "{", "severity"].includes(next.image);
}

export function lexRaw(text: string, path = ""): RawLexResult {
  const diagnostics: Diagnostic[] = [];
  const res = oflLexer.tokenize(text);
  for (const e of res.errors) {
    const cp = text.codePointAt(e.offset) ?? 0;
    const ch = cp ? String.fromCodePoint(cp) : "";
    const shown = cp < 0x20 || cp === 0x7f ? `U+${cp.toString(16).toUpperCase().padStart(4, "0")}` : "`" + ch + "`";
    diagnostics.push(diag("OFL1004", path, { start: e.offset, end: Math.min(text.length, e.offset + Math.max(1, e.length)) }, { char: shown }));
  }
  const tokens = res.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const type = t.tokenType;
    if (type === Ident) {
      const k = keywordTokens.get(t.image);
      if (k && keywordAsDeclaredName(tokens, i)) {
        // `telemetry rule: float`: one error here, and the word stays a name so that the parser
        // does not read a new declaration from it (which cascaded into errors on the next line)
        diagnostics.push(diag("OFL1001", path, span(t), { expected: "a name", found: "`" + t.image + "` (a keyword)" }));
      } else if (k) {
        t.tokenType = k;
        t.tokenTypeIdx = k.tokenTypeIdx!;
      }
    } else if (type === NumberTok) {
      const { num, suffix } = splitNumber(t.image);
      if (suffix !== "") {
        if (suffix in DURATION_UNITS) {
          t.tokenType = Duration;
          t.tokenTypeIdx = Duration.tokenTypeIdx!;
          if (!Number.isFinite(Number(num))) diagnostics.push(diag("OFL1008", path, span(t), { text: "`" + t.image + "`" }));
        } else {
          diagnostics.push(diag("OFL1008", path, span(t), { text: "`" + t.image + "`" }));
        }
      } else if (!Number.isFinite(Number(num))) {
        diagnostics.push(diag("OFL1008", path, span(t), { text: "`" + t.image + "`" }));
      }
    } else if (type === StringTok || type === UnterminatedString) {
      if (type === UnterminatedString) diagnostics.push(diag("OFL1002", path, span(t)));
      if (t.image.indexOf("\\") >= 0) {
        decodeString(t.image, (off, len, esc) =>
          diagnostics.push(diag("OFL1005", path, { start: t.startOffset + off, end: t.startOffset + off + len }, { escape: "`" + esc + "`" })),
        );
      }
    } else if (type === Timestamp || type === BadTimestamp) {
      if (timestampMs(t.image) === undefined) diagnostics.push(diag("OFL1006", path, span(t), { text: "`" + t.image + "`" }));
    }
  }
  const commentTokens = (res.groups["comments"] as IToken[] | undefined) ?? [];
  const comments: Comment[] = [];
  for (const c of commentTokens) {
    const type = c.tokenType;
    if (type === UnterminatedBlockComment) diagnostics.push(diag("OFL1003", path, { start: c.startOffset, end: c.startOffset + 2 }));
    comments.push({
      kind: type === DocComment ? "doc" : type === LineComment ? "line" : "block",
      text: c.image,
      span: span(c),
    });
  }
  return { tokens, commentTokens, comments, diagnostics };
}

/** The light token list for editors: significant tokens and comments, in text order. */
export function lex(text: string): { tokens: LexToken[]; comments: Comment[]; diagnostics: Diagnostic[] } {
  try {
    const raw = lexRaw(text);
    const tokens: LexToken[] = [];
    const all = raw.tokens.concat(raw.commentTokens).sort((a, b) => a.startOffset - b.startOffset);
    for (const t of all) tokens.push({ type: t.tokenType.name, image: t.image, start: t.startOffset, end: t.startOffset + t.image.length });
    return { tokens, comments: raw.comments, diagnostics: raw.diagnostics };
  } catch {
    return { tokens: [], comments: [], diagnostics: [] };
  }
}
