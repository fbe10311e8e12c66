// The registry of diagnostic codes: one entry per code, one template each.
// OFL1xxx syntax, OFL2xxx names, OFL3xxx types and units, OFL4xxx sources and bindings,
// OFL5xxx rules and tests.
import type { Span } from "../ast/nodes.js";
import type { CodeEntry, Diagnostic, RelatedInfo } from "./types.js";
import { syntaxCodes } from "./codes/syntax.js";
import { fileCodes } from "./codes/files.js";
import { nameCodes } from "./codes/names.js";
import { typeCodes } from "./codes/types.js";
import { sourceCodes } from "./codes/sources.js";
import { ruleCodes } from "./codes/rules.js";

const all: CodeEntry[] = [...syntaxCodes, ...fileCodes, ...nameCodes, ...typeCodes, ...sourceCodes, ...ruleCodes];

export const registry: ReadonlyMap<string, CodeEntry> = (() => {
  const map = new Map<string, CodeEntry>();
  for (const entry of all) {
    if (map.has(entry.code)) throw new Error(`duplicate diagnostic code ${entry.code}`);
    map.set(entry.code, entry);
  }
  return map;
})();

export function codeEntry(code: string): CodeEntry {
  const entry = registry.get(code);
  if (!entry) throw new Error(`unregistered diagnostic code ${code}`);
  return entry;
}

/** Fills `{name}` placeholders of a template. */
export function formatTemplate(template: string, args: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in args ? String(args[key]) : whole));
}

/** Builds a diagnostic from its registered code. */
export function diag(
  code: string,
  file: string,
  span: Span,
  args: Record<string, string | number> = {},
  extra: { related?: RelatedInfo[]; data?: Record<string, string> } = {},
): Diagnostic {
  const entry = codeEntry(code);
  const d: Diagnostic = { code, severity: entry.severity, message: formatTemplate(entry.template, args), file, span };
  if (extra.related && extra.related.length > 0) d.related = extra.related;
  if (extra.data) d.data = extra.data;
  return d;
}
