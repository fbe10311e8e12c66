// `ofl deploy`: what changes (a Terraform-like plan) and applying it. What was deployed is kept
// in a compacted topic of its own (`_ofl_deploy_state`, key `<program>/<object>`, value the
// statement's hash and text; a tombstone when dropped), so a re-run with nothing changed does
// nothing and --plan shows what would be created, replaced, re-created or dropped.
//
// ksqlDB cannot CREATE OR REPLACE aggregates, windowed aggregates or joins (the plan marks them
// `replaceable: false`): a change to one is a DROP … DELETE TOPIC and a re-create, of it and of
// everything that reads from it (ksqlDB refuses to drop a source that queries read). Drops run
// dependents first; creates in plan order. Every persistent query runs with
// auto.offset.reset = earliest (plan.properties, sent with each statement).
import { ksqlIdent as ident } from "../../compiler/index.js";
import type { KafkaLog } from "../log/kafka.js";
import { KsqlDbError, type KsqlDbClient } from "./ksqldb.js";
import { DEPLOY_STATE_TOPIC, type DeployPlan, type PlanStatement } from "./plan.js";

export interface DeployedObject {
  program: string;
  name: string;
  kind: "stream" | "table";
  hash: string;
  sql: string;
  /** position in the plan that deployed it (drop order) */
  index: number;
  dependsOn: string[];
  deployedAt: string;
  /** its columns, in order (absent: deployed by an ofl that did not record them) */
  columns?: { name: string; type: string }[];
}

export type Action =
  | { op: "create"; statement: PlanStatement; reason: string }
  | { op: "replace"; statement: PlanStatement; reason: string }
  | { op: "recreate"; statement: PlanStatement; reason: string }
  | { op: "drop"; name: string; kind: "stream" | "table"; reason: string };

/** Where deploy keeps what it deployed. */
export interface DeployState {
  load(program: string): Promise<Map<string, DeployedObject>>;
  save(o: DeployedObject): Promise<void>;
  remove(program: string, name: string): Promise<void>;
}

/** The state in the compacted Kafka topic. */
export function kafkaDeployState(log: KafkaLog): DeployState {
  return {
    async load(program) {
      const out = new Map<string, DeployedObject>();
      for (const r of await log.readRange(DEPLOY_STATE_TOPIC, 0)) {
        if (!r.key?.startsWith(`${program}/`)) continue;
        const name = r.key.slice(program.length + 1);
        if (r.value === null) out.delete(name);
        else out.set(name, r.value as DeployedObject);
      }
      return out;
    },
    async save(o) {
      await log.append([{ topic: DEPLOY_STATE_TOPIC, key: `${o.program}/${o.name}`, ts: Date.now(), value: o }]);
    },
    async remove(program, name) {
      await log.append([{ topic: DEPLOY_STATE_TOPIC, key: `${program}/${name}`, ts: Date.now(), value: null, tombstone: true }]);
    },
  };
}

export function memoryDeployState(): DeployState & { objects: Map<string, DeployedObject> } {
  const objects = new Map<string, DeployedObject>();
  return {
    objects,
    async load(program) {
      return new Map([...objects].filter(([k]) => k.startsWith(`${program}/`)).map(([k, v]) => [k.slice(program.length + 1), v]));
    },
    async save(o) {
      objects.set(`${o.program}/${o.name}`, o);
    },
    async remove(program, name) {
      objects.delete(`${program}/${name}`);
    },
  };
}

/**
 * Why ksqlDB would refuse `CREATE OR REPLACE` of a changed projection, or null when it accepts
 * it: the new query may only append columns, the old ones first with the same names and types.
 * ksqlDB 0.29 checks this in ksqldb-metastore/.../model/StructuredDataSource.java
 * (`canUpgradeTo` → `checkSchemas`: key columns identical; every old value column, which
 * carries its index, must be in the new schema: "columns are changed, missing or reordered").
 */
export function replaceBlocker(old: { name: string; type: string }[] | undefined, now: { name: string; type: string }[] | undefined): string | null {
  if (!old || !now) return "deployed without a record of its columns, so an in-place replace cannot be shown safe";
  for (let i = 0; i < old.length; i++) {
    const o = old[i]!;
    const n = now[i];
    if (!n) return `column ${o.name} is removed: ksqlDB's CREATE OR REPLACE can only append columns`;
    if (n.name !== o.name) {
      const moved = now.findIndex((c) => c.name === o.name);
      return moved < 0
        ? `column ${o.name} is removed (${n.name} in its place): ksqlDB's CREATE OR REPLACE can only append columns`
        : `column ${n.name} is inserted before ${o.name}: ksqlDB's CREATE OR REPLACE can only append columns`;
    }
    if (n.type !== o.type) return `column ${o.name} changes type ${o.type} → ${n.type}: ksqlDB's CREATE OR REPLACE cannot retype a column`;
  }
  return null;
}

