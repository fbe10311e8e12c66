// Terse builders for hand-made IrPrograms and WireEvents, and a small harness around Engine.

import type {
  IrAction,
  IrAggFn,
  IrAggregate,
  IrAlarm,
  IrAsset,
  IrBinaryOp,
  IrCommand,
  IrExpr,
  IrModel,
  IrParam,
  IrProgram,
  IrRef,
  IrRule,
  IrState,
  IrStatefulDef,
  IrType,
  IrView,
  IrWindow,
  Value,
} from "../../../compiler/ir/types.js";
import { Engine } from "../../../runtime/engine/index.js";
import type { CommandEnvelope, LogRecord, NewRecord, WireEvent } from "../../../runtime/wire/types.js";

// ---------------------------------------------------------------- types

export const F: IrType = { t: "float" };
export const I: IrType = { t: "int" };
export const B: IrType = { t: "bool" };
export const S: IrType = { t: "string" };
export const E = (name: string): IrType => ({ t: "enum", name });

// ---------------------------------------------------------------- expressions

export const c = (value: Value): IrExpr => ({ k: "const", value });
export const sig = (name: string, asset: string | null = null): IrRef => ({ k: "ref", asset, kind: "signal", name });
export const st = (name: string, asset: string | null = null): IrRef => ({ k: "ref", asset, kind: "state", name });
export const attr = (name: string, asset: string | null = null): IrRef => ({ k: "ref", asset, kind: "attr", name });
export const alarmRef = (name: string, asset: string | null = null): IrRef => ({ k: "ref", asset, kind: "alarm", name });
export const param = (name: string): IrRef => ({ k: "ref", asset: null, kind: "param", name });
export const view = (name: string, group?: IrExpr): IrExpr => (group === undefined ? { k: "view", name } : { k: "view", name, group });
export const bin = (op: IrBinaryOp, left: IrExpr, right: IrExpr): IrExpr => ({ k: "binary", op, left, right });
export const gt = (l: IrExpr, r: IrExpr | number): IrExpr => bin("gt", l, typeof r === "number" ? c(r) : r);
export const ge = (l: IrExpr, r: IrExpr | number): IrExpr => bin("ge", l, typeof r === "number" ? c(r) : r);
export const lt = (l: IrExpr, r: IrExpr | number): IrExpr => bin("lt", l, typeof r === "number" ? c(r) : r);
export const le = (l: IrExpr, r: IrExpr | number): IrExpr => bin("le", l, typeof r === "number" ? c(r) : r);
export const eq = (l: IrExpr, r: IrExpr | Value): IrExpr => bin("eq", l, isExpr(r) ? r : c(r));
export const ne = (l: IrExpr, r: IrExpr | Value): IrExpr => bin("ne", l, isExpr(r) ? r : c(r));
export const and = (l: IrExpr, r: IrExpr): IrExpr => bin("and", l, r);
export const or = (l: IrExpr, r: IrExpr): IrExpr => bin("or", l, r);
export const add = (l: IrExpr, r: IrExpr): IrExpr => bin("add", l, r);
export const mul = (l: IrExpr, r: IrExpr): IrExpr => bin("mul", l, r);
export const not = (arg: IrExpr): IrExpr => ({ k: "unary", op: "not", arg });
export const known = (arg: IrExpr): IrExpr => ({ k: "known", arg });
export const previous = (ref: IrRef): IrExpr => ({ k: "previous", ref });
export const changed = (ref: IrRef): IrExpr => ({ k: "changed", ref });
export const scale = (factor: number, arg: IrExpr): IrExpr => ({ k: "scale", factor, arg });
export const age = (ref: IrRef, op: "lt" | "le" | "gt" | "ge" | "eq" | "ne", ms: number): IrExpr => ({ k: "age_cmp", ref, op, duration: c(ms) });

function isExpr(x: unknown): x is IrExpr {
  return typeof x === "object" && x !== null && "k" in x;
}

// ---------------------------------------------------------------- declarations

export const state = (name: string, def: IrExpr | IrStatefulDef, type: IrType = F, hidden = false): IrState => ({
  name,
  hidden,
  type,
  def,
  dependsOn: [],
});
export const forDef = (cond: IrExpr, ms: number): IrStatefulDef => ({ k: "for", cond, ms });
export const tumbling = (sizeMs: number, graceMs = 0): IrWindow => ({ kind: "tumbling", sizeMs, graceMs });
export const hopping = (sizeMs: number, hopMs: number, graceMs = 0): IrWindow => ({ kind: "hopping", sizeMs, hopMs, graceMs });
export const session = (gapMs: number, graceMs = 0): IrWindow => ({ kind: "session", sizeMs: gapMs, graceMs });
export const agg = (fn: IrAggFn, arg: IrExpr | undefined, window: IrWindow, opts: { final?: boolean; triggers?: string[] } = {}): IrStatefulDef => {
  const a: IrAggregate = { fn, window, final: opts.final ?? false, triggers: opts.triggers ?? triggersOf(arg) };
  if (arg !== undefined) a.arg = arg;
  return { k: "window", agg: a };
};

