// Sources and bindings of an asset (language spec §4.2): kinds, binding functions, argument
// types, secrets, at most one binding per telemetry and command.
import type * as A from "../ast/nodes.js";
import type { IrArg, IrBinding, IrSource } from "../ir/types.js";
import type { Checker, Ctx } from "./checker.js";
import { exprText } from "./checker.js";
import type { AssetInfo, MemberInfo, ModelInfo, ParamInfo } from "./symbols.js";
import { hint } from "./suggest.js";
import { DURATION, FLOAT, INT, isTimeUnit, num, tyText, type Ty } from "./types.js";

/** What an argument must be. `value` = a value of the bound telemetry's type. */
type ArgKind = "string" | "secret" | "duration" | "number" | "int" | "bool" | "value" | "telemetry" | "commandValue";
interface ArgSpec {
  name: string;
  kind: ArgKind;
  required: boolean;
}
interface FnSpec {
  args: ArgSpec[];
  /** `sequence(MEMBER: duration, …)`: named args are enum members */
  memberArgs?: boolean;
}

const req = (name: string, kind: ArgKind): ArgSpec => ({ name, kind, required: true });
const opt = (name: string, kind: ArgKind): ArgSpec => ({ name, kind, required: false });

interface SourceSpec {
  args: ArgSpec[];
  telemetry: Record<string, FnSpec>;
  command: Record<string, FnSpec>;
}

export const SOURCE_KINDS: Record<IrSource["kind"], SourceSpec> = {
  opcua: {
    args: [req("endpoint", "string"), opt("security", "string"), opt("policy", "string"), opt("user", "secret"), opt("password", "secret"), opt("ignore_undeclared", "bool")],
    telemetry: { node: { args: [req("id", "string"), opt("sampling", "duration"), opt("deadband", "number")] } },
    command: {
      method: { args: [req("object_id", "string"), req("method_id", "string")] },
      write: { args: [req("node_id", "string")] },
    },
  },
  mqtt: {
    args: [req("url", "string"), opt("user", "secret"), opt("password", "secret"), opt("qos", "int"), opt("ignore_undeclared", "bool")],
    telemetry: { topic: { args: [req("filter", "string"), opt("json", "string"), opt("time", "string")] } },
    command: { publish: { args: [req("topic", "string")] } },
  },
  simulate: {
    args: [opt("seed", "int"), opt("ignore_undeclared", "bool")],
    telemetry: {
      constant: { args: [req("value", "value"), req("every", "duration")] },
      random_walk: { args: [req("start", "value"), req("step", "value"), req("min", "value"), req("max", "value"), req("every", "duration")] },
      sine: { args: [req("mean", "value"), req("amplitude", "value"), req("period", "duration"), req("every", "duration")] },
      sequence: { args: [], memberArgs: true },
      /** an OFL extension: a cumulative counter (parts made), `start + step` every `every` */
      counter: { args: [req("start", "value"), req("step", "value"), req("every", "duration")] },
    },
    command: { set: { args: [req("telemetry", "telemetry"), req("value", "commandValue")] } },
  },
  openfactory: {
    // records under data item ids the program does not declare (a real OpenFactory connector
    // writes many) are ignored and counted, not dead-lettered: `ignore_undeclared: false` to
    // quarantine them (issue 13, item 15). The default is false for the other kinds.
    // `command_topic: "ofa_cmds"`: accepted commands of `method()` bindings are also produced
    // there as newer OpenFactory releases expect them (key device uuid, value {cmd, args})
    args: [opt("ignore_undeclared", "bool"), opt("command_topic", "string")],
    telemetry: { id: { args: [req("data_item_id", "string")] } },
    command: { method: { args: [req("name", "string")] } },
  },
};

/** Arguments whose values are secrets: must be `env("…")`, never literals. */
const SECRET_ARGS = new Set(["password"]);

