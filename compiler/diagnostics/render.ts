// Renders diagnostics for terminals, like rustc:
//
//   error[OFL3002]: `+` needs equal or convertible units: float<degC> and float<rpm>
//    --> plant.ofl:8:25
//     |
//   8 |   state bad_units = t + r
//     |                       ^
import { LineMap } from "./lineMap.js";
import type { Diagnostic } from "./types.js";

export interface RenderOptions {
  /** ANSI colours */
  color?: boolean;
  /** how a path is shown (e.g. relative to the working directory) */
  displayPath?: (path: string) => string;
}

export function renderDiagnostic(
  d: Diagnostic,
  text: string | undefined,
  opts: RenderOptions = {},
  lineMap?: LineMap,
  mapOf?: (file: string) => LineMap | undefined,
): string {
  const paint = (code: string, s: string): string => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const sevColor = d.severity === "error" ? "1;31" : "1;33";
  const path = opts.displayPath ? opts.displayPath(d.file) : d.file;
  const out: string[] = [];
  out.push(`${paint(sevColor, `${d.severity}[${d.code}]`)}${paint("1", `: ${d.message}`)}`);
  if (text === undefined) {
    out.push(`  --> ${path}`);
    return out.join("\n");
  }
  const map = lineMap ?? new LineMap(text);
  const start = map.position(d.span.start);
  const end = map.position(d.span.end);
  const gutter = String(start.line + 1).length;
  const pad = " ".repeat(gutter);
  out.push(`${pad}${paint("1;34", "-->")} ${path}:${start.line + 1}:${start.character + 1}`);
  out.push(`${pad} ${paint("1;34", "|")}`);
  const lineText = map.lineText(start.line);
  const shown = lineText.replace(/\t/g, " ");
  out.push(`${paint("1;34", `${start.line + 1}`.padStart(gutter) + " |")} ${shown}`);
  const from = start.character;
  const to = end.line === start.line ? Math.max(end.character, from + 1) : Math.max(lineText.length, from + 1);
  out.push(`${pad} ${paint("1;34", "|")} ${" ".repeat(from)}${paint(sevColor, "^".repeat(Math.max(1, to - from)))}`);
  for (const r of d.related ?? []) {
    out.push(`${pad} ${paint("1;34", "=")} note: ${r.message} at ${opts.displayPath ? opts.displayPath(r.file) : r.file}:${relatedPos(r.file === d.file ? map : mapOf?.(r.file), r.span.start)}`);
  }
  return out.join("\n");
}

function relatedPos(map: LineMap | undefined, offset: number): string {
  if (!map) return `offset ${offset}`;
  const p = map.position(offset);
  return `${p.line + 1}:${p.character + 1}`;
}

/** Renders a list, with a summary line. `texts` maps a file path to its text. */
export function renderDiagnostics(ds: Diagnostic[], texts: Map<string, string>, opts: RenderOptions = {}): string {
  const maps = new Map<string, LineMap>();
  const mapOf = (file: string): LineMap | undefined => {
    let map = maps.get(file);
    const text = texts.get(file);
    if (!map && text !== undefined) {
      map = new LineMap(text);
      maps.set(file, map);
    }
    return map;
  };
  const blocks = ds.map((d) => renderDiagnostic(d, texts.get(d.file), opts, mapOf(d.file), mapOf));
  return blocks.join("\n\n");
}
