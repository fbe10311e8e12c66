// The test blocks of the conformance pass files (test/conformance/pass/*.ofl, mirrored from the
// shared conformance cases) replayed at the engine level: each program is compiled from its
// .ofl file (never rebuilt by hand, so it cannot drift from what the compiler produces), then
// driven event by event with the scenario helpers, observing states, alarms and commands
// between the records. test/conformance/conformance.test.ts runs the same files' test blocks
// through `ofl test`; this file checks the engine's intermediate states too.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../../../compiler/index.js";
import { alarmRef, c, eq, known, not, scenario, sig, Sim, st, view } from "./helpers.js";
import type { IrExpr, IrProgram, Value } from "../../../compiler/ir/types.js";

const PASS = join(new URL(".", import.meta.url).pathname, "../../conformance/pass");

/** The IR of a conformance pass file, compiled (its own test blocks dropped). */
function conformance(file: string, name = "conformance"): IrProgram {
  const path = join(PASS, file);
  const r = compile([{ path, text: readFileSync(path, "utf8") }], { name });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return { ...r.ir!, tests: [] };
}

const s = (x: number) => x * 1000;
const ex = (sim: Sim, e: IrExpr): Value => sim.eval(e);

// ---------------------------------------------------------------- 01_latest_and_units
describe("01 latest values and units", () => {
  const prog = () => conformance("01_latest_and_units.ofl");
  const o = (n: string) => sig(n, "oven1");
  const os = (n: string) => st(n, "oven1");

  it("latest value and pointwise state", () => {
    scenario(
      new Sim(prog()),
      [
        [0, (x) => x.tel("OVEN-1", "temperature", 150, 0).tel("OVEN-1", "power", 0.4, 0).tel("OVEN-1", "execution", "ACTIVE", 0)],
        [s(10), (x) => x.tel("OVEN-1", "temperature", 210, s(10))],
        [s(20), (x) => x.tel("OVEN-1", "power", 0.6, s(20))],
        [s(30), (x) => x.tel("OVEN-1", "execution", "STOPPED", s(30))],
      ],
      [
        [s(5), (x) => expect(ex(x, not(os("hot")))).toBe(true)],
        [s(10), (x) => expect(ex(x, os("hot"))).toBe(true)],
        [s(15), (x) => expect(ex(x, not(os("heating")))).toBe(true)],
        [s(20), (x) => expect(ex(x, os("heating"))).toBe(true)],
        [s(30), (x) => expect(ex(x, not(os("heating")))).toBe(true)],
        [s(25), (x) => expect(ex(x, eq(o("temperature"), 210))).toBe(true)],
        [s(25), (x) => expect(ex(x, eq(os("doubled"), 420))).toBe(true)],
        [s(30), (x) => expect(ex(x, eq(o("execution"), "STOPPED"))).toBe(true)],
      ],
    );
  });

  it("unknown until reported, unknown again when unavailable", () => {
    scenario(
      new Sim(prog()),
      [
        [0, (x) => x.tel("OVEN-1", "power", 1, 0)],
        [s(5), (x) => x.tel("OVEN-1", "execution", "READY", s(5))],
        [s(10), (x) => x.tel("OVEN-1", "temperature", 300, s(10))],
        [s(20), (x) => x.tel("OVEN-1", "temperature", null, s(20))],
      ],
      [
        [0, (x) => expect(ex(x, not(known(o("temperature"))))).toBe(true)],
        [0, (x) => expect(ex(x, not(known(os("hot"))))).toBe(true)],
        [0, (x) => expect(ex(x, not(known(os("heating"))))).toBe(true)],
        [0, (x) => expect(ex(x, not(known(os("idle"))))).toBe(true)],
        [s(5), (x) => expect(ex(x, known(os("heating")))).toBe(true)],
        [s(5), (x) => expect(ex(x, os("idle"))).toBe(true)],
        [s(10), (x) => expect(ex(x, os("hot"))).toBe(true)],
        [s(20), (x) => expect(ex(x, not(known(os("hot"))))).toBe(true)],
      ],
    );
  });
});

