// The deployment plan `ofl build` writes (build/plan.json) and the files around it: ordered
// ksqlDB statements, the Docker Swarm stack of the workers, OpenFactory device files.
import { createHash } from "node:crypto";
import type { IrProgram } from "../../compiler/ir/types.js";
import type { KsqlPlan, KsqlPlacement } from "../../compiler/index.js";
import type { WorkerEntry, WorkerEnv } from "./entries.js";
import { ASSETS_TOPIC, DEADLETTER_TOPIC } from "../wire/types.js";
import { checkpointTopicSpec, connectorCheckpointTopicSpec, crossCheckpointTopicSpec } from "../log/kafkaCheckpoints.js";
import { commandRoutes, routeTopicSpecs } from "../worker/routes.js";

/** The compacted topic where `ofl deploy` keeps what it deployed (statement hashes). */
export const DEPLOY_STATE_TOPIC = "_ofl_deploy_state";

export interface PlanTopic {
  name: string;
  partitions: number;
  replication: number;
  cleanupPolicy: "delete" | "compact";
  /** more topic configs (`max.message.bytes`…) */
  config?: Record<string, string>;
  /** `deploy`: created by `ofl deploy` (kafkajs admin); `ksqldb`: the sink of a persistent query */
  createdBy: "deploy" | "ksqldb";
  /** another system's topic (an OpenFactory device's command topic): made when missing, its partition count not checked */
  foreign?: true;
}

export interface PlanStatement {
  index: number;
  name: string;
  kind: "stream" | "table" | "set";
  replaceable: boolean;
  dependsOn: string[];
  source: string;
  /** build/ksql/NN_name.sql */
  file: string;
  /** sha256 of the SQL text: what deploy compares */
  hash: string;
  sql: string;
  /** the columns it creates, in order (CREATE OR REPLACE may only append: deploy checks) */
  columns?: { name: string; type: string }[];
}

export interface PlanWorker {
  name: string;
  kind: "rule" | "cross" | "connector";
  asset?: string;
  source?: number;
  sourceKind?: string;
  /** build/workers/NAME.mjs */
  file: string;
  bytes: number;
  env: WorkerEnv[];
}

export interface DeployPlan {
  ofl_plan: 1;
  program: string;
  /** partitions of ofa_assets (and of ofl_deadletter and the checkpoint topic): each is decided alone (absent: 1) */
  partitions?: number;
  prefix: string;
  topics: PlanTopic[];
  /** streamsProperties sent with every statement (auto.offset.reset = earliest) */
  properties: Record<string, string>;
  statements: PlanStatement[];
  placement: KsqlPlacement[];
  workers: PlanWorker[];
  stack: string;
  devices: string[];
}

export const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

export function fileSlug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");
}

export function makePlan(ir: IrProgram, ksql: KsqlPlan, workers: (WorkerEntry & { bytes: number })[], opts: { replication?: number; partitions?: number } = {}): DeployPlan {
  const rf = opts.replication ?? 1;
  const partitions = opts.partitions ?? 1;
  const topics: PlanTopic[] = [
    { name: ASSETS_TOPIC, partitions, replication: rf, cleanupPolicy: "delete", createdBy: "deploy" },
    { name: DEADLETTER_TOPIC, partitions, replication: rf, cleanupPolicy: "delete", createdBy: "deploy" },
    { name: DEPLOY_STATE_TOPIC, partitions: 1, replication: rf, cleanupPolicy: "compact", createdBy: "deploy" },
    { ...checkpointTopicSpec(ir.program, rf, partitions), cleanupPolicy: "compact", createdBy: "deploy" },
    // the workers would create these at their first start, but with one replica: made here, they get the deployment's
    ...(workers.some((w) => w.kind === "cross") ? [{ ...crossCheckpointTopicSpec(ir.program, rf), cleanupPolicy: "compact" as const, createdBy: "deploy" as const }] : []),
    ...(workers.some((w) => w.kind === "connector") ? [{ ...connectorCheckpointTopicSpec(ir.program, rf), cleanupPolicy: "compact" as const, createdBy: "deploy" as const }] : []),
    // `openfactory(command_topic: …)`: the device's, normally there already
    ...routeTopicSpecs(commandRoutes(ir)).map((t) => ({ ...t, replication: rf, cleanupPolicy: "delete" as const, createdBy: "deploy" as const, foreign: true as const })),
  ];
  const statements: PlanStatement[] = ksql.statements.map((s, i) => {
    const file = `ksql/${String(i + 1).padStart(2, "0")}_${fileSlug(s.name)}.sql`;
    const sink = /KAFKA_TOPIC='([^']+)'/.exec(s.sql)?.[1];
    if (sink && sink !== ASSETS_TOPIC && s.kind !== "set" && !topics.some((t) => t.name === sink)) {
      const windowed = /\bWINDOW\b/.test(s.sql);
      topics.push({ name: sink, partitions: 1, replication: rf, cleanupPolicy: s.kind === "table" && !windowed ? "compact" : "delete", createdBy: "ksqldb" });
    }
    return { index: i + 1, name: s.name, kind: s.kind, replaceable: s.replaceable, dependsOn: s.dependsOn, source: s.source, file, hash: sha256(s.sql), sql: s.sql, ...(s.columns ? { columns: s.columns } : {}) };
  });
  return {
    ofl_plan: 1,
    program: ir.program,
    ...(partitions > 1 ? { partitions } : {}),
    prefix: ksql.prefix,
    topics,
    properties: Object.fromEntries(Object.entries(ksql.properties).map(([k, v]) => [k.startsWith("ksql.") ? k : `ksql.streams.${k}`, v])),
    statements,
    placement: ksql.placement,
    workers: workers.map((w) => ({
      name: w.name,
      kind: w.kind,
      ...(w.asset !== undefined ? { asset: w.asset, source: w.source, sourceKind: w.sourceKind } : {}),
      file: `workers/${w.name}.mjs`,
      bytes: w.bytes,
      env: w.env,
    })),
    stack: "stack.yml",
    devices: ir.assets.map((a) => `devices/dev_${fileSlug(a.name)}.yml`),
  };
}

