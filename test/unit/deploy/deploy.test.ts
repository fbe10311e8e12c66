// ofl build's plan, the deploy diff, and the ksqlDB REST client against an HTTP stub that stands
// in for ksqlDB's documented /ksql and /info endpoints (ksqldb-stub.ts; ksqlDB cannot run here).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildCommand } from "../../../runtime/cli/build.js";
import type { Io } from "../../../runtime/cli/common.js";
import { applyActions, DeployError, diffPlan, memoryDeployState, planText } from "../../../runtime/deploy/deploy.js";
import { KsqlDbClient, KsqlDbError } from "../../../runtime/deploy/ksqldb.js";
import type { DeployPlan } from "../../../runtime/deploy/plan.js";
import { startKsqlStub, type KsqlStub } from "./ksqldb-stub.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../..");
let out: string;
let plan: DeployPlan;
let printed = "";
let stub: KsqlStub;

function io(): Io {
  return { out: (s) => void (printed += s), err: (s) => void (printed += s), cwd: root, color: false };
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "ofl-build-"));
  const code = await buildCommand.run([join(root, "examples/cnc-cell"), "--out", out, "--explain"], io());
  expect(code, printed).toBe(0);
  plan = JSON.parse(readFileSync(join(out, "plan.json"), "utf8"));
  stub = await startKsqlStub();
}, 60_000);

afterAll(async () => {
  rmSync(out, { recursive: true, force: true });
  await stub?.close();
});

describe("ofl build", () => {
  test("writes ordered statements, bundled workers, the plan, the stack and device files", () => {
    const sql = readdirSync(join(out, "ksql")).filter((f) => f !== "all.sql");
    expect(sql.length).toBe(plan.statements.length);
    expect(plan.statements.map((s) => s.file)).toEqual([...plan.statements.map((s) => s.file)].sort());
    for (const s of plan.statements) for (const d of s.dependsOn) if (d !== "ASSETS_STREAM") expect(plan.statements.findIndex((x) => x.name === d)).toBeLessThan(s.index - 1);
    expect(plan.workers[0]!.name).toBe("rule");
    expect(plan.workers.map((w) => w.name)).toEqual(expect.arrayContaining(["connector-mill1-simulate", "connector-mill2-simulate"]));
    for (const w of plan.workers) expect(existsSync(join(out, w.file))).toBe(true);
    expect(plan.topics.find((t) => t.name === "ofa_assets")).toMatchObject({ partitions: 1, cleanupPolicy: "delete", createdBy: "deploy" });
    expect(plan.topics.find((t) => t.name === "_ofl_deploy_state")).toMatchObject({ cleanupPolicy: "compact" });
    // the rule worker's checkpoints: compacted, records up to 64 MiB, named after the program
    expect(plan.topics.find((t) => t.name === `ofl_${plan.program}_checkpoints`)).toMatchObject({ cleanupPolicy: "compact", createdBy: "deploy", config: { "max.message.bytes": String(64 * 1024 * 1024) } });
    // the connector workers' checkpoints are made by deploy (a worker would make them with one replica); no cross stage on one partition
    expect(plan.topics.find((t) => t.name === `ofl_${plan.program}_connector_checkpoints`)).toMatchObject({ partitions: 1, cleanupPolicy: "compact", createdBy: "deploy" });
    expect(plan.topics.some((t) => t.name === `ofl_${plan.program}_cross_checkpoints`)).toBe(false);
    expect(plan.properties).toEqual({ "ksql.streams.auto.offset.reset": "earliest" });
    const stack = readFileSync(join(out, "stack.yml"), "utf8");
    expect(stack).toContain("connector-mill1-simulate:");
    expect(stack).toContain("OFL_KAFKA");
    expect(readFileSync(join(out, "devices/dev_mill1.yml"), "utf8")).toContain('uuid: "CNC-001"');
    expect(printed).toContain("Runs in the rule worker");
    expect(printed).toMatch(/CncMill\.overheating\s+.*worker/);
  });
});

