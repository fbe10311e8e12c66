// One test (or a few) per semantic rule of the engine (language.md §3-§7).

import { describe, expect, it } from "vitest";
import type { IrExpr, IrProgram } from "../../../compiler/ir/types.js";
import { correlationId } from "../../../runtime/wire/correlation.js";
import {
  act,
  add,
  age,
  alarm,
  and,
  asset,
  B,
  bin,
  c,
  changed,
  command,
  E,
  eq,
  F,
  forDef,
  ge,
  gt,
  I,
  known,
  lt,
  model,
  not,
  or,
  param,
  previous,
  program,
  rule,
  S,
  sig,
  Sim,
  st,
  state,
  alarmRef,
  le,
} from "./helpers.js";

const one = (states: ReturnType<typeof state>[], extra: Partial<Parameters<typeof model>[1]> = {}, rules: IrProgram["rules"] = []) =>
  program("p", {
    enums: { Mode: ["OFF", "ON"] },
    models: [model("M", { telemetry: { x: F, y: F, b: B, n: I, m: E("Mode"), s: S }, states, ...extra })],
    assets: [asset("a", "M", "A", {}, { m: [["0", "OFF"], ["1", "ON"]] }), asset("z", "M", "Z")],
    rules,
  });

describe("latest values", () => {
  it("keeps the latest value per asset and signal in log order, unknown is a value", () => {
    const sim = new Sim(one([]));
    sim.tel("A", "x", 1, 10).tel("Z", "x", 2, 11).tel("A", "x", 3, 5); // a late record still updates the latest value
    expect(sim.eval(sig("x", "a"))).toBe(3);
    expect(sim.eval(sig("x", "z"))).toBe(2);
    sim.tel("A", "x", null, 20);
    expect(sim.eval(sig("x", "a"))).toBe(null);
    expect(sim.engine.streamTime).toBe(20);
  });

  it("parses enums through the binding map", () => {
    const sim = new Sim(one([]));
    sim.tel("A", "m", "1" as never, 0);
    expect(sim.eval(sig("m", "a"))).toBe("ON");
    sim.tel("Z", "m", "1" as never, 0);
    expect(sim.deadletters.map((d) => d.reason)).toEqual(["wrong_type"]);
  });

  it("writes derived records only when a visible state changes, in declaration order", () => {
    const sim = new Sim(one([state("dbl", add(sig("x"), sig("x"))), state("$h", gt(sig("x"), 0), B, true), state("pos", gt(sig("x"), 0), B)]));
    sim.tel("A", "x", 1, 0).tel("A", "x", 1, 1).tel("A", "x", -1, 2).tel("A", "y", 5, 3);
    expect(sim.records("Derived")).toEqual([
      ["A", "dbl", "2", 0],
      ["A", "pos", "true", 0],
      ["A", "dbl", "-2", 2],
      ["A", "pos", "false", 2],
    ]);
    const d = sim.out.find((r) => (r.value as { ID: string }).ID === "dbl")!.value as Record<string, unknown>;
    expect(d).toEqual({ ID: "dbl", VALUE: "2", TAG: "Derived", TYPE: "Samples", attributes: { timestamp: "1970-01-01T00:00:00.000Z" } });
    sim.tel("A", "x", null, 4);
    expect(sim.records("Derived").slice(-2)).toEqual([
      ["A", "dbl", "UNAVAILABLE", 4],
      ["A", "pos", "UNAVAILABLE", 4],
    ]);
  });
});

