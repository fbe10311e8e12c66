// A program over a partitioned `ofa_assets` (issue 14; docs/deploy.md "Partitions"). Records are
// keyed by asset uuid, so Kafka's default partitioner puts everything of one asset on one
// partition: its telemetry, its derived values and alarms, the commands addressed to it. Each
// partition is decided by the program restricted to its assets (`partitionProgram`), with its own
// stream time. That is exact for logic that never reads across partitions. What does (states,
// alarms and rules that read a view, or read or command an asset of another partition, or read a
// state that does: `crossDecisions`) is decided by the cross stage instead (runtime/worker/
// cross.ts): the whole program over every partition's inputs merged by event time
// (runtime/wire/merge.ts), writing only those declarations' outputs. An interlock that reads
// across partitions has no place to be checked (an operator's command is checked where its asset
// is decided): `ofl build --partitions P` refuses it. With one partition the program is the
// whole program: nothing changes.
import type { IrAsset, IrModel, IrProgram, IrRef, IrRule } from "../../compiler/ir/types.js";
// kafkajs's murmur2 (the Java client's), without loading the rest of kafkajs (ofl test and
// ofl state replay partitions too)
import murmur2 from "kafkajs/src/producer/partitioners/default/murmur2.js";
import type { NewRecord } from "./types.js";

/**
 * The partition Kafka's default partitioner gives a key among `partitions`: murmur2 of its UTF-8
 * bytes, made positive, modulo the count (Java's BuiltInPartitioner.partitionForKey, kafkajs's
 * DefaultPartitioner; test/integration/kafka/partitions.test.ts checks it against the Java
 * client's code).
 */
