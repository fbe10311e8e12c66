// Windowed aggregates: every function, tumbling/hopping/session, grace, late events, final vs running.

import { describe, expect, it } from "vitest";
import type { IrAggFn } from "../../../compiler/ir/types.js";
import { agg, asset, B, F, hopping, model, program, session, sig, Sim, st, state, tumbling, add } from "./helpers.js";
import type { IrWindow, IrStatefulDef } from "../../../compiler/ir/types.js";

const prog = (defs: [string, IrStatefulDef][]) =>
  program("w", {
    models: [model("M", { telemetry: { x: F, b: B, y: F }, states: defs.map(([n, d]) => state(n, d)) })],
    assets: [asset("a", "M", "A"), asset("z", "M", "Z")],
  });

describe("aggregate functions", () => {
  const fns: IrAggFn[] = ["avg", "min", "max", "sum", "count", "stddev", "first", "last", "delta"];
  const W = tumbling(60000);
  const mk = () => {
    const defs: [string, IrStatefulDef][] = fns.map((f) => [f, agg(f, sig("x"), W)]);
    defs.push(["countAll", agg("count", undefined, W)]);
    defs.push(["ratio", agg("ratio", sig("b"), W)]);
    return new Sim(prog(defs));
  };
  const v = (sim: Sim, n: string) => sim.eval(st(n, "a"));

  it("skips unknown values; count() counts events; sample stddev", () => {
    const sim = mk();
    sim.tel("A", "x", 1, 0).tel("A", "x", null, 1000).tel("A", "x", 3, 2000).tel("A", "x", 5, 3000).tel("Z", "x", 100, 3000);
    expect(Object.fromEntries(fns.map((f) => [f, v(sim, f)]))).toEqual({
      avg: 3,
      min: 1,
      max: 5,
      sum: 9,
      count: 3,
      stddev: 2,
      first: 1,
      last: 5,
      delta: 4,
    });
    expect(v(sim, "countAll")).toBe(4);
    expect(v(sim, "ratio")).toBe(null); // no known bool yet
    sim.tel("A", "b", true, 4000).tel("A", "b", false, 5000).tel("A", "b", null, 5500).tel("A", "b", true, 6000).tel("A", "b", true, 7000);
    expect(v(sim, "ratio")).toBe(0.75);
    expect(v(sim, "countAll")).toBe(9);
  });

  it("stddev of one event is unknown; sum of only unknowns is 0, avg unknown", () => {
    const sim = mk();
    sim.tel("A", "x", 7, 0);
    expect(v(sim, "stddev")).toBe(null);
    expect(v(sim, "avg")).toBe(7);
    sim.tel("A", "x", null, 60000); // a new window with only an unknown
    expect(v(sim, "sum")).toBe(0);
    expect(v(sim, "count")).toBe(0);
    expect(v(sim, "avg")).toBe(null);
    expect(v(sim, "first")).toBe(null);
    expect(v(sim, "countAll")).toBe(1);
  });

  it("events are the records reporting a trigger, with the argument evaluated after the record", () => {
    const sim = new Sim(prog([["s", agg("sum", add(sig("x"), sig("y")), tumbling(60000))]]));
    sim.tel("A", "x", 1, 0); // y unknown: skipped
    sim.tel("A", "y", 10, 1); // 11
    sim.tel("A", "x", 2, 2); // 12
    sim.tel("A", "b", true, 3); // not a trigger
    expect(sim.eval(st("s", "a"))).toBe(23);
  });
});