const q = (s: string): string => JSON.stringify(s);

/** A Docker Swarm stack: one service per worker, the bundles baked into an image (Dockerfile beside it). */
export function stackFile(plan: DeployPlan): string {
  const image = `\${OFL_IMAGE:-ofl-${fileSlug(plan.program)}-workers:latest}`;
  const lines = [
    `# Docker Swarm stack of the OFL program ${q(plan.program)}, generated by ofl build: do not edit.`,
    `#   docker build -t ofl-${fileSlug(plan.program)}-workers:latest build/`,
    `#   OFL_KAFKA=broker:9092 docker stack deploy -c build/stack.yml ofl-${fileSlug(plan.program)}`,
    (plan.partitions ?? 1) > 1
      ? `# ofa_assets has ${plan.partitions} partitions: up to ${plan.partitions} replicas of the rule worker share them (OFL_RULE_REPLICAS).` +
        (plan.workers.some((w) => w.kind === "cross") ? `\n# The cross worker decides what reads across partitions: one runs it at a time (a second replica would stand by).` : "")
      : `# The rule worker must run as one replica: stop-first updates never run two at once.`,
    `version: "3.8"`,
    `services:`,
  ];
  const volumes: string[] = [];
  for (const w of plan.workers) {
    lines.push(`  ${w.name}:`, `    image: ${q(image)}`, `    command: ["node", "/ofl/${w.name}.mjs"]`, `    environment:`);
    for (const e of w.env) {
      if (e.name === "OFL_KAFKA") lines.push(`      OFL_KAFKA: "\${OFL_KAFKA:?set OFL_KAFKA to the Kafka bootstrap brokers}"`);
      // an OPC UA connector keeps its PKI and server pins there: a volume, so a restart keeps them
      else if (e.name === "OFL_DATA") lines.push(`      OFL_DATA: "/ofl-data"`);
      else if (e.required) lines.push(`      ${e.name}: "\${${e.name}:?${e.description}}"`);
      else lines.push(`      ${e.name}: "\${${e.name}:-${e.default ?? ""}}"`);
    }
    lines.push(
      `    deploy:`,
      `      replicas: ${w.kind === "rule" && (plan.partitions ?? 1) > 1 ? "${OFL_RULE_REPLICAS:-1}" : "1"}`,
      `      update_config: { order: stop-first }`,
      `      restart_policy: { condition: any, delay: 2s, window: 30s }`,
      `    stop_grace_period: 15s`,
    );
    if (w.env.some((e) => e.name === "OFL_DATA")) {
      lines.push(`    volumes:`, `      - ${w.name}-data:/ofl-data`);
      volumes.push(`${w.name}-data`);
    }
  }
  if (volumes.length > 0) lines.push(`volumes:`, ...volumes.map((v) => `  ${v}:`));
  lines.push(`networks:`, `  default:`, `    name: \${OFL_NETWORK:-factory-net}`, `    external: true`);
  return lines.join("\n") + "\n";
}

export const DOCKERFILE = `# The OFL workers: self-contained bundles, plain node, no node_modules.
FROM node:20-alpine
COPY workers/ /ofl/
# OPC UA connector workers keep their PKI here (a volume in stack.yml; it starts owned by node)
RUN mkdir -p /ofl-data && chown node:node /ofl-data
USER node
`;

/** OpenFactory device files: the asset declared to OpenFactory; OFL's connector worker feeds it. */
export function deviceFile(ir: IrProgram, assetName: string): string {
  const a = ir.assets.find((x) => x.name === assetName)!;
  const ofa = a.sources.some((s) => s.kind === "openfactory");
  return [
    `# OpenFactory device file for the OFL asset ${a.name} (model ${a.model}), generated by ofl build.`,
    ofa
      ? "# Its data comes from an OpenFactory connector (source openfactory): fill in the connector section."
      : "# Its data comes from the OFL connector worker (build/stack.yml), which writes to ofa_assets with this uuid.",
    "devices:",
    `  ${fileSlug(a.name).replace(/_/g, "-")}:`,
    `    uuid: ${q(a.uuid)}`,
    `    uns:`,
    `      asset: ${q(a.name)}`,
    ...(ofa ? [`    connector:`, `      type: mtconnect`] : []),
    "",
  ].join("\n");
}
