// Views: table aggregations over current values and windowed aggregations across assets.

import { describe, expect, it } from "vitest";
import { act, asset, c, command, F, gt, I, model, program, rule, S, sig, Sim, tableView, tumbling, view, windowView, eq, E, st, state, B } from "./helpers.js";
import type { IrView } from "../../../compiler/ir/types.js";

const prog = (views: IrView[], extra: { rules?: Parameters<typeof program>[1]["rules"] } = {}) =>
  program("v", {
    enums: { Ex: ["READY", "ACTIVE"] },
    models: [
      model("Machine", { attributes: { hall: S }, telemetry: { ex: E("Ex"), parts: I, t: F }, states: [state("busy", eq(sig("ex"), "ACTIVE"), B)] }),
      // inherited members are listed in the sub-model too (IR convention)
      model("Mill", { extends: ["Machine"], attributes: { hall: S }, telemetry: { ex: E("Ex"), parts: I, t: F }, states: [state("busy", eq(sig("ex"), "ACTIVE"), B)] }),
      model("Other", { telemetry: { t: F }, commands: [command("go")] }),
    ],
    assets: [
      asset("m1", "Machine", "M1", { hall: "north" }),
      asset("m2", "Mill", "M2", { hall: "north" }),
      asset("m3", "Machine", "M3", { hall: "south" }),
      asset("o", "Other", "O"),
    ],
    views,
    ...extra,
  });

describe("table views", () => {
  it("count/sum/avg kept incrementally equal a fold over the current rows in asset order (seeded; integers, fractions, unknowns, rows leaving and joining)", () => {
    const sim = new Sim(
      prog([
        tableView("n", "count", "Machine", { where: gt(sig("parts"), 0) }),
        tableView("k", "count", "Machine", { arg: sig("t"), where: gt(sig("parts"), 0) }),
        tableView("s", "sum", "Machine", { arg: sig("t"), where: gt(sig("parts"), 0) }),
        tableView("a", "avg", "Machine", { arg: sig("t"), where: gt(sig("parts"), 0) }),
        tableView("sp", "sum", "Machine", { arg: sig("parts"), by: "hall" }),
      ]),
    );
    let seed = 99;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 4294967296) * n);
    };
    const uuids = ["M1", "M2", "M3"];
    const halls = ["north", "north", "south"];
    const t: (number | null)[] = [null, null, null];
    const parts: (number | null)[] = [null, null, null];
    for (let i = 0; i < 400; i++) {
      const a = rnd(3);
      if (rnd(2) === 0) {
        // mostly integers, some fractions (0.1 steps do not add exactly) and large values
        const r = rnd(10);
        const v = r < 6 ? rnd(200) - 100 : r < 9 ? (rnd(200) - 100) / 10 : 2 ** 52 + rnd(3);
        t[a] = v;
        sim.tel(uuids[a]!, "t", v, i);
      } else {
        const v = rnd(3);
        parts[a] = v;
        sim.tel(uuids[a]!, "parts", v, i);
      }
      // the fold, in asset order, as the spec's definition reads
      let n = 0;
      let k = 0;
      let sum = 0;
      for (let j = 0; j < 3; j++) {
        if (!(parts[j] !== null && parts[j]! > 0)) continue;
        n++;
        if (t[j] === null) continue;
        k++;
        sum += t[j]!;
      }
      expect(sim.eval(view("n"))).toBe(n);
      expect(sim.eval(view("k"))).toBe(k);
      expect(sim.eval(view("s"))).toBe(sum);
      expect(sim.eval(view("a"))).toBe(k === 0 ? null : sum / k);
      for (const h of ["north", "south"]) {
        let sp = 0;
        for (let j = 0; j < 3; j++) if (halls[j] === h && parts[j] !== null) sp += parts[j]!;
        expect(sim.eval(view("sp", c(h)))).toBe(sp);
      }
    }
  });

  it("count/sum over no assets are 0, others unknown; an unseen group is unknown", () => {
    const sim = new Sim(
      prog([
        tableView("none_count", "count", "Nothing"),
        tableView("none_sum", "sum", "Nothing", { arg: sig("t") }),
        tableView("none_avg", "avg", "Nothing", { arg: sig("t") }),
        tableView("by_hall", "sum", "Machine", { arg: sig("parts"), by: "hall" }),
        tableView("all", "count", "Machine"),
      ]),
    );
    expect(sim.eval(view("none_count"))).toBe(0);
    expect(sim.eval(view("none_sum"))).toBe(0);
    expect(sim.eval(view("none_avg"))).toBe(null);
    expect(sim.eval(view("by_hall", c("east")))).toBe(null);
    expect(sim.eval(view("by_hall", c("north")))).toBe(0);
    expect(sim.eval(view("by_hall", c(null)))).toBe(null);
    expect(sim.eval(view("all"))).toBe(3); // sub-models included (lineage)
  });

  it("follows current values, filtered by where, grouped by attribute", () => {
    const sim = new Sim(
      prog([
        tableView("busy_by_hall", "count", "Machine", { where: st("busy"), by: "hall" }),
        tableView("avg_t", "avg", "Machine", { arg: sig("t"), where: gt(sig("parts"), 0) }),
        tableView("max_t", "max", "Machine", { arg: sig("t") }),
      ]),
    );
    sim.tel("M1", "ex", "ACTIVE", 0).tel("M2", "ex", "ACTIVE", 0).tel("M3", "ex", "ACTIVE", 0);
    expect(sim.eval(view("busy_by_hall", c("north")))).toBe(2);
    sim.tel("M2", "ex", "READY", 1);
    expect(sim.eval(view("busy_by_hall", c("north")))).toBe(1);
    expect(sim.eval(view("busy_by_hall", c("south")))).toBe(1);
    sim.tel("M1", "t", 10, 2).tel("M2", "t", 20, 2).tel("M3", "t", 30, 2);
    expect(sim.eval(view("avg_t"))).toBe(null);
    expect(sim.eval(view("max_t"))).toBe(30);
    sim.tel("M1", "parts", 1, 3).tel("M3", "parts", 1, 3);
    expect(sim.eval(view("avg_t"))).toBe(20);
    sim.avail("M3", false, 4);
    expect(sim.eval(view("avg_t"))).toBe(10);
    expect(sim.eval(view("max_t"))).toBe(20);
    expect(sim.engine.snapshot().views).toEqual({ busy_by_hall: { north: 1, south: 0 }, avg_t: 10, max_t: 20 });
  });

  it("rules follow view changes", () => {
    const sim = new Sim(
      prog([tableView("busy", "count", "Machine", { where: st("busy") })], {
        rules: [rule("r", { when: gt(view("busy"), 1), actions: [act("go", {}, "o")] })],
      }),
    );
    sim.tel("M1", "ex", "ACTIVE", 0).tel("M2", "ex", "ACTIVE", 1).tel("M3", "ex", "ACTIVE", 2).tel("M1", "ex", "READY", 3).tel("M2", "ex", "READY", 4).tel("M1", "ex", "ACTIVE", 5);
    expect(sim.cmdList()).toEqual(["O.go@1", "O.go@5"]);
  });
});

