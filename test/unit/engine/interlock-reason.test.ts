// A rejected command names the part of its `requires` that failed, with the value it had
// (issue 17 item 8), on the cnc-cell example's own interlock:
//   requires execution != INTERRUPTED and override <= 120 percent
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../../../compiler/index.js";
import { Sim } from "./helpers.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../..");
const file = join(root, "examples/cnc-cell/plant.ofl");
const ir = compile([{ path: file, text: readFileSync(file, "utf8") }], { name: "cnc-cell" }).ir!;

describe("the reason of an interlock rejection", () => {
  it("names the failed part and its value, with the unit", () => {
    const sim = new Sim(ir);
    sim.tel("CNC-001", "execution", "ACTIVE", 0);
    sim.send("CNC-001", "set_feed", { override: "150" }, 10, "too-fast");
    sim.send("CNC-001", "set_feed", { override: "80" }, 11, "fine");
    sim.tel("CNC-001", "execution", "INTERRUPTED", 12);
    sim.send("CNC-001", "set_feed", { override: "80" }, 13, "interrupted");
    expect(sim.results.map((r) => [r.correlation_id, r.status, r.reason])).toEqual([
      ["too-fast", "rejected", "interlock: requires override <= 120 percent (override = 150 percent)"],
      ["interrupted", "rejected", "interlock: requires execution != INTERRUPTED (execution = INTERRUPTED)"],
    ]);
  });
  it("an unknown value fails safe and says which part was unknown", () => {
    const sim = new Sim(ir);
    sim.send("CNC-001", "set_feed", { override: "80" }, 10, "blind");
    expect(sim.results.map((r) => r.reason)).toEqual(["interlock unknown (fail safe): requires execution != INTERRUPTED (execution = unknown)"]);
  });
});
