// Checkpoints (issue 12, item 1): restoring a checkpoint taken at offset N and processing the
// records N.. gives byte-identical outputs (and the same final state) as processing 0.. from
// scratch, over random programs (durations, windows, grace, cooldowns, repeats, which alarms,
// views and rules exist), random sessions and random checkpoint offsets, including offsets
// where timers are pending and windows are open. Plus: the file format rejects corrupt
// checkpoints, other versions and other programs.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { IrAlarm, IrProgram, IrRule, IrView, IrWindow } from "../../../compiler/ir/types.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, programHash, restoreEngine } from "../../../runtime/engine/checkpoint.js";
import { Engine } from "../../../runtime/engine/index.js";
import type { CommandEnvelope, NewRecord, WireEvent } from "../../../runtime/wire/types.js";
import {
  act,
  age,
  agg,
  alarm,
  alarmRef,
  and,
  asset,
  B,
  c,
  changed,
  command,
  E,
  eq,
  F,
  forDef,
  gt,
  hopping,
  I,
  le,
  lt,
  model,
  ne,
  param,
  previous,
  program,
  rule,
  S,
  session,
  sig,
  st,
  state,
  tableView,
  tumbling,
  view,
  windowView,
} from "./helpers.js";

const SEED = 20261203;

interface Knobs {
  forMs: number;
  ageMs: number;
  w1: IrWindow;
  w2: IrWindow;
  w3: IrWindow;
  wv: IrWindow;
  cooldownMs: number | undefined;
  repeatMs: number | undefined;
  alarms: boolean[];
  views: boolean[];
  rules: boolean[];
}

const windowArb: fc.Arbitrary<IrWindow> = fc.oneof(
  fc.tuple(fc.integer({ min: 1000, max: 12000 }), fc.integer({ min: 0, max: 3000 })).map(([s, g]) => tumbling(s, g)),
  fc.tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1000, max: 4000 }), fc.integer({ min: 0, max: 2000 })).map(([k, h, g]) => hopping(k * h, h, g)),
  fc.tuple(fc.integer({ min: 500, max: 6000 }), fc.integer({ min: 0, max: 3000 })).map(([gap, g]) => session(gap, g)),
);

const knobsArb: fc.Arbitrary<Knobs> = fc.record({
  forMs: fc.integer({ min: 0, max: 6000 }),
  ageMs: fc.integer({ min: 500, max: 8000 }),
  w1: windowArb,
  w2: windowArb,
  w3: windowArb,
  wv: windowArb,
  cooldownMs: fc.option(fc.integer({ min: 500, max: 8000 }), { nil: undefined, freq: 5 }),
  repeatMs: fc.option(fc.integer({ min: 500, max: 4000 }), { nil: undefined }),
  alarms: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
  views: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  rules: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
});

