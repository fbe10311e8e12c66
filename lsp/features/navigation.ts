// Go to definition, find references, rename — over the checker's identifier → declaration table.
import type { Location, TextEdit, WorkspaceEdit, Range } from "vscode-languageserver";
import type { Ast as A } from "../../compiler/index.js";
import { KEYWORDS } from "../../compiler/index.js";
import type { Analysis, Doc } from "./analysis.js";

export type UriOf = (path: string) => string | undefined;

function location(a: Analysis, uriOf: UriOf, file: string, span: A.Span): Location | undefined {
  const uri = uriOf(file);
  const d = a.docs.get(file);
  if (!uri || !d) return undefined;
  return { uri, range: d.lines.range(span) };
}

export function definition(a: Analysis, doc: Doc, offset: number, uriOf: UriOf): Location[] {
  const sym = a.index.symbolAt(doc.path, offset);
  if (!sym) return [];
  const loc = location(a, uriOf, sym.target.file, sym.target.span);
  return loc ? [loc] : [];
}

export function references(a: Analysis, doc: Doc, offset: number, includeDeclaration: boolean, uriOf: UriOf): Location[] {
  const sym = a.index.symbolAt(doc.path, offset);
  if (!sym) return [];
  const out: Location[] = [];
  if (includeDeclaration) {
    const l = location(a, uriOf, sym.target.file, sym.target.span);
    if (l) out.push(l);
  }
  const seen = new Set<string>();
  for (const r of a.index.referencesTo(sym.target)) {
    const k = `${r.file}:${r.span.start}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const l = location(a, uriOf, r.file, r.span);
    if (l) out.push(l);
  }
  return out;
}

export class RenameError extends Error {}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set(KEYWORDS);

/** Whether `name` may be a new name; the reason when not. */
export function invalidName(name: string): string | undefined {
  if (!IDENT.test(name)) return `\`${name}\` is not a valid OFL identifier (letters, digits and \`_\`, not starting with a digit)`;
  if (RESERVED.has(name)) return `\`${name}\` is a reserved keyword of OFL`;
  return undefined;
}

export function prepareRename(a: Analysis, doc: Doc, offset: number): { range: Range; placeholder: string } {
  const sym = a.index.symbolAt(doc.path, offset);
  if (!sym) throw new RenameError("nothing to rename here: place the cursor on a name");
  if (sym.target.file.startsWith("std/")) throw new RenameError(`\`${sym.name}\` is declared in the standard library and cannot be renamed`);
  return { range: doc.lines.range(sym.at), placeholder: sym.name };
}

export function rename(a: Analysis, doc: Doc, offset: number, newName: string, uriOf: UriOf): WorkspaceEdit {
  const sym = a.index.symbolAt(doc.path, offset);
  if (!sym) throw new RenameError("nothing to rename here: place the cursor on a name");
  if (sym.target.file.startsWith("std/")) throw new RenameError(`\`${sym.name}\` is declared in the standard library and cannot be renamed`);
  const bad = invalidName(newName);
  if (bad) throw new RenameError(`cannot rename to ${bad}`);
  if (newName === sym.name) return { changes: {} };
  const clash = clashes(a, sym, newName);
  if (clash) throw new RenameError(clash);
  const changes: Record<string, TextEdit[]> = {};
  const add = (file: string, span: A.Span): void => {
    const uri = uriOf(file);
    const d = a.docs.get(file);
    if (!uri || !d) return;
    (changes[uri] ??= []).push({ range: d.lines.range(span), newText: newName });
  };
  add(sym.target.file, sym.target.span);
  const seen = new Set<string>();
  for (const r of a.index.referencesTo(sym.target)) {
    const k = `${r.file}:${r.span.start}`;
    if (seen.has(k) || (r.file === sym.target.file && r.span.start === sym.target.span.start)) continue;
    seen.add(k);
    add(r.file, r.span);
  }
  return { changes };
}

function clashes(a: Analysis, sym: NonNullable<ReturnType<Analysis["index"]["symbolAt"]>>, newName: string): string | undefined {
  const p = a.result.program;
  const site = sym.site;
  if (!site) return undefined;
  switch (site.kind) {
    case "model":
    case "enum":
    case "asset":
    case "view":
    case "rule": {
      const g = p.globals.get(newName);
      if (g && !g.std) return `\`${newName}\` is already declared (a ${g.kind})`;
      return undefined;
    }
    case "unit":
      return p.units.has(newName) && !p.units.get(newName)!.std ? `a unit \`${newName}\` is already declared` : undefined;
    case "attribute":
    case "telemetry":
    case "state":
    case "alarm":
    case "command": {
      const owner = p.models.find((m) => m.file === site.file && m.own.has(site.name) && m.own.get(site.name)!.decl.name.span.start === site.nameSpan.start);
      if (owner) {
        for (const m of p.models) if (m.lineage.includes(owner.name) && m.members.has(newName)) return `\`${m.name}\` already has a member \`${newName}\``;
      }
      return undefined;
    }
    case "enumMember": {
      const en = site.parent;
      if (en && en.children.some((c) => c.name === newName)) return `enum \`${en.name}\` already has a member \`${newName}\``;
      return undefined;
    }
    case "param": {
      const cmd = site.parent;
      if (cmd && cmd.children.some((c) => c.name === newName)) return `command \`${cmd.name}\` already has a parameter \`${newName}\``;
      return undefined;
    }
    default:
      return undefined;
  }
}