describe("three-valued logic", () => {
  const sim = new Sim(one([]));
  const N = c(null);
  const T = c(true);
  const Fa = c(false);
  it.each<[string, IrExpr, unknown]>([
    ["null and false", and(N, Fa), false],
    ["false and null", and(Fa, N), false],
    ["null and true", and(N, T), null],
    ["true and true", and(T, T), true],
    ["null or true", or(N, T), true],
    ["true or null", or(T, N), true],
    ["null or false", or(N, Fa), null],
    ["not null", not(N), null],
    ["not false", not(Fa), true],
    ["null + 1", add(N, c(1)), null],
    ["null > 1", gt(N, 1), null],
    ["null == null", eq(N, N), null],
    ["1 == 1", eq(c(1), c(1)), true],
    ["1 / 0 (not finite)", bin("div", c(1), c(0)), null],
    ["7 % 4", bin("mod", c(7), c(4)), 3],
    ["known(null)", known(N), false],
    ["known(0)", known(c(0)), true],
    ["if null then 1 else 2", { k: "if", cond: N, then: c(1), else: c(2) }, 2],
    ["if true then 1 else 2", { k: "if", cond: T, then: c(1), else: c(2) }, 1],
    ["clamp(5, 0, 3)", { k: "call", fn: "clamp", args: [c(5), c(0), c(3)] }, 3],
    ["max(1, null)", { k: "call", fn: "max", args: [c(1), N] }, null],
    ["round(-2.5)", { k: "call", fn: "round", args: [c(-2.5)] }, -3],
    ["sqrt(-1)", { k: "call", fn: "sqrt", args: [c(-1)] }, null],
    ["pow(2, 10)", { k: "call", fn: "pow", args: [c(2), c(10)] }, 1024],
    ["scale", { k: "scale", factor: 1000, arg: c(1.5) }, 1500],
    ["neg null", { k: "unary", op: "neg", arg: N }, null],
  ])("%s", (_, e, want) => {
    expect(sim.eval(e)).toBe(want);
  });
});

describe("availability", () => {
  it("UNAVAILABLE makes every signal of the asset unknown; AVAILABLE restores nothing", () => {
    const sim = new Sim(one([state("k", known(sig("x")), B)]));
    sim.tel("A", "x", 1, 0).tel("A", "b", true, 0).tel("Z", "x", 9, 0);
    sim.avail("A", false, 5);
    expect(sim.eval(sig("x", "a"))).toBe(null);
    expect(sim.eval(sig("b", "a"))).toBe(null);
    expect(sim.eval(sig("x", "z"))).toBe(9);
    expect(sim.eval(st("k", "a"))).toBe(false);
    sim.avail("A", true, 6);
    expect(sim.eval(sig("x", "a"))).toBe(null);
    expect(sim.engine.streamTime).toBe(6);
    expect(sim.eval(previous(sig("x", "a")))).toBe(1);
  });
});

describe("dead letters", () => {
  const prog = () =>
    program("p", {
      models: [model("M", { telemetry: { x: [F, [0, 10]], n: I } })],
      assets: [asset("a", "M", "A")],
    });
  it("checks reasons in order and quarantines without changing state or stream time", () => {
    const sim = new Sim(prog());
    sim.tel("A", "x", 5, 100);
    sim.tel("NOPE", "nope", "NaN" as never, 200); // unknown_asset before unknown_signal and the value
    sim.tel("A", "nope", "abc" as never, 300); // unknown_signal before wrong_type
    sim.tel("A", "n", "1.5" as never, 400);
    sim.tel("A", "x", "NaN" as never, 500);
    sim.tel("A", "x", "-Infinity" as never, 500);
    sim.tel("A", "x", 11, 600);
    sim.bad("not JSON");
    expect(sim.deadletters.map((d) => [d.key, d.reason])).toEqual([
      ["NOPE", "unknown_asset"],
      ["A", "unknown_signal"],
      ["A", "wrong_type"],
      ["A", "not_finite"],
      ["A", "not_finite"],
      ["A", "out_of_range"],
      [null, "bad_json"],
    ]);
    expect(sim.engine.streamTime).toBe(100);
    expect(sim.eval(sig("x", "a"))).toBe(5);
    const dl = sim.out.find((r) => r.topic === "ofl_deadletter")!;
    expect(dl.value).toMatchObject({
      reason: "unknown_asset",
      record: { topic: "ofa_assets", partition: 0, offset: 1, key: "NOPE" },
      source: "ofa_assets:0:1",
    });
    expect(typeof (dl.value as { detail: string }).detail).toBe("string");
    expect(dl.ts).toBe(100);
  });

  it("a quarantined record does not fire timers", () => {
    const sim = new Sim(
      program("p", {
        models: [model("M", { telemetry: { x: [F, [0, 10]] }, states: [state("hold", forDef(gt(sig("x"), 1), 1000), B)] })],
        assets: [asset("a", "M", "A")],
      }),
    );
    sim.tel("A", "x", 5, 0).tel("A", "x", 99, 5000);
    expect(sim.eval(st("hold", "a"))).toBe(false);
    sim.clock(1000);
    expect(sim.eval(st("hold", "a"))).toBe(true);
  });

  it("recorded outputs are ignored", () => {
    const sim = new Sim(prog());
    const record = { topic: "ofa_assets", partition: 0, offset: 0, ts: 5, key: "A", value: {} };
    sim.raw({ kind: "derived", partition: 0, offset: 0, key: "A", time: 99999, record, id: "x", value: "3" });
    sim.raw({ kind: "alarm", partition: 0, offset: 0, key: "A", time: 99999, record, id: "x", value: "ACTIVE" });
    expect(sim.engine.streamTime).toBe(-Infinity);
    expect(sim.out).toEqual([]);
  });
});