/** A random program from one template: every feature of the engine, parameters and parts drawn. */
function makeProgram(k: Knobs): IrProgram {
  const alarms: IrAlarm[] = [alarm("high", gt(sig("x"), 80), lt(sig("x"), 20)), alarm("stop", eq(sig("ex"), "STOPPED"))].filter((_, i) => k.alarms[i]);
  const views: IrView[] = [
    tableView("busy", "count", "M", { where: eq(sig("ex"), "ACTIVE"), type: I }),
    tableView("sum_n", "sum", "M", { arg: sig("n"), by: "hall" }),
    windowView("hall_x", "avg", "M", k.wv, { arg: sig("x"), by: "hall" }),
  ].filter((_, i) => k.views[i]);
  const has = (n: string) => views.some((v) => v.name === n);
  const rules: IrRule[] = [
    rule("r_held", { on: "M", when: st("held"), actions: [act("stop")] }),
    rule("r_set", { on: "M", when: gt(sig("x"), 10), actions: [act("set", { v: sig("x") })], ...(k.cooldownMs !== undefined ? { cooldownMs: k.cooldownMs } : {}) }),
    rule("r_silent", { on: "M", when: st("silent"), actions: [act("stop")], ...(k.repeatMs !== undefined ? { repeatMs: k.repeatMs } : {}) }),
    rule("r_alarm", { on: "M", shadow: true, when: k.alarms[0] ? alarmRef("high") : gt(sig("x"), 70), actions: [act("set", { v: c(1) })] }),
    ...(has("busy") ? [rule("r_view", { when: gt(view("busy"), 1), actions: [act("stop", {}, "c")] })] : []),
    ...(has("hall_x") ? [rule("r_hall", { when: gt(view("hall_x", c("n")), 30), actions: [act("set", { v: c(5) }, "a")] })] : []),
  ].filter((r, i) => k.rules[i] || r.name === "r_set");
  return program("cp", {
    enums: { Ex: ["READY", "ACTIVE", "STOPPED"] },
    models: [
      model("M", {
        attributes: { hall: S },
        telemetry: { x: [F, [-100, 100]], n: I, ex: E("Ex"), b: B },
        states: [
          state("hot", gt(sig("x"), 50), B),
          state("held", forDef(st("hot"), k.forMs), B),
          state("silent", age(sig("x"), "gt", k.ageMs), B),
          state("ch", changed(sig("ex")), B),
          state("px", previous(sig("x"))),
          state("avg", agg("avg", sig("x"), k.w1)),
          state("fin", agg("max", sig("x"), k.w2, { final: true })),
          state("sess", agg("sum", sig("n"), k.w3)),
          state("dev", agg("stddev", sig("x"), k.w1)),
          state("$r", agg("ratio", sig("b"), k.w2), F, true),
        ],
        alarms,
        commands: [command("stop"), command("set", [{ name: "v", type: F, range: [0, 60] }], and(ne(sig("ex"), "STOPPED"), le(param("v"), c(55))))],
      }),
    ],
    assets: [asset("a", "M", "A", { hall: "n" }), asset("b", "M", "B", { hall: "n" }), asset("c", "M", "C", { hall: "s" })],
    views,
    rules,
  });
}

type Ev =
  | { k: "tel"; key: string; id: string; v: string; dt: number }
  | { k: "clock"; dt: number }
  | { k: "avail"; key: string; on: boolean; dt: number }
  | { k: "send"; key: string; v: string; dt: number };

const keyArb = fc.constantFrom("A", "B", "C", "A", "B", "GHOST");
const dtArb = fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: -6000, max: 0 }), fc.constant(0));
const valArb = (id: string) => {
  switch (id) {
    case "x":
      return fc.oneof(fc.integer({ min: -120, max: 120 }).map(String), fc.constantFrom("UNAVAILABLE", "NaN", "abc", "55.5", "1e1", "-0", "0.1"));
    case "n":
      return fc.oneof(fc.integer({ min: 0, max: 9 }).map(String), fc.constantFrom("1.5", "UNAVAILABLE"));
    case "ex":
      return fc.constantFrom("READY", "ACTIVE", "STOPPED", "bogus", "UNAVAILABLE");
    case "b":
      return fc.constantFrom("true", "false", "UNAVAILABLE", "yes");
    default:
      return fc.constant("1");
  }
};
const evArb: fc.Arbitrary<Ev> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(keyArb, fc.constantFrom("x", "x", "n", "ex", "b", "zz"), dtArb).chain(([key, id, dt]) => valArb(id).map((v) => ({ k: "tel" as const, key, id, v, dt }))) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 8000 }).map((dt) => ({ k: "clock" as const, dt })) },
  { weight: 1, arbitrary: fc.tuple(keyArb, fc.boolean(), dtArb).map(([key, on, dt]) => ({ k: "avail" as const, key, on, dt })) },
  { weight: 1, arbitrary: fc.tuple(keyArb, fc.constantFrom("10", "58", "70", "x"), dtArb).map(([key, v, dt]) => ({ k: "send" as const, key, v, dt })) },
);