export function checkSources(c: Checker, a: AssetInfo, m: ModelInfo): void {
  const file = a.file;
  const bound = new Map<string, A.Binding>();
  const sources: IrSource[] = [];
  const ctx: Ctx = { file, self: null, stateful: false, place: "a source argument" };
  for (const item of a.decl.items) {
    if (item.kind !== "Source") continue;
    const kind = item.sourceKind.name;
    const spec = (SOURCE_KINDS as Record<string, SourceSpec | undefined>)[kind];
    if (!spec) {
      c.report("OFL4001", file, item.sourceKind.span, { name: kind });
      continue;
    }
    const src: IrSource = { kind: kind as IrSource["kind"], positional: [], named: {}, bindings: [] };
    const args = matchArgs(c, ctx, `${kind}()`, spec.args, item.args, item.sourceKind.span);
    for (const [name, { spec: as, arg }] of args) {
      const v = argValue(c, ctx, as, arg, undefined, undefined);
      if (v !== undefined) src.named[name] = v;
    }
    for (const b of item.bindings) {
      const binding = checkBinding(c, ctx, a, m, kind, spec, b, bound);
      if (binding) src.bindings.push(binding);
    }
    sources.push(src);
  }
  a.sources = sources;
  // also for an asset with no source at all: its commands reach no device either (issue 13)
  for (const member of m.members.values())
    if (member.k === "command" && !bound.has(member.name)) c.report("OFL4010", file, a.decl.name.span, { name: member.name, asset: a.name });
}

function checkBinding(
  c: Checker,
  ctx: Ctx,
  a: AssetInfo,
  m: ModelInfo,
  kind: string,
  spec: SourceSpec,
  b: A.Binding,
  bound: Map<string, A.Binding>,
): IrBinding | undefined {
  const file = a.file;
  const target = b.target.name;
  const member = m.members.get(target);
  const wantKind = b.direction === "telemetry" ? "telemetry" : "command";
  if (!member || (member.k !== "telemetry" && member.k !== "command")) {
    const candidates = [...m.members.values()].filter((x) => x.k === wantKind).map((x) => x.name);
    c.report("OFL4003", file, b.target.span, { name: target, what: wantKind, model: m.name, hint: hint(target, candidates) });
    checkArgsLoosely(c, ctx, b.call.args);
    return undefined;
  }
  c.reference(file, b.target.span, target, { file: member.owner.file, span: member.decl.name.span });
  if (member.k !== wantKind) {
    c.report("OFL4008", file, b.target.span, { name: target, what: member.k, arrow: member.k === "telemetry" ? "<-" : "->" });
    return undefined;
  }
  const previous = bound.get(target);
  if (previous) {
    c.report("OFL4004", file, b.target.span, { what: member.k, name: target, where: "" }, c.relatedTo(file, previous.target.span, "first bound here"));
    return undefined;
  }
  bound.set(target, b);
  const fns = b.direction === "telemetry" ? spec.telemetry : spec.command;
  const fnName = b.call.name.name;
  const fn = fns[fnName];
  if (!fn) {
    const allowed = Object.keys(fns).map((f) => `\`${f}(…)\``).join(" or ");
    c.report("OFL4002", file, b.call.name.span, { name: fnName, direction: b.direction, source: kind, allowed });
    checkArgsLoosely(c, ctx, b.call.args);
    return undefined;
  }
  const out: IrBinding = { direction: b.direction, target, fn: fnName, positional: [], named: {} };
  if (fn.memberArgs) {
    checkSequence(c, ctx, member, b, out);
  } else {
    const params = member.k === "command" ? member.params : undefined;
    if (fnName === "write" && params && params.length !== 1)
      c.report("OFL4012", file, b.call.name.span, { name: target, count: params.length });
    const matched = matchArgs(c, ctx, `${fnName}()`, fn.args, b.call.args, b.call.name.span);
    let setTelemetry: MemberInfo | undefined;
    for (const [name, { spec: as, arg }] of matched) {
      const v = argValue(c, ctx, as, arg, member, params, setTelemetry, m);
      if (as.kind === "telemetry" && arg.value.kind === "Name") setTelemetry = m.members.get(arg.value.name.name);
      if (v !== undefined) out.named[name] = v;
    }
  }
  if (b.map) checkMap(c, ctx, member, b, out);
  return out;
}

/** Pairs call arguments with the spec: positional in order, then named. */
function matchArgs(c: Checker, ctx: Ctx, fn: string, specs: ArgSpec[], args: A.Arg[], at: A.Span): Map<string, { spec: ArgSpec; arg: A.Arg }> {
  const out = new Map<string, { spec: ArgSpec; arg: A.Arg }>();
  let pos = 0;
  for (const arg of args) {
    let spec: ArgSpec | undefined;
    if (arg.name) {
      spec = specs.find((s) => s.name === arg.name!.name);
      if (!spec) {
        c.report("OFL4007", ctx.file, arg.name.span, { fn, name: arg.name.name, allowed: specs.map((s) => `\`${s.name}\``).join(", ") || "no arguments" });
        checkArgsLoosely(c, ctx, [arg]);
        continue;
      }
    } else {
      spec = specs[pos++];
      if (!spec) {
        c.report("OFL4007", ctx.file, arg.span, { fn, name: `#${pos}`, allowed: specs.map((s) => `\`${s.name}\``).join(", ") || "no arguments" });
        checkArgsLoosely(c, ctx, [arg]);
        continue;
      }
    }
    if (out.has(spec.name)) {
      c.report("OFL4005", ctx.file, arg.span, { detail: `\`${spec.name}\` is given twice` });
      continue;
    }
    out.set(spec.name, { spec, arg });
  }
  for (const s of specs) if (s.required && !out.has(s.name)) c.report("OFL4006", ctx.file, at, { fn, name: s.name });
  return out;
}

