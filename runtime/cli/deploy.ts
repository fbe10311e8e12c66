// `ofl deploy [--build DIR] [--kafka HOST:PORT] [--ksqldb URL] [--local] [--plan]`
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { KafkaLog } from "../log/kafka.js";
import { applyActions, DeployError, diffPlan, kafkaDeployState, planText } from "../deploy/deploy.js";
import { KsqlDbClient, KsqlDbError } from "../deploy/ksqldb.js";
import { DEPLOY_STATE_TOPIC, type DeployPlan } from "../deploy/plan.js";
import { Supervisor } from "../deploy/supervise.js";
import { displayPath, UsageError, type Command } from "./common.js";

export const deployCommand: Command = {
  name: "deploy",
  summary: "apply a build: Kafka topics, ksqlDB statements, and (--local) the workers",
  help: `Usage: ofl deploy [--build DIR] [--kafka HOST:PORT] [--ksqldb URL] [--local] [--plan]

Applies what \`ofl build\` wrote in DIR (default build): creates the topics of plan.json that do
not exist (kafkajs admin), then submits the ksqlDB statements that changed since the last deploy,
in order, stopping at the first one ksqlDB refuses. What was deployed (statement hashes) is kept
in the compacted topic _ofl_deploy_state, so a re-run with nothing changed does nothing.
ksqlDB cannot replace aggregates in place: a changed one is dropped (DELETE TOPIC) and
re-created, with everything that reads from it, and re-reads ofa_assets from the earliest offset.

Options:
  --build DIR     the build folder (default: build)
  --kafka H:P     Kafka bootstrap brokers, comma-separated (default: $OFL_KAFKA or 127.0.0.1:9092)
  --ksqldb URL    ksqlDB server (default: $OFL_KSQLDB or http://127.0.0.1:8088); basic auth as
                  https://user:pass@host:8088 or $OFL_KSQLDB_USER / $OFL_KSQLDB_PASSWORD
  --plan          print what would change (+ create, ~ replace, -/+ re-create, - drop); change nothing
  --local         then run the workers here as supervised child processes (restart with backoff)
                  until Ctrl-C
  -h, --help      show this help

Exit codes: 0 deployed (or nothing to do), 1 Kafka or ksqlDB refused something, 2 bad usage.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { build: { type: "string" }, kafka: { type: "string" }, ksqldb: { type: "string" }, local: { type: "boolean" }, plan: { type: "boolean" } },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}: deploy reads the build folder (--build DIR)`);
    const dir = resolve(io.cwd, values.build ?? "build");
    const planFile = join(dir, "plan.json");
    if (!existsSync(planFile)) throw new UsageError(`${displayPath(io, planFile)} does not exist: run \`ofl build\` first`);
    const plan = JSON.parse(readFileSync(planFile, "utf8")) as DeployPlan;
    if (plan.ofl_plan !== 1) throw new UsageError(`${displayPath(io, planFile)} is not a plan this ofl understands (rebuild it)`);
    const brokers = (values.kafka ?? process.env["OFL_KAFKA"] ?? "127.0.0.1:9092").split(",").map((s) => s.trim()).filter(Boolean);
    const ksqlUrl = values.ksqldb ?? process.env["OFL_KSQLDB"] ?? "http://127.0.0.1:8088";

    const log = new KafkaLog({ brokers, clientId: `ofl-deploy-${plan.program}`, client: { retry: { retries: 3, initialRetryTime: 300 } } });
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
            const want = plan.topics.find((x) => x.name === name)!.partitions;
            const have = await log.partitions(name);
            if (name !== DEPLOY_STATE_TOPIC && have !== want) wrong.push(`${name} has ${have} partition${have === 1 ? "" : "s"}, the plan ${want}`);
          }
          if (wrong.length > 0) {
            io.err(`ofl deploy: ${wrong.join("; ")}: build with --partitions matching the topics, or move to a new set of topics (an asset's records must stay on one partition)\n`);
            return 1;
          }
        }
        deployed = await state.load(plan.program);
      } catch (e) {
        io.err(`ofl deploy: Kafka at ${brokers.join(",")}: ${(e as Error).message}\n`);
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
    const sup = new Supervisor(
      plan.workers.map((w) => ({ name: w.name, file: join(dir, w.file), env: { ...process.env, OFL_KAFKA: brokers.join(",") } })),
      (l) => io.out(l + "\n"),
    );
    sup.start();
    io.out(`running ${plan.workers.length} workers locally; stop with Ctrl-C\n`);
    await new Promise<void>((done) => {
      process.once("SIGINT", () => done());
      process.once("SIGTERM", () => done());
    });
    await sup.stop();
    return 0;
  },
};