// ---------------------------------------------------------------- 02_windows
describe("02 windows", () => {
  const prog = () => conformance("02_windows.ofl");
  const v = (n: string) => st(n, "s1");
  const is = (x: Sim, n: string, want: Value) => expect(ex(x, v(n))).toBe(want);
  const set = (ms: number, val: number): [number, (x: Sim) => void] => [ms, (x) => x.tel("S-1", "t", val, ms)];

  it("tumbling windows, running and final", () => {
    scenario(
      new Sim(prog()),
      [set(0, 10), set(s(20), 20), set(s(40), 30), set(s(60), 100), set(s(130), 0)],
      [
        [0, (x) => is(x, "avg1m", 10)],
        [s(20), (x) => is(x, "avg1m", 15)],
        [s(59), (x) => is(x, "avg1m", 20)],
        [s(59), (x) => is(x, "n1m", 3)],
        [s(59), (x) => is(x, "rise1m", 20)],
        [s(59), (x) => is(x, "low1m", 10)],
        [s(60), (x) => is(x, "avg1m", 100)],
        [s(60), (x) => is(x, "n1m", 1)],
        [s(125), (x) => is(x, "avg1m", 100)],
        [s(130), (x) => is(x, "avg1m", 0)],
        [s(59), (x) => expect(ex(x, not(known(v("avg1m_final"))))).toBe(true)],
        [s(60), (x) => is(x, "avg1m_final", 20)],
        [s(119), (x) => is(x, "avg1m_final", 20)],
        [s(120), (x) => is(x, "avg1m_final", 100)],
        [s(179), (x) => is(x, "avg1m_final", 100)],
        [s(180), (x) => is(x, "avg1m_final", 0)],
      ],
    );
  });

  it("hopping windows show the oldest window holding the latest event", () => {
    scenario(
      new Sim(prog()),
      [set(0, 10), set(s(40), 30), set(s(60), 100), set(s(130), 0)],
      [
        [s(40), (x) => is(x, "max2m", 30)],
        [s(60), (x) => is(x, "max2m", 100)],
        [s(130), (x) => is(x, "max2m", 100)],
      ],
    );
  });

  it("session windows", () => {
    scenario(
      new Sim(prog()),
      [set(0, 1), set(s(20), 2), set(s(45), 3), set(s(80), 10)],
      [
        [s(20), (x) => is(x, "burst_sum", 3)],
        [s(45), (x) => is(x, "burst_sum", 6)],
        [s(80), (x) => is(x, "burst_sum", 10)],
      ],
    );
  });

  // language.md §5: "an event exactly G after the last one still joins it" (gap 30 s here)
  it("session windows: an event exactly the gap after the last joins the session", () => {
    scenario(
      new Sim(prog()),
      [set(0, 1), set(s(30), 2), set(s(60), 4), set(s(90) + 1, 8)],
      [
        [s(30), (x) => is(x, "burst_sum", 3)],
        [s(60), (x) => is(x, "burst_sum", 7)],
        [s(90) + 1, (x) => is(x, "burst_sum", 8)],
      ],
    );
  });
});