describe("timers", () => {
  it("fire in deadline order before the record that moves stream time past them, chained timers in the same pass", () => {
    const sim = new Sim(
      one([state("a1", forDef(gt(sig("x"), 0), 1000), B), state("b1", forDef(st("a1"), 1000), B), state("c1", forDef(gt(sig("y"), 0), 1500), B)]),
    );
    sim.tel("A", "x", 1, 0).tel("A", "y", 1, 0);
    sim.tel("A", "x", -1, 5000);
    expect(sim.records("Derived")).toEqual([
      ["A", "a1", "true", 1000],
      ["A", "c1", "true", 1500],
      ["A", "b1", "true", 2000],
      ["A", "a1", "false", 5000],
      ["A", "b1", "false", 5000],
    ]);
  });

  it("ties fire in arming order", () => {
    const p = program("p", {
      models: [model("M", { telemetry: { x: F }, states: [state("h", forDef(gt(sig("x"), 0), 1000), B)], commands: [command("go")] })],
      assets: [asset("a", "M", "A"), asset("b", "M", "B")],
      rules: [rule("r", { on: "M", when: st("h"), actions: [act("go")] })],
    });
    const sim = new Sim(p);
    sim.tel("B", "x", 1, 0).tel("A", "x", 1, 0).clock(2000);
    expect(sim.cmdList()).toEqual(["B.go@1000", "A.go@1000"]);
    const h = sim.commands[0]!.envelope.header;
    expect(h.correlation_id).toBe(correlationId("p", "r", "B", "timer:1000", 0));
    expect(h.cause_offset).toBe(2);
  });

  it("`for` holds from exactly start + D and drops at once; never unknown", () => {
    const sim = new Sim(one([state("h", forDef(gt(sig("x"), 0), 5000), B)]));
    sim.at(0);
    sim.tel("A", "y", 1, 0);
    expect(sim.eval(st("h", "a"))).toBe(false);
    sim.tel("A", "x", 1, 1000);
    sim.at(5999);
    expect(sim.eval(st("h", "a"))).toBe(false);
    sim.at(6000);
    expect(sim.eval(st("h", "a"))).toBe(true);
    sim.tel("A", "x", null, 7000);
    expect(sim.eval(st("h", "a"))).toBe(false);
    sim.tel("A", "x", 1, 8000).tel("A", "x", 2, 9000);
    sim.at(12999);
    expect(sim.eval(st("h", "a"))).toBe(false);
    sim.at(13000);
    expect(sim.eval(st("h", "a"))).toBe(true);
  });

  it("age comparisons flip at the exact instant (> from last + D + 1ms, >= from last + D)", () => {
    const sim = new Sim(
      one([
        state("gt30", age(sig("x"), "gt", 30000), B),
        state("ge30", age(sig("x"), "ge", 30000), B),
        state("lt30", age(sig("x"), "lt", 30000), B),
        state("le30", age(sig("x"), "le", 30000), B),
      ]),
    );
    const v = (n: string) => sim.eval(st(n, "a"));
    expect(v("gt30")).toBe(null);
    sim.tel("A", "y", 0, 0);
    expect(v("gt30")).toBe(null); // unknown before the first report
    sim.tel("A", "x", 1, 1000);
    sim.tel("A", "x", 1, 10000); // an unchanged report restarts the age
    sim.at(39999);
    expect([v("gt30"), v("ge30"), v("lt30"), v("le30")]).toEqual([false, false, true, true]);
    sim.at(40000);
    expect([v("gt30"), v("ge30"), v("lt30"), v("le30")]).toEqual([false, true, false, true]);
    sim.at(40001);
    expect([v("gt30"), v("ge30"), v("lt30"), v("le30")]).toEqual([true, true, false, false]);
    expect(sim.records("Derived").filter((r) => r[1] === "gt30")).toEqual([
      ["A", "gt30", "false", 1000],
      ["A", "gt30", "true", 40001],
    ]);
    expect(sim.eval(age(sig("x", "a"), "gt", 30000))).toBe(true);
    expect(sim.eval(age(sig("x", "a"), "gt", 31000))).toBe(false);
  });
});

