// Placement: where each declaration of a program runs in a Kafka deployment (spec §8): in ksqlDB
// or in the rule worker, and why. One answer per declaration, computed here from the IR alone and
// read by the ksqlDB emitter (it emits statements for what is placed on ksqlDB, and nothing
// else), `ofl build --explain` (through the emitter's plan) and the language server's hover
// (issue 16, item 1).
//
// Invariants: `place(ir)` is pure and deterministic: the same IR gives the same list, in this
// order: per model its states, alarms and commands; then views; then rules. A declaration is
// placed on ksqlDB exactly when the translation (compiler/emit/ksql/translate.ts) expresses it:
// this stage runs the translation of its expressions, the emitter runs it again to build SQL,
// and a disagreement is an internal error of the emitter, never a silent move.
import type { IrAsset, IrModel, IrProgram, IrRule, IrState, IrView } from "../ir/types.js";
import { aggregate, full, NotKsql, tx, windowText, worker, type ExprCtx } from "../emit/ksql/translate.js";

export interface Placement {
  /** `Model.member`, `view NAME` or `rule NAME` */
  declaration: string;
  runsOn: "ksqldb" | "worker";
  /** why (the emitter's plan adds the ksqlDB object's name after a colon) */
  reason: string;
}

const WORKER = ": runs in the rule worker";

/** Where each declaration runs, with its reason (states, alarms, commands, views, rules). */
export function place(ir: IrProgram): readonly Placement[] {
  let ps = cache.get(ir);
  if (!ps) cache.set(ir, (ps = Object.freeze(compute(ir).map((p) => Object.freeze(p)))));
  return ps;
}

const cache = new WeakMap<IrProgram, readonly Placement[]>();

/** `place(ir)` by declaration name (`Model.member`, `view NAME`, `rule NAME`). */
export function placementByDeclaration(ir: IrProgram): ReadonlyMap<string, Placement> {
  return new Map(place(ir).map((p) => [p.declaration, p]));
}

/**
 * How hover words a placement: `ksqlDB` or `the rule worker`, then the reason as
 * `ofl build --explain` prints it (without its closing ": runs in the rule worker" and the
 * ksqlDB object's name).
 */
export function placementText(p: Placement): string {
  return `${p.runsOn === "ksqldb" ? "ksqlDB" : "the rule worker"}: ${p.reason.replace(/: runs in the rule worker$/, "")}`;
}

/** Concrete models (with assets) that are `from` or a sub-model of it, in asset order. */
export function concreteModels(ir: IrProgram, from: string): string[] {
  const seen: string[] = [];
  for (const a of ir.assets) {
    const m = ir.models.find((x) => x.name === a.model);
    if (m && m.lineage.includes(from) && !seen.includes(m.name)) seen.push(m.name);
  }
  return seen;
}

function compute(ir: IrProgram): Placement[] {
  const out: Placement[] = [];
  for (const m of ir.models) {
    const assets = ir.assets.filter((a) => a.model === m.name);
    for (const s of m.states) if (!s.hidden) out.push(placeState(m, assets, s));
    for (const a of m.alarms)
      out.push({
        declaration: `${m.name}.${a.name}`,
        runsOn: "worker",
        reason: `an alarm is raised and cleared on transitions${a.clear ? " with hysteresis (`clear when`)" : ""} and acknowledged${WORKER}`,
      });
    for (const c of m.commands)
      out.push({
        declaration: `${m.name}.${c.name}`,
        runsOn: "worker",
        reason: c.requires ? `the interlock (\`requires\`) and dispatch need current state and the connector${WORKER}` : `command dispatch goes through the connector${WORKER}`,
      });
  }
  for (const v of ir.views) out.push(placeView(ir, v));
  for (const r of ir.rules) out.push({ declaration: `rule ${r.name}`, runsOn: "worker", reason: ruleReason(r) });
  return out;
}

/** Runs `decide`; a construct the translation cannot express places the declaration in the rule worker, with why. */
function decided(declaration: string, decide: () => string): Placement {
  try {
    return { declaration, runsOn: "ksqldb", reason: decide() };
  } catch (err) {
    if (!(err instanceof NotKsql)) throw err;
    return { declaration, runsOn: "worker", reason: `${err.message}${WORKER}` };
  }
}

function placeState(m: IrModel, assets: IrAsset[], s: IrState): Placement {
  const declaration = `${m.name}.${s.name}`;
  if (assets.length === 0) return { declaration, runsOn: "worker", reason: `no asset of ${m.name} itself (sub-models list their own): nothing for ksqlDB` };
  if (m.telemetry.length === 0) return { declaration, runsOn: "worker", reason: `${m.name} has no telemetry${WORKER}` };
  return decided(declaration, () => {
    const ctx: ExprCtx = { model: m, assets, signals: new Set(), inlining: new Set([s.name]) };
    const def = s.def;
    if ("k" in def && def.k === "for") worker("`for` needs a timer");
    if ("k" in def && def.k === "window") {
      const agg = def.agg;
      const arg = agg.arg ? tx(agg.arg, ctx) : undefined;
      if (ctx.signals.size > 1) worker(`aggregates an expression over several signals (${[...ctx.signals].join(", ")}): each event needs the asset's other latest values`);
      aggregate(agg.fn, arg, false);
      return `windowed aggregate (${agg.fn} over ${windowText(agg.window)}, ${agg.final ? "EMIT FINAL" : "EMIT CHANGES"})`;
    }
    full(tx(def, ctx));
    return "pointwise over the latest values";
  });
}

function placeView(ir: IrProgram, v: IrView): Placement {
  return decided(`view ${v.name}`, () => {
    const ms = concreteModels(ir, v.from);
    if (ms.length === 0) worker(`no asset of ${v.from}: nothing for ksqlDB to aggregate`);
    if (ms.length > 1) worker(`spans the models ${ms.join(", ")}: ksqlDB would need a union of their streams (INSERT INTO, not idempotent)`);
    const m = ir.models.find((x) => x.name === ms[0])!;
    if (m.telemetry.length === 0) worker(`${m.name} has no telemetry`);
    const ctx: ExprCtx = { model: m, assets: ir.assets.filter((a) => a.model === m.name), signals: new Set(), inlining: new Set() };
    const arg = v.arg ? tx(v.arg, ctx) : undefined;
    if (v.where) tx(v.where, ctx);
    aggregate(v.fn, arg, v.window === undefined);
    const by = v.by ? ` by ${v.by}` : "";
    if (!v.window) return `table aggregation of the current values of ${m.name} assets${by}`;
    if (ctx.signals.size > 1) worker(`reads several signals (${[...ctx.signals].join(", ")}) per event: each event needs the asset's other latest values`);
    return `windowed aggregate across ${m.name} assets${by} (${v.fn} over ${windowText(v.window)})`;
  });
}

/** Rules always run in the rule worker: edges, cooldowns, repeats and interlocked commands. */
function ruleReason(r: IrRule): string {
  const parts = ["fires on the rising edge of its condition"];
  if (r.cooldownMs !== undefined) parts.push("keeps a cooldown");
  if (r.repeatMs !== undefined) parts.push("repeats on a timer");
  parts.push("and issues commands through the interlocks");
  return `${parts.join(", ")}${WORKER}`;
}