// ---------------------------------------------------------------- 03_durations_and_rules
describe("03 durations and rules", () => {
  const prog = () => conformance("03_durations_and_rules.ofl");
  const temp = (key: string, ms: number, v: number): [number, (x: Sim) => void] => [ms, (x) => x.tel(key, "temperature", v, ms)];
  const cmds = (x: Sim, key: string, name: string) => x.commands.filter((k) => k.key === key && k.command === name);

  it("a duration holds after exactly D and drops at once", () => {
    const x = scenario(
      new Sim(prog()),
      [temp("M-1", 0, 85), temp("M-1", s(10), 92), temp("M-1", s(12), 95), temp("M-1", s(16), 93), temp("M-1", s(20), 70)],
      [
        [s(14), (x) => expect(ex(x, not(st("overheating", "m1")))).toBe(true)],
        [s(15), (x) => expect(ex(x, st("overheating", "m1"))).toBe(true)],
        [s(19), (x) => expect(ex(x, st("overheating", "m1"))).toBe(true)],
        [s(20), (x) => expect(ex(x, not(st("overheating", "m1")))).toBe(true)],
      ],
    );
    expect(cmds(x, "M-1", "stop").map((k) => k.ts)).toEqual([s(15)]);
    expect(cmds(x, "M-2", "stop")).toEqual([]);
    expect(cmds(x, "M-1", "stop")[0]!.envelope.header.timestamp).toBe("1970-01-01T00:00:15.000Z");
  });

  it("an interrupted condition restarts the timer", () => {
    const x = scenario(
      new Sim(prog()),
      [temp("M-1", 0, 95), temp("M-1", s(3), 80), temp("M-1", s(4), 95)],
      [
        [s(8), (x) => expect(ex(x, not(st("overheating", "m1")))).toBe(true)],
        [s(9), (x) => expect(ex(x, st("overheating", "m1"))).toBe(true)],
      ],
    );
    expect(cmds(x, "M-1", "stop").map((k) => k.ts)).toEqual([s(9)]);
  });

  it("rules fire on the rising edge, per asset, with cooldown", () => {
    const x = scenario(
      new Sim(prog()),
      [
        [0, (x) => x.tel("M-1", "temperature", 85, 0).tel("M-2", "temperature", 85, 0)],
        temp("M-1", s(5), 70),
        temp("M-1", s(10), 85),
        temp("M-1", s(70), 70),
        temp("M-1", s(75), 85),
      ],
      [],
    );
    const m1 = cmds(x, "M-1", "alert");
    expect(m1.map((k) => k.ts)).toEqual([0, s(75)]);
    expect(m1[0]!.envelope.arguments).toEqual({ level: "1" });
    expect(cmds(x, "M-2", "alert").map((k) => k.ts)).toEqual([0]);
  });

  it("staleness is driven by the clock and repeats while it holds", () => {
    const x = scenario(
      new Sim(prog()),
      [temp("M-1", 0, 20), temp("M-1", s(20), 20), temp("M-1", s(75), 21)],
      [
        [s(50), (x) => expect(ex(x, not(st("silent", "m1")))).toBe(true)],
        [50001, (x) => expect(ex(x, st("silent", "m1"))).toBe(true)],
        [s(75), (x) => expect(ex(x, not(st("silent", "m1")))).toBe(true)],
      ],
    );
    expect(cmds(x, "M-1", "ping").map((k) => k.ts)).toEqual([50001, 60001, 70001]);
    // M-2 never reported: age unknown, never silent
    expect(cmds(x, "M-2", "ping")).toEqual([]);
  });
});

// ---------------------------------------------------------------- 04_interlocks_alarms_shadow
describe("04 interlocks, alarms, shadow", () => {
  const prog = () => conformance("04_interlocks_alarms_shadow.ofl");
  const p = (ms: number, v: number): [number, (x: Sim) => void] => [ms, (x) => x.tel("PRESS-1", "pressure", v, ms)];
  const active = (x: Sim, n: string) => ex(x, alarmRef(n, "p1"));

  it("alarm hysteresis", () => {
    const x = scenario(
      new Sim(prog()),
      [p(0, 100), p(s(10), 210), p(s(20), 180), p(s(30), 140), p(s(40), 5), p(s(50), 50)],
      [
        [s(5), (x) => expect(active(x, "overpressure")).toBe(false)],
        [s(10), (x) => expect(active(x, "overpressure")).toBe(true)],
        [s(20), (x) => expect(active(x, "overpressure")).toBe(true)],
        [s(30), (x) => expect(active(x, "overpressure")).toBe(false)],
        [s(40), (x) => expect(active(x, "underpressure")).toBe(true)],
        [s(50), (x) => expect(active(x, "underpressure")).toBe(false)],
      ],
    );
    expect(x.records("Alarm")).toEqual([
      ["PRESS-1", "overpressure", "ACTIVE", s(10)],
      ["PRESS-1", "overpressure", "NORMAL", s(30)],
      ["PRESS-1", "underpressure", "ACTIVE", s(40)],
      ["PRESS-1", "underpressure", "NORMAL", s(50)],
    ]);
  });

  it("interlocks check current state and fail safe", () => {
    const x = scenario(
      new Sim(prog()),
      [
        [0, (x) => x.tel("PRESS-1", "execution", "ACTIVE", 0)],
        p(s(10), 210),
        [s(20), (x) => x.tel("PRESS-1", "pressure", 100, s(20)).tel("PRESS-1", "execution", "INTERRUPTED", s(20))],
        p(s(30), 220),
      ],
      [],
    );
    const ss = x.commands.filter((k) => k.command === "set_speed");
    expect(ss.map((k) => [k.ts, k.envelope.header.verdict, k.envelope.arguments])).toEqual([
      [s(10), "accepted", { percent: "20" }],
      [s(30), "rejected", { percent: "20" }],
    ]);
    expect(x.results).toEqual([
      {
        key: "PRESS-1",
        command: "set_speed",
        correlation_id: ss[1]!.envelope.header.correlation_id,
        status: "rejected",
        reason: "interlock: requires execution != INTERRUPTED (execution = INTERRUPTED)",
        ts: s(30),
      },
    ]);
  });

  it("an unknown interlock rejects", () => {
    const x = scenario(new Sim(prog()), [p(0, 250)], []);
    const ss = x.commands.filter((k) => k.command === "set_speed");
    expect(ss.map((k) => [k.ts, k.envelope.header.verdict])).toEqual([[0, "rejected"]]);
    expect(x.results[0]!.reason).toBe("interlock unknown (fail safe): requires execution != INTERRUPTED (execution = unknown)");
  });

  it("shadow rules are logged, never dispatched", () => {
    const x = scenario(new Sim(prog()), [p(0, 190)], []);
    expect(x.cmdList()).toEqual(["PRESS-1.stop[shadow]@0"]);
    expect(x.commands[0]!.envelope.header.verdict).toBe("accepted");
  });
});