describe("previous and changed", () => {
  it("previous is the value before the latest change; changed is true on the record that changed it only", () => {
    const sim = new Sim(one([state("p", previous(sig("x"))), state("ch", changed(sig("x")), B)]));
    const v = (n: string) => sim.eval(st(n, "a"));
    sim.tel("A", "x", 1, 0);
    expect([v("p"), v("ch")]).toEqual([null, true]);
    sim.tel("A", "x", 1, 1);
    expect([v("p"), v("ch")]).toEqual([null, false]);
    sim.tel("A", "x", 2, 2);
    expect([v("p"), v("ch")]).toEqual([1, true]);
    sim.tel("A", "y", 2, 3);
    expect([v("p"), v("ch")]).toEqual([1, false]);
    sim.tel("A", "x", null, 4);
    expect([v("p"), v("ch")]).toEqual([2, true]);
    sim.tel("Z", "y", 2, 5); // another asset's record does not touch a
    expect(v("ch")).toBe(true);
  });
});

describe("alarms", () => {
  const prog = () =>
    one([], {
      alarms: [alarm("hi", gt(sig("x"), 10), lt(sig("x"), 5)), alarm("lo", lt(sig("x"), 0))],
    });
  it("without clear: clears when `when` becomes false; unknown neither raises nor clears", () => {
    const sim = new Sim(prog());
    const lo = () => sim.eval(alarmRef("lo", "a"));
    expect(lo()).toBe(false);
    sim.tel("A", "x", -1, 0);
    expect(lo()).toBe(true);
    sim.tel("A", "x", null, 1);
    expect(lo()).toBe(true);
    sim.tel("A", "x", 1, 2);
    expect(lo()).toBe(false);
    sim.tel("A", "x", null, 3);
    expect(lo()).toBe(false);
    expect(sim.records("Alarm")).toEqual([
      ["A", "lo", "ACTIVE", 0],
      ["A", "lo", "NORMAL", 2],
    ]);
  });
  it("with clear: hysteresis", () => {
    const sim = new Sim(prog());
    sim.tel("A", "x", 11, 0).tel("A", "x", 7, 1).tel("A", "x", null, 2).tel("A", "x", 4, 3).tel("A", "x", 12, 4);
    expect(sim.records("Alarm")).toEqual([
      ["A", "hi", "ACTIVE", 0],
      ["A", "hi", "NORMAL", 3],
      ["A", "hi", "ACTIVE", 4],
    ]);
    expect(sim.out.find((r) => (r.value as { TAG: string }).TAG === "Alarm")!.value).toEqual({
      ID: "hi",
      VALUE: "ACTIVE",
      TAG: "Alarm",
      TYPE: "Condition",
      attributes: { timestamp: "1970-01-01T00:00:00.000Z" },
    });
  });
});