describe("window kinds", () => {
  it("tumbling windows are aligned to the epoch, [start, end)", () => {
    const sim = new Sim(prog([["n", agg("count", sig("x"), tumbling(10000))]]));
    sim.tel("A", "x", 1, 9999);
    expect(sim.eval(st("n", "a"))).toBe(1);
    sim.tel("A", "x", 1, 10000);
    expect(sim.eval(st("n", "a"))).toBe(1);
    sim.tel("A", "x", 1, 19999);
    expect(sim.eval(st("n", "a"))).toBe(2);
  });

  it("hopping: every window starting at a multiple of the hop that contains the event; the earliest is shown", () => {
    const sim = new Sim(prog([["n", agg("count", sig("x"), hopping(30000, 10000))], ["f", agg("count", sig("x"), hopping(30000, 10000), { final: true })]]));
    sim.tel("A", "x", 1, 5000); // [0,30)
    sim.tel("A", "x", 1, 15000); // [0,30) [10,40)
    expect(sim.eval(st("n", "a"))).toBe(2);
    sim.tel("A", "x", 1, 25000); // [0,30) [10,40) [20,50)
    expect(sim.eval(st("n", "a"))).toBe(3);
    sim.tel("A", "x", 1, 31000); // [10,40) [20,50) [30,60); [0,30) closed at 30
    expect(sim.eval(st("n", "a"))).toBe(3);
    expect(sim.eval(st("f", "a"))).toBe(3);
    sim.at(40000);
    expect(sim.eval(st("f", "a"))).toBe(3); // [10,40): 15,25,31
    sim.at(50000);
    expect(sim.eval(st("f", "a"))).toBe(2); // [20,50): 25,31
  });

  it("session: events at most gap apart merge; a late event within grace bridges two sessions", () => {
    const W: IrWindow = session(10000, 20000);
    const sim = new Sim(prog([["s", agg("sum", sig("x"), W)], ["f", agg("sum", sig("x"), W, { final: true })]]));
    sim.tel("A", "x", 1, 0).tel("A", "x", 2, 18000);
    expect(sim.eval(st("s", "a"))).toBe(2);
    sim.tel("A", "x", 4, 9000); // late, within grace: 9 s from both
    expect(sim.eval(st("s", "a"))).toBe(7);
    sim.at(30000); // the first session's old close time: merged away, nothing closes
    expect(sim.eval(st("f", "a"))).toBe(null);
    sim.at(48000); // last event 18 s + gap 10 s + grace 20 s: reached, not passed (§5)
    expect(sim.eval(st("f", "a"))).toBe(null);
    sim.at(48001); // passed: closed
    expect(sim.eval(st("f", "a"))).toBe(7);
    expect(sim.engine.lateCounts()).toEqual({ "a.s": 0, "a.f": 0, "z.s": 0, "z.f": 0 });
  });

  // language.md §5 (this round): an event exactly G after the last joins the session, also
  // with no grace; the session closes only when stream time passes last + G + grace
  it("session, no grace: an event exactly gap after the last joins; one a millisecond later starts a new session", () => {
    const W = session(10000);
    const sim = new Sim(prog([["s", agg("sum", sig("x"), W)], ["f", agg("sum", sig("x"), W, { final: true })]]));
    sim.tel("A", "x", 1, 0).tel("A", "x", 2, 10000);
    expect(sim.eval(st("s", "a"))).toBe(3);
    sim.at(20000); // last (10 s) + gap: reached, not passed: still open
    expect(sim.eval(st("f", "a"))).toBe(null);
    sim.tel("A", "x", 4, 20000); // exactly gap after the last: joins
    expect(sim.eval(st("s", "a"))).toBe(7);
    expect(sim.engine.lateCounts()["a.s"]).toBe(0);
    sim.tel("A", "x", 8, 30001); // gap + 1 ms after the last: the first session closes, a new one starts
    expect(sim.eval(st("f", "a"))).toBe(7);
    expect(sim.eval(st("s", "a"))).toBe(8);
    sim.at(40001); // 30.001 s + gap: reached, not passed
    expect(sim.eval(st("f", "a"))).toBe(7);
    sim.at(40002);
    expect(sim.eval(st("f", "a"))).toBe(8);
  });

  it("session: an event exactly gap after the last joins while the session is open (grace > 0)", () => {
    const sim = new Sim(prog([["s", agg("sum", sig("x"), session(10000, 1))]]));
    sim.tel("A", "x", 1, 0).tel("A", "x", 2, 10000).tel("A", "x", 4, 20001);
    expect(sim.eval(st("s", "a"))).toBe(4);
    sim.tel("A", "x", 8, 30001);
    expect(sim.eval(st("s", "a"))).toBe(12);
  });
});

