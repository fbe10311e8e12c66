// Scopes, name resolution and type checking over all files of a program.
// Never throws on user input: every problem becomes a coded diagnostic, and an `error` type
// stops cascades. Results go into CheckedProgram's side tables for lowering and the LSP.
import type * as A from "../ast/nodes.js";
import { diag } from "../diagnostics/registry.js";
import type { Diagnostic, RelatedInfo } from "../diagnostics/types.js";
import { hint } from "./suggest.js";
import { IR_FUNCTIONS, type IrFunctionEntry, type Value } from "../ir/types.js";
import type {
  AssetInfo,
  CheckedProgram,
  EnumInfo,
  GlobalSymbol,
  MemberInfo,
  ModelInfo,
  ParamInfo,
  Resolution,
  RuleInfo,
  TestInfo,
  UnitInfo,
  ViewInfo,
  WindowInfo,
} from "./symbols.js";
import { constValue } from "./symbols.js";
import {
  BOOL,
  DURATION,
  ERROR,
  FLOAT,
  INT,
  MILLIS,
  STRING,
  TIMESTAMP,
  UNITLESS,
  assignable,
  conversionFactor,
  factorsText,
  isTimeUnit,
  isUnitless,
  makeUnit,
  mulUnits,
  num,
  tyText,
  type Ty,
  type Unit,
} from "./types.js";
import { checkSources } from "./sources.js";
import { checkTest } from "./tests.js";

export const AGGREGATES = new Set(["avg", "min", "max", "sum", "count", "stddev", "first", "last", "delta", "ratio"]);
/**
 * Every function name a call may use: the history functions (their own IR nodes), the
 * pointwise built-ins of the table `IR_FUNCTIONS` (compiler/ir/types.ts), and `convert`.
 */
export const FUNCTIONS = new Set<string>(["known", "previous", "changed", "age", ...Object.keys(IR_FUNCTIONS), "convert"]);
const SEVERITIES = ["low", "medium", "high", "critical"];
const PRIMITIVES = new Set(["bool", "int", "float", "string", "timestamp", "duration"]);

/** Where an expression sits: what it may reference and what it may contain. */
export interface Ctx {
  file: string;
  /** the model whose members are visible by bare name (model members, rules `on`, views `from`) */
  self: ModelInfo | null;
  /** command parameters visible in a `requires` */
  params?: Map<string, ParamInfo>;
  /** `for` and windowed aggregates allowed (states, alarms, rule conditions) */
  stateful: boolean;
  /** for messages: "a rule condition", "an expectation" */
  place: string;
}

export interface CheckInput {
  /** program name */
  name: string;
  /** all parsed files: the program's and the standard library's (paths starting with `std/`) */
  files: A.SourceFile[];
  /** standard library modules visible without `use` */
  prelude?: string[];
}

export class Checker {
  readonly diagnostics: Diagnostic[] = [];
  readonly p: CheckedProgram;
  private readonly stateInProgress: MemberInfo[] = [];
  private readonly ageOperands = new Set<A.Expr>();
  private readonly visibleStd: Set<string>;

  constructor(input: CheckInput) {
    const files = [...input.files].sort((a, b) => cmpPath(a.path, b.path));
    this.p = {
      name: input.name,
      files,
      units: new Map(),
      globals: new Map(),
      enums: [],
      models: [],
      assets: [],
      views: [],
      rules: [],
      tests: [],
      types: new Map(),
      resolutions: new Map(),
      conversions: new Map(),
      unitOf: new Map(),
      durations: new Map(),
      windows: new Map(),
      references: [],
    };
    this.visibleStd = new Set(input.prelude ?? ["std/units", "std/core"]);
  }

  // ------------------------------------------------------------------ driver

  run(): CheckedProgram {
    const userFiles = this.p.files.filter((f) => !isStd(f.path));
    const stdModules = new Map(this.p.files.filter((f) => isStd(f.path)).map((f) => [moduleOf(f.path), f]));
    for (const f of userFiles)
      for (const d of f.decls)
        if (d.kind === "Use") {
          if (stdModules.has(d.path)) this.visibleStd.add(d.path);
          else
            this.report("OFL2014", f.path, d.pathSpan, {
              name: d.path,
              available: [...stdModules.keys()].sort().join(", "),
            });
        }
    const visible = this.p.files.filter((f) => !isStd(f.path) || this.visibleStd.has(moduleOf(f.path)));
    // standard library first, so that user declarations of the same name shadow it
    const ordered = [...visible.filter((f) => isStd(f.path)), ...visible.filter((f) => !isStd(f.path))];
    this.collectUnits(ordered);
    this.collectGlobals(ordered);
    for (const m of this.p.models) this.resolveModel(m, []);
    // assets' models first: model states may read other assets (`mill2.temperature`)
    for (const a of this.p.assets) a.model = this.lookupModel(a.decl.model, a.file);
    for (const m of this.p.models) this.checkModel(m);
    for (const a of this.p.assets) this.checkAsset(a);
    for (const v of this.p.views) this.checkView(v);
    for (const r of this.p.rules) this.checkRule(r);
    const testNames = new Map<string, TestInfo>();
    for (const t of this.p.tests) {
      const first = testNames.get(t.name);
      if (first) this.report("OFL2024", t.file, t.decl.name.span, { name: t.name }, this.relatedTo(first.file, first.decl.name.span, "first declared here"));
      else testNames.set(t.name, t);
      checkTest(this, t);
    }
    return this.p;
  }

  // ------------------------------------------------------------------ reporting

  report(code: string, file: string, span: A.Span, args: Record<string, string | number> = {}, related?: RelatedInfo[], data?: Record<string, string>): void {
    this.diagnostics.push(diag(code, file, span, args, { related, data }));
  }

  relatedTo(file: string, span: A.Span, message: string): RelatedInfo[] {
    return [{ file, span, message }];
  }

  reference(file: string, span: A.Span, name: string, target: { file: string; span: A.Span } | undefined): void {
    if (target) this.p.references.push({ file, span, name, target });
  }

  // ------------------------------------------------------------------ units

  private collectUnits(files: A.SourceFile[]): void {
    for (const f of files)
      for (const d of f.decls) {
        if (d.kind !== "Unit") continue;
        const prev = this.p.units.get(d.name.name);
        if (prev && !prev.std) {
          this.report("OFL2009", f.path, d.name.span, { detail: `unit \`${d.name.name}\` is already declared` }, this.relatedTo(prev.file, prev.decl.name.span, "first declared here"));
          continue;
        }
        this.p.units.set(d.name.name, { name: d.name.name, decl: d, file: f.path, std: isStd(f.path) });
      }
    const resolving = new Set<string>();
    const resolve = (info: UnitInfo): Unit | undefined => {
      if (info.unit) return info.unit;
      if (resolving.has(info.name)) {
        this.report("OFL2009", info.file, info.decl.name.span, { detail: `unit \`${info.name}\` is defined in terms of itself` });
        return undefined;
      }
      const def = info.decl.definition;
      if (!def) {
        info.unit = makeUnit({ [info.name]: 1 }, 1, info.name);
        return info.unit;
      }
      if (!(def.factor > 0) || !Number.isFinite(def.factor)) {
        this.report("OFL2009", info.file, def.factorSpan, { detail: `the scale of unit \`${info.name}\` must be a positive number` });
        return undefined;
      }
      resolving.add(info.name);
      const base = this.unitExpr(def.unit, info.file, resolve);
      resolving.delete(info.name);
      if (!base) return undefined;
      info.unit = { ...makeUnit({ ...base.dims }, base.scale * def.factor, info.name) };
      return info.unit;
    };
    for (const info of this.p.units.values()) resolve(info);
  }

  /** Resolves a unit expression to dimensions and scale; reports unknown units. */
  unitExpr(u: A.UnitExpr, file: string, resolve?: (i: UnitInfo) => Unit | undefined): Unit | undefined {
    const cached = this.p.unitOf.get(u);
    if (cached) return cached;
    let result: Unit = UNITLESS;
    const factors: Record<string, number> = {};
    for (const f of u.factors) {
      const info = this.p.units.get(f.name.name);
      if (!info) {
        this.report("OFL2008", file, f.name.span, { name: f.name.name, hint: hint(f.name.name, this.p.units.keys()) });
        return undefined;
      }
      this.reference(file, f.name.span, f.name.name, { file: info.file, span: info.decl.name.span });
      const base = resolve ? resolve(info) : info.unit;
      if (!base) return undefined;
      let factor = base;
      const pw = Math.abs(f.power);
      for (let i = 1; i < pw; i++) factor = mulUnits(factor, base, 1);
      result = mulUnits(result, factor, f.power < 0 ? -1 : 1);
      factors[f.name.name] = (factors[f.name.name] ?? 0) + f.power;
    }
    for (const n of Object.keys(factors)) if (factors[n] === 0) delete factors[n];
    const unit = makeUnit({ ...result.dims }, result.scale, factorsText(factors), factors);
    this.p.unitOf.set(u, unit);
    return unit;
  }

