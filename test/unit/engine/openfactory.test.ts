// An `openfactory()` source binds telemetry to the data item ids another producer (an
// OpenFactory connector) already writes to the log: records under those ids are that telemetry.
import { describe, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { classify } from "../../../runtime/wire/records.js";
import type { NewRecord } from "../../../runtime/wire/types.js";

const program = `
model Mill {
  telemetry temperature: float<degC>
  state hot = temperature > 90 degC
}
asset m1: Mill {
  uuid "CNC-7"
  source openfactory() {
    temperature <- id("Tspindle_01")
  }
}
asset m2: Mill { uuid "CNC-8" }
`;

describe("openfactory() sources", () => {
  test("records under a bound data item id are the telemetry; others stay unknown signals", () => {
    const ir = compile([{ path: "/p.ofl", text: program }], { name: "p" }).ir!;
    const out: NewRecord[] = [];
    const e = new Engine({ program: ir, onOutput: (r) => out.push(r) });
    const rec = (offset: number, key: string, id: string, value: string) =>
      classify({ topic: "ofa_assets", partition: 0, offset, ts: offset, key, value: { id, value, tag: "Temperature", type: "Samples", attributes: { timestamp: new Date(1000 + offset).toISOString() } } });
    e.process(rec(0, "CNC-7", "Tspindle_01", "95.5"));
    e.process(rec(1, "CNC-7", "temperature", "80"));
    e.process(rec(2, "CNC-8", "Tspindle_01", "99"));
    const snap = e.snapshot();
    // the telemetry's own name works too; the alias belongs to m1 only
    expect(snap.assets["m1"]!.telemetry["temperature"]).toBe(80);
    expect(snap.assets["m2"]!.telemetry["temperature"]).toBeNull();
    const dead = out.filter((o) => o.topic === "ofl_deadletter").map((o) => (o.value as { reason: string }).reason);
    expect(dead).toEqual(["unknown_signal"]);
    const e2 = new Engine({ program: ir, onOutput: () => {} });
    e2.process(rec(0, "CNC-7", "Tspindle_01", "95.5"));
    expect(e2.snapshot().assets["m1"]!.states["hot"]).toBe(true);
  });
});
