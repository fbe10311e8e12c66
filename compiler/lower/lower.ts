// Checked AST → IR. Resolutions, conversions and types come from the checker; this stage
// only translates, hoists history-keeping operators (`for`, windowed aggregates) into hidden
// states, orders states by dependency and computes aggregate triggers.
// Call it only on a program that checked without errors.
import type * as A from "../ast/nodes.js";
import { AGGREGATES } from "../check/checker.js";
import { constValue, type CheckedProgram, type ClassifiedExpect, type MemberInfo, type ModelInfo, type ViewInfo, type WindowInfo } from "../check/symbols.js";
import { isUnitless, type Ty } from "../check/types.js";
import { LineMap } from "../diagnostics/lineMap.js";
import {
  IR_VERSION,
  type IrAggFn,
  type IrAlarm,
  type IrAsset,
  type IrBinaryOp,
  type IrCommand,
  type IrCommandPattern,
  type IrExpectation,
  type IrExpr,
  type IrFunction,
  type IrModel,
  type IrProgram,
  type IrRef,
  type IrRule,
  type IrSeverity,
  type IrState,
  type IrStatefulDef,
  type IrTest,
  type IrType,
  type IrView,
  type IrWindow,
  type Value,
} from "../ir/types.js";

const BINARY: Record<A.BinaryOp, IrBinaryOp> = {
  or: "or",
  and: "and",
  "==": "eq",
  "!=": "ne",
  "<": "lt",
  "<=": "le",
  ">": "gt",
  ">=": "ge",
  "+": "add",
  "-": "sub",
  "*": "mul",
  "/": "div",
  "%": "mod",
};
const FLIP: Record<string, "lt" | "le" | "gt" | "ge" | "eq" | "ne"> = { lt: "gt", le: "ge", gt: "lt", ge: "le", eq: "eq", ne: "ne" };

export function irType(t: Ty | undefined): IrType {
  if (!t) return { t: "string" };
  switch (t.k) {
    case "bool":
      return { t: "bool" };
    case "string":
      return { t: "string" };
    case "timestamp":
      return { t: "timestamp" };
    case "enum":
      return { t: "enum", name: t.name };
    case "num":
      if (t.dur) return { t: "duration" };
      return isUnitless(t.unit) ? { t: t.int ? "int" : "float" } : { t: t.int ? "int" : "float", unit: t.unit.text };
    default:
      return { t: "string" };
  }
}

/** Where hidden states go while lowering one expression. */
interface Scope {
  owner: string;
  states: IrState[];
  counter: { n: number };
  /** the model whose states `asset: null` refs name (for triggers) */
  model?: ModelInfo;
}

export class Lowering {
  private readonly lineMaps = new Map<string, LineMap>();
  constructor(private readonly p: CheckedProgram) {}

  /** A constant the checker accepted, in the unit where it is used. */
  private constValue(e: A.Expr): Value | undefined {
    return constValue(this.p, e);
  }

  /** A duration the checker accepted, in ms (its side table; lowering never re-checks). */
  private duration(e: A.Expr): number {
    const ms = this.p.durations.get(e);
    if (ms === undefined) throw new Error(`lowering: no checked duration at offset ${e.span.start}`);
    return ms;
  }

  private window(w: A.WindowSpec): WindowInfo {
    const info = this.p.windows.get(w);
    if (!info) throw new Error(`lowering: no checked window at offset ${w.span.start}`);
    return info;
  }

  run(): IrProgram {
    const p = this.p;
    return {
      ir: IR_VERSION,
      program: p.name,
      enums: p.enums.map((e) => ({ name: e.name, members: [...e.members] })),
      models: p.models.map((m) => this.model(m)),
      assets: p.assets.map((a) => this.asset(a.name)),
      views: p.views.map((v) => this.view(v)),
      rules: p.rules.map((r) => this.rule(r.name)),
      tests: p.tests.map((t) => this.test(t.name, t.file)),
    };
  }

  // ---------------------------------------------------------------- models