export function partitionOfKey(key: string, partitions: number): number {
  if (partitions <= 1) return 0;
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/** The partition of `ofa_assets` an asset's records go to. */
export function assetPartition(asset: Pick<IrAsset, "uuid">, partitions: number): number {
  return partitionOfKey(asset.uuid, partitions);
}

interface References {
  /** asset names (`mill2.temp`, `mill2.stop()`) */
  assets: Set<string>;
  views: Set<string>;
  /** reads of states and alarms (`asset` null: the declaration's own asset) */
  refs: IrRef[];
}

/** What an IR subtree refers to: assets by name, views, states and alarms. */
function references(node: unknown, into: References = { assets: new Set(), views: new Set(), refs: [] }): References {
  if (Array.isArray(node)) for (const x of node) references(x, into);
  else if (node !== null && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (o["k"] === "ref") {
      const r = o as unknown as IrRef;
      if (typeof r.asset === "string") into.assets.add(r.asset);
      if (r.kind === "state" || r.kind === "alarm") into.refs.push(r);
    }
    if (o["k"] === "view" && typeof o["name"] === "string") into.views.add(o["name"]);
    for (const v of Object.values(o)) references(v, into);
  }
  return into;
}

/** The assets a rule is about: its `on` model's assets (instances), or the assets it names. */
function ruleAssets(ir: IrProgram, r: IrRule): { instances: IrAsset[]; named: Set<string>; views: Set<string>; refs: IrRef[] } {
  const refs = references([r.when, r.locals, r.actions]);
  for (const a of r.actions) if (a.asset !== null) refs.assets.add(a.asset);
  const instances = r.on === undefined ? [] : ir.assets.filter((a) => ir.models.find((m) => m.name === a.model)?.lineage.includes(r.on!));
  return { instances, named: refs.assets, views: refs.views, refs: refs.refs };
}

/** Where a rule without `on` runs: the partition of the assets it names (the first one's when they differ; 0 when none). */
function globalRulePartition(ir: IrProgram, named: Set<string>, partitions: number): number {
  const first = ir.assets.find((a) => named.has(a.name));
  return first ? assetPartition(first, partitions) : 0;
}

/**
 * The declarations the cross stage decides with `partitions` partitions (empty with one):
 * `Model.state` (hidden ones included) and `Model.alarm` of each concrete model, rule names.
 * `reasons`: one line per declaration, what it reads across partitions; `interlocks`: interlocks
 * that do (refused: see the top of this file).
 */
export interface CrossDecisions {
  states: Set<string>;
  alarms: Set<string>;
  rules: Set<string>;
  reasons: string[];
  interlocks: string[];
}

export function crossDecisions(ir: IrProgram, partitions: number): CrossDecisions {
  const cross: CrossDecisions = { states: new Set(), alarms: new Set(), rules: new Set(), reasons: [], interlocks: [] };
  if (partitions <= 1) return cross;
  const part = new Map(ir.assets.map((a) => [a.name, assetPartition(a, partitions)]));
  const modelOf = new Map(ir.assets.map((a) => [a.name, a.model]));
  const across = (self: IrAsset[], named: Set<string>): string | undefined => {
    const ps = new Set([...self.map((a) => part.get(a.name)!), ...[...named].map((n) => part.get(n)!)]);
    if (ps.size <= 1) return undefined;
    const names = [...new Set([...self.map((a) => a.name), ...named])];
    return names.map((n) => `${n} (partition ${part.get(n)})`).join(", ");
  };
  /** a state or alarm read (by a declaration of `own`'s assets) that the cross stage decides */
  const crossRead = (refs: IrRef[], own: string | undefined): string | undefined => {
    for (const r of refs) {
      const model = r.asset === null ? own : modelOf.get(r.asset);
      if (model === undefined) continue;
      const key = `${model}.${r.name}`;
      if (r.kind === "state" ? cross.states.has(key) : cross.alarms.has(key)) return `${r.asset === null ? "" : `${r.asset}.`}${r.name.startsWith("$") ? (r.name.split("$")[1] ?? r.name) : r.name}`;
    }
    return undefined;
  };
  const visible = (name: string): string => (name.startsWith("$") ? (name.split("$")[1] ?? name) : name);
  // what a model's states, alarms and interlocks read directly
  const decls = ir.models.flatMap((m: IrModel) => {
    const assets = ir.assets.filter((a) => a.model === m.name);
    return [
      ...m.states.map((s) => ({ m, assets, kind: "state" as const, name: s.name, refs: references(s.def) })),
      ...m.alarms.map((a) => ({ m, assets, kind: "alarm" as const, name: a.name, refs: references([a.when, a.clear]) })),
      ...m.commands.map((c) => ({ m, assets, kind: "command" as const, name: c.name, refs: references(c.requires) })),
    ];
  });
  const why = new Map<string, string>();
  // a declaration reading one the cross stage decides is the cross stage's too: to a fixed point
  for (let changed = true; changed; ) {
    changed = false;
    for (const d of decls) {
      const key = `${d.m.name}.${d.name}`;
      const set = d.kind === "state" ? cross.states : d.kind === "alarm" ? cross.alarms : undefined;
      if (set?.has(key) || (d.kind === "command" && why.has(`command ${key}`))) continue;
      let reason: string | undefined;
      if (d.refs.views.size > 0) reason = `reads view ${[...d.refs.views].join(", ")}`;
      for (const a of d.assets) {
        if (reason) break;
        const where = across([a], d.refs.assets);
        if (where) reason = `reads another partition's asset: ${where}`;
      }
      const read = reason ? undefined : crossRead(d.refs.refs, d.m.name);
      if (read) reason = `reads ${read}, decided across partitions`;
      if (!reason) continue;
      changed = true;
      const label = d.kind === "command" ? `command ${d.m.name}.${d.name} (requires)` : `${d.kind} ${d.m.name}.${visible(d.name)}`;
      if (d.kind === "command") {
        why.set(`command ${key}`, reason);
        cross.interlocks.push(`${label}: ${reason}`);
      } else {
        set!.add(key);
        // a hidden state (`$overheating$for0`) is reported as the state it was hoisted from
        why.set(label, why.get(label) ?? reason);
      }
    }
  }
  for (const r of ir.rules) {
    const { instances, named, views, refs } = ruleAssets(ir, r);
    let reason: string | undefined;
    if (views.size > 0) reason = `reads view ${[...views].join(", ")}`;
    else if (r.on !== undefined) {
      for (const a of instances) {
        const where = across([a], named);
        if (where) {
          reason = `its instance for ${a.name} reads or commands another partition's asset: ${where}`;
          break;
        }
        const read = crossRead(refs, a.model);
        if (read) {
          reason = `reads ${read}, decided across partitions`;
          break;
        }
      }
    } else {
      const where = across([], named);
      if (where) reason = `reads or commands assets of several partitions: ${where}`;
      else {
        const read = crossRead(refs, undefined);
        if (read) reason = `reads ${read}, decided across partitions`;
      }
    }
    if (!reason) continue;
    cross.rules.add(r.name);
    why.set(`rule ${r.name}`, reason);
  }
  for (const [label, reason] of why) if (!label.startsWith("command ")) cross.reasons.push(`${label}: ${reason}`);
  return cross;
}

/**
 * What cannot be decided inside one partition with `partitions` partitions: one line per
 * declaration the cross stage decides, then each interlock that reads across partitions (the
 * only ones refused). Empty: the program partitions exactly.
 */
export function crossPartition(ir: IrProgram, partitions: number): string[] {
  const c = crossDecisions(ir, partitions);
  return [...c.reasons, ...c.interlocks];
}

/** Whether the cross stage decides anything of this program with `partitions` partitions. */
export function hasCrossStage(ir: IrProgram, partitions: number): boolean {
  const c = crossDecisions(ir, partitions);
  return c.states.size + c.alarms.size + c.rules.size > 0;
}

/**
 * The program one partition decides: its assets, the rules about them, without what the cross
 * stage decides (and without views: only the cross stage's declarations read them). With one
 * partition, the program itself.
 */
export function partitionProgram(ir: IrProgram, partition: number, partitions: number): IrProgram {
  if (partitions <= 1) return ir;
  const cross = crossDecisions(ir, partitions);
  const assets = ir.assets.filter((a) => assetPartition(a, partitions) === partition);
  const rules = ir.rules.filter((r) => {
    if (cross.rules.has(r.name)) return false;
    if (r.on !== undefined) return true; // instances are made for the partition's assets only
    return globalRulePartition(ir, ruleAssets(ir, r).named, partitions) === partition;
  });
  const models = ir.models.map((m) => ({
    ...m,
    states: m.states.filter((s) => !cross.states.has(`${m.name}.${s.name}`)),
    alarms: m.alarms.filter((a) => !cross.alarms.has(`${m.name}.${a.name}`)),
  }));
  return { ...ir, assets, rules, models, views: [] };
}

/**
 * Which of an input's outputs the cross stage writes (true) and which its partition writes: a
 * derived value or alarm transition of a declaration the cross stage decides, a command of one
 * of its rules and that command's rejection. Dead letters and everything else: the partition's.
 */
export function crossOutputFilter(ir: IrProgram, partitions: number): (outputs: readonly NewRecord[]) => boolean[] {
  const cross = crossDecisions(ir, partitions);
  const modelOfUuid = new Map(ir.assets.map((a) => [a.uuid, a.model]));
  return (outputs) => {
    const crossIds = new Set<string>();
    return outputs.map((r) => {
      const v = r.value as { ID?: string; VALUE?: unknown; TAG?: string } | null;
      if (r.key === null || v === null || typeof v !== "object" || typeof v.ID !== "string") return false;
      const model = modelOfUuid.get(r.key);
      if (v.TAG === "Derived") return cross.states.has(`${model}.${v.ID}`);
      if (v.TAG === "Alarm") return cross.alarms.has(`${model}.${v.ID}`);
      if (v.TAG === "Method.Command" || v.TAG === "Method.Result") {
        const body = (typeof v.VALUE === "string" ? JSON.parse(v.VALUE) : v.VALUE) as { header?: { rule?: string; correlation_id?: string }; correlation_id?: string };
        if (v.TAG === "Method.Result") return crossIds.has(body.correlation_id ?? "");
        if (!cross.rules.has(body.header?.rule ?? "")) return false;
        crossIds.add(body.header?.correlation_id ?? "");
        return true;
      }
      return false;
    });
  };
}
