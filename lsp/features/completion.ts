// Completion from the text before the cursor (it is usually incomplete, so the parse is not
// trusted here) plus the symbol tables of the latest checked program (possibly one edit old).
import type { CompletionItem } from "vscode-languageserver";
import { CompletionItemKind } from "vscode-languageserver";
import { KEYWORDS, lex } from "../../compiler/index.js";
import type { LexToken } from "../../compiler/index.js";
import type { CheckedProgram, MemberInfo, ModelInfo } from "../../compiler/index.js";
import type { Ty } from "../../compiler/index.js";
import { AGGREGATES, FUNCTIONS, SOURCE_KINDS } from "../../compiler/index.js";
import { memberSignature } from "./hover.js";
import type { Analysis } from "./analysis.js";

const DECL_KEYWORDS = ["model", "asset", "view", "rule", "test", "enum", "unit", "use"];
const MEMBER_KEYWORDS = ["attribute", "telemetry", "state", "alarm", "command"];
const TEST_KEYWORDS = ["at", "expect", "replay", "send", "no", "shadow", "between", "accepted", "rejected", "commands", "match", "recorded", "unavailable"];
const RULE_KEYWORDS = ["when", "then", "cooldown", "repeat", "every", "shadow"];
const EXPR_KEYWORDS = ["and", "or", "not", "if", "then", "else", "true", "false", "for", "over", "self", "final"];
const PRIMITIVES = ["bool", "int", "float", "string", "timestamp", "duration"];
const SEVERITIES = ["low", "medium", "high", "critical"];
const WINDOWS = [
  { label: "tumbling", detail: "tumbling SIZE [grace D]" },
  { label: "hopping", detail: "hopping SIZE every HOP [grace D]" },
  { label: "session", detail: "session gap G [grace D]" },
];
const DECL_START = /^\s*(model|asset|view|rule|test|enum|unit|use)\b/;
const IDENT = /[A-Za-z0-9_]/;

export interface CompletionInput {
  text: string;
  offset: number;
  analysis?: Analysis;
}

interface Ctx {
  p?: CheckedProgram;
  toks: LexToken[];
  /** kind of the enclosing declaration and its header tokens */
  decl?: string;
  self?: ModelInfo;
  assetModel?: ModelInfo;
  /** innermost open brace: index of `{` in toks */
  brace?: number;
  /** innermost open paren: index of `(` in toks */
  paren?: number;
  /** whether the cursor starts a new line (only whitespace before it on its line) */
  lineStart: boolean;
  /** whitespace between the last token and the word being typed */
  gap: boolean;
}

export function complete(input: CompletionInput): CompletionItem[] {
  const { text, offset } = input;
  let wordStart = Math.min(offset, text.length);
  while (wordStart > 0 && IDENT.test(text[wordStart - 1]!)) wordStart--;
  // the window: from the start of the enclosing declaration's first line
  let ls = text.lastIndexOf("\n", wordStart - 1) + 1;
  let winStart = ls;
  for (let guard = 0; guard < 5000; guard++) {
    if (DECL_START.test(text.slice(ls, Math.min(text.length, ls + 40)))) {
      winStart = ls;
      break;
    }
    if (ls === 0) {
      winStart = 0;
      break;
    }
    ls = ls <= 1 ? 0 : text.lastIndexOf("\n", ls - 2) + 1;
    winStart = ls;
  }
  const window = text.slice(winStart, wordStart);
  const lexed = lex(window).tokens;
  const last = lexed[lexed.length - 1];
  if (last && last.end >= window.length && (last.type.endsWith("Comment") || last.type === "UnterminatedString")) return [];
  if (last && last.type === "LineComment") return [];
  const toks = lexed.filter((t) => !t.type.endsWith("Comment"));
  const lineBefore = text.slice(text.lastIndexOf("\n", wordStart - 1) + 1, wordStart);
  const ctx: Ctx = {
    p: input.analysis?.result.program,
    toks,
    lineStart: /^\s*$/.test(lineBefore),
    gap: !!last && last.end < window.length,
  };
  scan(ctx);
  const items = contextual(ctx);
  return items;
}

