// The program a session replay needs: `ofl test --replay` reports decisions (rule-issued commands,
// alarm transitions) and dead letters, so states and views nothing decided depends on are left
// out (a state only shown on the dashboard, a view only written to Kafka). What is kept computes
// exactly as in the whole program: a left-out state or view is read by nothing kept, so no kept
// cell, rank order (Kahn's order restricted to the kept nodes is the same), timer order or
// correlation id changes. The one thing a left-out node could still reach is `changed(x)`, which
// is true until the next pass touching x's asset, and a left-out timer firing is such a pass: a
// program that uses `changed` is replayed whole.
import type { IrAlarm, IrExpr, IrModel, IrProgram, IrRule, IrState } from "../../compiler/ir/types.js";

export function decisionProgram(ir: IrProgram): IrProgram {
  if (uses(ir, "changed")) return ir;
  return pruned(ir, { rules: ir.rules, alarm: () => true, state: () => false });
}

/**
 * The program the cross stage of a partitioned deployment runs (runtime/worker/cross.ts, and a
 * replay of a session of every partition): the states, alarms and rules it decides
 * (runtime/wire/partitions.ts, `crossDecisions`), every interlock (its rules' commands are
 * checked there), and what those read, through states, alarms and views; the rest is decided by
 * the partitions. Left out as above, on the same argument; a program using `changed` is whole.
 */
export function crossStageProgram(ir: IrProgram, cross: { states: Set<string>; alarms: Set<string>; rules: Set<string> }): IrProgram {
  if (uses(ir, "changed")) return ir;
  return pruned(ir, {
    rules: ir.rules.filter((r) => cross.rules.has(r.name)),
    alarm: (m, a) => cross.alarms.has(`${m.name}.${a.name}`),
    state: (m, s) => cross.states.has(`${m.name}.${s.name}`),
  });
}

/** The program of `roots` (rules kept, alarms and states kept for themselves) and what they read. */
function pruned(ir: IrProgram, roots: { rules: IrRule[]; alarm: (m: IrModel, a: IrAlarm) => boolean; state: (m: IrModel, s: IrState) => boolean }): IrProgram {
  const modelOf = new Map(ir.assets.map((a) => [a.name, a.model]));
  const models = new Map(ir.models.map((m) => [m.name, m]));
  /** the models whose assets an `on M` rule or a `from M` view covers */
  const covering = (name: string): IrModel[] => ir.models.filter((m) => m.lineage.includes(name));
  const needed = new Map<string, Set<string>>(ir.models.map((m) => [m.name, new Set<string>()]));
  const alarms = new Map<string, Set<string>>(ir.models.map((m) => [m.name, new Set<string>()]));
  const views = new Set<string>();
  const work: { model: IrModel; state: IrState }[] = [];
  const viewWork: string[] = [];

  /** marks what `node` reads, `self` refs resolving in each of `selves` */
  const reads = (node: unknown, selves: IrModel[]): void => {
    if (Array.isArray(node)) {
      for (const x of node) reads(x, selves);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const o = node as Record<string, unknown>;
    if (o["k"] === "ref" && (o["kind"] === "state" || o["kind"] === "alarm") && typeof o["name"] === "string") {
      const owner = typeof o["asset"] === "string" ? [models.get(modelOf.get(o["asset"]) ?? "")].filter((m) => m !== undefined) : selves;
      for (const m of owner) (o["kind"] === "state" ? need : needAlarm)(m, o["name"]);
    }
    if (o["k"] === "view" && typeof o["name"] === "string" && !views.has(o["name"])) {
      views.add(o["name"]);
      viewWork.push(o["name"]);
    }
    for (const v of Object.values(o)) reads(v, selves);
  };
  const need = (m: IrModel, name: string): void => {
    const set = needed.get(m.name)!;
    if (set.has(name)) return;
    set.add(name);
    const state = m.states.find((s) => s.name === name);
    if (state) work.push({ model: m, state });
  };
  const needAlarm = (m: IrModel, name: string): void => {
    const set = alarms.get(m.name)!;
    if (set.has(name)) return;
    set.add(name);
    const alarm = m.alarms.find((a) => a.name === name);
    if (alarm) reads([alarm.when, alarm.clear ?? null], [m]);
  };

  // the roots: their alarms, states and rules, and every interlock (conditions, hidden states, arguments)
  for (const m of ir.models) {
    for (const a of m.alarms) if (roots.alarm(m, a)) needAlarm(m, a.name);
    for (const s of m.states) if (roots.state(m, s)) need(m, s.name);
    reads(m.commands.map((c) => c.requires ?? null), [m]);
  }
  for (const r of roots.rules) reads([r.when, r.locals, r.actions], r.on === undefined ? [] : covering(r.on));
  for (;;) {
    const s = work.pop();
    if (s) {
      reads([s.state.def, s.state.dependsOn.map((name) => ({ k: "ref", asset: null, kind: "state", name }))], [s.model]);
      continue;
    }
    const v = viewWork.pop();
    if (v === undefined) break;
    const view = ir.views.find((x) => x.name === v);
    if (view) reads([view.where ?? null, view.arg ?? null], covering(view.from));
  }
  return {
    ...ir,
    models: ir.models.map((m) => ({ ...m, states: m.states.filter((s) => needed.get(m.name)!.has(s.name)), alarms: m.alarms.filter((a) => alarms.get(m.name)!.has(a.name)) })),
    rules: roots.rules,
    views: ir.views.filter((v) => views.has(v.name)),
  };
}

/** Whether any expression of the program has node kind `k`. */
function uses(ir: IrProgram, k: IrExpr["k"]): boolean {
  const seen = (node: unknown): boolean => {
    if (Array.isArray(node)) return node.some(seen);
    if (node === null || typeof node !== "object") return false;
    const o = node as Record<string, unknown>;
    return o["k"] === k || Object.values(o).some(seen);
  };
  return seen([ir.models, ir.rules, ir.views]);
}
