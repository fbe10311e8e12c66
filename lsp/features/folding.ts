// Folding ranges: declarations, members over several lines, source blocks, comments; parse-only.
import type { FoldingRange } from "vscode-languageserver";
import type { Ast as A } from "../../compiler/index.js";
import type { LineMap } from "../../compiler/index.js";

export function foldingRanges(file: A.SourceFile, lines: LineMap): FoldingRange[] {
  const out: FoldingRange[] = [];
  const text = file.text;
  const add = (span: A.Span, kind?: "comment" | "region"): void => {
    const start = lines.position(span.start).line;
    let end = lines.position(span.end).line;
    // keep a closing brace on its own line visible
    if (text[span.end - 1] === "}" && end > start && /^\s*\}/.test(lines.lineText(end))) end--;
    if (end > start) out.push(kind ? { startLine: start, endLine: end, kind } : { startLine: start, endLine: end });
  };
  for (const d of file.decls) {
    add(d.span);
    if (d.kind === "Model") for (const m of d.members) add(m.span);
    if (d.kind === "Asset") for (const item of d.items) if (item.kind === "Source") add(item.span);
  }
  // comments: block comments, and runs of consecutive line comments
  let run: A.Span | undefined;
  let runEndLine = -2;
  for (const c of file.comments) {
    if (c.kind === "block") {
      add(c.span, "comment");
      continue;
    }
    const line = lines.position(c.span.start).line;
    if (run && line === runEndLine + 1) {
      run = { start: run.start, end: c.span.end };
    } else {
      if (run) add(run, "comment");
      run = c.span;
    }
    runEndLine = line;
  }
  if (run) add(run, "comment");
  return out;
}