function scan(ctx: Ctx): void {
  const { toks, p } = ctx;
  const braces: number[] = [];
  const parens: number[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.type === "LBrace") braces.push(i);
    else if (t.type === "RBrace") braces.pop();
    else if (t.type === "LParen") parens.push(i);
    else if (t.type === "RParen") parens.pop();
  }
  ctx.brace = braces[braces.length - 1];
  ctx.paren = parens[parens.length - 1];
  const first = toks[0];
  if (!first || !first.type.startsWith("Kw") || !DECL_KEYWORDS.includes(first.image)) return;
  if (braces.length === 0 && !toks.some((t) => t.type === "LBrace") && first.image !== "view") {
    // still in the header
  }
  ctx.decl = first.image;
  const model = (name: string | undefined): ModelInfo | undefined => (name ? p?.models.find((m) => m.name === name) : undefined);
  const after = (word: string): string | undefined => {
    const i = toks.findIndex((t) => t.image === word && t.type.startsWith("Kw"));
    return i >= 0 && toks[i + 1]?.type === "Ident" ? toks[i + 1]!.image : undefined;
  };
  switch (first.image) {
    case "model":
      ctx.self = model(toks[1]?.image);
      break;
    case "rule":
      ctx.self = model(after("on"));
      break;
    case "view":
      ctx.self = model(after("from"));
      break;
    case "asset":
      if (toks[2]?.type === "Colon") ctx.assetModel = model(toks[3]?.image);
      break;
  }
}

// ---------------------------------------------------------------- items

function kw(words: readonly string[], sort = "5"): CompletionItem[] {
  return words.map((w) => ({ label: w, kind: CompletionItemKind.Keyword, sortText: sort + w }));
}

function memberKind(m: MemberInfo): CompletionItemKind {
  switch (m.k) {
    case "attribute":
      return CompletionItemKind.Field;
    case "telemetry":
      return CompletionItemKind.Property;
    case "state":
      return CompletionItemKind.Variable;
    case "alarm":
      return CompletionItemKind.Event;
    case "command":
      return CompletionItemKind.Method;
  }
}

function memberItems(p: CheckedProgram, m: ModelInfo, filter?: (x: MemberInfo) => boolean): CompletionItem[] {
  const out: CompletionItem[] = [];
  for (const x of m.members.values()) {
    if (filter && !filter(x)) continue;
    out.push({ label: x.name, kind: memberKind(x), detail: memberSignature(p, x), documentation: x.decl.doc, sortText: "1" + x.name });
  }
  return out;
}

function modelItems(p: CheckedProgram | undefined): CompletionItem[] {
  return (p?.models ?? []).map((m) => ({ label: m.name, kind: CompletionItemKind.Class, detail: m.base ? `model extends ${m.base.name}` : "model", documentation: m.decl.doc, sortText: (m.std ? "2" : "1") + m.name }));
}

function enumItems(p: CheckedProgram | undefined, name: string): CompletionItem[] {
  const en = p?.enums.find((e) => e.name === name) ?? (p?.globals.get(name)?.kind === "enum" ? p.globals.get(name) : undefined);
  if (!en || en.kind !== "enum") return [];
  return en.members.map((m, i) => ({ label: m, kind: CompletionItemKind.EnumMember, detail: `${en.name}.${m}`, sortText: "0" + String(i).padStart(4, "0") }));
}

function unitItems(p: CheckedProgram | undefined): CompletionItem[] {
  return [...(p?.units.values() ?? [])].map((u) => ({
    label: u.name,
    kind: CompletionItemKind.Unit,
    detail: u.decl.definition ? `unit ${u.name} = ${u.decl.definition.factor} …` : `unit ${u.name}`,
    sortText: "1" + u.name,
  }));
}