describe("grace and late events", () => {
  const W = tumbling(10000, 5000);
  const mk = () =>
    new Sim(
      prog([
        ["avg", agg("avg", sig("x"), W)],
        ["fin", agg("avg", sig("x"), W, { final: true })],
        ["big", agg("count", sig("x"), tumbling(100000))],
      ]),
    );
  const v = (sim: Sim, n: string) => sim.eval(st(n, "a"));

  it("an event within grace is accepted into its own (older) window, which is then shown", () => {
    const sim = mk();
    sim.tel("A", "x", 1, 1000).tel("A", "x", 2, 12000);
    expect(v(sim, "avg")).toBe(2);
    sim.tel("A", "x", 3, 8000); // stream 12 s < 10 s + 5 s
    expect(v(sim, "avg")).toBe(2); // avg(1, 3) of [0, 10)
    expect(v(sim, "fin")).toBe(null);
    sim.at(15000);
    expect(v(sim, "fin")).toBe(2);
    expect(v(sim, "avg")).toBe(2);
    expect(sim.engine.lateCounts()["a.avg"]).toBe(0);
  });

  it("an event beyond grace is late: counted, still updates latest values and other aggregates", () => {
    const sim = mk();
    sim.tel("A", "x", 1, 1000).tel("A", "x", 4, 16000);
    expect(v(sim, "avg")).toBe(4);
    sim.tel("A", "x", 9, 9000); // [0,10) closed at 15 s
    expect(v(sim, "avg")).toBe(4);
    expect(sim.eval(sig("x", "a"))).toBe(9);
    expect(v(sim, "big")).toBe(3);
    expect(sim.engine.lateCounts()).toMatchObject({ "a.avg": 1, "a.fin": 1, "a.big": 0 });
    expect(v(sim, "fin")).toBe(1);
  });

  it("the running value is kept after its window closes, until another event is accepted", () => {
    const sim = mk();
    sim.tel("A", "x", 5, 1000);
    sim.at(100000);
    expect(v(sim, "avg")).toBe(5);
    expect(v(sim, "fin")).toBe(5);
  });

  it("final: the most recently closed window that had events", () => {
    const sim = mk();
    sim.tel("A", "x", 5, 1000).tel("A", "x", 7, 31000);
    sim.at(30000);
    expect(v(sim, "fin")).toBe(5);
    sim.at(45000);
    expect(v(sim, "fin")).toBe(7);
    expect(sim.records("Derived").filter((r) => r[1] === "fin")).toEqual([
      ["A", "fin", "5", 15000],
      ["A", "fin", "7", 45000],
    ]);
  });

  it("hopping with grace: a late event shows the earliest window that accepted it", () => {
    const sim = new Sim(prog([["n", agg("count", sig("x"), hopping(30000, 10000, 5000))]]));
    sim.tel("A", "x", 1, 1000).tel("A", "x", 1, 36000);
    expect(sim.eval(st("n", "a"))).toBe(1); // [10,40) holds 36 s only
    sim.tel("A", "x", 1, 25000); // [0,30) closed at 35 s; [10,40) and [20,50) accept it
    expect(sim.eval(st("n", "a"))).toBe(2);
    sim.tel("A", "x", 1, 4000); // only [0,30) could hold it: late
    expect(sim.engine.lateCounts()["a.n"]).toBe(1);
    expect(sim.eval(st("n", "a"))).toBe(2);
  });

  it("windows never start before the epoch", () => {
    const sim = new Sim(prog([["n", agg("count", sig("x"), hopping(30000, 10000))]]));
    sim.tel("A", "x", 1, 0);
    expect(sim.eval(st("n", "a"))).toBe(1);
    sim.at(30000);
    expect(sim.engine.lateCounts()["a.n"]).toBe(0);
  });
});