  // ------------------------------------------------------------------ globals

  private collectGlobals(files: A.SourceFile[]): void {
    for (const f of files) {
      const std = isStd(f.path);
      for (const d of f.decls) {
        let sym: GlobalSymbol | TestInfo | undefined;
        switch (d.kind) {
          case "Enum": {
            const members: string[] = [];
            for (const m of d.members) {
              if (members.includes(m.name)) this.report("OFL2013", f.path, m.span, { name: m.name, enum: d.name.name });
              else members.push(m.name);
            }
            sym = { kind: "enum", name: d.name.name, decl: d, file: f.path, std, members };
            break;
          }
          case "Model":
            sym = { kind: "model", name: d.name.name, decl: d, file: f.path, std, lineage: [], members: new Map(), own: new Map() };
            break;
          case "Asset": {
            const uuidItem = d.items.find((i): i is A.UuidItem => i.kind === "Uuid");
            sym = { kind: "asset", name: d.name.name, decl: d, file: f.path, std, uuid: uuidItem ? uuidItem.value.value : d.name.name };
            break;
          }
          case "View":
            sym = { kind: "view", name: d.name.name, decl: d, file: f.path, std };
            break;
          case "Rule":
            sym = { kind: "rule", name: d.name.name, decl: d, file: f.path, std };
            break;
          case "Test":
            this.p.tests.push({ kind: "test", name: d.name.value, decl: d, file: f.path, std });
            continue;
          default:
            continue;
        }
        const prev = this.p.globals.get(sym.name);
        if (prev && !(prev.std && !std)) {
          this.report("OFL2002", f.path, d.name.span, { name: sym.name }, this.relatedTo(prev.file, prev.decl.name.span, "first declared here"));
          continue;
        }
        if (prev) this.removeGlobal(prev);
        this.p.globals.set(sym.name, sym);
        switch (sym.kind) {
          case "enum":
            this.p.enums.push(sym);
            break;
          case "model":
            this.p.models.push(sym);
            break;
          case "asset":
            this.p.assets.push(sym);
            break;
          case "view":
            this.p.views.push(sym);
            break;
          case "rule":
            this.p.rules.push(sym);
            break;
        }
      }
    }
  }

  private removeGlobal(sym: GlobalSymbol): void {
    const lists: GlobalSymbol[][] = [this.p.enums, this.p.models, this.p.assets, this.p.views, this.p.rules];
    for (const list of lists) {
      const i = list.indexOf(sym);
      if (i >= 0) list.splice(i, 1);
    }
  }

  lookupModel(id: A.Ident, file: string): ModelInfo | undefined {
    if (id.name === "") return undefined; // recovered from a syntax error, already reported
    const sym = this.p.globals.get(id.name);
    if (!sym) {
      const models = this.p.models.map((m) => m.name);
      this.report("OFL2003", file, id.span, { name: id.name, hint: hint(id.name, models) });
      return undefined;
    }
    this.reference(file, id.span, id.name, { file: sym.file, span: sym.decl.name.span });
    if (sym.kind !== "model") {
      this.report("OFL2015", file, id.span, { name: id.name, what: sym.kind });
      return undefined;
    }
    return sym;
  }

  // ------------------------------------------------------------------ models

  private resolveModel(m: ModelInfo, stack: ModelInfo[]): void {
    if (m.lineage.length > 0) return;
    if (stack.includes(m)) return;
    let base: ModelInfo | undefined;
    if (m.decl.extends) {
      base = this.lookupModel(m.decl.extends, m.file);
      if (base) {
        if (base === m || stack.includes(base)) {
          const cycle = [...stack.slice(stack.indexOf(base)), m].map((x) => x.name).join(" → ");
          this.report("OFL2006", m.file, m.decl.extends.span, { name: m.name, cycle: `${cycle} → ${base.name}` });
          base = undefined;
        } else {
          this.resolveModel(base, [...stack, m]);
          if (base.lineage.length === 0) base = undefined; // part of a cycle reported elsewhere
        }
      }
    }
    m.base = base;
    m.lineage = [m.name, ...(base ? base.lineage : [])];
    if (base) for (const [k, v] of base.members) m.members.set(k, v);
    for (const d of m.decl.members) {
      const name = d.name.name;
      const inherited = base?.members.get(name);
      if (inherited) {
        this.report("OFL2007", m.file, d.name.span, { name, base: inherited.owner.name }, this.relatedTo(inherited.owner.file, inherited.decl.name.span, "declared here"));
        continue;
      }
      if (m.own.has(name)) {
        const first = m.own.get(name)!;
        this.report("OFL2020", m.file, d.name.span, { name, model: m.name }, this.relatedTo(m.file, first.decl.name.span, "first declared here"));
        continue;
      }
      let info: MemberInfo;
      switch (d.kind) {
        case "Attribute":
          info = { k: "attribute", name, decl: d, owner: m, ty: this.typeRef(d.type, m.file) };
          break;
        case "Telemetry": {
          const ty = this.typeRef(d.type, m.file);
          info = { k: "telemetry", name, decl: d, owner: m, ty, range: this.range(d.range, ty, m.file) };
          break;
        }
        case "State":
          info = { k: "state", name, decl: d, owner: m };
          break;
        case "Alarm":
          info = { k: "alarm", name, decl: d, owner: m };
          break;
        case "Command": {
          const params: ParamInfo[] = [];
          for (const p of d.params) {
            if (params.some((q) => q.name === p.name.name)) {
              this.report("OFL2023", m.file, p.name.span, { name: p.name.name });
              continue;
            }
            const ty = this.typeRef(p.type, m.file);
            params.push({ name: p.name.name, ty, range: this.range(p.range, ty, m.file), decl: p });
          }
          info = { k: "command", name, decl: d, owner: m, params };
          break;
        }
      }
      m.own.set(name, info);
      m.members.set(name, info);
    }
  }

  typeRef(t: A.TypeRef, file: string): Ty {
    if (t.kind === "PrimitiveType") {
      if (t.unit && t.name !== "int" && t.name !== "float") {
        this.report("OFL3011", file, t.unit.span, { type: t.name });
        return ERROR;
      }
      switch (t.name) {
        case "bool":
          return BOOL;
        case "string":
          return STRING;
        case "timestamp":
          return TIMESTAMP;
        case "duration":
          return DURATION;
        case "int":
        case "float": {
          const unit = t.unit ? this.unitExpr(t.unit, file) : UNITLESS;
          if (!unit) return ERROR;
          return num(t.name === "int", unit);
        }
      }
    }
    if (t.name.name === "") return ERROR;
    const sym = this.p.globals.get(t.name.name);
    if (sym) this.reference(file, t.name.span, t.name.name, { file: sym.file, span: sym.decl.name.span });
    if (sym?.kind === "enum") {
      if (!t.unit) return { k: "enum", name: sym.name };
      this.report("OFL3011", file, t.unit.span, { type: sym.name });
      return ERROR;
    }
    if (!sym && PRIMITIVES.has(t.name.name)) return ERROR;
    this.report("OFL3019", file, t.name.span, { name: t.name.name });
    return ERROR;
  }

  private range(r: A.RangeSpec | undefined, ty: Ty, file: string): [number, number] | undefined {
    if (!r) return undefined;
    if (ty.k === "error") return undefined;
    if (ty.k !== "num") {
      this.report("OFL3006", file, r.span, { detail: `a range needs a numeric type, not ${tyText(ty)}` });
      return undefined;
    }
    if (r.min > r.max) {
      this.report("OFL3006", file, r.span, { detail: `the range ${r.min}..${r.max} is empty: its minimum exceeds its maximum` });
      return undefined;
    }
    return [r.min, r.max];
  }