// ---------------------------------------------------------------- 05_views
describe("05 views", () => {
  const prog = () => conformance("05_views.ofl");

  it("table views follow current values", () => {
    scenario(
      new Sim(prog()),
      [
        [0, (x) => x.tel("A-1", "execution", "ACTIVE", 0).tel("A-2", "execution", "ACTIVE", 0).tel("A-3", "execution", "READY", 0)],
        [s(10), (x) => x.tel("A-2", "execution", "READY", s(10))],
        [s(20), (x) => x.tel("A-3", "execution", "ACTIVE", s(20))],
      ],
      [
        [0, (x) => expect(ex(x, view("active"))).toBe(2)],
        [s(10), (x) => expect(ex(x, view("active"))).toBe(1)],
        [s(20), (x) => expect(ex(x, view("active"))).toBe(2)],
      ],
    );
  });

  it("grouped table views", () => {
    scenario(
      new Sim(prog()),
      [
        [0, (x) => x.tel("A-1", "parts", 10, 0).tel("A-2", "parts", 5, 0).tel("A-3", "parts", 7, 0)],
        [s(10), (x) => x.tel("A-1", "parts", 12, s(10))],
      ],
      [
        [0, (x) => expect(ex(x, view("parts_by_hall", c("north")))).toBe(15)],
        [s(10), (x) => expect(ex(x, view("parts_by_hall", c("north")))).toBe(17)],
        [s(10), (x) => expect(ex(x, view("parts_by_hall", c("south")))).toBe(7)],
      ],
    );
  });

  it("windowed grouped views drive rules", () => {
    const x = scenario(
      new Sim(prog()),
      [
        [0, (x) => x.tel("T-1", "temperature", 20, 0).tel("T-3", "temperature", 50, 0)],
        [s(10), (x) => x.tel("T-2", "temperature", 30, s(10))],
        [s(20), (x) => x.tel("T-1", "temperature", 70, s(20))],
      ],
      [
        [s(10), (x) => expect(ex(x, view("hall_temp", c("north")))).toBe(25)],
        [s(10), (x) => expect(ex(x, view("hall_temp", c("south")))).toBe(50)],
        [s(20), (x) => expect(ex(x, view("hall_temp", c("north")))).toBe(40)],
      ],
    );
    expect(x.cmdList()).toEqual(["SUP.slow_down@20000"]);
  });
});

