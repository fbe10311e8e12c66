// Compiler diagnostics → LSP diagnostics (ranges, codes, related information, quick-fix data).
import type { Diagnostic as LspDiagnostic, DiagnosticRelatedInformation } from "vscode-languageserver";
import type { Diagnostic, LineMap } from "../../compiler/index.js";

/** At most this many diagnostics per file are sent (the compiler's own cap). */
export const MAX_PER_FILE = 1000;

export interface FileLookup {
  /** the URI and line map of a program file; undefined for the standard library */
  (path: string): { uri: string; lines: LineMap } | undefined;
}

export function toLspDiagnostic(d: Diagnostic, lines: LineMap, lookup: FileLookup): LspDiagnostic {
  const out: LspDiagnostic = {
    range: lines.range(d.span),
    severity: d.severity === "error" ? 1 : 2,
    code: d.code,
    source: "ofl",
    message: d.message,
  };
  if (d.related && d.related.length > 0) {
    const rel: DiagnosticRelatedInformation[] = [];
    for (const r of d.related) {
      const f = lookup(r.file);
      if (f) rel.push({ location: { uri: f.uri, range: f.lines.range(r.span) }, message: r.message });
    }
    if (rel.length > 0) out.relatedInformation = rel;
  }
  if (d.data) out.data = { ...d.data };
  return out;
}

/** Diagnostics of a program grouped by file path (every program file present, possibly empty). */
export function diagnosticsByFile(all: Diagnostic[], paths: Iterable<string>, lookup: FileLookup): Map<string, LspDiagnostic[]> {
  const out = new Map<string, LspDiagnostic[]>();
  for (const p of paths) out.set(p, []);
  for (const d of all) {
    const f = lookup(d.file);
    if (!f) continue;
    let list = out.get(d.file);
    if (!list) out.set(d.file, (list = []));
    if (list.length < MAX_PER_FILE) list.push(toLspDiagnostic(d, f.lines, lookup));
  }
  return out;
}