  private checkModel(m: ModelInfo): void {
    const ctx: Ctx = { file: m.file, self: m, stateful: true, place: "a state" };
    for (const info of m.own.values()) {
      switch (info.k) {
        case "attribute":
          if (info.decl.default) this.constant(info.decl.default, { ...ctx, stateful: false, place: "an attribute default" }, info.ty, "an attribute default");
          break;
        case "state":
          this.stateType(info);
          break;
        case "alarm": {
          const sev = info.decl.severity.name;
          if (!SEVERITIES.includes(sev))
            this.report("OFL3001", m.file, info.decl.severity.span, { expected: "a severity (low, medium, high or critical)", found: `\`${sev}\`` });
          this.condition(info.decl.when, { ...ctx, place: "an alarm condition" }, "an alarm condition");
          if (info.decl.clearWhen) this.condition(info.decl.clearWhen, { ...ctx, place: "a clear condition" }, "a clear condition");
          break;
        }
        case "command":
          if (info.decl.requires) {
            const params = new Map(info.params.map((p) => [p.name, p]));
            this.condition(info.decl.requires, { file: m.file, self: m, params, stateful: false, place: "an interlock (`requires`)" }, "an interlock (`requires`)");
          }
          break;
        case "telemetry":
          break;
      }
    }
  }

  /** A state's type, computed on first use (states may read states declared later). */
  stateType(info: Extract<MemberInfo, { k: "state" }>): Ty {
    if (info.ty) return info.ty;
    if (this.stateInProgress.includes(info)) {
      const cycle = [...this.stateInProgress.slice(this.stateInProgress.indexOf(info)), info].map((s) => s.name).join(" → ");
      this.report("OFL2019", info.owner.file, info.decl.name.span, { name: info.name, cycle });
      info.ty = ERROR;
      return ERROR;
    }
    this.stateInProgress.push(info);
    const ctx: Ctx = { file: info.owner.file, self: info.owner, stateful: true, place: "a state" };
    const declared = info.decl.type ? this.typeRef(info.decl.type, info.owner.file) : undefined;
    const found = this.expr(info.decl.expr, ctx, declared);
    this.stateInProgress.pop();
    if (info.ty) return info.ty; // set to ERROR by a cycle through this state
    if (declared && declared.k !== "error" && found.k !== "error") {
      if (!this.coerce(info.decl.expr, found, declared)) {
        this.report("OFL3012", info.owner.file, info.decl.expr.span, { name: info.name, declared: tyText(declared), found: tyText(found) });
      }
      info.ty = declared;
    } else {
      info.ty = declared ?? this.valueType(found, info.decl.expr, ctx);
    }
    return info.ty;
  }

  /** A type that can be held in state: not an asset, alarm or enum type. */
  private valueType(t: Ty, e: A.Expr, ctx: Ctx): Ty {
    if (t.k === "asset" || t.k === "alarm" || t.k === "enumType" || t.k === "groupedView" || t.k === "unknown") {
      this.notAValue(e, t, ctx);
      return ERROR;
    }
    return t;
  }

  private notAValue(e: A.Expr, t: Ty, ctx: Ctx): void {
    const what = t.k === "asset" ? "asset" : t.k === "alarm" ? "alarm (read `.active`)" : t.k === "enumType" ? "enum" : t.k === "groupedView" ? "grouped view (index it by group)" : "`unavailable` literal";
    this.report("OFL2016", ctx.file, e.span, { name: exprText(e), what });
  }

  // ------------------------------------------------------------------ assets

  private checkAsset(a: AssetInfo): void {
    const d = a.decl;
    const uuidItems = d.items.filter((i): i is A.UuidItem => i.kind === "Uuid");
    for (const extra of uuidItems.slice(1)) this.report("OFL2021", a.file, extra.span, { detail: `asset \`${a.name}\` sets its uuid more than once` });
    const other = this.p.assets.find((b) => b !== a && b.uuid === a.uuid && this.p.assets.indexOf(b) < this.p.assets.indexOf(a));
    if (other) {
      const at = uuidItems[0]?.value.span ?? d.name.span;
      this.report("OFL2010", a.file, at, { uuid: a.uuid, other: other.name }, this.relatedTo(other.file, other.decl.name.span, "the first asset with this uuid"));
    }
    const m = a.model;
    const set = new Map<string, A.AttributeAssign>();
    for (const item of d.items) {
      if (item.kind !== "AttributeAssign") continue;
      const name = item.name.name;
      if (set.has(name)) {
        this.report("OFL2021", a.file, item.name.span, { detail: `attribute \`${name}\` is set more than once` });
        continue;
      }
      set.set(name, item);
      if (!m) continue;
      const member = m.members.get(name);
      if (!member || member.k !== "attribute") {
        const attrs = [...m.members.values()].filter((x) => x.k === "attribute").map((x) => x.name);
        this.report("OFL2012", a.file, item.name.span, { name, model: m.name, hint: hint(name, attrs) });
        this.expr(item.value, { file: a.file, self: null, stateful: false, place: "an attribute value" });
        continue;
      }
      this.reference(a.file, item.name.span, name, { file: member.owner.file, span: member.decl.name.span });
      this.constant(item.value, { file: a.file, self: null, stateful: false, place: "an attribute value" }, member.ty, "an attribute value");
    }
    if (m) {
      for (const member of m.members.values())
        if (member.k === "attribute" && !member.decl.default && !set.has(member.name))
          this.report("OFL2011", a.file, d.name.span, { asset: a.name, name: member.name });
      checkSources(this, a, m);
    }
  }

  // ------------------------------------------------------------------ views

  private checkView(v: ViewInfo): void {
    const d = v.decl;
    v.model = this.lookupModel(d.from, v.file);
    const ctx: Ctx = { file: v.file, self: v.model ?? null, stateful: false, place: "a view" };
    const fn = d.aggregate.name;
    if (!AGGREGATES.has(fn)) {
      this.report("OFL2001", v.file, d.aggregate.span, { name: fn, hint: hint(fn, AGGREGATES) + (hint(fn, AGGREGATES) ? "" : "; a view aggregates with avg, min, max, sum, count, stddev, first, last, delta or ratio") });
      v.ty = ERROR;
    }
    if (!v.model) {
      v.ty = ERROR;
      return;
    }
    if (d.where) this.condition(d.where, { ...ctx, place: "a view filter (`where`)" }, "a view filter (`where`)");
    if (d.by) {
      const attr = v.model.members.get(d.by.name);
      if (!attr || attr.k !== "attribute") {
        this.report("OFL2022", v.file, d.by.span, { name: d.by.name, model: v.model.name });
        v.groupKey = ERROR;
      } else {
        this.reference(v.file, d.by.span, d.by.name, { file: attr.owner.file, span: attr.decl.name.span });
        v.groupKey = attr.ty;
      }
    }
    if (d.over) this.window(d.over, ctx);
    if (v.ty?.k === "error") return;
    v.ty = this.aggregateType(fn, d.arg, ctx, d.aggregate.span);
  }

  /** The result type of an aggregate, checking its argument. */
  aggregateType(fn: string, arg: A.Expr | undefined, ctx: Ctx, at: A.Span): Ty {
    if (!arg) {
      if (fn === "count") return INT;
      this.report("OFL3015", ctx.file, at, { fn, detail: "needs an argument" });
      return ERROR;
    }
    const t = this.valueType(this.expr(arg, { ...ctx, stateful: false }), arg, ctx);
    if (t.k === "error") return fn === "count" ? INT : ERROR;
    switch (fn) {
      case "count":
        return INT;
      case "ratio":
        if (t.k !== "bool") {
          this.report("OFL3015", ctx.file, arg.span, { fn, detail: `needs a boolean, found ${tyText(t)}` });
          return ERROR;
        }
        return FLOAT;
      case "avg":
      case "stddev":
        if (t.k !== "num") break;
        return num(false, t.unit);
      case "sum":
      case "delta":
        if (t.k !== "num") break;
        return t;
      case "min":
      case "max":
        if (t.k !== "num" && t.k !== "timestamp") break;
        return t;
      case "first":
      case "last":
        return t;
    }
    this.report("OFL3015", ctx.file, arg.span, { fn, detail: `needs a number, found ${tyText(t)}` });
    return ERROR;
  }

  window(w: A.WindowSpec, ctx: Ctx): WindowInfo | undefined {
    const info = this.windowInner(w, ctx);
    if (info) this.p.windows.set(w, info);
    return info;
  }