test("--replication N: every topic deploy makes has N replicas, the workers' checkpoint topics included", async () => {
  const o = mkdtempSync(join(tmpdir(), "ofl-build-rf-"));
  try {
    expect(await buildCommand.run([join(root, "examples/cnc-cell"), "--out", o, "--replication", "3"], io()), printed).toBe(0);
    const p = JSON.parse(readFileSync(join(o, "plan.json"), "utf8")) as DeployPlan;
    const made = p.topics.filter((t) => t.createdBy === "deploy");
    expect(made.map((t) => t.name).sort()).toEqual(["_ofl_deploy_state", "ofa_assets", `ofl_${p.program}_checkpoints`, `ofl_${p.program}_connector_checkpoints`, "ofl_deadletter"]);
    for (const t of made) expect(t.replication, t.name).toBe(3);
  } finally {
    rmSync(o, { recursive: true, force: true });
  }
});

describe("deploy plan", () => {
  test("first deploy creates everything; a re-run changes nothing", async () => {
    const state = memoryDeployState();
    const first = diffPlan(plan, await state.load(plan.program));
    expect(first.every((a) => a.op === "create")).toBe(true);
    await applyActions(plan, first, new KsqlDbClient(stub.url), state);
    expect(diffPlan(plan, await state.load(plan.program))).toEqual([]);
    expect(planText(plan, [])).toMatch(/no changes/);
    // every statement carried auto.offset.reset = earliest, and waited for the previous command
    expect(stub.requests.every((r) => r.streamsProperties["ksql.streams.auto.offset.reset"] === "earliest")).toBe(true);
    expect(stub.requests[1]!.commandSequenceNumber).toBe(1);
  });

  test("a changed aggregate is dropped and re-created with its readers; a changed projection is replaced; a removed object dropped", async () => {
    const state = memoryDeployState();
    const client = new KsqlDbClient(stub.url);
    await applyActions(plan, diffPlan(plan, new Map()), client, state);
    const agg = plan.statements.find((s) => !s.replaceable && s.kind === "table" && plan.statements.some((r) => r.dependsOn.includes(s.name)))!;
    const proj = plan.statements.find((s) => s.replaceable && s.kind !== "set" && s.name !== "ASSETS_STREAM")!;
    const changed: DeployPlan = {
      ...plan,
      statements: plan.statements
        .filter((s) => s.name !== plan.statements[plan.statements.length - 1]!.name || s === agg)
        .map((s) => (s === agg || s === proj ? { ...s, hash: `${s.hash}x`, sql: s.sql + " " } : s)),
    };
    const removed = plan.statements[plan.statements.length - 1]!;
    const actions = diffPlan(changed, await state.load(plan.program));
    const text = planText(changed, actions);
    expect(actions.find((a) => a.op === "recreate" && a.statement.name === agg.name)).toBeTruthy();
    const readers = plan.statements.filter((s) => s.dependsOn.includes(agg.name) && s.name !== removed.name);
    for (const r of readers) expect(actions.find((a) => a.op === "recreate" && a.statement.name === r.name), text).toBeTruthy();
    expect(actions.find((a) => a.op === "drop" && a.name === removed.name), text).toBeTruthy();
    // drops come first, dependents before what they read
    const firstCreate = actions.findIndex((a) => a.op !== "drop");
    expect(actions.slice(firstCreate).every((a) => a.op !== "drop")).toBe(true);
    expect(text).toMatch(/-\/\+ recreate/);
    await applyActions(changed, actions, client, state);
    expect(diffPlan(changed, await state.load(plan.program))).toEqual([]);
  });
});