function globalsOf(p: CheckedProgram | undefined, kinds: string[]): CompletionItem[] {
  const out: CompletionItem[] = [];
  for (const g of p?.globals.values() ?? []) {
    if (!kinds.includes(g.kind)) continue;
    const kind = g.kind === "asset" ? CompletionItemKind.Variable : g.kind === "view" ? CompletionItemKind.Variable : g.kind === "enum" ? CompletionItemKind.Enum : g.kind === "model" ? CompletionItemKind.Class : CompletionItemKind.Function;
    out.push({ label: g.name, kind, detail: g.kind === "asset" ? `asset: ${g.model?.name ?? "?"}` : g.kind, sortText: "2" + g.name });
  }
  return out;
}

function functionItems(): CompletionItem[] {
  const names = new Set([...FUNCTIONS, ...AGGREGATES]);
  return [...names].map((f) => ({ label: f, kind: CompletionItemKind.Function, detail: AGGREGATES.has(f) ? "aggregate: AGG(expr) over WINDOW" : "function", sortText: "3" + f }));
}

// ---------------------------------------------------------------- resolution of written chains

/** The identifier chain ending at token index `end` (inclusive): `a.b.c` → ["a","b","c"]. */
function chainBefore(toks: LexToken[], end: number): string[] {
  const out: string[] = [];
  let i = end;
  while (i >= 0) {
    const t = toks[i]!;
    if (t.type !== "Ident" && t.type !== "KwSelf" && !(t.type.startsWith("Kw") && ["every", "session", "match", "commands"].includes(t.image))) break;
    out.unshift(t.image);
    if (toks[i - 1]?.type === "Dot") i -= 2;
    else break;
  }
  return out;
}

type Resolved = { k: "model"; m: ModelInfo } | { k: "member"; m: MemberInfo } | { k: "enum"; name: string } | { k: "alarm" } | undefined;

function resolveChain(ctx: Ctx, chain: string[]): Resolved {
  const p = ctx.p;
  if (!p || chain.length === 0) return undefined;
  let cur: Resolved;
  const [head, ...rest] = chain;
  if (head === "self") cur = ctx.self ? { k: "model", m: ctx.self } : ctx.assetModel ? { k: "model", m: ctx.assetModel } : undefined;
  else {
    const selfModel = ctx.self ?? ctx.assetModel;
    const own = selfModel?.members.get(head!);
    if (own) cur = own.k === "alarm" ? { k: "alarm" } : { k: "member", m: own };
    else {
      const g = p.globals.get(head!);
      if (g?.kind === "asset" && g.model) cur = { k: "model", m: g.model };
      else if (g?.kind === "enum") cur = { k: "enum", name: g.name };
      else if (g?.kind === "view") cur = undefined;
    }
  }
  for (const name of rest) {
    if (cur?.k !== "model") return undefined;
    const m = cur.m.members.get(name);
    if (!m) return undefined;
    cur = m.k === "alarm" ? { k: "alarm" } : { k: "member", m };
  }
  return cur;
}

function memberTy(p: CheckedProgram, m: MemberInfo): Ty | undefined {
  if (m.k === "telemetry" || m.k === "attribute") return m.ty;
  if (m.k === "state") return m.ty ?? p.types.get(m.decl.expr);
  return undefined;
}

function enumOfChain(ctx: Ctx, end: number): string | undefined {
  const r = resolveChain(ctx, chainBefore(ctx.toks, end));
  if (r?.k === "member" && ctx.p) {
    const t = memberTy(ctx.p, r.m);
    if (t?.k === "enum") return t.name;
  }
  return undefined;
}

// ---------------------------------------------------------------- the cases