  private windowInner(w: A.WindowSpec, ctx: Ctx): WindowInfo | undefined {
    const what = w.window === "session" ? "a session gap" : "a window size";
    const size = this.constDuration(w.size, ctx, what);
    let ok = size !== undefined;
    if (size !== undefined && size <= 0) {
      this.report("OFL3008", ctx.file, w.size.span, { detail: `${what} must be greater than zero` });
      ok = false;
    }
    let hop: number | undefined;
    if (w.every) {
      hop = this.constDuration(w.every, ctx, "a hop (`every`)");
      if (hop === undefined) ok = false;
      else if (hop <= 0) {
        this.report("OFL3008", ctx.file, w.every.span, { detail: "a hop (`every`) must be greater than zero" });
        ok = false;
      } else if (size !== undefined && hop > size) {
        this.report("OFL3008", ctx.file, w.every.span, { detail: `the hop (${fmtMs(hop)}) must not exceed the window size (${fmtMs(size)})` });
        ok = false;
      }
    }
    let grace = 0;
    if (w.grace) {
      const g = this.constDuration(w.grace, ctx, "a grace period");
      if (g === undefined) ok = false;
      else if (g < 0) {
        this.report("OFL3008", ctx.file, w.grace.span, { detail: "a grace period must not be negative" });
        ok = false;
      } else grace = g;
    }
    return ok ? { sizeMs: size!, hopMs: hop, graceMs: grace } : undefined;
  }

  // ------------------------------------------------------------------ rules

  private checkRule(r: RuleInfo): void {
    const d = r.decl;
    if (d.on) r.model = this.lookupModel(d.on, r.file);
    if (d.on && !r.model) {
      // keep checking what does not depend on the model
    }
    const ctx: Ctx = { file: r.file, self: r.model ?? null, stateful: true, place: "a rule condition" };
    if (!d.when) this.report("OFL5001", r.file, d.name.span, { name: r.name, clause: "when" });
    else if (!(d.on && !r.model)) this.condition(d.when, ctx, "a rule condition");
    if (d.actions.length === 0) this.report("OFL5001", r.file, d.name.span, { name: r.name, clause: "then" });
    if (!(d.on && !r.model))
      for (const action of d.actions) this.commandCall(action, { ...ctx, stateful: false, place: "a command argument" }, "action");
    if (d.cooldown) this.positiveDuration(d.cooldown, ctx, "`cooldown`");
    if (d.repeatEvery) this.positiveDuration(d.repeatEvery, ctx, "`repeat every`");
  }

  private positiveDuration(e: A.Expr, ctx: Ctx, what: string): number | undefined {
    const ms = this.constDuration(e, ctx, what);
    if (ms === undefined) return undefined;
    if (ms <= 0) {
      this.report("OFL5004", ctx.file, e.span, { what });
      return undefined;
    }
    return ms;
  }

  /**
   * A command call `cmd(args)` / `asset.cmd(args)` in an action, a `send` or an expectation.
   * `mode`: action and send need every parameter; expect allows omitted ones; send needs constants.
   */
  commandCall(call: A.CallExpr, ctx: Ctx, mode: "action" | "send" | "expect"): Extract<Resolution, { k: "command" }> | undefined {
    let asset: AssetInfo | null = null;
    let model: ModelInfo | undefined;
    let nameId: A.Ident;
    const callee = call.callee;
    if (callee.kind === "Name") {
      nameId = callee.name;
      if (!ctx.self) {
        this.report("OFL5011", ctx.file, callee.span, {
          detail: `\`${nameId.name}()\` needs an asset: this rule has no \`on MODEL\`, so name the asset, e.g. \`some_asset.${nameId.name}()\``,
        });
        this.checkArgsLoosely(call, ctx);
        return undefined;
      }
      model = ctx.self;
    } else if (callee.kind === "Member") {
      nameId = callee.member;
      if (callee.object.kind === "Self") {
        if (!ctx.self) {
          this.report("OFL2018", ctx.file, callee.object.span, { detail: "`self` names the asset of a rule `on MODEL`; this rule has none" });
          return undefined;
        }
        model = ctx.self;
        this.p.resolutions.set(callee.object, { k: "self" });
      } else if (callee.object.kind === "Name") {
        const sym = this.p.globals.get(callee.object.name.name);
        if (!sym || sym.kind !== "asset") {
          if (!sym) {
            const assets = this.p.assets.map((x) => x.name);
            this.report("OFL2001", ctx.file, callee.object.span, { name: callee.object.name.name, hint: hint(callee.object.name.name, assets) });
          } else this.report("OFL5011", ctx.file, callee.object.span, { detail: `\`${sym.name}\` is a ${sym.kind}, not an asset` });
          this.checkArgsLoosely(call, ctx);
          return undefined;
        }
        asset = sym;
        this.p.resolutions.set(callee.object, { k: "asset", asset: sym });
        this.reference(ctx.file, callee.object.span, sym.name, { file: sym.file, span: sym.decl.name.span });
        model = sym.model;
        if (!model) return undefined;
      } else {
        this.report("OFL5011", ctx.file, callee.span, { detail: "a command is called on an asset: `asset.command(…)`" });
        return undefined;
      }
    } else {
      this.report("OFL5011", ctx.file, callee.span, { detail: "a command is called as `command(…)` or `asset.command(…)`" });
      return undefined;
    }
    const cmd = model.members.get(nameId.name);
    if (!cmd || cmd.k !== "command") {
      const cmds = [...model.members.values()].filter((x) => x.k === "command").map((x) => x.name);
      this.report("OFL2017", ctx.file, nameId.span, { owner: asset ? asset.name : model.name, name: nameId.name, hint: hint(nameId.name, cmds) });
      this.checkArgsLoosely(call, ctx);
      return undefined;
    }
    this.reference(ctx.file, nameId.span, nameId.name, { file: cmd.owner.file, span: cmd.decl.name.span });
    const res: Extract<Resolution, { k: "command" }> = { k: "command", asset: asset ? asset.name : null, command: cmd };
    this.p.resolutions.set(call, res);
    if (call.over) this.report("OFL5003", ctx.file, call.over.span, { detail: "a command call takes no window" });
    const given = new Set<string>();
    for (const arg of call.args) {
      if (!arg.name) {
        this.report("OFL5003", ctx.file, arg.span, { detail: `command arguments are named: write \`${cmd.params[0]?.name ?? "name"}: value\`` });
        this.expr(arg.value, ctx);
        continue;
      }
      const param = cmd.params.find((p) => p.name === arg.name!.name);
      if (!param) {
        this.report("OFL5003", ctx.file, arg.name.span, {
          detail: `\`${cmd.name}\` has no parameter \`${arg.name.name}\`${hint(arg.name.name, cmd.params.map((p) => p.name)) || `; its parameters are ${cmd.params.map((p) => `\`${p.name}\``).join(", ") || "none"}`}`,
        });
        this.expr(arg.value, ctx);
        continue;
      }
      if (given.has(param.name)) {
        this.report("OFL5003", ctx.file, arg.name.span, { detail: `parameter \`${param.name}\` is given twice` });
        continue;
      }
      given.add(param.name);
      this.reference(ctx.file, arg.name.span, param.name, { file: cmd.owner.file, span: param.decl.name.span });
      if (mode === "action") this.valueFor(arg.value, ctx, param.ty, `argument \`${param.name}\``, param.range, param.name);
      else this.constant(arg.value, ctx, param.ty, `argument \`${param.name}\``, param.range, param.name);
    }
    if (mode !== "expect") {
      const missing = cmd.params.filter((p) => !given.has(p.name)).map((p) => `\`${p.name}\``);
      if (missing.length > 0)
        this.report("OFL5003", ctx.file, call.span, { detail: `\`${cmd.name}\` needs ${missing.length === 1 ? "its argument" : "the arguments"} ${missing.join(", ")}` });
    }
    return res;
  }

  private checkArgsLoosely(call: A.CallExpr, ctx: Ctx): void {
    for (const a of call.args) this.expr(a.value, ctx);
  }

