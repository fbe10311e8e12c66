// Placement: where each declaration of a program runs in a Kafka deployment (spec §8): in ksqlDB
// or in the rule worker, and why. One answer per declaration, read by the ksqlDB emitter's plan,
// `ofl build --explain` and the language server's hover (issue 16, item 1).
//
// Invariant: `place(ir)` is pure and deterministic: the same IR gives the same list, in the
// emitter's order (per model: states, alarms, commands; then views; then rules).
//
// How it decides today: a declaration runs in ksqlDB exactly when the ksqlDB translation can
// express it, so placement is computed by that translation (compiler/emit/ksql/emit.ts) run once
// per IR and cached; the hover no longer re-derives it from the AST. Not yet done: the decision
// as its own predicates, with the translation reading them instead of throwing `NotKsql`.
import type { IrProgram } from "../ir/types.js";
import { emitKsql, type KsqlPlacement } from "../emit/ksql/emit.js";

export type Placement = KsqlPlacement;

/** Where each declaration runs, with its reason (states, alarms, commands, views, rules). */
export function place(ir: IrProgram): readonly Placement[] {
  let ps = cache.get(ir);
  if (!ps) cache.set(ir, (ps = Object.freeze(emitKsql(ir).placement.map((p) => Object.freeze({ ...p })))));
  return ps;
}

const cache = new WeakMap<IrProgram, readonly Placement[]>();

/** `place(ir)` by declaration name (`Model.member`, `view NAME`, `rule NAME`). */
export function placementByDeclaration(ir: IrProgram): ReadonlyMap<string, Placement> {
  return new Map(place(ir).map((p) => [p.declaration, p]));
}

/**
 * How hover words a placement: `ksqlDB` or `the rule worker`, then the reason as
 * `ofl build --explain` prints it (without its closing ": runs in the rule worker").
 */
export function placementText(p: Placement): string {
  return `${p.runsOn === "ksqldb" ? "ksqlDB" : "the rule worker"}: ${p.reason.replace(/: runs in the rule worker$/, "")}`;
}
