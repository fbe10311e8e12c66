// Same decisions before and after every optimisation (issue 15): small versions of the replay
// and engine benchmark sessions (bench/inputs.mjs), recorded with the decisions of the engine as
// it was before the optimisations (bench/make-decision-fixtures.mjs wrote them, committed before
// any engine or input change). The engine must still take exactly those decisions: the same
// commands with the same arguments, correlation ids and times, the same alarm transitions.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { decisionProgram } from "../../../runtime/replay/prune.js";
import { replaySession } from "../../../runtime/replay/runner.js";
import { readSession } from "../../../runtime/replay/session.js";
import { classify, isInput } from "../../../runtime/wire/records.js";
import type { NewRecord } from "../../../runtime/wire/types.js";

const dir = join(fileURLToPath(import.meta.url), "../../../fixtures/bench-decisions");
interface Decision {
  key: string | null;
  ts: number;
  value: { ID: string; VALUE: string; TAG: string; TYPE: string; attributes: { timestamp: string } };
}
interface Fixture {
  inputs: number;
  decisions: Decision[];
}

function program(name: string): IrProgram {
  if (name === "engine-small") return JSON.parse(fs.readFileSync(join(dir, "engine-small.ir.json"), "utf8")) as IrProgram;
  const text = fs.readFileSync(join(dir, `${name}.ofl`), "utf8");
  const { ir, diagnostics } = compile([{ path: join(dir, `${name}.ofl`), text }], { name: "bench" });
  if (!ir) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  return ir;
}

describe.each(["replay-small", "engine-small"])("%s benchmark session", (name) => {
  const fixture = JSON.parse(fs.readFileSync(join(dir, `${name}.decisions.json`), "utf8")) as Fixture;
  const session = join(dir, `${name}.jsonl`);
  const count = (tag: string): number => fixture.decisions.filter((d) => d.value.TAG === tag).length;

  it("exercises what it claims: commands and alarm transitions were recorded", () => {
    expect(fixture.inputs).toBe(12_000);
    expect(count("Method.Command")).toBeGreaterThan(20);
    expect(count("Alarm")).toBeGreaterThan(5);
  });

  it.each([
    ["the engine", (ir: IrProgram) => ir],
    ["the engine over what the decisions depend on (runtime/replay/prune.ts)", decisionProgram],
  ])("%s takes the recorded decisions, in order, at the recorded times", (_, which) => {
    const ir = which(program(name));
    const out: NewRecord[] = [];
    const engine = new Engine({ program: ir, derivedOutputs: false, onOutput: (r) => out.push(r) });
    let last = 0;
    let inputs = 0;
    for (const { record } of readSession(session)) {
      const ev = classify(record);
      if (!isInput(ev) || ev.kind === "bad") continue;
      inputs++;
      last = Math.max(last, ev.time);
      engine.process(ev);
    }
    engine.advanceTo(last);
    expect(inputs).toBe(fixture.inputs);
    const decisions = out
      .filter((r) => ["Method.Command", "Method.Result", "Alarm"].includes((r.value as { TAG?: string }).TAG ?? ""))
      .map((r) => ({ key: r.key, ts: r.ts, value: r.value }));
    expect(decisions).toEqual(fixture.decisions);
  });

  it("`ofl test --replay` of the recorded session matches every decision", () => {
    const report = replaySession(program(name), session);
    expect(report.divergence).toBeUndefined();
    expect(report.passed).toBe(true);
    expect(report.records).toBe(fixture.inputs + fixture.decisions.length);
    expect(report.commands).toEqual({ recorded: count("Method.Command"), replayed: count("Method.Command"), matched: count("Method.Command") });
    expect(report.alarms).toEqual({ recorded: count("Alarm"), replayed: count("Alarm"), matched: count("Alarm") });
  });
});
