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

// Issue 13, items 15 and 16: next to a real OpenFactory connector, data items the program does not
// declare are ignored and counted (default for openfactory(), `ignore_undeclared: false` to
// quarantine them), and MTConnect Condition items are telemetry like any other.
describe("undeclared data items and Condition items", () => {
  const src = (opt: string) => `
enum Cond { NORMAL, WARNING, FAULT }
model Mill {
  telemetry temperature: float<degC>
  telemetry spindle: Cond
  state faulted = spindle == FAULT
}
asset m1: Mill {
  uuid "CNC-7"
  source openfactory(${opt}) {
    temperature <- id("Tspindle_01")
    spindle <- id("Cspindle")
  }
}
asset m2: Mill { uuid "CNC-8" }
`;
  const rec = (offset: number, key: string, id: string, value: string, type = "Samples", tag = "Temperature") =>
    classify({ topic: "ofa_assets", partition: 0, offset, ts: offset, key, value: { id, value, tag, type, attributes: { timestamp: new Date(1000 + offset).toISOString() } } });

  test("openfactory() ignores undeclared items by default and counts them; other assets still dead-letter", () => {
    const ir = compile([{ path: "/p.ofl", text: src("") }], { name: "p" }).ir!;
    const out: NewRecord[] = [];
    const e = new Engine({ program: ir, onOutput: (r) => out.push(r) });
    e.process(rec(0, "CNC-7", "Xact", "12"));
    e.process(rec(1, "CNC-7", "avail_mode", "AUTOMATIC", "Events", "ControllerMode"));
    e.process(rec(2, "CNC-7", "Tspindle_01", "91"));
    e.process(rec(3, "CNC-8", "Xact", "12"));
    expect(e.ignoredCounts()).toEqual({ m1: 2 });
    const dead = out.filter((o) => o.topic === "ofl_deadletter").map((o) => [o.key, (o.value as { reason: string }).reason]);
    expect(dead).toEqual([["CNC-8", "unknown_signal"]]);
    expect(e.snapshot().assets["m1"]!.telemetry["temperature"]).toBe(91);
  });

  test("ignore_undeclared: false quarantines them as before", () => {
    const ir = compile([{ path: "/p.ofl", text: src("ignore_undeclared: false") }], { name: "p" }).ir!;
    const out: NewRecord[] = [];
    const e = new Engine({ program: ir, onOutput: (r) => out.push(r) });
    e.process(rec(0, "CNC-7", "Xact", "12"));
    expect(e.ignoredCounts()).toEqual({});
    expect(out.filter((o) => o.topic === "ofl_deadletter").map((o) => (o.value as { reason: string }).reason)).toEqual(["unknown_signal"]);
  });

  test("a Condition data item bound as telemetry is telemetry; OFL's own alarm records (TAG Alarm) are not", () => {
    const ir = compile([{ path: "/p.ofl", text: src("") }], { name: "p" }).ir!;
    const e = new Engine({ program: ir, onOutput: () => {} });
    const cond = rec(0, "CNC-7", "Cspindle", "FAULT", "Condition", "SYSTEM");
    expect(cond.kind).toBe("telemetry");
    e.process(cond);
    expect(e.snapshot().assets["m1"]!.telemetry["spindle"]).toBe("FAULT");
    expect(e.snapshot().assets["m1"]!.states["faulted"]).toBe(true);
    expect(rec(1, "CNC-7", "overtemp", "ACTIVE", "Condition", "Alarm").kind).toBe("alarm");
  });

  test("`ignore_undeclared` must be a bool", () => {
    const r = compile([{ path: "/p.ofl", text: src('ignore_undeclared: "yes"') }], { name: "p" });
    expect(r.diagnostics.filter((d) => d.severity === "error").length).toBe(1);
  });
});
