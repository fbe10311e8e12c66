// `ofl deploy [--build DIR] [--kafka HOST:PORT] [--ksqldb URL] [--local [--rule-workers N]] [--plan]`
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { KafkaLog } from "../log/kafka.js";
import { applyActions, DeployError, diffPlan, kafkaDeployState, planText } from "../deploy/deploy.js";
import { KsqlDbClient, KsqlDbError } from "../deploy/ksqldb.js";
import { DEPLOY_STATE_TOPIC, type DeployPlan } from "../deploy/plan.js";
import { Supervisor } from "../deploy/supervise.js";
import { displayPath, kafkaErrorText, kafkaSecurity, UsageError, type Command } from "./common.js";

export const deployCommand: Command = {
  name: "deploy",
  summary: "apply a build: Kafka topics, ksqlDB statements, and (--local) the workers",
  help: `Usage: ofl deploy [--build DIR] [--kafka HOST:PORT] [--ksqldb URL] [--local [--rule-workers N]] [--plan]

Applies what \`ofl build\` wrote in DIR (default build): creates the topics of plan.json that do
not exist (kafkajs admin), then submits the ksqlDB statements that changed since the last deploy,
in order, stopping at the first one ksqlDB refuses. What was deployed (statement hashes) is kept
in the compacted topic _ofl_deploy_state, so a re-run with nothing changed does nothing.
ksqlDB cannot replace aggregates in place: a changed one is dropped (DELETE TOPIC) and
re-created, with everything that reads from it, and re-reads ofa_assets from the earliest offset.

Options:
  --build DIR     the build folder (default: build)
  --kafka H:P     Kafka bootstrap brokers, comma-separated (default: $OFL_KAFKA or 127.0.0.1:9092);
                  a secured cluster: $OFL_KAFKA_TLS, $OFL_KAFKA_CA, $OFL_KAFKA_SASL_MECHANISM,
                  $OFL_KAFKA_USERNAME, $OFL_KAFKA_PASSWORD (docs/deploy.md)
  --ksqldb URL    ksqlDB server (default: $OFL_KSQLDB or http://127.0.0.1:8088); basic auth as
                  https://user:pass@host:8088 or $OFL_KSQLDB_USER / $OFL_KSQLDB_PASSWORD
  --plan          print what would change (+ create, ~ replace, -/+ re-create, - drop); change nothing
  --local         then run the workers here as supervised child processes (restart with backoff)
                  until Ctrl-C; a worker given a setting it cannot use (OFL_CLOCK_MS=fast)
                  stops them all (exit 2)
  --rule-workers N  with --local: N rule workers (default 1; more only when the build has
                  --partitions P, up to P: they share the partitions)
  -h, --help      show this help

Exit codes: 0 deployed (or nothing to do), 1 Kafka or ksqlDB refused something, 2 bad usage
(or, with --local, a setting a worker cannot use).`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { build: { type: "string" }, kafka: { type: "string" }, ksqldb: { type: "string" }, local: { type: "boolean" }, plan: { type: "boolean" }, "rule-workers": { type: "string" } },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}: deploy reads the build folder (--build DIR)`);
    const dir = resolve(io.cwd, values.build ?? "build");
    const planFile = join(dir, "plan.json");
    if (!existsSync(planFile)) throw new UsageError(`${displayPath(io, planFile)} does not exist: run \`ofl build\` first`);
    const plan = JSON.parse(readFileSync(planFile, "utf8")) as DeployPlan;
    if (plan.ofl_plan !== 1) throw new UsageError(`${displayPath(io, planFile)} is not a plan this ofl understands (rebuild it)`);
    const brokers = (values.kafka ?? process.env["OFL_KAFKA"] ?? "127.0.0.1:9092").split(",").map((s) => s.trim()).filter(Boolean);
    const ksqlUrl = values.ksqldb ?? process.env["OFL_KSQLDB"] ?? "http://127.0.0.1:8088";
    const ruleWorkers = values["rule-workers"] === undefined ? 1 : Number(values["rule-workers"]);
    if (values["rule-workers"] !== undefined && !values.local) throw new UsageError("--rule-workers goes with --local");
    const partitions = plan.partitions ?? 1;
    if (!Number.isInteger(ruleWorkers) || ruleWorkers < 1 || ruleWorkers > partitions)
      throw new UsageError(`--rule-workers: ${values["rule-workers"]} is not a whole number from 1 to ${partitions} (the build's partitions${partitions === 1 ? ": build with --partitions P for more" : ""})`);

    const log = new KafkaLog({ brokers, clientId: `ofl-deploy-${plan.program}`, client: { retry: { retries: 3, initialRetryTime: 300 }, ...kafkaSecurity() } });
    try {
      const state = kafkaDeployState(log);
      let deployed;
      try {
        if (!values.plan) {
          const t = await log.ensureTopics(plan.topics.filter((x) => x.createdBy === "deploy"));
          io.out(`Kafka ${brokers.join(",")}: ${t.created.length ? `created ${t.created.join(", ")}` : "topics up to date"}\n`);
          // a key's partition depends on the count: a topic that exists with another count would
          // put an asset's new records elsewhere than its history (Kafka can only add partitions)
          const wrong: string[] = [];
          for (const name of t.existing) {
            const topic = plan.topics.find((x) => x.name === name)!;
            if (name === DEPLOY_STATE_TOPIC || topic.foreign) continue;
            const have = await log.partitions(name);
            const want = topic.partitions;
            if (have !== want) wrong.push(`${name} has ${have} partition${have === 1 ? "" : "s"}, the plan ${want}`);
          }
          if (wrong.length > 0) {
            io.err(`ofl deploy: ${wrong.join("; ")}: build with --partitions matching the topics, or move to a new set of topics (an asset's records must stay on one partition)\n`);
            return 1;
          }
        }
        deployed = await state.load(plan.program);
      } catch (e) {
        io.err(`ofl deploy: Kafka at ${brokers.join(",")}: ${kafkaErrorText(e as Error)}\n`);
        return 1;
      }
      const actions = diffPlan(plan, deployed);
      io.out(planText(plan, actions));
      if (values.plan) return 0;
      if (actions.length > 0) {
        const client = new KsqlDbClient(ksqlUrl, { username: process.env["OFL_KSQLDB_USER"], password: process.env["OFL_KSQLDB_PASSWORD"] });
        try {
          const info = await client.info();
          io.out(`ksqlDB ${client.url}: version ${info.version}\n`);
          const r = await applyActions(plan, actions, client, state, (l) => io.out(l + "\n"));
          for (const w of r.warnings) io.out(`  note: ${w}\n`);
          io.out(`ksqlDB: ${r.applied} statement${r.applied === 1 ? "" : "s"} applied\n`);
        } catch (e) {
          if (e instanceof DeployError || e instanceof KsqlDbError) {
            io.err(`ofl deploy: ${e.message}\n`);
            return 1;
          }
          throw e;
        }
      }
    } finally {
      await log.close();
    }
    if (!values.local) return 0;
    // the rule worker N times (they share the partitions as one consumer group), the rest once
    const copies = plan.workers.flatMap((w) => (w.kind === "rule" ? Array.from({ length: ruleWorkers }, (_, i) => ({ ...w, name: i === 0 ? w.name : `${w.name}-${i + 1}` })) : [w]));
    // a worker that cannot use a setting (exit 2) stops them all: they share the environment
    let settingError = false;
    let done!: () => void;
    const stopped = new Promise<void>((r) => (done = r));
    const sup = new Supervisor(
      copies.map((w) => ({ name: w.name, file: join(dir, w.file), env: { ...process.env, OFL_KAFKA: brokers.join(",") } })),
      (l) => io.out(l + "\n"),
      () => ((settingError = true), done()),
    );
    sup.start();
    io.out(`running ${copies.length} workers locally; stop with Ctrl-C\n`);
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
    await stopped;
    process.off("SIGINT", done);
    process.off("SIGTERM", done);
    io.out("stopping the workers (each writes a last checkpoint)…\n");
    await sup.stop();
    io.out("workers stopped\n");
    if (settingError) io.err("ofl deploy: a worker cannot use a setting of the environment (said above): the workers are stopped\n");
    return settingError ? 2 : 0;
  },
};