describe("a changed projection: replace only when it appends columns (issue 13, item 10)", () => {
  test("a signal appended replaces TELEMETRY in place; a signal inserted re-creates it and its readers; the stub (ksqlDB's rule) accepts both deploys", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ofl-cols-"));
    const s = await startKsqlStub();
    try {
      const build = async (signals: string[], name: string): Promise<DeployPlan> => {
        const file = join(dir, `cols.ofl`);
        writeFileSync(file, `model M {\n${signals.map((x) => `  telemetry ${x}: float\n`).join("")}  state hot = a > 3\n}\nasset a1: M { uuid "A-1" }\n`);
        const o = join(dir, `out-${name}`);
        const code = await buildCommand.run([file, "--out", o], io());
        expect(code, printed).toBe(0);
        return JSON.parse(readFileSync(join(o, "plan.json"), "utf8")) as DeployPlan;
      };
      const state = memoryDeployState();
      const client = new KsqlDbClient(s.url);
      const v1 = await build(["a", "b"], "v1");
      await applyActions(v1, diffPlan(v1, await state.load(v1.program)), client, state);
      const tel = v1.statements.find((x) => x.name.endsWith("_M_TELEMETRY"))!.name;
      const latest = v1.statements.find((x) => x.name.endsWith("_M_LATEST"))!.name;
      const hot = v1.statements.find((x) => x.name.endsWith("_M_HOT"))!.name;

      // v2: `c` appended at the end of the model: TELEMETRY and LATEST only gain columns
      const v2 = await build(["a", "b", "c"], "v2");
      const a2 = diffPlan(v2, await state.load(v2.program));
      const op = (acts: typeof a2, n: string): string | undefined => acts.find((x) => x.op !== "drop" && x.statement.name === n)?.op;
      expect(op(a2, tel)).toBe("replace");
      expect(a2.find((x) => x.op === "replace" && x.statement.name === tel)!.reason).toBe("changed, 2 column(s) appended (CREATE OR REPLACE)");
      expect(planText(v2, a2)).toMatch(new RegExp(`~ replace\\s+stream ${tel}`));
      await applyActions(v2, a2, client, state);
      expect(s.objects.get(tel)).toContain("S_C");

      // v3: `z` inserted first: ksqlDB would refuse the replace, so the plan says recreate
      const v3 = await build(["z", "a", "b", "c"], "v3");
      const a3 = diffPlan(v3, await state.load(v3.program));
      const text = planText(v3, a3);
      expect(op(a3, tel), text).toBe("recreate");
      expect(a3.find((x) => x.op === "recreate" && x.statement.name === tel)!.reason).toBe(
        "column S_Z is inserted before S_A: ksqlDB's CREATE OR REPLACE can only append columns",
      );
      // what reads it is re-created with it, after being dropped (readers first)
      for (const n of [latest, hot]) expect(op(a3, n), n).toBe("recreate");
      const drops = a3.filter((x) => x.op === "drop").map((x) => (x as { name: string }).name);
      expect(drops.indexOf(hot)).toBeLessThan(drops.indexOf(tel));
      expect(text).toMatch(new RegExp(`-/\\+ recreate\\s+stream ${tel}  \\(column S_Z is inserted`));
      await applyActions(v3, a3, client, state);
      expect(diffPlan(v3, await state.load(v3.program))).toEqual([]);

      // the stub enforces the rule: replacing in place would have been refused
      const v4 = await build(["y", "z", "a", "b", "c"], "v4");
      const a4 = diffPlan(v4, await state.load(v4.program)).filter((x) => x.op !== "drop").map((x) => (x.op === "recreate" ? { ...x, op: "replace" as const } : x));
      expect(a4.some((x) => x.statement.name === tel && x.op === "replace")).toBe(true);
      await expect(applyActions(v4, a4, client, state)).rejects.toThrow(/Cannot upgrade data source/);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test("an object deployed without recorded columns is re-created rather than risk a refused replace", () => {
    const st = { ...plan.statements.find((x) => x.replaceable && x.kind === "stream" && x.name.endsWith("_TELEMETRY"))! };
    const deployed = new Map([[st.name, { program: plan.program, name: st.name, kind: "stream" as const, hash: "old", sql: "old", index: st.index, dependsOn: st.dependsOn, deployedAt: "2026-01-01T00:00:00Z" }]]);
    const acts = diffPlan({ ...plan, statements: [st] }, deployed);
    expect(acts.map((a) => a.op)).toEqual(["drop", "recreate"]);
  });
});

describe("EMIT FINAL deploys with the wall-clock throttle off (issue 13, item 7)", () => {
  test("every statement of a program with EMIT FINAL carries __emit.interval.ms…=0; a program without does not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ofl-final-"));
    try {
      const build = async (src: string, name: string): Promise<DeployPlan> => {
        const file = join(dir, `${name}.ofl`);
        writeFileSync(file, src);
        const o = join(dir, `out-${name}`);
        const code = await buildCommand.run([file, "--out", o], io());
        expect(code, printed).toBe(0);
        return JSON.parse(readFileSync(join(o, "plan.json"), "utf8")) as DeployPlan;
      };
      const model = "model M {\n  telemetry t: float\n  state hi = max(t) over tumbling 1m final\n}\nasset a: M { uuid \"A-1\" }\n";
      const withFinal = await build(model, "final");
      const without = await build(model.replace(" final", ""), "changes");
      const prop = "ksql.streams.__emit.interval.ms.kstreams.windowed.aggregation__";
      expect(withFinal.properties).toEqual({ "ksql.streams.auto.offset.reset": "earliest", [prop]: "0" });
      expect(without.properties).toEqual({ "ksql.streams.auto.offset.reset": "earliest" });
      const s = await startKsqlStub();
      try {
        await applyActions(withFinal, diffPlan(withFinal, new Map()), new KsqlDbClient(s.url), memoryDeployState());
        const finalReq = s.requests.find((r) => r.ksql.includes("EMIT FINAL"));
        expect(finalReq, "the EMIT FINAL statement was sent").toBeTruthy();
        for (const r of s.requests) expect(r.streamsProperties[prop], r.ksql.slice(0, 60)).toBe("0");
        const n = s.requests.length;
        await applyActions(without, diffPlan(without, new Map()), new KsqlDbClient(s.url), memoryDeployState());
        expect(s.requests.length).toBeGreaterThan(n);
        for (const r of s.requests.slice(n)) expect(prop in r.streamsProperties).toBe(false);
      } finally {
        await s.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("ksqlDB REST client (against the stub)", () => {
  test("info, healthcheck, basic auth from the URL", async () => {
    const u = new URL(stub.url);
    const c = new KsqlDbClient(`http://ofl:s3cret@${u.host}`);
    expect((await c.info()).version).toBe("0.29.0");
    expect((await c.healthcheck()).isHealthy).toBe(true);
    expect(stub.auth.at(-1)).toBe(`Basic ${Buffer.from("ofl:s3cret").toString("base64")}`);
    // the URL, which may carry the password, is said without it
    expect(c.url).toBe(`http://${u.host}`);
    expect(() => new KsqlDbClient(`ftp://ofl:s3cret@${u.host}`)).toThrow(/^ksqlDB URL must be http or https, not ftp$/);
  });

  test("warning_entity for IF NOT EXISTS on an existing object; 503 with Retry-After is retried", async () => {
    const c = new KsqlDbClient(stub.url);
    await c.ksql("CREATE STREAM IF NOT EXISTS X_TEST (A VARCHAR) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON');");
    stub.unavailable = 2;
    const r = await c.ksql("CREATE STREAM IF NOT EXISTS X_TEST (A VARCHAR) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON');");
    expect(r[0]!["@type"]).toBe("warning_entity");
    expect(stub.unavailable).toBe(0);
  });

  test("a statement error names the statement, error_code and message; deploy stops at the first failure", async () => {
    const state = memoryDeployState();
    const target = plan.statements[3]!;
    stub.refuse = target.name;
    stub.requests.length = 0;
    try {
      await applyActions(plan, diffPlan(plan, new Map()), new KsqlDbClient(stub.url), state).then(
        () => expect.unreachable(),
        (e: Error) => {
          expect(e).toBeInstanceOf(DeployError);
          expect(e.message).toContain(`statement ${target.index} (${target.kind} ${target.name}`);
          expect(e.message).toContain("error_code 40001");
          expect(e.message).toContain("stub refuses");
        },
      );
      expect(stub.requests.length).toBe(3); // the three before it (SET is not sent), nothing after
      expect(state.objects.size).toBe(2);
    } finally {
      stub.refuse = undefined;
    }
  });

  test("server down: a clear error", async () => {
    const s = await startKsqlStub();
    await s.close();
    const err = await new KsqlDbClient(s.url).info().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KsqlDbError);
    expect((err as KsqlDbError).message).toMatch(/cannot reach ksqlDB at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
});
