// Quick fixes: did-you-mean (diagnostic data.suggestion) and "add missing member" for OFL2004.
import type { CodeAction, Range } from "vscode-languageserver";
import { CodeActionKind } from "vscode-languageserver";
import type { Ast as A } from "../../compiler/index.js";
import type { Diagnostic } from "../../compiler/index.js";
import { nodePath } from "./nodeAt.js";
import { toLspDiagnostic } from "./diagnostics.js";
import type { Analysis, Doc } from "./analysis.js";
import type { UriOf } from "./navigation.js";

export function codeActions(a: Analysis, doc: Doc, range: Range, uriOf: UriOf): CodeAction[] {
  const start = doc.lines.offset(range.start);
  const end = doc.lines.offset(range.end);
  const out: CodeAction[] = [];
  const lookup = (path: string) => {
    const d = a.docs.get(path);
    const uri = uriOf(path);
    return d && uri ? { uri, lines: d.lines } : undefined;
  };
  for (const d of a.result.diagnostics) {
    if (d.file !== doc.path || d.span.end < start || d.span.start > end) continue;
    const lsp = toLspDiagnostic(d, doc.lines, lookup);
    const suggestion = d.data?.["suggestion"];
    if (suggestion) {
      out.push({
        title: `Change to \`${suggestion}\``,
        kind: CodeActionKind.QuickFix,
        diagnostics: [lsp],
        isPreferred: true,
        edit: { changes: { [doc.uri]: [{ range: doc.lines.range(d.span), newText: suggestion }] } },
      });
    }
    if (d.code === "OFL2004") {
      const fix = addMember(a, doc, d, uriOf);
      if (fix) out.push({ ...fix, diagnostics: [lsp] });
    }
  }
  return out;
}

/** `asset.x` where the model has no `x`: insert `telemetry x: float` in the model. */
function addMember(a: Analysis, doc: Doc, d: Diagnostic, uriOf: UriOf): CodeAction | undefined {
  const p = a.result.program;
  const path = nodePath(doc.file, d.span.start, false);
  const member = [...path].reverse().find((n) => n.kind === "Member" && (n as unknown as A.MemberExpr).member.span.start === d.span.start) as A.MemberExpr | undefined;
  if (!member) return undefined;
  const name = member.member.name;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return undefined;
  const ot = p.types.get(member.object);
  let modelName: string | undefined;
  if (ot?.k === "asset") modelName = ot.model;
  else if (member.object.kind === "Name") {
    const g = p.globals.get(member.object.name.name);
    if (g?.kind === "asset") modelName = g.model?.name;
  }
  const model = p.models.find((m) => m.name === modelName);
  if (!model || model.std) return undefined;
  const mdoc = a.docs.get(model.file);
  const uri = uriOf(model.file);
  if (!mdoc || !uri) return undefined;
  const decl = model.decl;
  const text = mdoc.text;
  // before the closing brace, indented like the other members
  let close = decl.span.end - 1;
  while (close > decl.span.start && text[close] !== "}") close--;
  if (text[close] !== "}") return undefined;
  const firstMember = decl.members[0];
  const indent = firstMember ? mdoc.lines.lineText(mdoc.lines.position(firstMember.span.start).line).match(/^\s*/)![0] : "  ";
  const closePos = mdoc.lines.position(close);
  const beforeClose = mdoc.lines.lineText(closePos.line).slice(0, closePos.character);
  const line = `telemetry ${name}: float`;
  const edit = /^\s*$/.test(beforeClose)
    ? { range: { start: { line: closePos.line, character: 0 }, end: { line: closePos.line, character: 0 } }, newText: `${indent}${line}\n` }
    : { range: { start: closePos, end: closePos }, newText: `\n${indent}${line}\n` };
  return {
    title: `Add \`telemetry ${name}: float\` to model \`${model.name}\``,
    kind: CodeActionKind.QuickFix,
    edit: { changes: { [uri]: [edit] } },
  };
}
