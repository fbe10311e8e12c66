// Time from the future (language spec §7.6, wire.md §3): telemetry whose event time is more than
// the program's tolerance (default 5 min, ofl.json `future_tolerance`) ahead of its receive time
// (the record's `ts`) is dead-lettered `future_time`, after `unknown_signal`, before `wrong_type`.
// Unit tests of the rule at its boundary, in the engine, in `ofl test` replays (the issue's
// scenario: one 2099 timestamp must not silence a `for` rule) and in ofl.json.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { main } from "../../../runtime/cli/main.js";
import { Engine } from "../../../runtime/engine/index.js";
import { loadProgram } from "../../../runtime/project/load.js";
import { classify, DEFAULT_FUTURE_TOLERANCE_MS, distanceText, isFutureTime, telemetryValue } from "../../../runtime/wire/records.js";
import type { DeadLetterValue, LogRecord, NewRecord } from "../../../runtime/wire/types.js";

const MILL = `
model Mill {
  telemetry temperature: float<degC> in 0..500
  state overheating = temperature > 90 degC for 5s
  command stop()
}
asset m1: Mill { uuid "M-1" }
rule stop_hot on Mill {
  when overheating
  then stop()
}
`;

function program(extra: Partial<IrProgram> = {}): IrProgram {
  const r = compile([{ path: "/mill.ofl", text: MILL }], { name: "mill" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return { ...r.ir, ...extra };
}

const T0 = Date.parse("2026-11-20T08:00:00.000Z");
const MIN = 60_000;

let offset = 0;
function tel(id: string, value: string, eventMs: number, receivedMs: number, key = "M-1"): LogRecord {
  return { topic: "ofa_assets", partition: 0, offset: offset++, ts: receivedMs, key, value: telemetryValue(id, value, "degC", "Samples", eventMs) };
}

function run(ir: IrProgram, recs: LogRecord[]): { out: NewRecord[]; engine: Engine } {
  const out: NewRecord[] = [];
  const engine = new Engine({ program: ir, onOutput: (r) => out.push(r) });
  for (const r of recs) engine.process(classify(r));
  return { out, engine };
}
const deadLetters = (out: NewRecord[]): DeadLetterValue[] => out.filter((r) => r.topic === "ofl_deadletter").map((r) => r.value as DeadLetterValue);

describe("isFutureTime: the rule at its boundary", () => {
  it("the default tolerance is 5 minutes", () => {
    expect(DEFAULT_FUTURE_TOLERANCE_MS).toBe(5 * MIN);
  });
  it("exactly the tolerance ahead is accepted; 1 ms more is not", () => {
    expect(isFutureTime(T0 + 5 * MIN, T0)).toBe(false);
    expect(isFutureTime(T0 + 5 * MIN + 1, T0)).toBe(true);
    expect(isFutureTime(T0 + 30_000, T0, 30_000)).toBe(false);
    expect(isFutureTime(T0 + 30_001, T0, 30_000)).toBe(true);
    expect(isFutureTime(T0, T0, 0)).toBe(false);
    expect(isFutureTime(T0 + 1, T0, 0)).toBe(true);
  });
  it("the distance in the detail: exact, and roughly in the largest unit that fits when that is not exact", () => {
    expect(distanceText(1500)).toBe("1500ms");
    expect(distanceText(45_000)).toBe("45s");
    expect(distanceText(5 * MIN)).toBe("5m");
    expect(distanceText(90_000)).toBe("90s (about 1.5m)");
    expect(distanceText(5 * MIN + 1)).toBe("300001ms (about 5m)");
    expect(distanceText(25 * 3_600_000)).toBe("25h (about 1d)");
    // a device clock three years ahead, received on a millisecond that is no whole second
    expect(distanceText(Date.parse("2029-12-03T17:28:25.028Z") - Date.parse("2026-12-04T17:28:25.031Z"))).toBe("94607999997ms (about 1095d)");
  });
  it("event times in the past (late, replayed history) are never future_time", () => {
    expect(isFutureTime(T0 - 365 * 86_400_000, T0)).toBe(false);
  });
});

describe("the engine dead-letters future_time", () => {
  it("at the boundary: exactly 5 min ahead is applied, 5 min + 1 ms is dead-lettered with both times", () => {
    const ok = run(program(), [tel("temperature", "50", T0 + 5 * MIN, T0)]);
    expect(deadLetters(ok.out)).toEqual([]);
    expect(ok.engine.streamTime).toBe(T0 + 5 * MIN);

    const r = tel("temperature", "50", T0 + 5 * MIN + 1, T0);
    const bad = run(program(), [r]);
    const dl = deadLetters(bad.out);
    expect(dl).toHaveLength(1);
    expect(dl[0]!.reason).toBe("future_time");
    expect(dl[0]!.detail).toBe(
      "m1.temperature: event time 2026-11-20T08:05:00.001Z is 300001ms (about 5m) ahead of its receive time 2026-11-20T08:00:00.000Z (tolerance 5m)",
    );
    expect(dl[0]!.record).toMatchObject({ offset: r.offset, ts: T0, key: "M-1", value: r.value });
    // it changes no state and does not move stream time
    expect(bad.engine.streamTime).toBe(-Infinity);
    expect(bad.engine.snapshot().assets["m1"]!.telemetry["temperature"]).toBe(null);
  });

  it("checked after unknown_asset and unknown_signal, before wrong_type, not_finite, out_of_range", () => {
    const far = T0 + 60 * MIN;
    const { out } = run(program(), [
      tel("temperature", "50", far, T0, "NOPE"),
      tel("pressure", "50", far, T0),
      tel("temperature", "hot", far, T0),
      tel("temperature", "NaN", far, T0),
      tel("temperature", "9999", far, T0),
      // the same bad values on time: their own reasons
      tel("temperature", "hot", T0, T0),
      tel("temperature", "NaN", T0, T0),
      tel("temperature", "9999", T0, T0),
    ]);
    expect(deadLetters(out).map((d) => d.reason)).toEqual([
      "unknown_asset",
      "unknown_signal",
      "future_time",
      "future_time",
      "future_time",
      "wrong_type",
      "not_finite",
      "out_of_range",
    ]);
  });

  it("uses the program's tolerance (ofl.json future_tolerance)", () => {
    const ir = program({ futureToleranceMs: 30_000 });
    const { out } = run(ir, [tel("temperature", "50", T0 + 30_000, T0), tel("temperature", "51", T0 + 60_001, T0 + 30_000)]);
    const dl = deadLetters(out);
    expect(dl.map((d) => d.reason)).toEqual(["future_time"]);
    expect(dl[0]!.detail).toMatch(/is 30001ms ahead .* \(tolerance 30s\)$/);
  });

  it("the decision depends only on the record: a second engine over the same records decides the same", () => {
    const recs = [tel("temperature", "95", T0, T0), tel("temperature", "95", Date.parse("2099-01-01T00:00:00Z"), T0 + 1000), tel("temperature", "95", T0 + 6000, T0 + 6000)];
    const a = run(program(), recs).out;
    const b = run(program(), recs).out;
    expect(b).toEqual(a);
    expect(deadLetters(a).map((d) => d.reason)).toEqual(["future_time"]);
    expect(a.filter((r) => r.topic === "ofa_assets" && (r.value as { ID: string }).ID === "stop_CMD")).toHaveLength(1);
  });
});

// ------------------------------------------------------------------ ofl test replays, ofl.json

async function ofl(args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s), cwd, color: false });
  return { code, out, err };
}

