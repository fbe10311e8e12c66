// runtime/replay/prune.ts: what a replay's decisions depend on is kept, the rest left out.
import { describe, expect, it } from "vitest";
import { compile } from "../../../compiler/index.js";
import { decisionProgram } from "../../../runtime/replay/prune.js";

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
