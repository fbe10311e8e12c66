// runtime/replay/prune.ts: what a replay's decisions depend on is kept, the rest left out; the
// same for what the cross stage of a partitioned deployment decides.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compile } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { crossStageProgram, decisionProgram } from "../../../runtime/replay/prune.js";
import { readSession } from "../../../runtime/replay/session.js";
import { crossDecisions, crossOutputFilter } from "../../../runtime/wire/partitions.js";
import { classify } from "../../../runtime/wire/records.js";
import type { NewRecord } from "../../../runtime/wire/types.js";

const fixtures = join(fileURLToPath(import.meta.url), "../../../fixtures/bench-decisions");

const ir = (text: string) => {
  const r = compile([{ path: "/p.ofl", text }], { name: "p" });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.ir!;
};
const states = (p: ReturnType<typeof ir>, model: string) => p.models.find((m) => m.name === model)!.states.filter((s) => !s.hidden).map((s) => s.name);

const PLANT = `
model Mill {
  attribute hall: string
  telemetry temperature: float
  telemetry speed: float
  state hot = temperature > 90 for 5s
  state shown_only = speed * 2
  state warm = temperature > 60
  state guard = speed < 100
  state fleet_input = temperature + 1
  state unused_view_input = speed + 1
  alarm overtemp severity high when warm and temperature > 95
  command stop()
  command slow() requires guard
}
asset m1: Mill { uuid "M-1" hall = "a" }
asset m2: Mill { uuid "M-2" hall = "b" }
view fleet = avg(fleet_input) from Mill
view dashboard_only = avg(unused_view_input) from Mill
rule stop_hot on Mill { when hot and fleet > 50 then stop() }
`;

describe("decisionProgram", () => {
  it("keeps what rules, alarms and interlocks read, through states and views; leaves out the rest", () => {
    const p = decisionProgram(ir(PLANT));
    // hot: the rule; warm: the alarm; guard: slow's interlock; fleet_input: the view the rule reads
    expect(states(p, "Mill")).toEqual(["hot", "warm", "guard", "fleet_input"]);
    expect(p.views.map((v) => v.name)).toEqual(["fleet"]);
    expect(p.rules.map((r) => r.name)).toEqual(["stop_hot"]);
    expect(p.models[0]!.alarms.map((a) => a.name)).toEqual(["overtemp"]);
  });

  it("follows another asset's state named in a rule without `on`, and states read by kept states", () => {
    const p = decisionProgram(
      ir(`
model Tank {
  telemetry level: float
  state base = level * 2
  state high = base > 10
  state other = level + 3
  command reset()
}
asset t1: Tank { uuid "T-1" }
rule drain { when t1.high then t1.reset() }
`),
    );
    expect(states(p, "Tank")).toEqual(["base", "high"]);
  });

  it("a program that uses changed() is replayed whole (a left-out timer pass would end a changed())", () => {
    const whole = ir(`
model M {
  telemetry x: float
  state shown = age(x) > 5s
  state moved = changed(x)
  command go()
}
asset a: M { uuid "A" }
rule r on M { when moved then go() }
`);
    expect(decisionProgram(whole)).toBe(whole);
  });
});

describe("crossStageProgram", () => {
  // the benchmark fixture's plant with logic across partitions added: a state and an alarm
  // reading the fleet's count, a rule without `on` reading it and a rule reading the state
  const text = readFileSync(join(fixtures, "replay-small.ofl"), "utf8")
    .replace("  command stop()", "  state crowded = active > 12\n  alarm crowd severity low when crowded and fast\n  command stop()")
    .concat("\nrule calm_fleet { when active >= 15 then m3.slow(pct: 20 percent) }\nrule stop_crowded on Mill { when crowded and hot then stop() }\n");
  const plant = ir(text);
  const cross = crossDecisions(plant, 4);

  it("keeps what the cross stage decides and what it reads; the partitions' own logic is left out", () => {
    expect([...cross.states]).toEqual(["Mill.crowded"]);
    expect([...cross.alarms]).toEqual(["Mill.crowd"]);
    expect([...cross.rules]).toEqual(["calm_fleet", "stop_crowded"]);
    const p = crossStageProgram(plant, cross);
    // crowded (itself), fast (crowd reads it), hot (stop_crowded reads it); slow's interlock reads execution only
    expect(states(p, "Mill")).toEqual(["hot", "fast", "crowded"]);
    expect(p.models[0]!.alarms.map((a) => a.name)).toEqual(["crowd"]);
    expect(p.rules.map((r) => r.name)).toEqual(["calm_fleet", "stop_crowded"]);
    expect(p.views.map((v) => v.name)).toEqual(["active"]);
  });

  it("writes exactly the cross outputs the whole program writes, over the fixture session", () => {
    const isCross = crossOutputFilter(plant, 4);
    const crossOutputs = (program: typeof plant): string[] => {
      let batch: NewRecord[] = [];
      const out: string[] = [];
      const engine = new Engine({ program, onOutput: (o) => batch.push(o) });
      for (const { record } of readSession(join(fixtures, "replay-small.jsonl"))) {
        batch = [];
        engine.process(classify(record));
        const keep = isCross(batch);
        batch.forEach((o, i) => keep[i] && out.push(JSON.stringify([o.key, o.value])));
      }
      return out;
    };
    const whole = crossOutputs(plant);
    expect(whole.filter((o) => o.includes("slow_CMD") || o.includes("stop_CMD")).length).toBeGreaterThan(5);
    expect(whole.filter((o) => o.includes('"crowded"')).length).toBeGreaterThan(5);
    expect(crossOutputs(crossStageProgram(plant, cross))).toEqual(whole);
  });
});