function contextual(ctx: Ctx): CompletionItem[] {
  const { toks, p } = ctx;
  const n = toks.length;
  const prev = toks[n - 1];
  const prev2 = toks[n - 2];
  const braceOpener = ctx.brace !== undefined ? toks.slice(0, ctx.brace) : undefined;
  const inSource = braceOpener ? sourceKindOf(braceOpener) : undefined;
  const inMap = braceOpener !== undefined && braceOpener[braceOpener.length - 1]?.image === "map";

  if (!prev) return kw(DECL_KEYWORDS);

  // members after `asset.`, `self.`, `Enum.`, `alarm.`
  if (prev.type === "Dot") {
    const r = resolveChain(ctx, chainBefore(toks, n - 2));
    if (!p || !r) return [];
    if (r.k === "model") return memberItems(p, r.m);
    if (r.k === "enum") return enumItems(p, r.name);
    if (r.k === "alarm") return [{ label: "active", kind: CompletionItemKind.Property, detail: "bool: whether the alarm is raised" }];
    return [];
  }

  // unit names: after a number (with a space), inside `<…>`, after `*` `/` in a unit
  if (prev.type === "Number" && ctx.gap) return unitItems(p);
  if (prev.type === "Lt" && prev2 && (prev2.image === "float" || prev2.image === "int")) return unitItems(p);
  if ((prev.type === "Star" || prev.type === "Slash") && !ctx.gap && prev2?.type === "Ident" && p?.units.has(prev2.image)) return unitItems(p);
  if (n >= 2 && ctx.paren !== undefined && toks[ctx.paren - 1]?.image === "convert" && prev.type === "Comma") return unitItems(p);

  // models after `:` in an asset header, after extends/from/on
  if (prev.type === "Colon" && ctx.decl === "asset" && n === 3) return modelItems(p);
  if (prev.type === "KwExtends" || prev.type === "KwFrom" || (prev.type === "KwOn" && ctx.decl === "rule")) return modelItems(p);
  if (prev.type === "KwOver") return WINDOWS.map((w) => ({ label: w.label, kind: CompletionItemKind.Keyword, detail: w.detail, sortText: "0" + w.label }));
  if (prev.type === "KwSeverity") return kw(SEVERITIES, "0");
  if (prev.type === "KwUse") return [{ label: "std/oee", kind: CompletionItemKind.Module }];

  // types after `telemetry x:`, `attribute x:`, a parameter's `:`
  if (prev.type === "Colon" && prev2?.type === "Ident") {
    const head = toks[n - 3];
    if (head && (head.type === "KwTelemetry" || head.type === "KwAttribute" || head.type === "KwState" || (ctx.paren !== undefined && toks[ctx.paren - 2]?.type === "KwCommand")))
      return [...kw(PRIMITIVES, "0").map((i) => ({ ...i, kind: CompletionItemKind.TypeParameter })), ...globalsOf(p, ["enum"])];
  }

  // enum members: `map { 0: `, after == / != / = with an enum-typed left side, sequence(…)
  if (inMap && prev.type === "Colon") {
    const en = mapTargetEnum(ctx, ctx.brace!);
    return en ? enumItems(p, en) : [];
  }
  if (prev.type === "EqEq" || prev.type === "NotEq" || prev.type === "Eq") {
    const en = enumOfChain(ctx, n - 2);
    if (en) return [...enumItems(p, en), ...globalsOf(p, ["enum"]).filter((i) => i.label === en)];
  }
  if (inSource && ctx.paren !== undefined && toks[ctx.paren - 1]?.image === "sequence" && (prev.type === "LParen" || prev.type === "Comma")) {
    const target = toks[ctx.paren - 3];
    const r = target ? resolveChain({ ...ctx, self: ctx.assetModel }, [target.image]) : undefined;
    if (r?.k === "member" && p) {
      const t = memberTy(p, r.m);
      if (t?.k === "enum") return enumItems(p, t.name);
    }
  }

  // inside a source block: bindings by source kind
  if (inSource !== undefined && ctx.paren === undefined || (inSource !== undefined && ctx.paren !== undefined && ctx.paren < ctx.brace!)) {
    const spec = (SOURCE_KINDS as Record<string, { telemetry: Record<string, unknown>; command: Record<string, unknown> }>)[inSource!];
    if (prev.type === "LArrow") return Object.keys(spec?.telemetry ?? {}).map((f) => ({ label: f, kind: CompletionItemKind.Function, detail: `${inSource} telemetry binding`, sortText: "0" + f }));
    if (prev.type === "RArrow") return Object.keys(spec?.command ?? {}).map((f) => ({ label: f, kind: CompletionItemKind.Function, detail: `${inSource} command binding`, sortText: "0" + f }));
    if (ctx.lineStart || prev.type === "LBrace") {
      if (!p || !ctx.assetModel) return [];
      return memberItems(p, ctx.assetModel, (m) => m.k === "telemetry" || m.k === "command");
    }
    return [];
  }

  // asset body
  if (ctx.decl === "asset" && ctx.brace !== undefined && inSource === undefined && !inMap) {
    if (prev.type === "KwSource") return Object.keys(SOURCE_KINDS).map((k) => ({ label: k, kind: CompletionItemKind.Module, detail: "source kind", sortText: "0" + k }));
    if (ctx.lineStart || prev.type === "LBrace") {
      const attrs = p && ctx.assetModel ? memberItems(p, ctx.assetModel, (m) => m.k === "attribute") : [];
      return [...kw(["uuid", "source"], "0"), ...attrs];
    }
  }

  // model body: member keywords at the start of a member
  if (ctx.decl === "model" && ctx.brace !== undefined && ctx.paren === undefined && (prev.type === "LBrace" || (ctx.lineStart && !continues(prev))))
    return kw(MEMBER_KEYWORDS, "0");

  // top level
  if (ctx.brace === undefined && ctx.lineStart && prev.type === "RBrace") return kw(DECL_KEYWORDS);

  // otherwise: keywords and the names in scope
  const items: CompletionItem[] = [];
  const selfModel = ctx.self;
  if (p && selfModel) items.push(...memberItems(p, selfModel));
  items.push(...globalsOf(p, ["asset", "view", "enum"]));
  items.push(...functionItems());
  const words = new Set<string>(EXPR_KEYWORDS);
  if (ctx.decl === "test") TEST_KEYWORDS.forEach((w) => words.add(w));
  if (ctx.decl === "rule") RULE_KEYWORDS.forEach((w) => words.add(w));
  if (ctx.decl === "model") ["requires", "when", "clear", "severity", "in"].forEach((w) => words.add(w));
  if (ctx.decl === "view") ["where", "by", "over", "from"].forEach((w) => words.add(w));
  if (ctx.brace === undefined && ctx.lineStart) DECL_KEYWORDS.forEach((w) => words.add(w));
  items.push(...kw([...words].filter((w) => KEYWORDS.includes(w))));
  return items;
}