/** the signals an expression reads directly (enough for hand-made tests) */
export function triggersOf(e: IrExpr | undefined): string[] {
  const out: string[] = [];
  const walk = (x: IrExpr): void => {
    switch (x.k) {
      case "ref":
        if (x.kind === "signal" && !out.includes(x.name)) out.push(x.name);
        return;
      case "unary":
      case "scale":
      case "known":
        return walk(x.arg);
      case "binary":
        walk(x.left);
        return walk(x.right);
      case "if":
        walk(x.cond);
        walk(x.then);
        return walk(x.else);
      case "call":
        return x.args.forEach(walk);
      default:
        return;
    }
  };
  if (e !== undefined) walk(e);
  return out;
}

export const alarm = (name: string, when: IrExpr, clear?: IrExpr): IrAlarm =>
  clear === undefined ? { name, severity: "high", when } : { name, severity: "high", when, clear };
export const command = (name: string, params: IrParam[] = [], requires?: IrExpr): IrCommand =>
  requires === undefined ? { name, params } : { name, params, requires };

export interface ModelSpec {
  extends?: string[];
  attributes?: Record<string, IrType>;
  telemetry?: Record<string, IrType | [IrType, [number, number]]>;
  states?: IrState[];
  alarms?: IrAlarm[];
  commands?: IrCommand[];
}

export function model(name: string, spec: ModelSpec): IrModel {
  return {
    name,
    lineage: [name, ...(spec.extends ?? [])],
    attributes: Object.entries(spec.attributes ?? {}).map(([n, type]) => ({ name: n, type })),
    telemetry: Object.entries(spec.telemetry ?? {}).map(([n, t]) =>
      Array.isArray(t) ? { name: n, type: t[0], range: t[1] } : { name: n, type: t },
    ),
    states: spec.states ?? [],
    alarms: spec.alarms ?? [],
    commands: spec.commands ?? [],
  };
}

export function asset(name: string, modelName: string, uuid: string, attributes: Record<string, Value> = {}, map?: Record<string, [string, string][]>): IrAsset {
  const bindings = Object.entries(map ?? {}).map(([target, m]) => ({
    direction: "telemetry" as const,
    target,
    fn: "node",
    positional: [],
    named: {},
    map: m,
  }));
  return { name, uuid, model: modelName, attributes, sources: bindings.length ? [{ kind: "opcua", positional: [], named: {}, bindings }] : [] };
}

export function rule(name: string, spec: Partial<IrRule> & { when: IrExpr; actions: IrAction[] }): IrRule {
  return { name, shadow: false, locals: [], ...spec };
}

export const act = (commandName: string, args: Record<string, IrExpr> = {}, assetName: string | null = null): IrAction => ({
  asset: assetName,
  command: commandName,
  args: Object.entries(args).map(([name, value]) => ({ name, value })),
});

export function tableView(name: string, fn: IrAggFn, from: string, opts: { arg?: IrExpr; where?: IrExpr; by?: string; type?: IrType } = {}): IrView {
  const v: IrView = { name, fn, from, final: false, type: opts.type ?? F, triggers: [] };
  if (opts.arg) v.arg = opts.arg;
  if (opts.where) v.where = opts.where;
  if (opts.by) v.by = opts.by;
  return v;
}

export function windowView(
  name: string,
  fn: IrAggFn,
  from: string,
  window: IrWindow,
  opts: { arg?: IrExpr; where?: IrExpr; by?: string; final?: boolean; triggers?: string[] } = {},
): IrView {
  const v: IrView = { name, fn, from, final: opts.final ?? false, type: F, window, triggers: opts.triggers ?? triggersOf(opts.arg) };
  if (opts.arg) v.arg = opts.arg;
  if (opts.where) v.where = opts.where;
  if (opts.by) v.by = opts.by;
  return v;
}

export function program(
  name: string,
  parts: { enums?: Record<string, string[]>; models: IrModel[]; assets: IrAsset[]; views?: IrView[]; rules?: IrRule[] },
): IrProgram {
  return {
    ir: 1,
    program: name,
    enums: Object.entries(parts.enums ?? {}).map(([n, members]) => ({ name: n, members })),
    models: parts.models,
    assets: parts.assets,
    views: parts.views ?? [],
    rules: parts.rules ?? [],
    tests: [],
  };
}

// ---------------------------------------------------------------- events and harness

export interface Cmd {
  key: string;
  command: string;
  envelope: CommandEnvelope;
  ts: number;
}
export interface Result {
  key: string;
  command: string;
  correlation_id: string;
  status: string;
  reason?: string;
  ts: number;
}

/** An engine plus a log-like offset counter and parsed views of its outputs. */
export class Sim {
  readonly out: NewRecord[] = [];
  readonly engine: Engine;
  offset = 0;
  constructor(
    readonly program: IrProgram,
    senderUuid?: string,
  ) {
    this.engine = new Engine({ program, senderUuid, onOutput: (r) => this.out.push(r) });
  }

