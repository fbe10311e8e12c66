// A program over a partitioned `ofa_assets` (issue 14; docs/deploy.md "Partitions"). Records are
// keyed by asset uuid, so Kafka's default partitioner puts everything of one asset on one
// partition: its telemetry, its derived values and alarms, the commands addressed to it. Each
// partition is decided alone, by the program restricted to its assets (`partitionProgram`), with
// its own stream time. That is exact only for logic that never reads across partitions:
// `crossPartition` names what does (states, alarms, interlocks and rules that read a view, or
// read or command an asset of another partition); `ofl build --partitions P` refuses such a program until
// a view stage exists. With one partition the program is the whole program: nothing changes.
import type { IrAsset, IrProgram, IrRule } from "../../compiler/ir/types.js";
// kafkajs's murmur2 (the Java client's), without loading the rest of kafkajs (ofl test and
// ofl state replay partitions too)
import murmur2 from "kafkajs/src/producer/partitioners/default/murmur2.js";

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

/** The asset names an IR subtree refers to (`mill2.temp`, `mill2.stop()`), and whether it reads a view. */
function references(node: unknown, into: { assets: Set<string>; views: Set<string> } = { assets: new Set(), views: new Set() }): { assets: Set<string>; views: Set<string> } {
  if (Array.isArray(node)) for (const x of node) references(x, into);
  else if (node !== null && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (o["k"] === "ref" && typeof o["asset"] === "string") into.assets.add(o["asset"]);
    if (o["k"] === "view" && typeof o["name"] === "string") into.views.add(o["name"]);
    for (const v of Object.values(o)) references(v, into);
  }
  return into;
}

/** The assets a rule is about: its `on` model's assets (instances), or the assets it names. */
function ruleAssets(ir: IrProgram, r: IrRule): { instances: IrAsset[]; named: Set<string>; views: Set<string> } {
  const refs = references([r.when, r.locals, r.actions]);
  for (const a of r.actions) if (a.asset !== null) refs.assets.add(a.asset);
  const instances = r.on === undefined ? [] : ir.assets.filter((a) => ir.models.find((m) => m.name === a.model)?.lineage.includes(r.on!));
  return { instances, named: refs.assets, views: refs.views };
}

/** Where a rule without `on` runs: the partition of the assets it names (the first one's when they differ; 0 when none). */
function globalRulePartition(ir: IrProgram, named: Set<string>, partitions: number): number {
  const first = ir.assets.find((a) => named.has(a.name));
  return first ? assetPartition(first, partitions) : 0;
}

/**
 * What cannot be decided inside one partition with `partitions` partitions: one line per
 * declaration, saying what it reads across partitions. Empty: the program partitions exactly.
 */
export function crossPartition(ir: IrProgram, partitions: number): string[] {
  if (partitions <= 1) return [];
  const out = new Set<string>();
  const part = new Map(ir.assets.map((a) => [a.name, assetPartition(a, partitions)]));
  const across = (self: IrAsset[], named: Set<string>): string | undefined => {
    const ps = new Set([...self.map((a) => part.get(a.name)!), ...[...named].map((n) => part.get(n)!)]);
    if (ps.size <= 1) return undefined;
    const names = [...new Set([...self.map((a) => a.name), ...named])];
    return names.map((n) => `${n} (partition ${part.get(n)})`).join(", ");
  };
  // a view no state, alarm, interlock or rule reads has no effect in the rule worker (ksqlDB, where
  // it runs, aggregates across partitions itself); one that is read is reported where it is read
  for (const m of ir.models) {
    const assets = ir.assets.filter((a) => a.model === m.name);
    // a hidden state (`$overheating$for0`) is part of the state it was hoisted from
    const decls: [string, unknown][] = [
      ...m.states.map((s): [string, unknown] => [`state ${m.name}.${s.hidden ? (s.name.split("$")[1] ?? s.name) : s.name}`, s.def]),
      ...m.alarms.map((a): [string, unknown] => [`alarm ${m.name}.${a.name}`, [a.when, a.clear]]),
      ...m.commands.map((c): [string, unknown] => [`command ${m.name}.${c.name} (requires)`, c.requires]),
    ];
    for (const [decl, node] of decls) {
      const refs = references(node);
      if (refs.views.size > 0) out.add(`${decl}: reads view ${[...refs.views].join(", ")}`);
      for (const a of assets) {
        const where = across([a], refs.assets);
        if (where) {
          out.add(`${decl}: reads another partition's asset: ${where}`);
          break;
        }
      }
    }
  }
  for (const r of ir.rules) {
    const { instances, named, views } = ruleAssets(ir, r);
    if (views.size > 0) out.add(`rule ${r.name}: reads view ${[...views].join(", ")}`);
    if (r.on !== undefined) {
      for (const a of instances) {
        const where = across([a], named);
        if (where) {
          out.add(`rule ${r.name}: its instance for ${a.name} reads or commands another partition's asset: ${where}`);
          break;
        }
      }
    } else {
      const where = across([], named);
      if (where) out.add(`rule ${r.name}: reads or commands assets of several partitions: ${where}`);
    }
  }
  return [...out];
}

/**
 * The program one partition decides: its assets (and the rules about them). With one partition,
 * the program itself. Meaningful only when `crossPartition` is empty.
 */
export function partitionProgram(ir: IrProgram, partition: number, partitions: number): IrProgram {
  if (partitions <= 1) return ir;
  const assets = ir.assets.filter((a) => assetPartition(a, partitions) === partition);
  const rules = ir.rules.filter((r) => {
    if (r.on !== undefined) return true; // instances are made for the partition's assets only
    return globalRulePartition(ir, ruleAssets(ir, r).named, partitions) === partition;
  });
  return { ...ir, assets, rules };
}