describe("rules", () => {
  const prog = (r: Partial<IrProgram["rules"][number]>, cmds = [command("go")]) =>
    program("p", {
      models: [model("M", { telemetry: { x: F, y: F }, commands: cmds })],
      assets: [asset("a", "M", "A"), asset("b", "M", "B")],
      rules: [rule("r", { on: "M", when: gt(sig("x"), 0), actions: [act("go")], ...r })],
    });

  it("fire on the rising edge (false or unknown → true), once per edge, per asset", () => {
    const sim = new Sim(prog({}));
    sim.tel("A", "x", 1, 0).tel("A", "x", 2, 1).tel("A", "x", null, 2).tel("A", "x", 3, 3).tel("A", "x", -1, 4).tel("A", "x", 3, 5).tel("B", "x", 1, 5);
    expect(sim.cmdList()).toEqual(["A.go@0", "A.go@3", "A.go@5", "B.go@5"]);
  });

  it("two records at the same time can each cause an edge", () => {
    const sim = new Sim(prog({}));
    sim.tel("A", "x", 1, 10).tel("A", "x", -1, 10).tel("A", "x", 1, 10);
    expect(sim.cmdList()).toEqual(["A.go@10", "A.go@10"]);
    const ids = sim.commands.map((k) => k.envelope.header.correlation_id);
    expect(ids[0]).toBe(correlationId("p", "r", "A", "offset:0:0", 0));
    expect(ids[1]).toBe(correlationId("p", "r", "A", "offset:0:2", 0));
    expect(sim.commands[1]!.envelope.header.cause_offset).toBe(2);
  });

  it("cooldown drops firings less than D after the last, per asset; its end fires nothing", () => {
    const sim = new Sim(prog({ cooldownMs: 1000 }));
    sim.tel("A", "x", 1, 0).tel("A", "x", -1, 100).tel("A", "x", 1, 999).tel("B", "x", 1, 999);
    sim.tel("A", "x", -1, 1000).tel("A", "x", 1, 1000);
    sim.clock(5000);
    expect(sim.cmdList()).toEqual(["A.go@0", "B.go@999", "A.go@1000"]);
  });

  it("repeat fires again every D while the condition holds; repeats count for cooldown", () => {
    const sim = new Sim(prog({ repeatMs: 1000 }));
    sim.tel("A", "x", 1, 0).clock(3500).tel("A", "x", -1, 3600).clock(10000);
    expect(sim.cmdList()).toEqual(["A.go@0", "A.go@1000", "A.go@2000", "A.go@3000"]);
    expect(sim.commands[1]!.envelope.header.correlation_id).toBe(correlationId("p", "r", "A", "timer:1000", 0));
    const sim2 = new Sim(prog({ repeatMs: 1000, cooldownMs: 1500 }));
    sim2.tel("A", "x", 1, 0).clock(4500);
    expect(sim2.cmdList()).toEqual(["A.go@0", "A.go@2000", "A.go@4000"]);
  });

  it("shadow rules log shadow commands with the interlock verdict, never a result", () => {
    const sim = new Sim(prog({ shadow: true }, [command("go", [], gt(sig("y"), 0))]));
    sim.tel("A", "x", 1, 0);
    expect(sim.commands.map((k) => [k.envelope.header.shadow, k.envelope.header.verdict])).toEqual([[true, "rejected"]]);
    expect(sim.results).toEqual([]);
  });

  it("a rule without `on` runs once and names its targets", () => {
    const p = program("p", {
      models: [model("M", { telemetry: { x: F }, commands: [command("go", [{ name: "v", type: F }])] })],
      assets: [asset("a", "M", "A"), asset("b", "M", "B")],
      rules: [rule("g", { when: gt(add(sig("x", "a"), sig("x", "b")), 10), actions: [act("go", { v: sig("x", "a") }, "a"), act("go", { v: c(50) }, "b")] })],
    });
    const sim = new Sim(p);
    sim.tel("A", "x", 6, 0).tel("B", "x", 6, 1);
    expect(sim.cmdList()).toEqual(["A.go@1", "B.go@1"]);
    expect(sim.commands.map((k) => k.envelope.arguments)).toEqual([{ v: "6" }, { v: "50" }]);
    expect(sim.commands[1]!.envelope.header.correlation_id).toBe(correlationId("p", "g", "B", "offset:0:1", 1));
    expect(sim.commands[0]!.envelope.header).toEqual({
      correlation_id: correlationId("p", "g", "A", "offset:0:1", 0),
      sender_uuid: "OFL-p",
      timestamp: "1970-01-01T00:00:00.001Z",
      signature: null,
      rule: "g",
      cause_offset: 1,
      shadow: false,
      verdict: "accepted",
    });
  });

  it("uses the sender uuid given", () => {
    const sim = new Sim(prog({}), "RUNTIME-7");
    sim.tel("A", "x", 1, 0);
    expect(sim.commands[0]!.envelope.header.sender_uuid).toBe("RUNTIME-7");
  });
});

