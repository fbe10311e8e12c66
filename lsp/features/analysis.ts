// What every feature function receives: one document's parse (always current) and, when
// available, the checked program it belongs to. No connection code here.
import type { Ast as A } from "../../compiler/index.js";
import type { CheckResult, Diagnostic } from "../../compiler/index.js";
import { LineMap, lower, placementByDeclaration, type Placement } from "../../compiler/index.js";
import type { GlobalSymbol, MemberInfo, ParamInfo, UnitInfo, EnumInfo, TestInfo } from "../../compiler/index.js";

/** One file as the server sees it: the current text and its parse. */
export interface Doc {
  path: string;
  uri: string;
  version: number;
  text: string;
  lines: LineMap;
  file: A.SourceFile;
  parseDiagnostics: Diagnostic[];
}

/** A checked program: the check result plus the files it was made of (with their texts). */
export interface Analysis {
  result: CheckResult;
  /** user files of the program, by path */
  docs: Map<string, Doc>;
  index: DeclIndex;
  /**
   * The placement stage's answer by declaration (`Model.member`, `view NAME`, `rule NAME`), the
   * same as `ofl build --explain`; undefined while the program has errors (it cannot be lowered).
   */
  placement: ReadonlyMap<string, Placement> | undefined;
}

export function makeDoc(path: string, uri: string, version: number, text: string, parsed: { file: A.SourceFile; diagnostics: Diagnostic[] }): Doc {
  return { path, uri, version, text, lines: new LineMap(text), file: parsed.file, parseDiagnostics: parsed.diagnostics };
}

/** The index is built on first use: publishing diagnostics does not need it. */
export function makeAnalysis(result: CheckResult, docs: Map<string, Doc>): Analysis {
  let index: DeclIndex | undefined;
  let placement: ReadonlyMap<string, Placement> | undefined | null = null;
  return {
    result,
    docs,
    get index(): DeclIndex {
      return (index ??= new DeclIndex(result));
    },
    get placement(): ReadonlyMap<string, Placement> | undefined {
      if (placement === null) placement = placeProgram(result);
      return placement;
    },
  };
}

function placeProgram(result: CheckResult): ReadonlyMap<string, Placement> | undefined {
  if (result.diagnostics.some((d) => d.severity === "error")) return undefined;
  try {
    return placementByDeclaration(lower(result));
  } catch {
    return undefined; // a lowering or emitter bug must not break hover: it falls back (hover.ts)
  }
}

/** Whether an analysis was made from exactly this document text. */
export function isFresh(a: Analysis | undefined, doc: Doc): a is Analysis {
  return !!a && a.docs.get(doc.path)?.text === doc.text;
}

// ---------------------------------------------------------------- declarations

export type DeclKind =
  | "model" | "enum" | "enumMember" | "asset" | "view" | "rule" | "test" | "unit"
  | "attribute" | "telemetry" | "state" | "alarm" | "command" | "param";

/** A declaration site, found syntactically (works on a parse alone). */
export interface DeclSite {
  kind: DeclKind;
  name: string;
  file: string;
  /** the name's span (a test's: its string) */
  nameSpan: A.Span;
  /** the whole declaration */
  span: A.Span;
  doc?: string;
  node: A.Decl | A.ModelMember | A.Param | A.Ident;
  /** the model, enum or command it belongs to */
  parent?: DeclSite;
  children: DeclSite[];
}

/** The declarations of one file, hierarchical. */
export function fileDecls(file: A.SourceFile): DeclSite[] {
  const out: DeclSite[] = [];
  const site = (kind: DeclKind, name: A.Ident | A.StringLit, span: A.Span, node: DeclSite["node"], doc?: string, parent?: DeclSite): DeclSite => ({
    kind,
    name: name.kind === "Ident" ? name.name : name.value,
    file: file.path,
    nameSpan: name.span,
    span,
    doc,
    node,
    parent,
    children: [],
  });
  for (const d of file.decls) {
    switch (d.kind) {
      case "Use":
        break;
      case "Unit":
        out.push(site("unit", d.name, d.span, d, d.doc));
        break;
      case "Enum": {
        const s = site("enum", d.name, d.span, d, d.doc);
        for (const m of d.members) if (m.name) s.children.push(site("enumMember", m, m.span, m, undefined, s));
        out.push(s);
        break;
      }
      case "Model": {
        const s = site("model", d.name, d.span, d, d.doc);
        for (const m of d.members) {
          if (!m.name.name) continue;
          const kind = m.kind === "Attribute" ? "attribute" : m.kind === "Telemetry" ? "telemetry" : m.kind === "State" ? "state" : m.kind === "Alarm" ? "alarm" : "command";
          const ms = site(kind, m.name, m.span, m, m.doc, s);
          if (m.kind === "Command") for (const p of m.params) if (p.name.name) ms.children.push(site("param", p.name, p.span, p, undefined, ms));
          s.children.push(ms);
        }
        out.push(s);
        break;
      }
      case "Asset":
        out.push(site("asset", d.name, d.span, d, d.doc));
        break;
      case "View":
        out.push(site("view", d.name, d.span, d, d.doc));
        break;
      case "Rule":
        out.push(site("rule", d.name, d.span, d, d.doc));
        break;
      case "Test":
        out.push(site("test", d.name, d.span, d, d.doc));
        break;
    }
  }
  return out.filter((s) => s.name !== "" || s.kind === "test");
}

export function flatten(sites: DeclSite[], out: DeclSite[] = []): DeclSite[] {
  for (const s of sites) {
    out.push(s);
    flatten(s.children, out);
  }
  return out;
}

