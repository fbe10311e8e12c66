// The entry of a bundled worker (build/workers/*.mjs): reads its settings from the environment,
// runs a rule worker or a connector worker until SIGTERM/SIGINT, and prints one status line every
// OFL_STATUS_MS (default 10 s) to stderr, from its start (while it rebuilds: how far). stdout gets
// `ready` once the worker has rebuilt its state from the log (supervisors and tests wait for it).
//
// Environment:
//   OFL_KAFKA       bootstrap brokers, HOST:PORT[,HOST:PORT…] (required)
//   OFL_CLOCK_MS    rule worker: clock record period (default 100; 0: none)
//   OFL_STALL_MS    rule worker: records waiting with none delivered this long stop it (default 60000; 0: never)
//   OFL_CHECKPOINT_RECORDS  rule and cross workers: inputs between checkpoints (default 25000; 0: none)
//   OFL_CHECKPOINT_MS       rule and cross workers: wall time between checkpoints (default 60000)
//   OFL_COMMAND_MAX_AGE_MS  a command decided on an input received longer ago is not carried to a
//                   machine: a connector worker answers it failed (stale), the rule and cross
//                   workers do not route it to a command topic (default 60000; 0: no bound)
//   OFL_STATUS_MS   status line period (default 10000; 0: none)
//   OFL_KAFKA_TLS, OFL_KAFKA_CA, OFL_KAFKA_SASL_MECHANISM, OFL_KAFKA_USERNAME, OFL_KAFKA_PASSWORD[_FILE]
//                   a secured cluster (runtime/log/kafkaSecurity.ts)
//   OFL_KAFKA_VERBOSE=1  kafkajs logs
import type { IrProgram } from "../../compiler/ir/types.js";
import type { ScheduleOptions } from "../log/checkpointSchedule.js";
import { KafkaLog } from "../log/kafka.js";
import { kafkaSecurityFromEnv } from "../log/kafkaSecurity.js";

export type WorkerSpec = { kind: "rule" | "cross"; name: string } | { kind: "connector"; name: string; asset: string; source: number };

export interface Running {
  stop(): Promise<void>;
  status(): string;
}

/**
 * Runs one worker until SIGTERM/SIGINT: `start` builds it over the log and resolves once it is
 * live; until then the status line is what it gave `progress` (a rebuild over a long history takes
 * minutes: the operator sees it move).
 */
export async function serveWorker(
  program: IrProgram,
  spec: WorkerSpec,
  start: (log: KafkaLog, report: (level: "info" | "warn" | "error", m: string) => void, env: NodeJS.ProcessEnv, progress: (status: () => string) => void) => Promise<Running>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const brokers = (env["OFL_KAFKA"] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const say = (level: string, m: string): void => void process.stderr.write(`[${new Date().toISOString()}] ${spec.name}: ${level === "info" ? "" : `${level}: `}${m}\n`);
  if (brokers.length === 0) {
    say("error", "OFL_KAFKA is not set (HOST:PORT of a Kafka broker)");
    process.exit(2);
  }
  let security: ReturnType<typeof kafkaSecurityFromEnv>;
  try {
    security = kafkaSecurityFromEnv(env);
  } catch (e) {
    say("error", (e as Error).message);
    process.exit(2);
  }
  const log = new KafkaLog({ brokers, clientId: `ofl-${program.program}-${spec.name}`, verbose: env["OFL_KAFKA_VERBOSE"] === "1", client: security });
  let status: (() => string) | undefined;
  let statusMs: number;
  try {
    statusMs = envNumber(env, "OFL_STATUS_MS") ?? 10_000;
  } catch (e) {
    say("error", (e as Error).message);
    process.exit(2);
  }
  const timer = statusMs > 0 ? setInterval(() => status && say("info", status()), statusMs) : undefined;
  let w: Running;
  try {
    w = await start(log, (level, m) => say(level, m), env, (s) => (status = s));
  } catch (e) {
    // a setting that cannot be used: exit 2; a refusal (a program the topics cannot carry) or a
    // broker that never answered: exit 1 (its supervisor restarts it); superseded while starting: exit 3
    say("error", (e as Error).message);
    await log.close().catch(() => {});
    process.exit(e instanceof SettingError ? 2 : e instanceof SupersededError ? SUPERSEDED_EXIT : 1);
  }
  status = () => w.status();
  process.stdout.write("ready\n");
  const shutdown = async (): Promise<void> => {
    if (timer) clearInterval(timer);
    await w.stop().catch(() => {});
    await log.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
}

/** How far a start-up read is, for status lines: `120,000 of 3,000,000 records read, 4 %` (an empty range is done). */
export function readProgress(read: number, total: number): string {
  return `${read.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} records read, ${total > 0 ? Math.floor((100 * read) / total) : 100} %`;
}

/** A setting in the environment that cannot be used: the worker exits 2 (a restart would not help). */
export class SettingError extends Error {}

/** A count or a number of milliseconds from the environment (0 or more); undefined when unset or empty; anything else is a SettingError naming it. */
export function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v.trim() === "") return undefined;
  const n = Number(v);
  // (Infinity too: setInterval takes a delay past 2^31 - 1 ms as 1)
  if (!(Number.isFinite(n) && n >= 0)) throw new SettingError(`${name} must be a number, 0 or more (got ${JSON.stringify(v)})`);
  return n;
}

/** OFL_COMMAND_MAX_AGE_MS as a worker option (runtime/worker/stale.ts; unset: the default). */
export function commandMaxAgeFromEnv(env: NodeJS.ProcessEnv): { commandMaxAgeMs?: number } {
  const ms = envNumber(env, "OFL_COMMAND_MAX_AGE_MS");
  return ms === undefined ? {} : { commandMaxAgeMs: ms };
}

/** The rule and cross workers' checkpoint schedule: OFL_CHECKPOINT_RECORDS (0: none) and OFL_CHECKPOINT_MS. */
export function checkpointsFromEnv(env: NodeJS.ProcessEnv): ScheduleOptions | false {
  const everyRecords = envNumber(env, "OFL_CHECKPOINT_RECORDS");
  const everyMs = envNumber(env, "OFL_CHECKPOINT_MS");
  return everyRecords === 0 ? false : { ...(everyRecords ? { everyRecords } : {}), ...(everyMs ? { everyMs } : {}) };
}

/** Another worker took over what this one did (a connector's source, or a single-partition deployment's rule worker: claimed after it): it stops for good. */
export class SupersededError extends Error {}

/** The exit code of a superseded worker: its supervisor does not restart it (a restart would supersede the other). */
export const SUPERSEDED_EXIT = 3;

/**
 * A worker that cannot go on exits 1, its log closed: its supervisor (ofl deploy --local, Docker)
 * restarts it, and it rebuilds. A superseded one exits 3.
 */
export function exitOnFatal(log: KafkaLog): (e?: Error) => void {
  return (e) => void log.close().finally(() => process.exit(e instanceof SupersededError ? SUPERSEDED_EXIT : 1));
}