// ---------------------------------------------------------------- 06_replay
describe("06 replay (the mill-shift session, fed as classified events)", () => {
  const prog = () => conformance("06_replay.ofl", "mill-line") // the session was recorded from a program named mill-line;
  const T0 = Date.parse("2026-11-20T08:00:00.000Z");
  /** the session's records, in file order; `null` marks a recorded output (ignored) */
  const session = (sim: Sim): [number, () => void][] => [
    [T0, () => sim.tel("M-1", "temperature", "85.0" as unknown as number, T0)],
    [T0 + 10000, () => sim.tel("M-1", "temperature", 92.5, T0 + 10000)],
    [T0 + 11000, () => sim.tel("X-9", "temperature", 50, T0 + 11000)],
    [T0 + 12000, () => sim.tel("M-1", "vibration", 3, T0 + 12000)],
    [T0 + 13000, () => sim.tel("M-1", "temperature", "abc" as unknown as number, T0 + 13000)],
    [T0 + 14000, () => sim.tel("M-1", "temperature", "NaN" as unknown as number, T0 + 14000)],
    [T0 + 15050, () => sim.clock(T0 + 15050, "OFL-mill-line")],
    [
      T0 + 15000,
      () => {
        const record = { topic: "ofa_assets", partition: 0, offset: sim.offset++, ts: T0 + 15050, key: "M-1", value: {} };
        sim.raw({
          kind: "command",
          partition: 0,
          offset: record.offset,
          key: "M-1",
          time: T0 + 15000,
          record,
          command: "stop",
          envelope: { header: { correlation_id: "x", sender_uuid: "OFL-mill-line", timestamp: "", signature: null, rule: "stop_hot", cause_offset: 6, shadow: false }, arguments: {} },
        });
      },
    ],
    [
      T0 + 15120,
      () => {
        const record = { topic: "ofa_assets", partition: 0, offset: sim.offset++, ts: T0 + 15120, key: "M-1", value: {} };
        sim.raw({ kind: "command_result", partition: 0, offset: record.offset, key: "M-1", time: T0 + 15120, record, command: "stop", result: { correlation_id: "x", status: "completed" } });
      },
    ],
    [T0 + 20000, () => sim.tel("M-1", "temperature", 70, T0 + 20000)],
    [T0 + 30000, () => sim.tel("M-1", "temperature", 600, T0 + 30000)],
    [T0 + 40000, () => sim.tel("M-1", "temperature", null, T0 + 40000)],
  ];

  /** replays up to the first input record with time > T, observes at T */
  function stateAt(T: number): Sim {
    const sim = new Sim(prog());
    for (const [t, f] of session(sim)) {
      if (t > T) break;
      f();
    }
    sim.at(T);
    return sim;
  }

  it("issues the stop at the timer deadline, before the clock record, with the recorded fields", () => {
    const sim = new Sim(prog());
    for (const [, f] of session(sim)) f();
    sim.at(T0 + 40000);
    expect(sim.commands.length).toBe(1);
    const cmd = sim.commands[0]!;
    expect(cmd.key).toBe("M-1");
    expect(cmd.ts).toBe(T0 + 15000);
    expect(cmd.envelope.header).toMatchObject({
      sender_uuid: "OFL-mill-line",
      timestamp: "2026-11-20T08:00:15.000Z",
      signature: null,
      rule: "stop_hot",
      cause_offset: 6,
      shadow: false,
      verdict: "accepted",
    });
    expect(cmd.envelope.arguments).toEqual({});
    const dl = sim.deadletters.map((d) => d.reason);
    expect(dl).toEqual(["unknown_asset", "unknown_signal", "wrong_type", "not_finite", "out_of_range"]);
  });

  it("state at times", () => {
    expect(stateAt(T0 + 15000).eval(st("overheating", "m1"))).toBe(true);
    expect(stateAt(T0 + 15000).commands.map((k) => k.ts)).toEqual([T0 + 15000]);
    expect(stateAt(T0 + 14999).eval(st("overheating", "m1"))).toBe(false);
    expect(stateAt(T0 + 14000).eval(sig("temperature", "m1"))).toBe(92.5);
    expect(stateAt(T0 + 59000).eval(st("avg1m", "m1"))).toBe(82.5);
    expect(stateAt(T0 + 45000).eval(known(sig("temperature", "m1")))).toBe(false);
  });
});