export function key(file: string, start: number): string {
  return `${file}\u0000${start}`;
}

export interface Reference {
  file: string;
  span: A.Span;
  name: string;
  target: { file: string; span: A.Span };
}

/** What the checker knows about one declaration. */
export type Info =
  | { k: "global"; sym: GlobalSymbol }
  | { k: "member"; member: MemberInfo }
  | { k: "param"; param: ParamInfo; command: Extract<MemberInfo, { k: "command" }> }
  | { k: "unit"; unit: UnitInfo }
  | { k: "enumMember"; en: EnumInfo; name: string }
  | { k: "test"; test: TestInfo };

/** Every declaration of a checked program, and every reference, indexed by position. */
export class DeclIndex {
  /** declaration sites by key(file, name start) */
  readonly sites = new Map<string, DeclSite>();
  readonly info = new Map<string, Info>();
  /** references by file, sorted by start */
  readonly refsByFile = new Map<string, Reference[]>();
  /** references by key(target file, target start) */
  readonly refsByTarget = new Map<string, Reference[]>();

  constructor(result: CheckResult) {
    const p = result.program;
    for (const f of p.files) for (const s of flatten(fileDecls(f))) this.sites.set(key(s.file, s.nameSpan.start), s);
    for (const sym of p.globals.values()) this.info.set(key(sym.file, sym.decl.name.span.start), { k: "global", sym });
    for (const m of p.models) {
      this.info.set(key(m.file, m.decl.name.span.start), { k: "global", sym: m });
      for (const mem of m.own.values()) {
        this.info.set(key(m.file, mem.decl.name.span.start), { k: "member", member: mem });
        if (mem.k === "command") for (const prm of mem.params) this.info.set(key(m.file, prm.decl.name.span.start), { k: "param", param: prm, command: mem });
      }
    }
    for (const en of p.enums) for (const id of en.decl.members) this.info.set(key(en.file, id.span.start), { k: "enumMember", en, name: id.name });
    for (const u of p.units.values()) this.info.set(key(u.file, u.decl.name.span.start), { k: "unit", unit: u });
    for (const t of p.tests) this.info.set(key(t.file, t.decl.name.span.start), { k: "test", test: t });
    const refs: Reference[] = [...p.references, ...extraReferences(result)];
    for (const r of refs) {
      let list = this.refsByFile.get(r.file);
      if (!list) this.refsByFile.set(r.file, (list = []));
      list.push(r);
      const k = key(r.target.file, r.target.span.start);
      let t = this.refsByTarget.get(k);
      if (!t) this.refsByTarget.set(k, (t = []));
      t.push(r);
    }
    for (const list of this.refsByFile.values()) list.sort((a, b) => a.span.start - b.span.start);
  }

  /** The reference whose span holds `offset` (end inclusive, so a cursor after a name counts). */
  referenceAt(file: string, offset: number): Reference | undefined {
    const list = this.refsByFile.get(file);
    if (!list) return undefined;
    let lo = 0;
    let hi = list.length - 1;
    let found: Reference | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = list[mid]!;
      if (r.span.start <= offset) {
        if (offset <= r.span.end) found = r;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found) return found;
    // a reference starting at offset (cursor just before a name right after another one)
    return list.find((r) => r.span.start <= offset && offset <= r.span.end);
  }

  /** The declaration whose name holds `offset`. */
  declAt(file: string, offset: number): DeclSite | undefined {
    for (const s of this.sites.values()) if (s.file === file && s.nameSpan.start <= offset && offset <= s.nameSpan.end) return s;
    return undefined;
  }

  /** What `offset` names: a declaration, or a reference to one. */
  symbolAt(file: string, offset: number): { site: DeclSite | undefined; target: { file: string; span: A.Span }; at: A.Span; name: string } | undefined {
    const ref = this.referenceAt(file, offset);
    if (ref) return { site: this.sites.get(key(ref.target.file, ref.target.span.start)), target: ref.target, at: ref.span, name: ref.name };
    const d = this.declAt(file, offset);
    if (d && d.kind !== "test") return { site: d, target: { file: d.file, span: d.nameSpan }, at: d.nameSpan, name: d.name };
    return undefined;
  }

  referencesTo(target: { file: string; span: A.Span }): Reference[] {
    return this.refsByTarget.get(key(target.file, target.span.start)) ?? [];
  }

  infoOf(site: { file: string; nameSpan: A.Span } | undefined): Info | undefined {
    return site ? this.info.get(key(site.file, site.nameSpan.start)) : undefined;
  }
}

/**
 * References the checker does not record but rename must follow: enum members in a binding's
 * `map { 0: READY }` and in `sequence(READY: 10s)`.
 */
function extraReferences(result: CheckResult): Reference[] {
  const out: Reference[] = [];
  const p = result.program;
  for (const a of p.assets) {
    if (!a.model || a.std) continue;
    for (const item of a.decl.items) {
      if (item.kind !== "Source") continue;
      for (const b of item.bindings) {
        const m = a.model.members.get(b.target.name);
        if (!m || m.k !== "telemetry" || m.ty.k !== "enum") continue;
        const en = p.globals.get(m.ty.name);
        if (!en || en.kind !== "enum") continue;
        const ids: A.Ident[] = [...(b.map ?? []).map((e) => e.member), ...(b.call.name.name === "sequence" ? b.call.args.flatMap((x) => (x.name ? [x.name] : [])) : [])];
        for (const id of ids) {
          const decl = en.decl.members.find((x) => x.name === id.name);
          if (decl) out.push({ file: a.file, span: id.span, name: id.name, target: { file: en.file, span: decl.span } });
        }
      }
    }
  }
  return out;
}