function checkArgsLoosely(c: Checker, ctx: Ctx, args: A.Arg[]): void {
  for (const a of args) c.expr(a.value, ctx);
}

function argValue(
  c: Checker,
  ctx: Ctx,
  spec: ArgSpec,
  arg: A.Arg,
  member: MemberInfo | undefined,
  params: ParamInfo[] | undefined,
  setTelemetry?: MemberInfo,
  model?: ModelInfo,
): IrArg | undefined {
  const e = arg.value;
  const bad = (detail: string): undefined => {
    c.report("OFL4005", ctx.file, e.span, { detail });
    return undefined;
  };
  // env("NAME")
  if (e.kind === "Call" && e.callee.kind === "Name" && e.callee.name.name === "env") {
    if (spec.kind !== "secret" && spec.kind !== "string") return bad(`\`${spec.name}\` cannot come from the environment`);
    const only = e.args[0];
    if (e.args.length !== 1 || !only || only.name || only.value.kind !== "String" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(only.value.value))
      return bad('`env()` takes one string, the name of an environment variable: `env("OPCUA_PASSWORD")`');
    return { env: only.value.value };
  }
  switch (spec.kind) {
    case "string":
    case "secret": {
      if (SECRET_ARGS.has(spec.name) && e.kind === "String") {
        c.report("OFL4009", ctx.file, e.span, { name: spec.name });
        return undefined;
      }
      const t = c.expr(e, ctx);
      if (t.k === "error") return undefined;
      if (e.kind !== "String") return bad(`\`${spec.name}\` must be a string${spec.kind === "secret" ? ' or `env("NAME")`' : ""}, found ${tyText(t)}`);
      return e.value;
    }
    case "duration":
    case "number":
    case "int": {
      const want: Ty = spec.kind === "duration" ? DURATION : spec.kind === "int" ? INT : FLOAT;
      const t = c.expr(e, ctx);
      if (t.k === "error") return undefined;
      const v = c.constNumber(e);
      const ok =
        v !== undefined &&
        t.k === "num" &&
        (spec.kind === "duration" ? isTimeUnit(t.unit) : spec.kind === "int" ? t.int && t.unit.key === "" : true);
      if (!ok) return bad(`\`${spec.name}\` must be a constant ${tyText(want)}, found ${v === undefined ? "`" + exprText(e) + "`" : tyText(t)}`);
      c.coerce(e, t, want);
      return c.constValue(e) ?? undefined;
    }
    case "bool": {
      const t = c.expr(e, ctx);
      if (t.k === "error") return undefined;
      if (e.kind !== "Bool") return bad(`\`${spec.name}\` must be \`true\` or \`false\`, found ${tyText(t)}`);
      return e.value;
    }
    case "value": {
      if (!member || member.k !== "telemetry") return undefined;
      return simulatedValue(c, ctx, e, member.ty, spec.name);
    }
    case "telemetry": {
      if (e.kind !== "Name") return bad(`\`${spec.name}\` names a telemetry of the asset`);
      const t = model?.members.get(e.name.name);
      if (!t || t.k !== "telemetry") {
        const all = model ? [...model.members.values()].filter((x) => x.k === "telemetry").map((x) => x.name) : [];
        c.report("OFL4003", ctx.file, e.span, { name: e.name.name, what: "telemetry", model: model?.name ?? "?", hint: hint(e.name.name, all) });
        return undefined;
      }
      c.reference(ctx.file, e.span, t.name, { file: t.owner.file, span: t.decl.name.span });
      return t.name;
    }
    case "commandValue": {
      if (!setTelemetry || setTelemetry.k !== "telemetry") {
        c.expr(e, ctx);
        return undefined;
      }
      // a parameter of the command, or a constant of the telemetry's type
      if (e.kind === "Name" && params?.some((p) => p.name === e.name.name)) {
        const p = params.find((q) => q.name === e.name.name)!;
        const pctx: Ctx = { ...ctx, params: new Map([[p.name, p]]) };
        const t = c.expr(e, pctx, setTelemetry.ty);
        if (t.k !== "error" && !c.coerce(e, t, setTelemetry.ty)) return bad(`parameter \`${p.name}\` is ${tyText(t)} but \`${setTelemetry.name}\` is ${tyText(setTelemetry.ty)}`);
        return { param: p.name };
      }
      return simulatedValue(c, ctx, e, setTelemetry.ty, spec.name);
    }
  }
}

