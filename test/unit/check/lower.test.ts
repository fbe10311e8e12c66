// What the checker resolves and lowering emits, at the IR level: conversions, hoisting,
// triggers, references across assets, bare enum members, `age` comparisons.
import { describe, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import type { IrProgram } from "../../../compiler/ir/types.js";

function ir(text: string): IrProgram {
  const r = compile([{ path: "/t.ofl", text }], { name: "t" });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.ir!;
}

describe("lowering", () => {
  test("scaled units convert: 1 kW compared with W, quantities into the declared unit", () => {
    const p = ir(`model M {
      telemetry p: float<kW>
      state big = p > 900 W
      command set(v: float<W>)
    }
    asset a: M {}
    rule r on M { when big then set(v: 2 kW) }`);
    expect(p.models[0]!.states[0]!.def).toEqual({ k: "binary", op: "gt", left: { k: "ref", asset: null, kind: "signal", name: "p" }, right: { k: "const", value: 0.9 } });
    expect(p.rules[0]!.actions[0]!.args).toEqual([{ name: "v", value: { k: "const", value: 2000 } }]);
  });
  test("durations: a quantity in a time unit is a duration in ms", () => {
    const p = ir(`model M {
      telemetry t: float<s>
      state long = t > 2 min
      state hot = t > 1 s for 0.5 min
    }`);
    expect(p.models[0]!.states[0]!.def).toMatchObject({ k: "binary", right: { k: "const", value: 120 } });
    expect(p.models[0]!.states[1]!.def).toMatchObject({ k: "for", ms: 30_000 });
  });
  test("nested history operators are hoisted into hidden states, ordered before their readers", () => {
    const p = ir(`model M {
      telemetry t: float
      state s = (t > 5 for 10s) and avg(t) over tumbling 1m > 3
    }`);
    const states = p.models[0]!.states;
    expect(states.map((s) => [s.name, s.hidden])).toEqual([
      ["$s$0", true],
      ["$s$1", true],
      ["s", false],
    ]);
    expect(states[1]!.def).toMatchObject({ k: "window", agg: { fn: "avg", window: { kind: "tumbling", sizeMs: 60_000, graceMs: 0 }, triggers: ["t"] } });
    expect(states[2]!.dependsOn.sort()).toEqual(["$s$0", "$s$1"]);
  });
  test("aggregate triggers follow states to the telemetry they read", () => {
    const p = ir(`model M {
      telemetry a: float
      telemetry b: float
      telemetry c: float
      state sum2 = a + b
      state m = max(sum2) over hopping 2m every 1m grace 5s
    }`);
    const m = p.models[0]!.states.find((s) => s.name === "m")!;
    expect(m.def).toMatchObject({ k: "window", agg: { triggers: ["a", "b"], window: { kind: "hopping", sizeMs: 120_000, hopMs: 60_000, graceMs: 5000 } } });
  });
  test("a model state may read another asset", () => {
    const p = ir(`model T {
      telemetry level: float
      state lower = t2.level > level
    }
    asset t1: T {}
    asset t2: T {}`);
    expect(p.models[0]!.states[0]!.def).toMatchObject({ left: { k: "ref", asset: "t2", kind: "signal", name: "level" } });
  });
  test("bare enum members where the enum is expected, on either side", () => {
    const p = ir(`enum E { A, B }
    model M {
      telemetry e: E
      state x = e == A
      state y = B != e
    }`);
    expect(p.models[0]!.states[0]!.def).toMatchObject({ right: { k: "const", value: "A" } });
    expect(p.models[0]!.states[1]!.def).toMatchObject({ left: { k: "const", value: "B" } });
  });
  test("age comparisons, with the operand order flipped to age-first", () => {
    const p = ir(`model M {
      telemetry t: float
      state a = age(t) > 30s
      state b = 1 min <= age(t)
    }`);
    expect(p.models[0]!.states[0]!.def).toEqual({ k: "age_cmp", ref: { k: "ref", asset: null, kind: "signal", name: "t" }, op: "gt", duration: { k: "const", value: 30_000 } });
    expect(p.models[0]!.states[1]!.def).toMatchObject({ k: "age_cmp", op: "ge", duration: { k: "const", value: 60_000 } });
  });
  test("a rule's own history lives in its locals; interlocks read parameters", () => {
    const p = ir(`model M {
      telemetry t: float
      command go(level: int in 1..3) requires level < 3 and t < 10
    }
    asset a: M {}
    rule r on M { when t > 5 for 2s then go(level: 1) repeat every 10s }`);
    expect(p.rules[0]!.locals.map((s) => s.name)).toEqual(["$r$0"]);
    expect(p.rules[0]!.when).toEqual({ k: "ref", asset: null, kind: "state", name: "$r$0" });
    expect(p.rules[0]!.repeatMs).toBe(10_000);
    expect(p.models[0]!.commands[0]!.requires).toMatchObject({ left: { left: { k: "ref", kind: "param", name: "level" } } });
  });
  test("assets get every attribute, defaults applied; sources keep env() secrets as references", () => {
    const p = ir(`model M {
      attribute hall: string
      attribute vendor: string = "n/a"
      telemetry t: float
    }
    asset a: M {
      hall = "north"
      source opcua("opc.tcp://127.0.0.1:4840", user: env("U"), password: env("P")) { t <- node("ns=1;s=T", sampling: 250ms, deadband: 0.5) }
    }`);
    expect(p.assets[0]!.attributes).toEqual({ hall: "north", vendor: "n/a" });
    expect(p.assets[0]!.sources[0]).toMatchObject({
      kind: "opcua",
      named: { endpoint: "opc.tcp://127.0.0.1:4840", user: { env: "U" }, password: { env: "P" } },
      bindings: [{ direction: "telemetry", target: "t", fn: "node", named: { id: "ns=1;s=T", sampling: 250, deadband: 0.5 } }],
    });
  });
});