describe("commands: argument checks and interlocks", () => {
  const prog = () =>
    program("p", {
      enums: { Mode: ["OFF", "ON"] },
      models: [
        model("M", {
          telemetry: { x: F, mode: E("Mode") },
          commands: [
            command(
              "set",
              [
                { name: "v", type: F, range: [0, 150] },
                { name: "n", type: I },
              ],
              and(ne2(sig("mode"), "OFF"), le(param("v"), c(120))),
            ),
            command("flip", [{ name: "to", type: E("Mode") }]),
          ],
        }),
      ],
      assets: [asset("a", "M", "A")],
      rules: [
        rule("r", { on: "M", when: gt(sig("x"), 0), actions: [act("set", { v: sig("x"), n: c(1) })] }),
        rule("r2", { on: "M", when: gt(sig("x"), 1000), actions: [act("set", { v: c(1) })] }),
      ],
    });
  function ne2(l: IrExpr, r: string): IrExpr {
    return bin("ne", l, c(r));
  }

  it("argument out of range, then interlock false, then accepted", () => {
    const sim = new Sim(prog());
    sim.tel("A", "mode", "ON", 0).tel("A", "x", 180, 1).tel("A", "x", -1, 2).tel("A", "x", 130, 3).tel("A", "x", -1, 4).tel("A", "x", 50, 5);
    expect(sim.commands.map((k) => [k.ts, k.envelope.header.verdict, k.envelope.arguments])).toEqual([
      [1, "rejected", { v: "180", n: "1" }],
      [3, "rejected", { v: "130", n: "1" }],
      [5, "accepted", { v: "50", n: "1" }],
    ]);
    expect(sim.results.map((r) => [r.ts, r.reason])).toEqual([
      [1, "argument v=180 outside 0..150"],
      [3, "interlock: requires v <= 120 (v = 130)"],
    ]);
  });

  it("a missing argument rejects", () => {
    const sim = new Sim(prog());
    sim.tel("A", "mode", "ON", 0).tel("A", "x", 2000, 1);
    expect(sim.results.map((r) => r.reason)).toEqual(["argument v=2000 outside 0..150", "missing argument n"]);
  });

  it("an unknown interlock rejects (fail safe)", () => {
    const sim = new Sim(prog());
    sim.tel("A", "x", 10, 0);
    expect(sim.results.map((r) => r.reason)).toEqual(["interlock unknown (fail safe): requires mode != OFF (mode = unknown)"]);
  });

  it("operator commands are checked the same way with their own correlation id", () => {
    const sim = new Sim(prog());
    sim.tel("A", "mode", "ON", 0);
    sim.send("A", "set", { v: "100", n: "2" }, 10, "cid-ok");
    sim.send("A", "set", { v: "121", n: "2" }, 11, "cid-lock");
    sim.send("A", "set", { v: "abc", n: "2" }, 12, "cid-type");
    sim.send("A", "set", { v: "1", n: "2.5" }, 13, "cid-int");
    sim.send("A", "flip", { to: "SIDEWAYS" }, 14, "cid-enum");
    sim.send("A", "flip", { to: "OFF" }, 15, "cid-flip");
    sim.send("A", "nope", {}, 16, "cid-cmd");
    sim.send("GHOST", "set", {}, 17, "cid-asset");
    expect(sim.commands).toEqual([]);
    expect(sim.results.map((r) => [r.key, r.correlation_id, r.status, r.reason, r.ts])).toEqual([
      ["A", "cid-lock", "rejected", "interlock: requires v <= 120 (v = 121)", 11],
      ["A", "cid-type", "rejected", "argument v=abc is not a float", 12],
      ["A", "cid-int", "rejected", "argument n=2.5 is not an int", 13],
      ["A", "cid-enum", "rejected", "argument to=SIDEWAYS is not a Mode", 14],
      ["A", "cid-cmd", "rejected", "unknown command nope for a", 16],
      ["GHOST", "cid-asset", "rejected", "unknown asset GHOST", 17],
    ]);
    expect(sim.engine.streamTime).toBe(17);
  });
});