/** What a deploy of `plan` changes, given what is deployed. Drops first (dependents first), then creates in plan order. */
export function diffPlan(plan: DeployPlan, deployed: Map<string, DeployedObject>): Action[] {
  const stmts = plan.statements.filter((s) => s.kind !== "set");
  const changed = new Map<string, string>(); // name → why it is re-created
  for (const s of stmts) {
    const d = deployed.get(s.name);
    if (!d || d.hash === s.hash) continue;
    if (!s.replaceable) changed.set(s.name, "changed, and ksqlDB cannot replace an aggregate in place");
    else {
      const why = replaceBlocker(d.columns, s.columns);
      if (why) changed.set(s.name, why);
    }
  }
  // everything that reads a re-created object is re-created with it (plan order: readers come later)
  for (const s of stmts) {
    if (changed.has(s.name) || !deployed.has(s.name)) continue;
    const dep = s.dependsOn.find((n) => changed.has(n));
    if (dep) changed.set(s.name, `reads ${dep}, which is re-created`);
  }
  const actions: Action[] = [];
  const inPlan = new Set(stmts.map((s) => s.name));
  const drops = [...deployed.values()].filter((d) => !inPlan.has(d.name) && d.name.startsWith(plan.prefix));
  const dropList = [
    ...drops.map((d) => ({ name: d.name, kind: d.kind, index: d.index, reason: "no longer in the program" })),
    ...stmts.filter((s) => changed.has(s.name)).map((s) => ({ name: s.name, kind: deployed.get(s.name)!.kind, index: deployed.get(s.name)!.index, reason: "re-created below" })),
  ].sort((a, b) => b.index - a.index);
  for (const d of dropList) actions.push({ op: "drop", name: d.name, kind: d.kind as "stream" | "table", reason: d.reason });
  for (const s of stmts) {
    const d = deployed.get(s.name);
    if (!d) actions.push({ op: "create", statement: s, reason: "new" });
    else if (changed.has(s.name)) actions.push({ op: "recreate", statement: s, reason: changed.get(s.name)! });
    else if (d.hash !== s.hash) {
      const added = (s.columns?.length ?? 0) - (d.columns?.length ?? 0);
      actions.push({ op: "replace", statement: s, reason: added > 0 ? `changed, ${added} column(s) appended (CREATE OR REPLACE)` : "changed (CREATE OR REPLACE)" });
    }
  }
  return actions;
}

/** The plan as text, like `terraform plan`. */
export function planText(plan: DeployPlan, actions: Action[]): string {
  if (actions.length === 0) return `ksqlDB: no changes (${plan.statements.filter((s) => s.kind !== "set").length} objects up to date)\n`;
  const sign = { create: "+", replace: "~", recreate: "-/+", drop: "-" } as const;
  const lines = actions.map((a) => {
    const name = a.op === "drop" ? `${a.kind} ${a.name}` : `${a.statement.kind} ${a.statement.name}`;
    const what = a.op === "drop" && a.reason === "re-created below" ? "drop (DELETE TOPIC)" : a.op;
    return `  ${sign[a.op].padStart(3)} ${what.padEnd(19)} ${name}  (${a.reason})`;
  });
  const n = (op: Action["op"]): number => actions.filter((a) => a.op === op).length;
  const dropsOnly = actions.filter((a) => a.op === "drop" && a.reason !== "re-created below").length;
  lines.push(`ksqlDB: ${n("create")} to create, ${n("replace")} to replace, ${n("recreate")} to re-create (dropped and re-read from earliest), ${dropsOnly} to drop`);
  return lines.join("\n") + "\n";
}

export function dropSql(name: string, kind: "stream" | "table"): string {
  return `DROP ${kind === "table" ? "TABLE" : "STREAM"} IF EXISTS ${ident(name)} DELETE TOPIC;`;
}

export class DeployError extends Error {}

/**
 * Applies the actions in order through ksqlDB, recording each success in the state; stops at the
 * first failure with a DeployError naming the statement, ksqlDB's error_code and message.
 */
export async function applyActions(
  plan: DeployPlan,
  actions: Action[],
  client: KsqlDbClient,
  state: DeployState,
  say: (line: string) => void = () => {},
): Promise<{ applied: number; warnings: string[] }> {
  let seq: number | undefined;
  const warnings: string[] = [];
  let applied = 0;
  for (const a of actions) {
    const sql = a.op === "drop" ? dropSql(a.name, a.kind) : a.statement.sql;
    const label = a.op === "drop" ? `drop ${a.kind} ${a.name}` : `statement ${a.statement.index} (${a.statement.kind} ${a.statement.name}, ${a.statement.file})`;
    try {
      const entities = await client.ksql(sql, { streamsProperties: plan.properties, ...(seq !== undefined ? { commandSequenceNumber: seq } : {}) });
      for (const e of entities) {
        if (e["@type"] === "currentStatus") seq = (e as { commandSequenceNumber: number }).commandSequenceNumber;
        if (e["@type"] === "warning_entity") warnings.push(`${label}: ${(e as { message: string }).message}`);
      }
    } catch (e) {
      if (e instanceof KsqlDbError) {
        const code = e.errorCode !== undefined ? ` (error_code ${e.errorCode})` : e.status ? ` (HTTP ${e.status})` : "";
        throw new DeployError(`ksqlDB refused ${label}${code}: ${e.message}\n  ${sql.split("\n").join("\n  ")}`);
      }
      throw e;
    }
    if (a.op === "drop") await state.remove(plan.program, a.name);
    else {
      const s = a.statement;
      await state.save({
        program: plan.program,
        name: s.name,
        kind: s.kind as "stream" | "table",
        hash: s.hash,
        sql: s.sql,
        index: s.index,
        dependsOn: s.dependsOn,
        deployedAt: new Date().toISOString(),
        ...(s.columns ? { columns: s.columns } : {}),
      });
    }
    applied++;
    say(`  ok ${a.op} ${a.op === "drop" ? a.name : a.statement.name}`);
  }
  return { applied, warnings };
}