  /** An expression checked against an expected type, with a range check when it is constant. */
  valueFor(e: A.Expr, ctx: Ctx, expected: Ty, what: string, range?: [number, number], name?: string): Ty {
    const t = this.expr(e, ctx, expected);
    if (t.k === "error" || expected.k === "error") return t;
    if (!this.coerce(e, t, expected)) {
      this.mismatch(e, t, expected, ctx, what);
      return ERROR;
    }
    if (range) {
      const v = this.constValue(e);
      if (typeof v === "number" && (v < range[0] || v > range[1]))
        this.report("OFL3005", ctx.file, e.span, { value: exprText(e), min: range[0], max: range[1], name: name ?? what });
    }
    return expected;
  }

  /** Like valueFor, and the expression must be a constant. */
  constant(e: A.Expr, ctx: Ctx, expected: Ty, what: string, range?: [number, number], name?: string): Ty {
    if (!isConstantSyntax(e)) {
      this.expr(e, ctx, expected);
      this.report("OFL3021", ctx.file, e.span, { what });
      return ERROR;
    }
    const t = this.valueFor(e, ctx, expected, what, range, name);
    if (t.k !== "error" && this.constValue(e) === undefined) {
      this.report("OFL3021", ctx.file, e.span, { what });
      return ERROR;
    }
    return t;
  }

  mismatch(e: A.Expr, found: Ty, expected: Ty, ctx: Ctx, what: string): void {
    if (found.k === "num" && expected.k === "num" && found.unit.key !== expected.unit.key) {
      if (isUnitless(found.unit) || isUnitless(expected.unit))
        this.report("OFL3003", ctx.file, e.span, {
          op: what,
          unit: isUnitless(found.unit) ? expected.unit.text : found.unit.text,
          example: `${exprText(e)} ${isUnitless(found.unit) ? expected.unit.text : ""}`.trim(),
        });
      else this.report("OFL3002", ctx.file, e.span, { op: what, left: tyText(expected), right: tyText(found) });
      return;
    }
    this.report("OFL3001", ctx.file, e.span, { expected: tyText(expected), found: tyText(found) });
  }

  /** Records the conversion of `e` (of type `from`) into `to`; false when not assignable. */
  coerce(e: A.Expr, from: Ty, to: Ty): boolean {
    if (!assignable(from, to)) return false;
    if (from.k === "num" && to.k === "num") {
      const f = conversionFactor(from.unit, to.unit);
      if (f !== 1) this.addConversion(e, f);
    }
    return true;
  }

  addConversion(e: A.Expr, factor: number): void {
    const prev = this.p.conversions.get(e) ?? 1;
    this.p.conversions.set(e, prev * factor);
  }

  condition(e: A.Expr, ctx: Ctx, what: string): void {
    const t = this.expr(e, ctx, BOOL);
    if (t.k !== "bool" && t.k !== "error") this.report("OFL3007", ctx.file, e.span, { what, found: tyText(t) });
  }

  // ------------------------------------------------------------------ constants

  /** A constant duration in ms: a duration literal or a quantity in a time unit. */
  constDuration(e: A.Expr, ctx: Ctx, what: string): number | undefined {
    const t = this.expr(e, { ...ctx, stateful: false });
    if (t.k === "error") return undefined;
    const v = this.constNumber(e);
    if (t.k !== "num" || !isTimeUnit(t.unit) || v === undefined) {
      this.report("OFL3010", ctx.file, e.span, { what });
      return undefined;
    }
    const ms = Math.round(v * conversionFactor(t.unit, MILLIS) * 1e6) / 1e6;
    this.p.durations.set(e, ms);
    return ms;
  }

  /** The numeric value of a constant expression in its own type's unit, before conversions. */
  constNumber(e: A.Expr): number | undefined {
    switch (e.kind) {
      case "Number":
      case "Quantity":
        return e.value;
      case "Duration":
        return e.ms;
      case "Timestamp":
        return e.ms;
      case "Paren":
        return this.constNumber(e.inner);
      case "Unary": {
        if (e.op !== "-") return undefined;
        const v = this.constNumber(e.operand);
        return v === undefined ? undefined : -v;
      }
      default:
        return undefined;
    }
  }

  /**
   * The value of a checked constant expression, converted where it is used (in the unit of
   * the type it was checked against): numbers, strings, bools, enum member names, ms.
   */
  constValue(e: A.Expr): Value | undefined {
    return constValue(this.p, e);
  }

  // ------------------------------------------------------------------ expressions

  expr(e: A.Expr, ctx: Ctx, expected?: Ty): Ty {
    const t = this.exprInner(e, ctx, expected);
    this.p.types.set(e, t);
    return t;
  }

  private exprInner(e: A.Expr, ctx: Ctx, expected?: Ty): Ty {
    switch (e.kind) {
      case "Number":
        return e.isInt ? INT : FLOAT;
      case "Quantity": {
        const u = this.unitExpr(e.unit, ctx.file);
        return u ? num(e.isInt, u) : ERROR;
      }
      case "Duration":
        return DURATION;
      case "Timestamp":
        return TIMESTAMP;
      case "String":
        return STRING;
      case "Bool":
        return BOOL;
      case "Unavailable":
        return { k: "unknown" };
      case "ErrorExpr":
        return ERROR;
      case "Paren": {
        const t = this.expr(e.inner, ctx, expected);
        return t;
      }
      case "Self":
        if (!ctx.self) {
          this.report("OFL2018", ctx.file, e.span, { detail: "`self` names the asset of a model or of a rule `on MODEL`; there is none here" });
          return ERROR;
        }
        this.p.resolutions.set(e, { k: "self" });
        return { k: "asset", asset: "self", model: ctx.self.name };
      case "Name":
        return this.name(e, ctx, expected);
      case "Member":
        return this.member(e, ctx, expected);
      case "Index":
        return this.index(e, ctx);
      case "Call":
        return this.call(e, ctx, expected);
      case "Unary": {
        if (e.op === "not") {
          const t = this.expr(e.operand, ctx, BOOL);
          if (t.k === "error") return ERROR;
          if (t.k !== "bool") {
            this.report("OFL3004", ctx.file, e.span, { op: "`not`", types: tyText(t) });
            return ERROR;
          }
          return BOOL;
        }
        const t = this.expr(e.operand, ctx, expected);
        if (t.k === "error") return ERROR;
        if (t.k !== "num") {
          this.report("OFL3004", ctx.file, e.span, { op: "unary `-`", types: tyText(t) });
          return ERROR;
        }
        return t;
      }
      case "Binary":
        return this.binary(e, ctx);
      case "For": {
        if (!ctx.stateful) {
          this.report("OFL5013", ctx.file, e.span, { detail: `\`for\` keeps history and cannot be used in ${ctx.place}; declare a state \`state s = C for D\` and read it` });
          this.expr(e.cond, ctx, BOOL);
          return ERROR;
        }
        const c = this.expr(e.cond, ctx, BOOL);
        const ms = this.constDuration(e.duration, ctx, "the duration of `for`");
        if (c.k !== "bool" && c.k !== "error") {
          this.report("OFL3009", ctx.file, e.cond.span, { found: tyText(c) });
          return ERROR;
        }
        if (ms !== undefined && ms <= 0) this.report("OFL3008", ctx.file, e.duration.span, { detail: "the duration of `for` must be greater than zero" });
        return BOOL;
      }
      case "If": {
        this.condition(e.cond, ctx, "the condition of `if`");
        const a = this.expr(e.then, ctx, expected);
        const b = this.expr(e.else, ctx, a.k === "error" ? expected : a);
        if (a.k === "error" || b.k === "error") return a.k === "error" ? b : a;
        if (this.coerce(e.else, b, a)) return a;
        if (a.k === "num" && b.k === "num" && a.unit.key === b.unit.key) return num(false, a.unit);
        this.report("OFL3020", ctx.file, e.span, { then: tyText(a), else: tyText(b) });
        return ERROR;
      }
    }
  }

