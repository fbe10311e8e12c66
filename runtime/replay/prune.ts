// The program a session replay needs: `ofl test --replay` reports decisions (rule-issued commands,
// alarm transitions) and dead letters, so states and views nothing decided depends on are left
// out (a state only shown on the dashboard, a view only written to Kafka). What is kept computes
// exactly as in the whole program: a left-out state or view is read by nothing kept, so no kept
// cell, rank order (Kahn's order restricted to the kept nodes is the same), timer order or
// correlation id changes. The one thing a left-out node could still reach is `changed(x)`, which
// is true until the next pass touching x's asset, and a left-out timer firing is such a pass: a
// program that uses `changed` is replayed whole.
import type { IrExpr, IrModel, IrProgram, IrState } from "../../compiler/ir/types.js";

export function decisionProgram(ir: IrProgram): IrProgram {
  if (uses(ir, "changed")) return ir;
  const modelOf = new Map(ir.assets.map((a) => [a.name, a.model]));
  const models = new Map(ir.models.map((m) => [m.name, m]));
  /** the models whose assets an `on M` rule or a `from M` view covers */
  const covering = (name: string): IrModel[] => ir.models.filter((m) => m.lineage.includes(name));
  const needed = new Map<string, Set<string>>(ir.models.map((m) => [m.name, new Set<string>()]));
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
    if (o["k"] === "ref" && o["kind"] === "state" && typeof o["name"] === "string") {
      const owner = typeof o["asset"] === "string" ? [models.get(modelOf.get(o["asset"]) ?? "")].filter((m) => m !== undefined) : selves;
      for (const m of owner) need(m, o["name"]);
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

  // what decisions read: alarms, interlocks, rules (conditions, their hidden states, arguments)
  for (const m of ir.models) reads([m.alarms, m.commands.map((c) => c.requires ?? null)], [m]);
  for (const r of ir.rules) reads([r.when, r.locals, r.actions], r.on === undefined ? [] : covering(r.on));
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
    models: ir.models.map((m) => ({ ...m, states: m.states.filter((s) => needed.get(m.name)!.has(s.name)) })),
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