  private model(m: ModelInfo): IrModel {
    const scope: Scope = { owner: m.name, states: [], counter: { n: 0 }, model: m };
    const members = [...m.members.values()];
    const out: IrModel = {
      name: m.name,
      lineage: [...m.lineage],
      attributes: [],
      telemetry: [],
      states: [],
      alarms: [],
      commands: [],
    };
    if (m.decl.doc) out.doc = m.decl.doc;
    for (const x of members) {
      switch (x.k) {
        case "attribute": {
          const def = x.decl.default ? this.constValue(x.decl.default) : undefined;
          out.attributes.push(def === undefined ? { name: x.name, type: irType(x.ty) } : { name: x.name, type: irType(x.ty), default: def });
          break;
        }
        case "telemetry":
          out.telemetry.push(x.range ? { name: x.name, type: irType(x.ty), range: x.range } : { name: x.name, type: irType(x.ty) });
          break;
        case "state": {
          const scopeFor: Scope = { ...scope, owner: x.name };
          const def = this.topLevel(x.decl.expr, scopeFor);
          scope.states.push({ name: x.name, hidden: false, type: irType(x.ty), def, dependsOn: [] });
          break;
        }
        case "alarm": {
          const a: IrAlarm = {
            name: x.name,
            severity: x.decl.severity.name as IrSeverity,
            when: this.expr(x.decl.when, { ...scope, owner: x.name }),
          };
          if (x.decl.clearWhen) a.clear = this.expr(x.decl.clearWhen, { ...scope, owner: x.name });
          out.alarms.push(a);
          break;
        }
        case "command": {
          const cmd: IrCommand = {
            name: x.name,
            params: x.params.map((p) => (p.range ? { name: p.name, type: irType(p.ty), range: p.range } : { name: p.name, type: irType(p.ty) })),
          };
          if (x.decl.requires) {
            cmd.requires = this.expr(x.decl.requires, scope);
            cmd.requiresText = this.sourceText(x.owner.file, x.decl.requires.span);
          }
          if (x.decl.doc) cmd.doc = x.decl.doc;
          out.commands.push(cmd);
          break;
        }
      }
    }
    out.states = orderStates(scope.states);
    for (const s of out.states) if ("k" in s.def && s.def.k === "window") s.def.agg.triggers = this.triggers(s.def.agg.arg, m, out.states);
    return out;
  }

  /** A state's definition: a stateful operator at the top stays there; nested ones are hoisted. */
  private topLevel(e: A.Expr, scope: Scope): IrExpr | IrStatefulDef {
    const inner = unparen(e);
    if (!this.p.conversions.has(e) && inner === e) {
      const def = this.statefulDef(e, scope);
      if (def) return def;
    }
    return this.expr(e, scope);
  }

  private statefulDef(e: A.Expr, scope: Scope): IrStatefulDef | undefined {
    if (e.kind === "For") {
      return { k: "for", cond: this.expr(e.cond, scope), ms: this.duration(e.duration) };
    }
    if (e.kind === "Call" && e.over && e.callee.kind === "Name" && AGGREGATES.has(e.callee.name.name)) {
      const w = this.window(e.over);
      const window: IrWindow = { kind: e.over.window, sizeMs: w.sizeMs, graceMs: w.graceMs };
      if (w.hopMs !== undefined) window.hopMs = w.hopMs;
      const arg = e.args[0] ? this.expr(e.args[0].value, scope) : undefined;
      const agg = { fn: e.callee.name.name as IrAggFn, window, final: e.final, triggers: [] as string[] };
      return { k: "window", agg: arg ? { ...agg, arg } : agg };
    }
    return undefined;
  }

  private hoist(def: IrStatefulDef, e: A.Expr, scope: Scope): IrRef {
    const name = `$${scope.owner}$${scope.counter.n++}`;
    scope.states.push({ name, hidden: true, type: irType(this.p.types.get(e)), def, dependsOn: [] });
    return { k: "ref", asset: null, kind: "state", name };
  }

  // ---------------------------------------------------------------- expressions

  expr(e: A.Expr, scope: Scope): IrExpr {
    const base = this.exprInner(e, scope);
    const f = this.p.conversions.get(e);
    if (f === undefined || f === 1) return base;
    if (base.k === "const" && typeof base.value === "number") return { k: "const", value: base.value * f };
    return { k: "scale", factor: f, arg: base };
  }