describe("determinism", () => {
  it("correlation ids are the same across runs and depend on the cause", () => {
    const p = program("p", {
      models: [model("M", { telemetry: { x: F }, commands: [command("go")] })],
      assets: [asset("a", "M", "A")],
      rules: [rule("r", { on: "M", when: gt(sig("x"), 0), actions: [act("go"), act("go")] })],
    });
    const run = () => {
      const s = new Sim(p);
      s.tel("A", "x", 1, 0).tel("A", "x", -1, 1).tel("A", "x", 1, 2);
      return s.commands.map((k) => k.envelope.header.correlation_id);
    };
    const a = run();
    expect(run()).toEqual(a);
    expect(new Set(a).size).toBe(4);
  });
});

describe("ge/lt on telemetry", () => {
  it("compares strings and enums by equality", () => {
    const sim = new Sim(one([state("on", eq(sig("m"), "ON"), B), state("big", ge(sig("n"), 3), B)]));
    sim.tel("A", "m", "ON", 0).tel("A", "n", 3, 0);
    expect(sim.eval(st("on", "a"))).toBe(true);
    expect(sim.eval(st("big", "a"))).toBe(true);
    expect(sim.eval(lt(sig("n", "a"), 3))).toBe(false);
    expect(sim.eval(known(sig("s", "a")))).toBe(false);
  });
});

describe("snapshot", () => {
  it("is JSON with a deterministic order", () => {
    const sim = new Sim(one([state("pos", gt(sig("x"), 0), B), state("$h", c(1), F, true)], { alarms: [alarm("hi", gt(sig("x"), 10))] }));
    sim.tel("A", "x", 11, 5);
    const snap = sim.engine.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(Object.keys(snap.assets)).toEqual(["a", "z"]);
    expect(snap.streamTime).toBe(5);
    expect(snap.assets.a).toEqual({
      uuid: "A",
      model: "M",
      telemetry: { x: 11, y: null, b: null, n: null, m: null, s: null },
      states: { pos: true },
      alarms: { hi: true },
    });
  });
});

describe("rule locals and cross-asset references", () => {
  it("a rule's hidden locals (hoisted `for` and windows) are per rule instance", () => {
    const p = program("p", {
      models: [model("M", { telemetry: { x: F }, commands: [command("go", [{ name: "n", type: I }])] })],
      assets: [asset("a", "M", "A"), asset("b", "M", "B")],
      rules: [
        rule("r", {
          on: "M",
          locals: [
            state("$r$for0", forDef(gt(sig("x"), 0), 1000), B, true),
            state("$r$win0", { k: "window", agg: { fn: "count", window: { kind: "tumbling", sizeMs: 10000, graceMs: 0 }, final: false, triggers: ["x"], arg: sig("x") } }, I, true),
          ],
          when: st("$r$for0"),
          actions: [act("go", { n: st("$r$win0") })],
        }),
      ],
    });
    const sim = new Sim(p);
    sim.tel("A", "x", 1, 0).tel("A", "x", 2, 500).tel("B", "x", 1, 600).clock(5000);
    expect(sim.cmdList()).toEqual(["A.go@1000", "B.go@1600"]);
    expect(sim.commands.map((k) => k.envelope.arguments)).toEqual([{ n: "2" }, { n: "1" }]);
    expect(sim.records("Derived")).toEqual([]);
    expect(sim.engine.lateCounts()).toEqual({ "a.$r$win0": 0, "b.$r$win0": 0 });
  });

  it("a state may read another asset; it follows that asset's changes", () => {
    const p = program("p", {
      models: [model("M", { telemetry: { x: F }, states: [state("sum", add(sig("x"), sig("x", "a")))] })],
      assets: [asset("a", "M", "A"), asset("b", "M", "B")],
    });
    const sim = new Sim(p);
    sim.tel("B", "x", 1, 0);
    expect(sim.eval(st("sum", "b"))).toBe(null);
    sim.tel("A", "x", 10, 1);
    expect(sim.eval(st("sum", "b"))).toBe(11);
    expect(sim.eval(st("sum", "a"))).toBe(20);
    expect(sim.records("Derived")).toEqual([
      ["A", "sum", "20", 1],
      ["B", "sum", "11", 1],
    ]);
  });
});
