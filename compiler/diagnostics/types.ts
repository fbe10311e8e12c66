import type { Span } from "../ast/nodes.js";

export type Severity = "error" | "warning";

/** LSP-shaped position: 0-based line, UTF-16 character. */
export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}

export interface RelatedInfo {
  file: string;
  span: Span;
  message: string;
}

/** A diagnostic as produced by every compiler stage (offsets; see lineMap for positions). */
export interface Diagnostic {
  code: string;
  severity: Severity;
  message: string;
  file: string;
  span: Span;
  related?: RelatedInfo[];
  /** Machine-readable extras for quick fixes (e.g. `{ suggestion: "temperature" }`). */
  data?: Record<string, string>;
}

/** One registry entry: a stable code, its message template and a short explanation. */
export interface CodeEntry {
  code: string;
  severity: Severity;
  /** Short title, e.g. "unit mismatch". */
  title: string;
  /** Message with `{placeholders}` filled from the arguments of `diag()`. */
  template: string;
  /** A paragraph for the diagnostics reference and hover. */
  explanation: string;
  /** A small OFL example that triggers it (for the generated reference). */
  example?: string;
}