  private name(e: A.NameRef, ctx: Ctx, expected?: Ty): Ty {
    const name = e.name.name;
    if (name === "") return ERROR; // recovered from a syntax error, already reported
    const param = ctx.params?.get(name);
    if (param) {
      this.p.resolutions.set(e, { k: "param", name });
      this.reference(ctx.file, e.span, name, { file: ctx.file, span: param.decl.name.span });
      return param.ty;
    }
    if (ctx.self) {
      const m = ctx.self.members.get(name);
      if (m) return this.memberValue(e, m, null, ctx);
    }
    if (expected?.k === "enum") {
      const en = this.p.globals.get(expected.name);
      if (en?.kind === "enum" && en.members.includes(name)) {
        this.p.resolutions.set(e, { k: "enumMember", enumName: en.name, member: name });
        this.reference(ctx.file, e.span, name, { file: en.file, span: en.decl.members.find((m) => m.name === name)!.span });
        return { k: "enum", name: en.name };
      }
    }
    const sym = this.p.globals.get(name);
    if (sym) {
      this.reference(ctx.file, e.span, name, { file: sym.file, span: sym.decl.name.span });
      switch (sym.kind) {
        case "asset":
          this.p.resolutions.set(e, { k: "asset", asset: sym });
          return sym.model ? { k: "asset", asset: sym.name, model: sym.model.name } : ERROR;
        case "view":
          this.p.resolutions.set(e, { k: "view", view: sym });
          return this.viewType(sym, e, ctx);
        case "enum":
          this.p.resolutions.set(e, { k: "enumType", enumName: sym.name });
          return { k: "enumType", name: sym.name };
        default:
          this.report("OFL2016", ctx.file, e.span, { name, what: sym.kind });
          return ERROR;
      }
    }
    if (expected?.k === "enum") {
      const en = this.p.globals.get(expected.name) as EnumInfo | undefined;
      if (en) {
        this.report("OFL2005", ctx.file, e.span, { name, enum: en.name, hint: hint(name, en.members) });
        return ERROR;
      }
    }
    const owner = this.p.enums.find((en) => en.members.includes(name));
    if (owner) {
      this.report("OFL2001", ctx.file, e.span, { name, hint: `; to use the enum member here, write \`${owner.name}.${name}\`` });
      return ERROR;
    }
    const candidates = [...(ctx.self ? ctx.self.members.keys() : []), ...(ctx.params ? ctx.params.keys() : []), ...this.p.globals.keys()];
    this.report("OFL2001", ctx.file, e.span, { name, hint: hint(name, candidates) }, undefined, suggestionData(name, candidates));
    return ERROR;
  }

  /** The value of a model member read as `x` (asset null = self) or `asset.x`. */
  private memberValue(e: A.Expr, m: MemberInfo, asset: string | null, ctx: Ctx): Ty {
    this.reference(ctx.file, e.kind === "Member" ? e.member.span : e.span, m.name, { file: m.owner.file, span: m.decl.name.span });
    switch (m.k) {
      case "attribute":
      case "telemetry":
        this.p.resolutions.set(e, { k: "member", asset, member: m });
        return m.ty;
      case "state":
        this.p.resolutions.set(e, { k: "member", asset, member: m });
        return this.stateType(m);
      case "alarm":
        this.p.resolutions.set(e, { k: "alarm", asset, name: m.name });
        return { k: "alarm", name: m.name };
      case "command":
        this.report("OFL2016", ctx.file, e.span, { name: m.name, what: "command (call it in a rule action: `" + m.name + "()`)" });
        return ERROR;
    }
  }

  private viewType(v: ViewInfo, e: A.Expr, ctx: Ctx): Ty {
    if (!v.ty) this.checkViewEarly(v);
    const elem = v.ty ?? ERROR;
    if (v.decl.by) return { k: "groupedView", name: v.name, elem, key: v.groupKey ?? ERROR };
    void e;
    void ctx;
    return elem;
  }

  private checkViewEarly(v: ViewInfo): void {
    // Views are checked in declaration order; one read earlier (by a rule or another view)
    // is checked on first use.
    if (v.ty === undefined) this.checkView(v);
  }

  private member(e: A.MemberExpr, ctx: Ctx, expected?: Ty): Ty {
    void expected;
    const obj = e.object;
    const name = e.member.name;
    if (name === "") {
      this.expr(obj, ctx);
      return ERROR;
    }
    if (obj.kind === "Self") {
      if (!ctx.self) {
        this.report("OFL2018", ctx.file, obj.span, { detail: "`self` names the asset of a model or of a rule `on MODEL`; there is none here" });
        return ERROR;
      }
      this.p.resolutions.set(obj, { k: "self" });
      this.p.types.set(obj, { k: "asset", asset: "self", model: ctx.self.name });
      const m = ctx.self.members.get(name);
      if (!m) return this.unknownMember(e, ctx.self, "self", ctx);
      return this.memberValue(e, m, null, ctx);
    }
    const ot = this.expr(obj, ctx);
    if (ot.k === "error") return ERROR;
    if (ot.k === "asset") {
      const asset = this.p.globals.get(ot.asset) as AssetInfo;
      const model = asset.model!;
      const m = model.members.get(name);
      if (!m) return this.unknownMember(e, model, asset.name, ctx);
      return this.memberValue(e, m, asset.name, ctx);
    }
    if (ot.k === "alarm") {
      if (name !== "active") {
        this.report("OFL2004", ctx.file, e.member.span, { owner: `alarm ${ot.name}`, name, hint: "; an alarm has one member, `active`" });
        return ERROR;
      }
      const res = this.p.resolutions.get(obj) as Extract<Resolution, { k: "alarm" }>;
      this.p.resolutions.set(e, res);
      return BOOL;
    }
    if (ot.k === "enumType") {
      const en = this.p.globals.get(ot.name) as EnumInfo;
      if (!en.members.includes(name)) {
        this.report("OFL2005", ctx.file, e.member.span, { name, enum: en.name, hint: hint(name, en.members) });
        return ERROR;
      }
      this.p.resolutions.set(e, { k: "enumMember", enumName: en.name, member: name });
      this.reference(ctx.file, e.member.span, name, { file: en.file, span: en.decl.members.find((m) => m.name === name)!.span });
      return { k: "enum", name: en.name };
    }
    this.report("OFL2004", ctx.file, e.member.span, { owner: tyText(ot), name, hint: "" });
    return ERROR;
  }

  private unknownMember(e: A.MemberExpr, model: ModelInfo, owner: string, ctx: Ctx): Ty {
    const candidates = [...model.members.keys()];
    this.report("OFL2004", ctx.file, e.member.span, { owner, name: e.member.name, hint: hint(e.member.name, candidates) }, undefined, suggestionData(e.member.name, candidates));
    return ERROR;
  }

  private index(e: A.IndexExpr, ctx: Ctx): Ty {
    const ot = this.expr(e.object, ctx);
    if (ot.k === "error") {
      this.expr(e.index, ctx);
      return ERROR;
    }
    if (ot.k !== "groupedView") {
      this.expr(e.index, ctx);
      this.report("OFL3022", ctx.file, e.span, { detail: `only a grouped view (\`by ATTR\`) can be indexed; this is ${tyText(ot)}` });
      return ERROR;
    }
    const it = this.expr(e.index, ctx, ot.key);
    if (it.k !== "error" && ot.key.k !== "error" && !this.coerce(e.index, it, ot.key)) {
      this.report("OFL3022", ctx.file, e.index.span, { detail: `view \`${ot.name}\` is grouped by ${tyText(ot.key)}, not ${tyText(it)}` });
      return ERROR;
    }
    return ot.elem;
  }

