// `ofl build [PATH] [--out build] [--explain] [--replication N] [--partitions P]`
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { emitKsql, explainKsql, ksqlScript } from "../../compiler/index.js";
import { emitWorkers } from "../deploy/entries.js";
import { bundleWorkers } from "../deploy/bundle.js";
import { deviceFile, DOCKERFILE, fileSlug, makePlan, stackFile } from "../deploy/plan.js";
import { ASSETS_TOPIC } from "../wire/types.js";
import { crossDecisions } from "../wire/partitions.js";
import { compileOne, displayPath, progressLine, UsageError, type Command } from "./common.js";

export const buildCommand: Command = {
  name: "build",
  summary: "compile for Kafka: ksqlDB statements, bundled workers, deployment plan",
  help: `Usage: ofl build [PATH] [--out DIR] [--explain] [--replication N] [--partitions P]

Compiles the program for a Kafka deployment (language reference §8) into DIR (default build):
  ksql/NN_<object>.sql   the ksqlDB statements, one per file, in dependency order (all.sql: the script)
  workers/<name>.mjs     bundled workers, run with plain \`node\` (no node_modules): the rule
                         worker and one connector worker per asset source
  plan.json              topics (partitions, replication, cleanup policy), statements (with
                         hashes), workers and their environment: what \`ofl deploy\` applies
  stack.yml, Dockerfile  a Docker Swarm stack for the workers
  devices/dev_<asset>.yml  OpenFactory device files for the assets

Options:
  --out DIR          output folder (default: build; emptied first)
  --explain          also print, per declaration, where it runs (ksqlDB or worker) and why
  --replication N    replication factor of the topics in the plan (default 1)
  --partitions P     partitions of ofa_assets (default 1, as OpenFactory creates it): records are
                     keyed by asset uuid, each partition is decided alone, and up to P rule
                     workers share them; states, alarms and rules that read across partitions
                     are decided by one cross worker (docs/deploy.md, Partitions); refused for
                     an interlock that reads across partitions
  -h, --help         show this help

Exit codes: 0 built, 1 the program has errors, 2 bad usage.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { out: { type: "string" }, explain: { type: "boolean" }, replication: { type: "string" }, partitions: { type: "string" } },
    });
    const rf = values.replication === undefined ? 1 : Number(values.replication);
    if (!Number.isInteger(rf) || rf < 1) throw new UsageError(`--replication: ${values.replication} is not a positive integer`);
    const partitions = values.partitions === undefined ? 1 : Number(values.partitions);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000) throw new UsageError(`--partitions: ${values.partitions} is not a whole number from 1 to 1000`);
    const line = progressLine(io, "ofl build");
    line.show("compiling");
    const ir = compileOne(positionals, io);
    if (!ir) return line.done(), 1;
    const cross = crossDecisions(ir, partitions);
    if (cross.interlocks.length > 0) {
      line.done();
      io.err(
        `ofl build: with ${partitions} partitions each command is checked on its asset's partition of ${ASSETS_TOPIC}, and these interlocks read across partitions:\n` +
          cross.interlocks.map((l) => `  ${l}\n`).join("") +
          `Deploy it with one partition (the default), or keep what an interlock reads on its own asset's partition.\n`,
      );
      return 1;
    }
    const out = resolve(io.cwd, values.out ?? "build");
    const ksql = emitKsql(ir);
    const entries = emitWorkers(ir, partitions);
    line.show(`bundling ${entries.length} worker${entries.length === 1 ? "" : "s"} with esbuild`);
    const bundles = await bundleWorkers(entries);
    line.done();
    const plan = makePlan(ir, ksql, entries.map((e, i) => ({ ...e, bytes: bundles[i]!.bytes })), { replication: rf, partitions });
    rmSync(out, { recursive: true, force: true });
    for (const d of ["ksql", "workers", "devices"]) mkdirSync(join(out, d), { recursive: true });
    for (const s of plan.statements) writeFileSync(join(out, s.file), `-- ${s.source}: ${s.kind} ${s.name}\n${s.sql}\n`);
    writeFileSync(join(out, "ksql", "all.sql"), ksqlScript(ksql));
    for (const b of bundles) writeFileSync(join(out, "workers", `${b.name}.mjs`), b.code);
    writeFileSync(join(out, "plan.json"), JSON.stringify(plan, null, 2) + "\n");
    writeFileSync(join(out, plan.stack), stackFile(plan));
    writeFileSync(join(out, "Dockerfile"), DOCKERFILE);
    for (const a of ir.assets) writeFileSync(join(out, "devices", `dev_${fileSlug(a.name)}.yml`), deviceFile(ir, a.name));
    if (values.explain) io.out(explainKsql(ksql) + "\n");
    if (values.explain && cross.reasons.length > 0)
      io.out(`Decided by the cross worker (they read across the ${partitions} partitions):\n${cross.reasons.map((l) => `  ${l}\n`).join("")}`);
    const kb = (n: number): string => `${Math.round(n / 1024)} KB`;
    io.out(
      `ofl build ${ir.program}: ${plan.statements.length} ksqlDB statements, ${plan.workers.length} worker${plan.workers.length === 1 ? "" : "s"} (${plan.workers.map((w) => `${w.name} ${kb(w.bytes)}`).join(", ")}), ${plan.topics.length} topics → ${displayPath(io, out)}\n`,
    );
    return 0;
  },
};
