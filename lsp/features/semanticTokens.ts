// Semantic tokens: categories from the lexer; identifiers classified from the parse (declarations,
// syntactic positions) and, when the checked program is current, from the checker's resolutions.
import type { SemanticTokens, SemanticTokensLegend } from "vscode-languageserver";
import type { Ast as A } from "../../compiler/index.js";
import { lex, type LineMap } from "../../compiler/index.js";
import { fileDecls, flatten, key, type Analysis, type DeclKind } from "./analysis.js";
import { walk } from "./nodeAt.js";

export const TOKEN_TYPES = [
  "keyword", "number", "string", "comment", "operator", "type", "class", "enum", "enumMember",
  "property", "method", "function", "variable", "parameter", "event", "namespace",
] as const;
export const TOKEN_MODIFIERS = ["declaration", "readonly", "defaultLibrary", "documentation"] as const;
export const LEGEND: SemanticTokensLegend = { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] };

type TokType = (typeof TOKEN_TYPES)[number];
type Mod = (typeof TOKEN_MODIFIERS)[number];
const T = (t: TokType): number => TOKEN_TYPES.indexOf(t);
const M = (...ms: Mod[]): number => ms.reduce((acc, m) => acc | (1 << TOKEN_MODIFIERS.indexOf(m)), 0);

const KIND_TYPE: Record<DeclKind, [TokType, number]> = {
  model: ["class", 0],
  enum: ["enum", 0],
  enumMember: ["enumMember", 0],
  asset: ["variable", 0],
  view: ["variable", M("readonly")],
  rule: ["function", 0],
  test: ["string", 0],
  unit: ["type", 0],
  attribute: ["property", M("readonly")],
  telemetry: ["property", 0],
  state: ["property", 0],
  alarm: ["event", 0],
  command: ["method", 0],
  param: ["parameter", 0],
};

/** Identifier classification by start offset. */
function classify(file: A.SourceFile, analysis: Analysis | undefined): Map<number, [number, number]> {
  const cls = new Map<number, [number, number]>();
  const set = (s: A.Span | undefined, t: TokType, mods = 0): void => {
    if (s) cls.set(s.start, [T(t), mods]);
  };
  walk(file, (n) => {
    const node = n as unknown as A.Expr | A.Decl | A.TypeRef | A.UnitExpr | A.Binding | A.SourceBlock | A.AttributeAssign | A.AlarmMember;
    switch (node.kind) {
      case "PrimitiveType":
        set(node.span, "type", M("defaultLibrary"));
        break;
      case "NamedType":
        set(node.name.span, "enum");
        break;
      case "UnitExpr":
        for (const f of node.factors) set(f.name.span, "type");
        break;
      case "Model":
        if (node.extends) set(node.extends.span, "class");
        break;
      case "Asset":
        set(node.model.span, "class");
        break;
      case "Rule":
        if (node.on) set(node.on.span, "class");
        break;
      case "View":
        set(node.from.span, "class");
        set(node.aggregate.span, "function", M("defaultLibrary"));
        if (node.by) set(node.by.span, "property");
        break;
      case "AttributeAssign":
        set(node.name.span, "property");
        break;
      case "Source":
        set(node.sourceKind.span, "namespace", M("defaultLibrary"));
        break;
      case "Binding":
        set(node.target.span, node.direction === "command" ? "method" : "property");
        set(node.call.name.span, "function", M("defaultLibrary"));
        for (const e of node.map ?? []) set(e.member.span, "enumMember");
        for (const a of node.call.args) if (a.name && node.call.name.name === "sequence") set(a.name.span, "enumMember");
        break;
      case "Alarm":
        set(node.severity.span, "enumMember");
        break;
      case "Call":
        if (node.callee.kind === "Name") set(node.callee.span, "function", M("defaultLibrary"));
        else if (node.callee.kind === "Member") set(node.callee.member.span, "method");
        for (const a of node.args) if (a.name) set(a.name.span, "parameter");
        break;
      case "Member":
        if (!cls.has(node.member.span.start)) set(node.member.span, "property");
        break;
    }
  });
  if (analysis) {
    for (const r of analysis.index.refsByFile.get(file.path) ?? []) {
      const site = analysis.index.sites.get(key(r.target.file, r.target.span.start));
      if (!site) continue;
      const [t, m] = KIND_TYPE[site.kind];
      cls.set(r.span.start, [T(t), m | (site.file.startsWith("std/") ? M("defaultLibrary") : 0)]);
    }
  }
  for (const s of flatten(fileDecls(file))) {
    if (s.kind === "test") continue;
    const [t, m] = KIND_TYPE[s.kind];
    cls.set(s.nameSpan.start, [T(t), m | M("declaration")]);
  }
  return cls;
}

export function semanticTokens(file: A.SourceFile, lines: LineMap, analysis?: Analysis): SemanticTokens {
  const cls = classify(file, analysis);
  const { tokens } = lex(file.text);
  const data: number[] = [];
  let prevLine = 0;
  let prevChar = 0;
  const push = (start: number, end: number, type: number, mods: number): void => {
    // one token per line
    let s = start;
    while (s < end) {
      const pos = lines.position(s);
      const lineEnd = Math.min(end, lines.offset({ line: pos.line + 1, character: 0 }));
      let e = lineEnd;
      // trim the line break
      while (e > s && (file.text[e - 1] === "\n" || file.text[e - 1] === "\r")) e--;
      if (e > s) {
        const dl = pos.line - prevLine;
        data.push(dl, dl === 0 ? pos.character - prevChar : pos.character, e - s, type, mods);
        prevLine = pos.line;
        prevChar = pos.character;
      }
      if (lineEnd <= s) break;
      s = lineEnd;
    }
  };
  for (const t of tokens) {
    const ty = t.type;
    let c: [number, number] | undefined;
    if (ty === "DocComment") c = [T("comment"), M("documentation")];
    else if (ty.endsWith("Comment")) c = [T("comment"), 0];
    else if (ty === "String" || ty === "UnterminatedString") c = cls.get(t.start) ?? [T("string"), 0];
    else if (ty === "Number" || ty === "Duration" || ty === "Timestamp" || ty === "BadTimestamp") c = [T("number"), 0];
    else if (ty === "Ident") c = cls.get(t.start) ?? [T("variable"), 0];
    else if (ty.startsWith("Kw")) c = cls.get(t.start) ?? [T("keyword"), 0];
    else if (/^(LArrow|RArrow|DotDot|EqEq|NotEq|LtEq|GtEq|Lt|Gt|Eq|Plus|Minus|Star|Slash|Percent|Caret|AtSign)$/.test(ty)) c = [T("operator"), 0];
    if (c) push(t.start, t.end, c[0], c[1]);
  }
  return { data };
}