  private binary(e: A.BinaryExpr, ctx: Ctx): Ty {
    const op = e.op;
    const opText = `\`${op}\``;
    if (op === "and" || op === "or") {
      const a = this.expr(e.left, ctx, BOOL);
      const b = this.expr(e.right, ctx, BOOL);
      if (a.k === "error" || b.k === "error") return BOOL;
      if (a.k !== "bool" || b.k !== "bool") return this.opError(e, opText, a, b, ctx);
      return BOOL;
    }
    const comparison = op === "==" || op === "!=" || op === "<" || op === "<=" || op === ">" || op === ">=";
    if (comparison && (isAgeCall(e.left) || isAgeCall(e.right))) return this.ageComparison(e, ctx);
    // a bare enum member on the left takes its type from the right
    let a: Ty;
    let b: Ty;
    if (comparison && e.left.kind === "Name" && !this.resolvesPlainly(e.left, ctx)) {
      b = this.expr(e.right, ctx);
      a = this.expr(e.left, ctx, b);
    } else {
      a = this.expr(e.left, ctx);
      b = this.expr(e.right, ctx, a);
    }
    if (a.k === "error" || b.k === "error") return comparison ? BOOL : ERROR;
    if (comparison) {
      if (a.k === "num" && b.k === "num") {
        if (!this.sameFamily(e, a, b, opText, ctx)) return ERROR;
        return BOOL;
      }
      const ordered = op !== "==" && op !== "!=";
      if (a.k === b.k && (a.k === "timestamp" || a.k === "string")) return BOOL;
      if (!ordered && a.k === b.k && (a.k === "bool" || (a.k === "enum" && b.k === "enum" && a.name === b.name))) return BOOL;
      return this.opError(e, opText, a, b, ctx);
    }
    if (a.k === "timestamp" || b.k === "timestamp") {
      if (op === "-" && a.k === "timestamp" && b.k === "timestamp") return DURATION;
      if ((op === "+" || op === "-") && a.k === "timestamp" && b.k === "num" && isTimeUnit(b.unit)) {
        this.coerce(e.right, b, DURATION);
        return TIMESTAMP;
      }
      if (op === "+" && b.k === "timestamp" && a.k === "num" && isTimeUnit(a.unit)) {
        this.coerce(e.left, a, DURATION);
        return TIMESTAMP;
      }
      return this.opError(e, opText, a, b, ctx);
    }
    if (a.k !== "num" || b.k !== "num") return this.opError(e, opText, a, b, ctx);
    switch (op) {
      case "+":
      case "-":
      case "%":
        if (!this.sameFamily(e, a, b, opText, ctx)) return ERROR;
        return num(a.int && b.int, a.unit);
      case "*": {
        const u = mulUnits(a.unit, b.unit, 1);
        return this.product(e, a.int && b.int, u);
      }
      case "/": {
        // language.md §3: a bare number is allowed as the divisor of `/`, not as its dividend
        // (`2 / t` is ambiguous: 2 of what?)
        if (isBareNumber(e.left) && !isUnitless(b.unit)) {
          this.report("OFL3003", ctx.file, e.left.span, { op: opText, unit: b.unit.text, example: `${exprText(e.left)} ${b.unit.text}` });
          return ERROR;
        }
        const u = mulUnits(a.unit, b.unit, -1);
        return this.product(e, false, u);
      }
    }
    return ERROR;
  }

  /** A product/quotient whose units cancel to a scaled unitless value is normalised. */
  private product(e: A.Expr, int: boolean, u: Unit): Ty {
    if (u.key === "" && u.scale !== 1) {
      this.addConversion(e, u.scale);
      return num(false, UNITLESS);
    }
    return num(int && u.scale === Math.round(u.scale), u);
  }

  private resolvesPlainly(e: A.NameRef, ctx: Ctx): boolean {
    const n = e.name.name;
    return !!(ctx.params?.has(n) || ctx.self?.members.has(n) || this.p.globals.has(n));
  }

  /** Both numeric operands in one unit family; the right is converted to the left's unit. */
  private sameFamily(e: A.BinaryExpr, a: Extract<Ty, { k: "num" }>, b: Extract<Ty, { k: "num" }>, opText: string, ctx: Ctx): boolean {
    if (a.unit.key === b.unit.key) {
      const f = conversionFactor(b.unit, a.unit);
      if (f !== 1) this.addConversion(e.right, f);
      return true;
    }
    if (isUnitless(a.unit) || isUnitless(b.unit)) {
      const bare = isUnitless(a.unit) ? e.left : e.right;
      const unit = isUnitless(a.unit) ? b.unit : a.unit;
      this.report("OFL3003", ctx.file, bare.span, { op: opText, unit: unit.text, example: `${exprText(bare)} ${unit.text}` });
      return false;
    }
    this.report("OFL3002", ctx.file, e.opSpan, { op: opText, left: tyText(a), right: tyText(b) });
    return false;
  }

  private opError(e: A.BinaryExpr, opText: string, a: Ty, b: Ty, ctx: Ctx): Ty {
    this.report("OFL3004", ctx.file, e.opSpan, { op: opText, types: `${tyText(a)} and ${tyText(b)}` });
    return ERROR;
  }

  private ageComparison(e: A.BinaryExpr, ctx: Ctx): Ty {
    const ageLeft = isAgeCall(e.left);
    const ageSide = (ageLeft ? e.left : e.right) as A.CallExpr;
    const other = ageLeft ? e.right : e.left;
    this.ageOperands.add(ageSide);
    this.expr(ageSide, ctx);
    const t = this.expr(other, ctx, DURATION);
    if (t.k === "error") return BOOL;
    if (t.k !== "num" || !isTimeUnit(t.unit)) {
      this.report("OFL3013", ctx.file, other.span);
      return ERROR;
    }
    this.coerce(other, t, DURATION);
    return BOOL;
  }

  // ------------------------------------------------------------------ calls

  private call(e: A.CallExpr, ctx: Ctx, expected?: Ty): Ty {
    if (e.callee.kind !== "Name") {
      // `asset.cmd()` used as a value
      this.expr(e.callee, ctx);
      this.report("OFL2016", ctx.file, e.callee.span, { name: exprText(e.callee), what: "command or member; only functions can be called in an expression" });
      return ERROR;
    }
    const fn = e.callee.name.name;
    this.p.resolutions.set(e.callee, { k: "function", name: fn });
    if (e.over) {
      if (!AGGREGATES.has(fn)) {
        this.report("OFL3016", ctx.file, e.callee.span, { fn: `\`${fn}\``, detail: "is not an aggregate: `over` follows avg, min, max, sum, count, stddev, first, last, delta or ratio" });
        return ERROR;
      }
      if (!ctx.stateful) {
        this.report("OFL5013", ctx.file, e.span, { detail: `a windowed aggregate keeps history and cannot be used in ${ctx.place}; declare a state and read it` });
        return ERROR;
      }
      if (!ctx.self) {
        this.report("OFL5013", ctx.file, e.span, {
          detail: "a windowed aggregate takes the events of one asset: use it in a model's state or in a rule `on MODEL`, or aggregate across assets with a `view … over`",
        });
        return ERROR;
      }
      if (e.args.length > 1 || e.args.some((a) => a.name)) {
        this.report("OFL3016", ctx.file, e.span, { fn: `\`${fn}\``, detail: "takes one positional argument" });
        return ERROR;
      }
      this.window(e.over, ctx);
      return this.aggregateType(fn, e.args[0]?.value, ctx, e.callee.span);
    }
    if (!FUNCTIONS.has(fn) || ((fn === "min" || fn === "max") && e.args.length === 1)) {
      if (AGGREGATES.has(fn)) {
        this.report("OFL3018", ctx.file, e.span, { fn });
        return ERROR;
      }
      const sym = this.p.globals.get(fn);
      if (sym?.kind === "view" || ctx.self?.members.get(fn)?.k === "command") {
        this.report("OFL2016", ctx.file, e.callee.span, { name: fn, what: sym?.kind ?? "command (call commands in rule actions)" });
        return ERROR;
      }
      this.report("OFL2001", ctx.file, e.callee.span, { name: fn, hint: hint(fn, [...FUNCTIONS, ...AGGREGATES]) });
      for (const a of e.args) this.expr(a.value, ctx);
      return ERROR;
    }
    const args = e.args;
    const named = args.find((a) => a.name);
    if (named) {
      this.report("OFL3016", ctx.file, named.span, { fn: `\`${fn}()\``, detail: "takes positional arguments only" });
      return ERROR;
    }
    const arity = (n: number, m = n): boolean => {
      if (args.length >= n && args.length <= m) return true;
      this.report("OFL3016", ctx.file, e.span, { fn: `\`${fn}()\``, detail: `takes ${n === m ? n : `${n} to ${m}`} argument${m === 1 ? "" : "s"}, given ${args.length}` });
      for (const a of args) this.expr(a.value, ctx);
      return false;
    };
    switch (fn) {
      case "known":
        if (!arity(1)) return ERROR;
        this.expr(args[0]!.value, ctx);
        return BOOL;
      case "previous":
      case "changed":
      case "age": {
        if (!arity(1)) return ERROR;
        if (fn === "age" && !this.ageOperands.has(e)) {
          this.expr(args[0]!.value, ctx);
          this.report("OFL3013", ctx.file, e.span);
          return ERROR;
        }
        if (!ctx.stateful && fn !== "age") {
          // previous/changed read a signal's history, which only states and rules keep
          this.report("OFL5013", ctx.file, e.span, { detail: `\`${fn}()\` reads history and cannot be used in ${ctx.place}; declare a state and read it` });
          return ERROR;
        }
        const arg = args[0]!.value;
        const t = this.expr(arg, ctx);
        if (t.k === "error") return ERROR;
        const res = this.p.resolutions.get(arg);
        if (!res || res.k !== "member" || (res.member.k !== "telemetry" && res.member.k !== "state")) {
          this.report("OFL3014", ctx.file, arg.span, { fn, found: exprText(arg) });
          return ERROR;
        }
        return fn === "previous" ? t : fn === "changed" ? BOOL : DURATION;
      }
      case "convert": {
        if (!arity(2)) return ERROR;
        const t = this.expr(args[0]!.value, ctx);
        const target = this.unitFromExpr(args[1]!.value, ctx);
        if (t.k === "error" || !target) return ERROR;
        if (t.k !== "num") return this.fnTypeError(e, fn, t, ctx);
        if (t.unit.key !== target.key) {
          this.report("OFL3017", ctx.file, e.span, { from: t.unit.text || "a unitless number", to: target.text });
          return ERROR;
        }
        const f = conversionFactor(t.unit, target);
        if (f !== 1) this.addConversion(args[0]!.value, f);
        return num(t.int && f === Math.round(f), target);
      }
    }
    if (Object.hasOwn(IR_FUNCTIONS, fn)) return this.builtinType(e, IR_FUNCTIONS[fn as keyof typeof IR_FUNCTIONS], fn, ctx, expected, arity);
    return ERROR;
  }

