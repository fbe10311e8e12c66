// Commands to OpenFactory devices that read their own command topic (`openfactory(command_topic:
// …)`, docs/openfactory.md): the rule worker and the cross stage route each accepted, non-shadow
// command of such an asset to that topic as `{cmd, args}`, and `ofl deploy` creates the topics
// that are missing.
import type { IrProgram } from "../../compiler/ir/types.js";
import type { KafkaNewRecord, TopicSpec } from "../log/kafka.js";
import { ASSETS_TOPIC } from "../wire/records.js";
import type { NewRecord } from "../wire/types.js";
import { CAUSE_HEADER } from "./headers.js";

/** Kafka header of an `ofa_cmds` record: the OFL correlation id of the command it carries. */
export const CORRELATION_HEADER = "ofl-correlation-id";

export type CommandRoutes = Map<string, { topic: string; methods: Map<string, string> }>;

/** The topics `routes` produce to (one partition each; created when missing by `ofl deploy`, with the plan's replication, and by the rule worker and the cross stage, with one). */
export function routeTopicSpecs(routes: CommandRoutes): TopicSpec[] {
  return [...new Set([...routes.values()].map((r) => r.topic))].map((name) => ({ name, partitions: 1, replication: 1 }));
}

/** `openfactory(command_topic: …)` routes: asset uuid → topic and command → method name. */
export function commandRoutes(program: IrProgram): CommandRoutes {
  const routes: CommandRoutes = new Map();
  for (const a of program.assets)
    for (const src of a.sources) {
      const topic = src.named["command_topic"];
      if (src.kind !== "openfactory" || typeof topic !== "string") continue;
      const methods = new Map<string, string>();
      for (const b of src.bindings) if (b.direction === "command" && typeof b.named["name"] === "string") methods.set(b.target, b.named["name"]);
      routes.set(a.uuid, { topic, methods });
    }
  return routes;
}

/** The `ofa_cmds`-style record of an accepted, non-shadow command of a routed asset (header `ofl-cause`: `cause`), or null. */
export function routeCommand(routes: CommandRoutes, r: NewRecord, cause: string, causeHeader = CAUSE_HEADER): KafkaNewRecord | null {
  if (r.topic !== ASSETS_TOPIC || routes.size === 0) return null;
  const route = routes.get(r.key ?? "");
  const v = r.value as Record<string, unknown> | null;
  if (!route || !v || v["TAG"] !== "Method.Command" || typeof v["ID"] !== "string") return null;
  const command = (v["ID"] as string).slice(0, -4);
  const method = route.methods.get(command);
  if (method === undefined) return null;
  const env = (typeof v["VALUE"] === "string" ? JSON.parse(v["VALUE"] as string) : v["VALUE"]) as { header: { correlation_id: string; shadow?: boolean; verdict?: string }; arguments?: Record<string, string> };
  if (env.header.shadow === true || env.header.verdict === "rejected") return null;
  return {
    topic: route.topic,
    key: r.key,
    ts: r.ts,
    value: { cmd: method, args: env.arguments ?? {} },
    headers: { [causeHeader]: cause, [CORRELATION_HEADER]: env.header.correlation_id },
  };
}