/** The classified records of a session, offsets 0.. (a late record keeps the stream's time). */
function wire(evs: Ev[]): WireEvent[] {
  let t = 1000;
  return evs.map((e, offset) => {
    const time = Math.max(0, t + e.dt);
    if (e.dt > 0) t = time;
    const base = { topic: "ofa_assets", partition: 0, offset, ts: time };
    switch (e.k) {
      case "tel": {
        const record = { ...base, key: e.key, value: { ID: e.id, VALUE: e.v } };
        return { kind: "telemetry", partition: 0, offset, key: e.key, time, record, id: e.id, value: e.v, tag: e.id, type: "Samples" };
      }
      case "clock":
        return { kind: "clock", partition: 0, offset, key: "OFL-clock", time, record: { ...base, key: "OFL-clock", value: { ID: "clock" } } };
      case "avail":
        return { kind: "avail", partition: 0, offset, key: e.key, time, record: { ...base, key: e.key, value: { ID: "avail" } }, available: e.on };
      case "send": {
        const envelope: CommandEnvelope = { header: { correlation_id: `op-${offset}`, sender_uuid: "operator", timestamp: new Date(time).toISOString(), signature: null }, arguments: { v: e.v } };
        return { kind: "operator_command", partition: 0, offset, key: e.key, time, record: { ...base, key: e.key, value: { ID: "set_CMD" } }, command: "set", envelope };
      }
    }
  });
}

interface Run {
  out: string;
  snap: string;
  /** at the checkpoint: timers pending, windows open */
  timers: number;
  openWindows: number;
}

const END = (evs: WireEvent[]) => evs.reduce((m, e) => Math.max(m, "time" in e ? e.time : 0), 0) + 30000;

function straight(ir: IrProgram, evs: WireEvent[]): { out: string; snap: string } {
  const out: NewRecord[] = [];
  const e = new Engine({ program: ir, onOutput: (r) => out.push(r) });
  for (const ev of evs) e.process(ev);
  e.advanceTo(END(evs));
  return { out: JSON.stringify(out), snap: JSON.stringify(e.snapshot()) };
}

/** Processes 0..at-1, checkpoints to bytes, restores into a new engine, processes at.. */
function viaCheckpoint(ir: IrProgram, evs: WireEvent[], at: number): Run {
  const out: NewRecord[] = [];
  const first = new Engine({ program: ir, onOutput: (r) => out.push(r) });
  for (const ev of evs.slice(0, at)) first.process(ev);
  const bytes = encodeCheckpoint(first, at);
  const decoded = decodeCheckpoint(bytes, ir);
  const openWindows =
    decoded.state.nodes.reduce((n, x) => n + (x.length === 4 && typeof x[3] === "object" ? ((x[3] as { wins?: unknown[] }).wins ?? (x[3] as { panes: unknown[] }).panes).length : 0), 0) + // window objects, or panes (window.ts PaneSet)
    decoded.state.windowViews.reduce((n, v) => n + v.sets.reduce((m, [, s]) => m + ("wins" in s ? s.wins : s.panes).length, 0), 0);
  const { engine, header } = restoreEngine(bytes, { program: ir, onOutput: (r) => out.push(r) });
  expect(header.offset).toBe(at);
  for (const ev of evs.slice(at)) engine.process(ev);
  engine.advanceTo(END(evs));
  return { out: JSON.stringify(out), snap: JSON.stringify(engine.snapshot()), timers: decoded.state.timers.length, openWindows };
}