describe("windowed views", () => {
  it("aggregate the events of matching assets per group; where filters events; late counted per view", () => {
    const sim = new Sim(
      prog([
        windowView("t_by_hall", "avg", "Machine", tumbling(10000), { arg: sig("t"), by: "hall", where: gt(sig("parts"), 0) }),
        windowView("n_final", "count", "Machine", tumbling(10000), { final: true }),
      ]),
    );
    sim.tel("M1", "parts", 1, 0).tel("M2", "parts", 1, 0);
    sim.tel("M1", "t", 10, 1000).tel("M2", "t", 20, 2000).tel("M3", "t", 99, 2000).tel("O", "t", 1, 2000);
    expect(sim.eval(view("t_by_hall", c("north")))).toBe(15);
    expect(sim.eval(view("t_by_hall", c("south")))).toBe(null); // M3 filtered out: never seen
    expect(sim.eval(view("n_final"))).toBe(null);
    sim.tel("M1", "t", 30, 12000);
    expect(sim.eval(view("t_by_hall", c("north")))).toBe(30);
    expect(sim.eval(view("n_final"))).toBe(5);
    sim.tel("M2", "t", 40, 5000); // late (grace 0)
    expect(sim.engine.lateCounts()).toEqual({ t_by_hall: 1, n_final: 1 });
    expect(sim.eval(sig("t", "m2"))).toBe(40);
    expect(sim.engine.snapshot().views).toEqual({ t_by_hall: { north: 30 }, n_final: 5 });
  });
});