function line(offset: number, receivedIso: string, value: string, eventIso = receivedIso): string {
  return JSON.stringify({
    topic: "ofa_assets",
    partition: 0,
    offset,
    ts: Date.parse(receivedIso),
    key: "M-1",
    value: { ID: "temperature", VALUE: value, TAG: "degC", TYPE: "Samples", attributes: { timestamp: eventIso } },
  });
}

/** The scenario: one record stamped 2099, then a mill above 90 degC for more than 5 s. */
function project(config: Record<string, unknown>, expectations: string): string {
  const dir = mkdtempSync(join(tmpdir(), "ofl-future-"));
  writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: "mill", ...config }));
  writeFileSync(join(dir, "mill.ofl"), MILL);
  mkdirSync(join(dir, "sessions"));
  writeFileSync(
    join(dir, "sessions", "wrong-clock.jsonl"),
    [
      line(0, "2026-11-20T08:00:00.000Z", "85.0"),
      line(1, "2026-11-20T08:00:05.000Z", "86.0", "2099-01-01T00:00:00.000Z"), // a device with a wrong clock
      line(2, "2026-11-20T08:00:10.000Z", "92.5"),
      line(3, "2026-11-20T08:00:12.000Z", "93.0", "2026-11-20T08:05:12.000Z"), // exactly 5 min ahead: accepted
      line(4, "2026-11-20T08:05:20.000Z", "94.0"),
    ].join("\n") + "\n",
  );
  writeFileSync(join(dir, "mill.test.ofl"), `test "a wrong device clock" {\n  replay "sessions/wrong-clock.jsonl"\n${expectations}\n}\n`);
  return dir;
}

describe("ofl test replays", () => {
  it("one 2099 timestamp no longer silences a `> 90 degC for 5s` rule: it is dead-lettered and stop() is issued", async () => {
    const dir = project({}, [
      "  expect count(deadletters(\"future_time\")) == 1",
      "  expect count(deadletters()) == 1",
      "  expect m1.stop() at @2026-11-20T08:00:15Z",
      "  expect count(m1.stop()) == 1",
      "  expect m1.temperature == 93.0 degC at @2026-11-20T08:05:12Z",
    ].join("\n"));
    const r = await ofl(["test", dir], dir);
    expect(r.err + r.out).toMatch(/1 passed/);
    expect(r.code).toBe(0);
  });

  it("a tolerance from ofl.json: 1m dead-letters the record 5 min ahead too", async () => {
    const dir = project({ future_tolerance: "1m" }, [
      "  expect count(deadletters(\"future_time\")) == 2",
      "  expect m1.stop() at @2026-11-20T08:00:15Z",
      "  expect m1.temperature == 92.5 degC at @2026-11-20T08:05:19Z",
    ].join("\n"));
    const r = await ofl(["test", dir], dir);
    expect(r.err + r.out).toMatch(/1 passed/);
    expect(r.code).toBe(0);
  });

  it("a wrong expectation fails (the test can fail)", async () => {
    const dir = project({}, '  expect count(deadletters("future_time")) == 0');
    const r = await ofl(["test", dir], dir);
    expect(r.code).toBe(1);
  });
});

describe("ofl.json future_tolerance", () => {
  it("is read as a duration text", () => {
    const dir = project({ future_tolerance: "90s" }, "");
    expect(loadProgram(dir).futureToleranceMs).toBe(90_000);
    expect(loadProgram(project({}, "")).futureToleranceMs).toBeUndefined();
  });
  it("a bad value is a clear error naming the file and the setting (exit 2)", async () => {
    for (const bad of [300, "5 minutes", "-5m", "0.5ms"]) {
      const dir = project({ future_tolerance: bad }, "");
      expect(() => loadProgram(dir)).toThrow(/ofl\.json: "future_tolerance" must be a duration text in whole milliseconds, like "30s", "5m" or "2h"/);
      const r = await ofl(["check", dir], dir);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/future_tolerance/);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});
