// Incremental parsing by top-level declaration. A file is cut into chunks at lines that start (in
// column 0, outside block comments) with a declaration keyword, together with the comment and
// blank lines above them (so `///` docs stay attached). Each chunk is parsed alone and cached by
// its text; a chunk that moved is reused with its spans shifted. Only when every chunk parses
// without a syntax diagnostic is the result used: then it equals the whole-file parse (the grammar
// is a sequence of declarations and no declaration continues past a line that starts with a
// declaration keyword). Otherwise the whole file is parsed, so diagnostics are exactly `ofl check`'s.
import type { Ast as A } from "../compiler/index.js";
import type { Diagnostic } from "../compiler/index.js";
import { parse, type ParsedFile } from "../compiler/index.js";

const DECL_LINE = /^(model|asset|view|rule|test|enum|unit|use)\b/;

/** Chunk start offsets (the first is 0). */
export function chunkStarts(text: string): number[] {
  const starts: number[] = [0];
  let inBlock = false;
  let lineStart = 0;
  /** start of the run of comment/blank lines right above the current line */
  let runStart = -1;
  const n = text.length;
  while (lineStart <= n) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = n;
    if (!inBlock) {
      const c = text.charCodeAt(lineStart);
      // a declaration keyword in column 0
      if (c >= 97 && c <= 122 && DECL_LINE.test(text.slice(lineStart, lineStart + 8))) {
        const at = runStart >= 0 ? runStart : lineStart;
        if (at > starts[starts.length - 1]!) starts.push(at);
      }
    }
    // track block comments (and skip strings / line comments) on this line
    const lineText = text.slice(lineStart, lineEnd);
    const wasInBlock = inBlock;
    for (let i = 0; i < lineText.length; i++) {
      const ch = lineText[i];
      if (inBlock) {
        if (ch === "*" && lineText[i + 1] === "/") {
          inBlock = false;
          i++;
        }
      } else if (ch === "/" && lineText[i + 1] === "/") break;
      else if (ch === "/" && lineText[i + 1] === "*") {
        inBlock = true;
        i++;
      } else if (ch === '"') {
        for (i++; i < lineText.length && lineText[i] !== '"'; i++) if (lineText[i] === "\\") i++;
      }
    }
    const trimmed = lineText.trimStart();
    const commentOrBlank = !wasInBlock && !inBlock && (trimmed === "" || trimmed === "\r" || (trimmed.startsWith("//") && !trimmed.startsWith("/*")));
    if (commentOrBlank) {
      if (runStart < 0) runStart = lineStart;
    } else runStart = -1;
    if (lineEnd >= n) break;
    lineStart = lineEnd + 1;
  }
  return starts;
}

/** A deep copy of a parse result with every span moved by `delta`. */
function shifted<T>(v: T, delta: number, depth = 0): T {
  if (v === null || typeof v !== "object" || depth > 400) return v;
  if (Array.isArray(v)) return v.map((x) => shifted(x, delta, depth + 1)) as T;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 2 && typeof o["start"] === "number" && typeof o["end"] === "number") return { start: (o["start"] as number) + delta, end: (o["end"] as number) + delta } as T;
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = shifted(o[k], delta, depth + 1);
  return out as T;
}

interface Chunk {
  decls: A.Decl[];
  comments: A.Comment[];
  diagnostics: Diagnostic[];
}

/** Parses files, reusing the chunks of the previous version of the same document. */
export class IncrementalParser {
  /** chunk text → its parse at offset 0 */
  private relative = new Map<string, Chunk>();
  /** offset + text → its parse at that offset */
  private absolute = new Map<string, Chunk>();
  stats = { chunks: 0, reused: 0, full: 0 };

  parse(text: string, path: string): ParsedFile {
    if (text.length < 2000) return parse(text, path);
    const starts = chunkStarts(text);
    if (starts.length < 3) return parse(text, path);
    const nextRelative = new Map<string, Chunk>();
    const nextAbsolute = new Map<string, Chunk>();
    const decls: A.Decl[] = [];
    const comments: A.Comment[] = [];
    let clean = true;
    for (let i = 0; i < starts.length; i++) {
      const s = starts[i]!;
      const e = i + 1 < starts.length ? starts[i + 1]! : text.length;
      const ctext = text.slice(s, e);
      const akey = `${s}\u0000${ctext}`;
      let chunk = this.absolute.get(akey);
      if (chunk) this.stats.reused++;
      if (!chunk) {
        let rel = this.relative.get(ctext);
        if (!rel) {
          const r = parse(ctext, path);
          rel = { decls: r.file.decls, comments: r.file.comments, diagnostics: r.diagnostics };
        }
        nextRelative.set(ctext, rel);
        chunk = s === 0 ? rel : shifted(rel, s);
      } else {
        const rel = this.relative.get(ctext);
        if (rel) nextRelative.set(ctext, rel);
      }
      nextAbsolute.set(akey, chunk);
      this.stats.chunks++;
      if (chunk.diagnostics.length > 0) clean = false;
      decls.push(...chunk.decls);
      comments.push(...chunk.comments);
    }
    this.relative = nextRelative;
    this.absolute = nextAbsolute;
    if (!clean) {
      this.stats.full++;
      return parse(text, path);
    }
    return { file: { kind: "File", path, text, decls, comments }, diagnostics: [] };
  }
}