/** Whether the member on the previous line continues (an operator or `when`/`requires` pending). */
function continues(t: LexToken): boolean {
  return t.type.startsWith("Kw") && ["when", "requires", "clear", "and", "or", "not", "then", "else", "if", "severity", "in", "for"].includes(t.image)
    || ["Eq", "EqEq", "NotEq", "Lt", "Gt", "LtEq", "GtEq", "Plus", "Minus", "Star", "Slash", "Comma", "Colon", "LParen"].includes(t.type);
}

/** `source KIND(…) {`: the kind, when the tokens before a `{` are a source header. */
function sourceKindOf(before: LexToken[]): string | undefined {
  let i = before.length - 1;
  if (before[i]?.type !== "RParen") return undefined;
  let depth = 0;
  for (; i >= 0; i--) {
    const t = before[i]!;
    if (t.type === "RParen") depth++;
    else if (t.type === "LParen" && --depth === 0) break;
  }
  const kind = before[i - 1];
  return kind && before[i - 2]?.type === "KwSource" ? kind.image : undefined;
}

/** In `x <- node(…) map { … }`: the enum type of telemetry `x`. */
function mapTargetEnum(ctx: Ctx, braceIdx: number): string | undefined {
  for (let i = braceIdx - 1; i >= 0 && i > braceIdx - 200; i--) {
    if (ctx.toks[i]!.type === "LArrow") {
      const target = ctx.toks[i - 1];
      const m = target ? (ctx.assetModel ?? ctx.self)?.members.get(target.image) : undefined;
      if (m && ctx.p) {
        const t = memberTy(ctx.p, m);
        return t?.k === "enum" ? t.name : undefined;
      }
      return undefined;
    }
  }
  return undefined;
}