describe("engine checkpoints", () => {
  it("restore at N, then N.. gives byte-identical outputs and state to 0.. (random programs, sessions, offsets)", () => {
    let withTimers = 0;
    let withWindows = 0;
    let runs = 0;
    fc.assert(
      fc.property(knobsArb, fc.array(evArb, { minLength: 1, maxLength: 150, size: "max" }), fc.array(fc.integer({ min: 0, max: 10000 }), { minLength: 1, maxLength: 3 }), (k, raw, picks) => {
        const ir = makeProgram(k);
        const evs = wire(raw);
        const plain = straight(ir, evs);
        for (const p of picks) {
          const at = p % (evs.length + 1);
          const r = viaCheckpoint(ir, evs, at);
          runs++;
          if (r.timers > 0) withTimers++;
          if (r.openWindows > 0) withWindows++;
          expect(r.out).toBe(plain.out);
          expect(r.snap).toBe(plain.snap);
        }
      }),
      { numRuns: 150, seed: SEED },
    );
    // the property was exercised where it matters: checkpoints with pending timers and open windows
    expect(withTimers).toBeGreaterThan(runs / 3);
    expect(withWindows).toBeGreaterThan(runs / 3);
  }, 180_000);

  it("a chain of checkpoints (every 7 records, each restored from the previous bytes) gives the same outputs", () => {
    fc.assert(
      fc.property(knobsArb, fc.array(evArb, { minLength: 20, maxLength: 150, size: "max" }), (k, raw) => {
        const ir = makeProgram(k);
        const evs = wire(raw);
        const plain = straight(ir, evs);
        const out: NewRecord[] = [];
        const onOutput = (r: NewRecord) => out.push(r);
        let engine = new Engine({ program: ir, onOutput });
        evs.forEach((ev, i) => {
          if (i > 0 && i % 7 === 0) engine = restoreEngine(encodeCheckpoint(engine, i), { program: ir, onOutput }).engine;
          engine.process(ev);
        });
        engine.advanceTo(END(evs));
        expect(JSON.stringify(out)).toBe(plain.out);
      }),
      { numRuns: 60, seed: SEED + 1 },
    );
  }, 120_000);

  const IR = makeProgram(fc.sample(knobsArb, { numRuns: 1, seed: SEED })[0]!);
  const EVS = wire(fc.sample(fc.array(evArb, { minLength: 50, maxLength: 50 }), { numRuns: 1, seed: SEED })[0]!);
  const engineAt = (n: number) => {
    const e = new Engine({ program: IR, onOutput: () => {} });
    for (const ev of EVS.slice(0, n)) e.process(ev);
    return e;
  };

  it("a windowed view whose window fits panes keeps panes per group (no window objects, no close timers) and continues the same after a restore", () => {
    const k = { ...fc.sample(knobsArb, { numRuns: 1, seed: SEED })[0]!, wv: tumbling(2000, 500), views: [false, false, true] };
    const ir = makeProgram(k);
    const evs = wire(fc.sample(fc.array(evArb, { minLength: 120, maxLength: 120 }), { numRuns: 1, seed: SEED + 2 })[0]!);
    const at = 80;
    const e = new Engine({ program: ir, onOutput: () => {} });
    for (const ev of evs.slice(0, at)) e.process(ev);
    const s = decodeCheckpoint(encodeCheckpoint(e, at), ir).state;
    const sets = s.windowViews[0]!.sets;
    expect(sets.length).toBeGreaterThan(0);
    for (const [, set] of sets) expect(Object.keys(set).sort()).toEqual(["panes", "shown"]);
    expect(s.timers.filter((t) => t[2] === 3 && t[5] !== null)).toEqual([]); // K_CLOSE timers of a view carry its group key
    const plain = straight(ir, evs);
    const r = viaCheckpoint(ir, evs, at);
    expect(r.out).toBe(plain.out);
    expect(r.snap).toBe(plain.snap);
    expect(JSON.parse(plain.snap).views.hall_x).toBeDefined();
  });

  it("keeps -0, Infinity and NaN exactly", () => {
    const bytes = encodeCheckpoint(engineAt(0), 0);
    const s = decodeCheckpoint(bytes, IR).state;
    // before any input: reportTime of every cell is -Infinity, stream time -Infinity
    expect(s.st).toBe(-Infinity);
    expect(s.cells[0]![3]).toBe(-Infinity);
  });

  it("rejects a corrupt, truncated, other-version or other-program checkpoint with the reason", () => {
    const bytes = encodeCheckpoint(engineAt(30), 30);
    const kind = (b: Uint8Array, ir: IrProgram = IR) => {
      try {
        decodeCheckpoint(b, ir);
        return "ok";
      } catch (e) {
        expect(e).toBeInstanceOf(CheckpointError);
        return (e as CheckpointError).kind;
      }
    };
    expect(kind(bytes)).toBe("ok");
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 5]! ^= 0xff;
    expect(kind(flipped)).toBe("corrupt");
    expect(kind(bytes.subarray(0, bytes.length - 10))).toBe("corrupt");
    expect(kind(Buffer.from("garbage"))).toBe("corrupt");
    const nl = bytes.indexOf(10);
    const h = JSON.parse(bytes.subarray(0, nl).toString());
    expect(kind(Buffer.concat([Buffer.from(JSON.stringify({ ...h, version: 99 }) + "\n"), bytes.subarray(nl + 1)]))).toBe("version");
    const other = makeProgram({ ...fc.sample(knobsArb, { numRuns: 1, seed: SEED })[0]!, forMs: 123457 });
    expect(programHash(other)).not.toBe(programHash(IR));
    expect(kind(bytes, other)).toBe("program");
  });
});