/** A constant for a simulated telemetry: its type, numbers in its unit (a bare number is taken in that unit). */
function simulatedValue(c: Checker, ctx: Ctx, e: A.Expr, ty: Ty, what: string): IrArg | undefined {
  if (ty.k === "num") {
    const t = c.expr(e, ctx, ty);
    if (t.k === "error") return undefined;
    if (t.k === "num" && t.unit.key === "" && c.constNumber(e) !== undefined) return c.constValue(e) ?? undefined;
    const r = c.constant(e, ctx, num(false, ty.unit), `\`${what}\``);
    return r.k === "error" ? undefined : (c.constValue(e) ?? undefined);
  }
  const r = c.constant(e, ctx, ty, `\`${what}\``);
  return r.k === "error" ? undefined : (c.constValue(e) ?? undefined);
}

function checkSequence(c: Checker, ctx: Ctx, member: MemberInfo, b: A.Binding, out: IrBinding): void {
  if (member.k !== "telemetry" || member.ty.k !== "enum") {
    c.report("OFL4005", ctx.file, b.call.name.span, { detail: `\`sequence(MEMBER: duration, …)\` drives an enum telemetry; \`${member.name}\` is ${member.k === "telemetry" ? tyText(member.ty) : "a command"}` });
    return;
  }
  const en = c.p.globals.get(member.ty.name);
  const members = en?.kind === "enum" ? en.members : [];
  if (b.call.args.length === 0) c.report("OFL4006", ctx.file, b.call.name.span, { fn: "sequence()", name: "MEMBER: duration" });
  for (const arg of b.call.args) {
    if (!arg.name) {
      c.report("OFL4005", ctx.file, arg.span, { detail: "`sequence()` takes `MEMBER: duration` pairs, e.g. `sequence(READY: 10s, ACTIVE: 50s)`" });
      continue;
    }
    if (!members.includes(arg.name.name)) {
      c.report("OFL2005", ctx.file, arg.name.span, { name: arg.name.name, enum: member.ty.name, hint: hint(arg.name.name, members) });
      continue;
    }
    const ms = c.constDuration(arg.value, ctx, `the time in \`${arg.name.name}\``);
    if (ms !== undefined && ms <= 0) c.report("OFL4005", ctx.file, arg.value.span, { detail: "each step of a sequence lasts more than zero" });
    else if (ms !== undefined) out.named[arg.name.name] = ms;
  }
}

function checkMap(c: Checker, ctx: Ctx, member: MemberInfo, b: A.Binding, out: IrBinding): void {
  if (member.k !== "telemetry" || member.ty.k !== "enum") {
    c.report("OFL4011", ctx.file, b.span, { detail: `\`map\` translates device values to enum members, but \`${member.name}\` is not an enum telemetry` });
    return;
  }
  const en = c.p.globals.get(member.ty.name);
  const members = en?.kind === "enum" ? en.members : [];
  const seen = new Set<string>();
  out.map = [];
  for (const entry of b.map ?? []) {
    const k = entry.key;
    const raw =
      k.kind === "String" ? k.value : k.kind === "Number" ? k.text : k.kind === "Bool" ? String(k.value) : k.operand.kind === "Number" ? `-${k.operand.text}` : undefined;
    if (raw === undefined) {
      c.report("OFL4011", ctx.file, k.span, { detail: "a map key is a number, a string or a boolean" });
      continue;
    }
    if (seen.has(raw)) {
      c.report("OFL4011", ctx.file, k.span, { detail: `the device value ${raw} is mapped twice` });
      continue;
    }
    seen.add(raw);
    if (!members.includes(entry.member.name)) {
      c.report("OFL2005", ctx.file, entry.member.span, { name: entry.member.name, enum: member.ty.name, hint: hint(entry.member.name, members) });
      continue;
    }
    out.map.push([raw, entry.member.name]);
  }
}