  private exprInner(e: A.Expr, scope: Scope): IrExpr {
    const p = this.p;
    switch (e.kind) {
      case "Number":
      case "Quantity":
        return { k: "const", value: e.value };
      case "Duration":
      case "Timestamp":
        return { k: "const", value: e.ms };
      case "String":
      case "Bool":
        return { k: "const", value: e.value };
      case "Unavailable":
      case "ErrorExpr":
      case "Self":
        return { k: "const", value: null };
      case "Paren":
        return this.expr(e.inner, scope);
      case "Name":
      case "Member":
        return this.reference(e);
      case "Index": {
        const r = p.resolutions.get(e.object);
        const name = r?.k === "view" ? r.view.name : "";
        return { k: "view", name, group: this.expr(e.index, scope) };
      }
      case "Unary":
        return { k: "unary", op: e.op === "-" ? "neg" : "not", arg: this.expr(e.operand, scope) };
      case "Binary": {
        const op = BINARY[e.op];
        const ageLeft = isAge(e.left);
        if (isAge(e.left) || isAge(e.right)) {
          const call = (ageLeft ? e.left : e.right) as A.CallExpr;
          const ref = this.reference(unparen(call.args[0]!.value)) as IrRef;
          const cmp = ageLeft ? (op as keyof typeof FLIP) : FLIP[op]!;
          return { k: "age_cmp", ref, op: cmp as "lt", duration: this.expr(ageLeft ? e.right : e.left, scope) };
        }
        return { k: "binary", op, left: this.expr(e.left, scope), right: this.expr(e.right, scope) };
      }
      case "If":
        return { k: "if", cond: this.expr(e.cond, scope), then: this.expr(e.then, scope), else: this.expr(e.else, scope) };
      case "For": {
        const def = this.statefulDef(e, scope)!;
        return this.hoist(def, e, scope);
      }
      case "Call": {
        const def = this.statefulDef(e, scope);
        if (def) return this.hoist(def, e, scope);
        const fn = e.callee.kind === "Name" ? e.callee.name.name : "";
        const args = e.args.map((a) => a.value);
        switch (fn) {
          case "known":
            return { k: "known", arg: this.expr(args[0]!, scope) };
          case "previous":
          case "changed":
            return { k: fn, ref: this.reference(unparen(args[0]!)) as IrRef };
          case "convert":
            return this.expr(args[0]!, scope);
          default:
            return { k: "call", fn: fn as IrFunction, args: args.map((a) => this.expr(a, scope)) };
        }
      }
    }
  }

  private reference(e: A.Expr): IrExpr {
    const r = this.p.resolutions.get(e);
    if (!r) return { k: "const", value: null };
    switch (r.k) {
      case "member": {
        const kind = r.member.k === "telemetry" ? "signal" : r.member.k === "state" ? "state" : "attr";
        return { k: "ref", asset: r.asset, kind, name: r.member.name };
      }
      case "alarm":
        return { k: "ref", asset: r.asset, kind: "alarm", name: r.name };
      case "view":
        return { k: "view", name: r.view.name };
      case "enumMember":
        return { k: "const", value: r.member };
      case "param":
        return { k: "ref", asset: null, kind: "param", name: r.name };
      default:
        return { k: "const", value: null };
    }
  }

  /** Telemetry names of the model that an aggregate's argument reads, directly or through states. */
  private triggers(arg: IrExpr | undefined, m: ModelInfo | undefined, states: IrState[]): string[] {
    if (!arg || !m) return [];
    const out = new Set<string>();
    const seen = new Set<string>();
    const byName = new Map(states.map((s) => [s.name, s]));
    const visit = (x: IrExpr | IrStatefulDef): void => {
      walkRefs(x, (ref) => {
        if (ref.asset !== null) return;
        if (ref.kind === "signal") out.add(ref.name);
        else if (ref.kind === "state" && !seen.has(ref.name)) {
          seen.add(ref.name);
          const s = byName.get(ref.name);
          if (s) visit(s.def);
        }
      });
    };
    visit(arg);
    const order = [...m.members.values()].filter((x) => x.k === "telemetry").map((x) => x.name);
    return order.filter((n) => out.has(n));
  }

  // ---------------------------------------------------------------- assets, views, rules

  private asset(name: string): IrAsset {
    const a = this.p.assets.find((x) => x.name === name)!;
    const m = a.model!;
    const attributes: Record<string, Value> = {};
    const given = new Map<string, A.AttributeAssign>();
    for (const item of a.decl.items) if (item.kind === "AttributeAssign") given.set(item.name.name, item);
    for (const x of m.members.values()) {
      if (x.k !== "attribute") continue;
      const item = given.get(x.name);
      const v = item ? this.constValue(item.value) : x.decl.default ? this.constValue(x.decl.default) : null;
      attributes[x.name] = v ?? null;
    }
    const out: IrAsset = { name: a.name, uuid: a.uuid, model: m.name, attributes, sources: a.sources ?? [] };
    if (a.decl.doc) out.doc = a.decl.doc;
    return out;
  }

