// Document symbols (hierarchical) and workspace symbols; parse-only.
import type { DocumentSymbol, SymbolInformation } from "vscode-languageserver";
import { SymbolKind } from "vscode-languageserver";
import type { Ast as A } from "../../compiler/index.js";
import type { LineMap } from "../../compiler/index.js";
import { fileDecls, flatten, type DeclKind, type DeclSite } from "./analysis.js";

const KIND: Record<DeclKind, SymbolKind> = {
  model: SymbolKind.Class,
  enum: SymbolKind.Enum,
  enumMember: SymbolKind.EnumMember,
  asset: SymbolKind.Object,
  view: SymbolKind.Variable,
  rule: SymbolKind.Function,
  test: SymbolKind.Method,
  unit: SymbolKind.Constant,
  attribute: SymbolKind.Field,
  telemetry: SymbolKind.Property,
  state: SymbolKind.Variable,
  alarm: SymbolKind.Event,
  command: SymbolKind.Method,
  param: SymbolKind.TypeParameter,
};

function detail(s: DeclSite): string {
  const n = s.node as A.Decl | A.ModelMember;
  switch (n.kind) {
    case "Model":
      return n.extends ? `model extends ${n.extends.name}` : "model";
    case "Asset":
      return `asset: ${n.model.name}`;
    case "View":
      return `view from ${n.from.name}`;
    case "Rule":
      return n.on ? `rule on ${n.on.name}` : "rule";
    default:
      return s.kind;
  }
}

function toSymbol(s: DeclSite, lines: LineMap): DocumentSymbol {
  let span = s.span;
  // the selection range must lie within the range
  if (s.nameSpan.start < span.start || s.nameSpan.end > span.end) span = { start: Math.min(span.start, s.nameSpan.start), end: Math.max(span.end, s.nameSpan.end) };
  const sym: DocumentSymbol = {
    name: s.name || "(unnamed)",
    detail: detail(s),
    kind: KIND[s.kind],
    range: lines.range(span),
    selectionRange: lines.range(s.nameSpan),
  };
  const kids = s.children.map((c) => toSymbol(c, lines));
  const n = s.node as A.Decl;
  if (n.kind === "Asset") {
    for (const item of n.items)
      if (item.kind === "Source")
        kids.push({ name: `source ${item.sourceKind.name}`, kind: SymbolKind.Namespace, range: lines.range(item.span), selectionRange: lines.range(item.sourceKind.span) });
  }
  if (kids.length > 0) sym.children = kids;
  return sym;
}

export function documentSymbols(file: A.SourceFile, lines: LineMap): DocumentSymbol[] {
  return fileDecls(file).map((s) => toSymbol(s, lines));
}

/** Fuzzy match: the query's characters in order, case-insensitive. */
export function matches(query: string, name: string): boolean {
  if (!query) return true;
  const q = query.toLowerCase();
  const n = name.toLowerCase();
  let i = 0;
  for (let j = 0; j < n.length && i < q.length; j++) if (n[j] === q[i]) i++;
  return i === q.length;
}

export function workspaceSymbols(files: { file: A.SourceFile; uri: string; lines: LineMap }[], query: string, limit = 500): SymbolInformation[] {
  const out: SymbolInformation[] = [];
  for (const f of files) {
    for (const s of flatten(fileDecls(f.file))) {
      if (s.kind === "param" || !matches(query, s.name)) continue;
      out.push({ name: s.name, kind: KIND[s.kind], location: { uri: f.uri, range: f.lines.range(s.nameSpan) }, containerName: s.parent?.name });
      if (out.length >= limit) return out;
    }
  }
  return out;
}