  private rec(key: string | null, value: unknown, ts: number): LogRecord {
    return { topic: "ofa_assets", partition: 0, offset: this.offset++, ts, key, value };
  }

  /** a telemetry record (VALUE text; numbers/bools/null converted) at `ms` */
  tel(key: string, id: string, value: Value, ms: number): this {
    const text = value === null ? "UNAVAILABLE" : String(value);
    const record = this.rec(key, { ID: id, VALUE: text, TAG: id, TYPE: "Samples", attributes: { timestamp: new Date(ms).toISOString() } }, ms);
    this.engine.process({ kind: "telemetry", partition: 0, offset: record.offset, key, time: ms, record, id, value: text, tag: id, type: "Samples" });
    return this;
  }
  avail(key: string, available: boolean, ms: number): this {
    const record = this.rec(key, { ID: "avail", VALUE: available ? "AVAILABLE" : "UNAVAILABLE" }, ms);
    this.engine.process({ kind: "avail", partition: 0, offset: record.offset, key, time: ms, record, available });
    return this;
  }
  clock(ms: number, key = "OFL-clock"): this {
    const record = this.rec(key, { ID: "clock" }, ms);
    this.engine.process({ kind: "clock", partition: 0, offset: record.offset, key, time: ms, record });
    return this;
  }
  send(key: string, commandName: string, args: Record<string, string>, ms: number, cid = `op-${this.offset}`): this {
    const envelope: CommandEnvelope = {
      header: { correlation_id: cid, sender_uuid: "operator", timestamp: new Date(ms).toISOString(), signature: null },
      arguments: args,
    };
    const record = this.rec(key, { ID: `${commandName}_CMD` }, ms);
    this.engine.process({ kind: "operator_command", partition: 0, offset: record.offset, key, time: ms, record, command: commandName, envelope });
    return this;
  }
  bad(detail: string): this {
    const record = this.rec(null, "garbage", 0);
    this.engine.process({ kind: "bad", partition: 0, offset: record.offset, key: null, detail, record });
    return this;
  }
  raw(ev: WireEvent): this {
    this.engine.process(ev);
    return this;
  }
  at(ms: number): this {
    this.engine.advanceTo(ms);
    return this;
  }
  eval(e: IrExpr): Value {
    return this.engine.evaluate(e);
  }

  get commands(): Cmd[] {
    return this.out
      .filter((r) => r.topic === "ofa_assets" && (r.value as { TAG: string }).TAG === "Method.Command")
      .map((r) => {
        const v = r.value as { ID: string; VALUE: string };
        return { key: r.key!, command: v.ID.slice(0, -4), envelope: JSON.parse(v.VALUE) as CommandEnvelope, ts: r.ts };
      });
  }
  get results(): Result[] {
    return this.out
      .filter((r) => r.topic === "ofa_assets" && (r.value as { TAG: string }).TAG === "Method.Result")
      .map((r) => {
        const v = r.value as { ID: string; VALUE: string };
        return { key: r.key!, command: v.ID.slice(0, -7), ...JSON.parse(v.VALUE), ts: r.ts };
      });
  }
  get deadletters(): { key: string | null; reason: string; detail: string; ts: number }[] {
    return this.out
      .filter((r) => r.topic === "ofl_deadletter")
      .map((r) => ({ key: r.key, ...(r.value as { reason: string; detail: string }), ts: r.ts }));
  }
  /** records of a TAG (Derived, Alarm) as [key, ID, VALUE, ts] */
  records(tag: string): [string, string, string, number][] {
    return this.out
      .filter((r) => r.topic === "ofa_assets" && (r.value as { TAG: string }).TAG === tag)
      .map((r) => {
        const v = r.value as { ID: string; VALUE: string };
        return [r.key!, v.ID, v.VALUE, r.ts];
      });
  }
  /** commands as `key.command@ts` (shadow marked) for compact assertions */
  cmdList(): string[] {
    return this.commands.map((x) => `${x.key}.${x.command}${x.envelope.header.shadow ? "[shadow]" : ""}@${x.ts}`);
  }
}

/**
 * Runs a test-block-like scenario: `lines` are `at` lines (non-decreasing times), `checks` are
 * observations; each check at T runs after every line with time <= T and timers up to T. At the
 * end, timers up to `endMs` fire.
 */
export function scenario(sim: Sim, lines: [number, (s: Sim) => void][], checks: [number, (s: Sim) => void][], endMs?: number): Sim {
  const cs = checks.map((x, i) => ({ t: x[0], f: x[1], i })).sort((a, b) => a.t - b.t || a.i - b.i);
  let li = 0;
  for (const ch of cs) {
    while (li < lines.length && lines[li]![0] <= ch.t) lines[li++]![1](sim);
    sim.at(ch.t);
    ch.f(sim);
  }
  while (li < lines.length) lines[li++]![1](sim);
  const end = Math.max(endMs ?? -Infinity, ...lines.map((l) => l[0]), ...checks.map((c) => c[0]));
  sim.at(end);
  return sim;
}