  private view(v: ViewInfo): IrView {
    const d = v.decl;
    const scope: Scope = { owner: v.name, states: [], counter: { n: 0 }, model: v.model };
    const out: IrView = {
      name: v.name,
      fn: d.aggregate.name as IrAggFn,
      from: v.model!.name,
      final: d.final,
      type: irType(v.ty),
      triggers: [],
    };
    if (d.arg) out.arg = this.expr(d.arg, scope);
    if (d.where) out.where = this.expr(d.where, scope);
    if (d.by) out.by = d.by.name;
    if (d.over) {
      const w = this.window(d.over);
      out.window = { kind: d.over.window, sizeMs: w.sizeMs, graceMs: w.graceMs };
      if (w.hopMs !== undefined) out.window.hopMs = w.hopMs;
      const model = this.model(v.model!);
      out.triggers = this.triggers(out.arg, v.model, model.states);
    }
    return out;
  }

  private rule(name: string): IrRule {
    const r = this.p.rules.find((x) => x.name === name)!;
    const d = r.decl;
    const scope: Scope = { owner: r.name, states: [], counter: { n: 0 }, model: r.model };
    const out: IrRule = {
      name: r.name,
      shadow: !!d.shadow,
      when: this.expr(d.when!, scope),
      locals: [],
      actions: d.actions.map((call) => {
        const res = this.p.resolutions.get(call);
        const cmd = res?.k === "command" ? res : undefined;
        return {
          asset: cmd?.asset ?? null,
          command: cmd?.command.name ?? "",
          args: call.args.filter((a) => a.name).map((a) => ({ name: a.name!.name, value: this.expr(a.value, scope) })),
        };
      }),
    };
    if (r.model) out.on = r.model.name;
    out.locals = orderStates(scope.states);
    const model = r.model ? this.model(r.model) : undefined;
    for (const s of out.locals)
      if ("k" in s.def && s.def.k === "window") s.def.agg.triggers = this.triggers(s.def.agg.arg, r.model, [...(model?.states ?? []), ...out.locals]);
    if (d.cooldown) out.cooldownMs = this.duration(d.cooldown);
    if (d.repeatEvery) out.repeatMs = this.duration(d.repeatEvery);
    return out;
  }

  // ---------------------------------------------------------------- tests

  private test(name: string, file: string): IrTest {
    const t = this.p.tests.find((x) => x.name === name && x.file === file)!;
    const lines = this.lineMap(t.file);
    const out: IrTest = {
      name: t.name,
      file: t.file,
      line: lines.position(t.decl.span.start).line,
      at: [],
      expectations: [],
      endMs: t.endMs ?? 0,
    };
    if (t.replay !== undefined) out.replay = t.replay;
    for (const { ms, item } of t.at ?? []) {
      out.at.push({
        atMs: ms,
        line: lines.position(item.span.start).line,
        steps: item.steps.map((s) => {
          if (s.kind === "Send") {
            const res = this.p.resolutions.get(s.call);
            const cmd = res?.k === "command" ? res : undefined;
            return {
              k: "send" as const,
              asset: cmd?.asset ?? "",
              command: cmd?.command.name ?? "",
              args: s.call.args.filter((a) => a.name).map((a) => ({ name: a.name!.name, value: this.constValue(a.value) ?? null })),
            };
          }
          const res = this.p.resolutions.get(s.target);
          const member = res?.k === "member" ? res : undefined;
          return {
            k: "set" as const,
            asset: member?.asset ?? "",
            signal: member?.member.name ?? "",
            value: s.value.kind === "Unavailable" ? null : (this.constValue(s.value) ?? null),
          };
        }),
      });
    }
    for (const x of t.expectations ?? []) out.expectations.push(this.expectation(x, t.file, lines));
    return out;
  }