  /** A call of a built-in of the table IR_FUNCTIONS (compiler/ir/types.ts), by its `typing`. */
  private builtinType(e: A.CallExpr, f: IrFunctionEntry, fn: string, ctx: Ctx, expected: Ty | undefined, arity: (n: number, m?: number) => boolean): Ty {
    const args = e.args;
    // `min`/`max` with one argument are the aggregates (read above): as functions, 2 to 16
    if (!arity(f.typing === "common" && f.max === Infinity ? 2 : f.min, Math.min(f.max, 16))) return ERROR;
    switch (f.typing) {
      case "same":
      case "integral": {
        const t = this.expr(args[0]!.value, ctx, expected);
        if (t.k === "error") return ERROR;
        if (t.k !== "num") return this.fnTypeError(e, fn, t, ctx);
        return f.typing === "same" ? t : num(true, t.unit);
      }
      case "unitless": {
        const ts = args.map((a) => this.expr(a.value, ctx, args.length === 1 ? expected : undefined));
        if (ts.some((t) => t.k === "error")) return ERROR;
        if (ts.length === 1 && ts[0]!.k !== "num") return this.fnTypeError(e, fn, ts[0]!, ctx);
        if (ts.some((t) => t.k !== "num" || !isUnitless(t.unit))) {
          const found = ts.map((t) => tyText(t)).join(" and ");
          this.report("OFL3016", ctx.file, e.span, { fn: `\`${fn}()\``, detail: `needs ${ts.length === 1 ? "a unitless number" : "unitless numbers"}, found ${found}` });
          return ERROR;
        }
        return FLOAT;
      }
      case "common": {
        const first = this.expr(args[0]!.value, ctx, expected);
        if (first.k === "error") {
          for (const a of args.slice(1)) this.expr(a.value, ctx);
          return ERROR;
        }
        if (first.k !== "num" && first.k !== "timestamp") return this.fnTypeError(e, fn, first, ctx);
        let int = first.k === "num" && first.int;
        for (const a of args.slice(1)) {
          const t = this.expr(a.value, ctx, first);
          if (t.k === "error") return ERROR;
          if (!this.coerce(a.value, t, first.k === "num" ? num(false, first.unit) : first)) {
            this.mismatch(a.value, t, first, ctx, `\`${fn}()\``);
            return ERROR;
          }
          if (t.k === "num") int = int && t.int;
        }
        return first.k === "num" ? num(int, first.unit) : first;
      }
    }
  }

  private fnTypeError(e: A.CallExpr, fn: string, t: Ty, ctx: Ctx): Ty {
    this.report("OFL3016", ctx.file, e.span, { fn: `\`${fn}()\``, detail: `needs a number, found ${tyText(t)}` });
    return ERROR;
  }

  /** The second argument of `convert`: a unit name or `a/b`, `a*b` of unit names. */
  private unitFromExpr(e: A.Expr, ctx: Ctx): Unit | undefined {
    const factors: A.UnitFactor[] = [];
    const walk = (x: A.Expr, sign: 1 | -1): boolean => {
      if (x.kind === "Name") {
        factors.push({ name: x.name, power: sign });
        return true;
      }
      if (x.kind === "Binary" && (x.op === "*" || x.op === "/")) return walk(x.left, sign) && walk(x.right, x.op === "/" ? (-sign as 1 | -1) : sign);
      return false;
    };
    if (!walk(e, 1)) {
      this.report("OFL3016", ctx.file, e.span, { fn: "`convert()`", detail: "takes a unit as its second argument, e.g. `convert(x, kW)`" });
      return undefined;
    }
    const unitExpr: A.UnitExpr = { kind: "UnitExpr", factors, span: e.span };
    const u = this.unitExpr(unitExpr, ctx.file);
    if (u) this.p.types.set(e, num(false, u));
    return u;
  }
}

// ------------------------------------------------------------------ helpers

export function isStd(path: string): boolean {
  return path.startsWith("std/");
}
function moduleOf(path: string): string {
  return path.replace(/\.ofl$/, "");
}
function cmpPath(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isAgeCall(e: A.Expr): boolean {
  return e.kind === "Call" && e.callee.kind === "Name" && e.callee.name.name === "age" && !e.over;
}

function suggestionData(name: string, candidates: Iterable<string>): Record<string, string> | undefined {
  const h = hint(name, candidates);
  const m = /`([^`]+)`/.exec(h);
  return m ? { suggestion: m[1]! } : undefined;
}

/** A number written without a unit (`2`, `-2`, `(2)`). */
function isBareNumber(e: A.Expr): boolean {
  if (e.kind === "Number") return true;
  if (e.kind === "Paren") return isBareNumber(e.inner);
  if (e.kind === "Unary") return e.op === "-" && isBareNumber(e.operand);
  return false;
}

/** Literals, quantities, enum members (`A`, `E.A`), negated numbers: what can be fixed at compile time. */
export function isConstantSyntax(e: A.Expr): boolean {
  switch (e.kind) {
    case "Number":
    case "Quantity":
    case "Duration":
    case "Timestamp":
    case "String":
    case "Bool":
    case "Unavailable":
    case "Name":
      return true;
    case "Member":
      return e.object.kind === "Name";
    case "Paren":
      return isConstantSyntax(e.inner);
    case "Unary":
      return e.op === "-" && isConstantSyntax(e.operand);
    default:
      return false;
  }
}

export function fmtMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Short source-like text of an expression, for messages. */
export function exprText(e: A.Expr): string {
  switch (e.kind) {
    case "Number":
    case "Duration":
    case "Timestamp":
      return e.text;
    case "Quantity":
      return `${e.text} ${e.unit.factors.map((f, i) => `${i > 0 ? (f.power < 0 ? "/" : "*") : ""}${f.name.name}${Math.abs(f.power) !== 1 ? `^${Math.abs(f.power)}` : ""}`).join("")}`;
    case "String":
      return JSON.stringify(e.value);
    case "Bool":
      return String(e.value);
    case "Unavailable":
      return "unavailable";
    case "Name":
      return e.name.name;
    case "Self":
      return "self";
    case "Member":
      return `${exprText(e.object)}.${e.member.name}`;
    case "Index":
      return `${exprText(e.object)}[${exprText(e.index)}]`;
    case "Call":
      return `${exprText(e.callee)}(${e.args.map((a) => (a.name ? `${a.name.name}: ` : "") + exprText(a.value)).join(", ")})`;
    case "Unary":
      return e.op === "not" ? `not ${exprText(e.operand)}` : `-${exprText(e.operand)}`;
    case "Binary":
      return `${exprText(e.left)} ${e.op} ${exprText(e.right)}`;
    case "For":
      return `${exprText(e.cond)} for ${exprText(e.duration)}`;
    case "If":
      return `if ${exprText(e.cond)} then ${exprText(e.then)} else ${exprText(e.else)}`;
    case "Paren":
      return `(${exprText(e.inner)})`;
    case "ErrorExpr":
      return "…";
  }
}

export { STRING, BOOL, INT, FLOAT, DURATION, TIMESTAMP, ERROR, MILLIS };
export type { Ty };