  private expectation(x: ClassifiedExpect, file: string, lines: LineMap): IrExpectation {
    const text = lines.text.slice(x.item.span.start, x.item.span.end).replace(/\s+/g, " ");
    const line = lines.position(x.item.span.start).line;
    switch (x.k) {
      case "match_recorded":
        return { k: "match_recorded", line, text };
      case "count_deadletters":
        return x.reason !== undefined ? { k: "count_deadletters", line, text, reason: x.reason, op: x.op, n: x.n } : { k: "count_deadletters", line, text, op: x.op, n: x.n };
      case "state": {
        const scope: Scope = { owner: "$expect", states: [], counter: { n: 0 } };
        const expr = this.expr(x.expr, scope);
        return x.atMs !== undefined ? { k: "state", line, text, expr, atMs: x.atMs } : { k: "state", line, text, expr };
      }
      default: {
        const res = this.p.resolutions.get(x.call);
        const pattern: IrCommandPattern = {
          asset: x.asset,
          command: res?.k === "command" ? res.command.name : "",
          args: x.call.args.filter((a) => a.name).map((a) => ({ name: a.name!.name, value: this.constValue(a.value) ?? null })),
          shadow: !!x.item.shadow,
        };
        if (x.item.verdict) pattern.verdict = x.item.verdict.value;
        if (x.between) pattern.between = x.between;
        if (x.k === "count_command") return { k: "count_command", line, text, pattern, op: x.op, n: x.n };
        return { k: x.k, line, text, pattern };
      }
    }
    void file;
  }

  /** The source text of a span on one line, without its comments. */
  private sourceText(file: string, span: A.Span): string {
    const text = this.lineMap(file).text;
    const comments = this.p.files.find((f) => f.path === file)?.comments ?? [];
    let out = "";
    let at = span.start;
    for (const c of comments) {
      if (c.span.start < span.start || c.span.end > span.end) continue;
      out += text.slice(at, c.span.start) + " ";
      at = c.span.end;
    }
    out += text.slice(at, span.end);
    return out.replace(/\s+/g, " ").trim();
  }

  private lineMap(file: string): LineMap {
    let m = this.lineMaps.get(file);
    if (!m) {
      const f = this.p.files.find((x) => x.path === file);
      m = new LineMap(f?.text ?? "");
      this.lineMaps.set(file, m);
    }
    return m;
  }
}

// ---------------------------------------------------------------- helpers

function unparen(e: A.Expr): A.Expr {
  return e.kind === "Paren" ? unparen(e.inner) : e;
}

function isAge(e: A.Expr): boolean {
  return e.kind === "Call" && e.callee.kind === "Name" && e.callee.name.name === "age" && !e.over;
}

/** Calls `f` on every reference in an expression or stateful definition. */
export function walkRefs(x: IrExpr | IrStatefulDef, f: (r: IrRef) => void): void {
  switch (x.k) {
    case "ref":
      f(x);
      return;
    case "const":
      return;
    case "view":
      if (x.group) walkRefs(x.group, f);
      return;
    case "unary":
    case "scale":
    case "known":
      walkRefs(x.arg, f);
      return;
    case "binary":
      walkRefs(x.left, f);
      walkRefs(x.right, f);
      return;
    case "if":
      walkRefs(x.cond, f);
      walkRefs(x.then, f);
      walkRefs(x.else, f);
      return;
    case "call":
      for (const a of x.args) walkRefs(a, f);
      return;
    case "previous":
    case "changed":
      f(x.ref);
      return;
    case "age_cmp":
      f(x.ref);
      walkRefs(x.duration, f);
      return;
    case "for":
      walkRefs(x.cond, f);
      return;
    case "window":
      if (x.agg.arg) walkRefs(x.agg.arg, f);
      return;
  }
}

/** Fills `dependsOn` and orders states so each comes after the states (of its scope) it reads. */
function orderStates(states: IrState[]): IrState[] {
  const byName = new Map(states.map((s) => [s.name, s]));
  for (const s of states) {
    const deps = new Set<string>();
    walkRefs(s.def, (r) => {
      if (r.asset === null && r.kind === "state" && byName.has(r.name) && r.name !== s.name) deps.add(r.name);
    });
    s.dependsOn = [...deps];
  }
  const out: IrState[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (s: IrState): void => {
    if (state.get(s.name)) return; // done, or a cycle (reported by the checker)
    state.set(s.name, 1);
    for (const d of s.dependsOn) visit(byName.get(d)!);
    state.set(s.name, 2);
    out.push(s);
  };
  for (const s of states) visit(s);
  return out;
}

export type { MemberInfo };
