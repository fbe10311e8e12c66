import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  alarmValue,
  availValue,
  classify,
  clockValue,
  commandValue,
  deadLetterValue,
  derivedValue,
  descriptionValue,
  isInput,
  isoTime,
  parseTime,
  resultValue,
  telemetryValue,
} from "../../../runtime/wire/records.js";
import { readSession } from "../../../runtime/replay/session.js";
import type { LogRecord, WireEvent } from "../../../runtime/wire/types.js";

const sessions = join(fileURLToPath(import.meta.url), "../../../conformance/sessions");

let off = 0;
function rec(value: unknown, key: string | null = "M-1", topic = "ofa_assets"): LogRecord {
  return { topic, partition: 0, offset: off++, ts: 1795161600000, key, value };
}
const T = "2026-11-20T08:00:00.125Z";
const TMS = Date.parse(T);

describe("parseTime / isoTime", () => {
  it("parses the canonical form by hand, exactly as Date.parse", () => {
    for (const s of [T, "2026-11-20T08:00:15.000Z", "1970-01-01T00:00:00Z", "2000-02-29T23:59:59.999Z", "2026-01-01T00:00:00.1Z", "1969-12-31T23:59:59.5Z", "2400-02-29T12:00:00.000Z"]) {
      expect(parseTime(s), s).toBe(Date.parse(s));
    }
  });
  it("truncates sub-millisecond fractions", () => {
    expect(parseTime("2026-11-20T08:00:00.123456789Z")).toBe(Date.parse("2026-11-20T08:00:00.123Z"));
  });
  it("accepts other ISO forms and treats a missing zone as UTC", () => {
    expect(parseTime("2026-11-20T09:00:00+01:00")).toBe(Date.parse("2026-11-20T08:00:00Z"));
    expect(parseTime("2026-11-20T07:30:00.250-0030")).toBe(Date.parse("2026-11-20T08:00:00.250Z"));
    expect(parseTime("2026-11-20T08:05Z")).toBe(Date.parse("2026-11-20T08:05:00Z"));
    expect(parseTime("2026-11-20")).toBe(Date.parse("2026-11-20T00:00:00Z"));
    expect(parseTime("2026-11-20 08:00:00")).toBe(Date.parse("2026-11-20T08:00:00Z"));
    expect(parseTime("2026-11-20T08:00:00")).toBe(Date.parse("2026-11-20T08:00:00Z"));
  });
  it("rejects what is not an ISO time", () => {
    for (const s of ["", "yesterday", "March 7, 2026", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-20T24:00:00Z", "2026-11-20T08:60:00Z", "2026-11-20T08:00:00.Z", "2026-11-20T08:00:0xZ", "1795161600000"]) {
      expect(parseTime(s), s).toBeNull();
    }
  });
  it("agrees with Date on random instants", () => {
    // seeded (test/setup/seed.ts): instants from 1938 to 2223, the same ones on every run
    for (const ms of fc.sample(fc.integer({ min: -1e12, max: 7e12 }), 2000)) {
      const iso = isoTime(ms);
      expect(parseTime(iso)).toBe(ms);
    }
  });
  it("formats with milliseconds", () => {
    expect(isoTime(Date.parse("2026-11-20T08:00:15Z"))).toBe("2026-11-20T08:00:15.000Z");
  });
});

describe("classify", () => {
  it("telemetry, numbers and text; JSON number/bool VALUE becomes text", () => {
    const e = classify(rec({ ID: "temperature", VALUE: "91.2", TAG: "Temperature", TYPE: "Samples", attributes: { timestamp: T } }));
    expect(e).toMatchObject({ kind: "telemetry", id: "temperature", value: "91.2", tag: "Temperature", type: "Samples", time: TMS, key: "M-1" });
    expect(classify(rec({ ID: "t", VALUE: 91.5, TAG: "degC", TYPE: "Samples", attributes: { timestamp: T } }))).toMatchObject({ kind: "telemetry", value: "91.5" });
    expect(classify(rec({ ID: "door", VALUE: true, TAG: "door", TYPE: "Events", attributes: { timestamp: T } }))).toMatchObject({ kind: "telemetry", value: "true" });
    expect(classify(rec({ ID: "mode", VALUE: "AUTO", TAG: "mode", TYPE: "Events", attributes: { timestamp: T } }))).toMatchObject({ kind: "telemetry", value: "AUTO" });
    // any other TYPE is still telemetry
    expect(classify(rec({ ID: "x", VALUE: "1", attributes: { timestamp: T } }))).toMatchObject({ kind: "telemetry", tag: "", type: "" });
  });

  it("field names in any case", () => {
    const forms = [
      { id: "temperature", value: "70", tag: "degC", type: "Samples", attributes: { timestamp: T } },
      { Id: "temperature", Value: "70", Tag: "degC", Type: "Samples", Attributes: { Timestamp: T } },
      { ID: "temperature", VALUE: "70", TAG: "degC", TYPE: "Samples", ATTRIBUTES: { TIMESTAMP: T } },
    ];
    for (const f of forms) expect(classify(rec(f))).toMatchObject({ kind: "telemetry", id: "temperature", value: "70", tag: "degC", type: "Samples", time: TMS });
  });

  it("every record kind of wire.md §1", () => {
    const kinds = (v: unknown, key: string | null = "M-1") => classify(rec(v, key)).kind;
    expect(kinds(derivedValue("oee", 0.85, true, TMS))).toBe("derived");
    expect(kinds(derivedValue("state", "RUNNING", false, TMS))).toBe("derived");
    expect(kinds(alarmValue("overheat", "ACTIVE", TMS))).toBe("alarm");
    expect(kinds(descriptionValue("stop", "Stops the mill", [{ name: "override", description: "x" }]))).toBe("command_description");
    expect(kinds(clockValue(TMS), "OFL-plant")).toBe("clock");
    expect(kinds(clockValue(TMS), "anything")).toBe("clock");
    expect(kinds(clockValue(TMS), null)).toBe("clock");
    expect(kinds(availValue(true, TMS))).toBe("avail");
    const env = { header: { correlation_id: "c", sender_uuid: "OFL-plant", timestamp: T, signature: null, rule: "stop_hot_mill", cause_offset: 3, shadow: false }, arguments: { override: "50" } };
    expect(kinds(commandValue("stop", env, TMS))).toBe("command");
    expect(kinds(commandValue("stop", { ...env, header: { ...env.header, rule: "operator" } }, TMS))).toBe("operator_command");
    const { rule: _r, ...noRule } = env.header;
    expect(kinds(commandValue("stop", { ...env, header: noRule }, TMS))).toBe("operator_command");
    expect(kinds(resultValue("stop", { correlation_id: "c", status: "rejected", reason: "interlock" }, TMS))).toBe("command_result");
  });

  it("details of special kinds", () => {
    const a = classify(rec(availValue(false, TMS)));
    expect(a).toMatchObject({ kind: "avail", available: false, time: TMS });
    const env = { header: { correlation_id: "c1", sender_uuid: "u", timestamp: T, signature: null }, arguments: { speed: "3" } };
    expect(classify(rec(commandValue("set_speed", env, TMS)))).toMatchObject({ kind: "operator_command", command: "set_speed", envelope: env });
    expect(classify(rec(resultValue("set_speed", { correlation_id: "c1", status: "completed" }, TMS)))).toMatchObject({
      kind: "command_result",
      command: "set_speed",
      result: { correlation_id: "c1", status: "completed" },
    });
    expect(classify(rec(descriptionValue("stop", "d", [])))).toMatchObject({ kind: "command_description", command: "stop" });
    expect(classify(rec(alarmValue("hot", "ACKNOWLEDGED", TMS)))).toMatchObject({ kind: "alarm", id: "hot", value: "ACKNOWLEDGED" });
    // envelope without arguments: {} given, the record is not mutated
    const v = { ID: "stop_CMD", VALUE: JSON.stringify({ header: { correlation_id: "c" } }), TAG: "Method.Command", TYPE: "OpenFactory", attributes: { timestamp: T } };
    expect(classify(rec(v))).toMatchObject({ kind: "operator_command", envelope: { arguments: {} } });
  });

  it("dead letters have their own kind", () => {
    const orig = { ID: "t", VALUE: "abc" };
    const e = classify(rec(deadLetterValue("wrong_type", "abc is not a number", orig, "opcua"), "M-1", "ofl_deadletter"));
    expect(e).toMatchObject({ kind: "deadletter", reason: "wrong_type", detail: "abc is not a number", original: orig, source: "opcua", time: 1795161600000 });
    expect(classify(rec("junk", null, "ofl_deadletter")).kind).toBe("bad");
  });

  it("bad records, with precise details", () => {
    const detail = (v: unknown) => {
      const e = classify(rec(v));
      expect(e.kind).toBe("bad");
      return (e as Extract<WireEvent, { kind: "bad" }>).detail;
    };
    expect(detail("not json {")).toMatch(/value is not a JSON object \(got the string "not json \{"\)/);
    expect(detail(null)).toMatch(/got null/);
    expect(detail([1])).toMatch(/got an array/);
    expect(detail({ VALUE: "1", attributes: { timestamp: T } })).toBe("missing ID");
    expect(detail({ ID: "", VALUE: "1", attributes: { timestamp: T } })).toMatch(/ID must be a non-empty string/);
    expect(detail({ ID: 7, VALUE: "1", attributes: { timestamp: T } })).toMatch(/ID must be a non-empty string \(got number 7\)/);
    expect(detail({ ID: "t", attributes: { timestamp: T } })).toMatch(/missing VALUE/);
    expect(detail({ ID: "t", VALUE: null, attributes: { timestamp: T } })).toMatch(/VALUE must be a string \(got null/);
    expect(detail({ ID: "t", VALUE: { a: 1 }, TYPE: "Samples", attributes: { timestamp: T } })).toMatch(/VALUE must be a string \(got an object/);
    expect(detail({ ID: "t", VALUE: "1" })).toBe("missing attributes.timestamp");
    expect(detail({ ID: "t", VALUE: "1", attributes: {} })).toBe("missing attributes.timestamp");
    expect(detail({ ID: "t", VALUE: "1", attributes: { timestamp: 17 } })).toMatch(/attributes.timestamp must be a string/);
    expect(detail({ ID: "t", VALUE: "1", attributes: { timestamp: "yesterday" } })).toMatch(/not an ISO-8601 time \("yesterday"\)/);
    expect(detail({ ID: "avail", VALUE: "MAYBE", attributes: { timestamp: T } })).toMatch(/AVAILABLE or UNAVAILABLE/);
    expect(detail({ ID: "stop_CMD", VALUE: "{oops", TAG: "Method.Command", attributes: { timestamp: T } })).toMatch(/stop_CMD: VALUE is not JSON/);
    expect(detail({ ID: "stop_CMD", VALUE: "{}", TAG: "Method.Command", attributes: { timestamp: T } })).toMatch(/no header/);
    expect(detail({ ID: "stop", VALUE: "{}", TAG: "Method.Command", attributes: { timestamp: T } })).toMatch(/<command>_CMD/);
    expect(detail({ ID: "stop_RESULT", VALUE: '{"correlation_id":"c","status":"ok"}', TAG: "Method.Result", attributes: { timestamp: T } })).toMatch(/status must be/);
  });

  it("inputs vs outputs", () => {
    expect(isInput(classify(rec(clockValue(TMS))))).toBe(true);
    expect(isInput(classify(rec(alarmValue("a", "ACTIVE", TMS))))).toBe(false);
  });

  it("classifies the conformance sessions (both forms) to the expected kinds", () => {
    const expected = ["telemetry", "telemetry", "telemetry", "telemetry", "telemetry", "telemetry", "clock", "command", "command_result", "telemetry", "telemetry", "telemetry"];
    for (const f of ["mill-shift.jsonl", "mill-shift.kcat.jsonl"]) {
      const events = [...readSession(join(sessions, f))].map((r) => classify(r.record));
      expect(events.map((e) => e.kind), f).toEqual(expected);
      expect(events[9]).toMatchObject({ kind: "telemetry", id: "temperature", value: "70" });
      expect(events[7]).toMatchObject({ kind: "command", command: "stop", envelope: { header: { rule: "stop_hot", cause_offset: 6 } } });
      expect(events[6]).toMatchObject({ kind: "clock", key: "OFL-mill-line", time: Date.parse("2026-11-20T08:00:15.050Z") });
    }
  });

});

describe("builders", () => {
  it("give AssetValues with ISO times in milliseconds", () => {
    expect(telemetryValue("temperature", 91.2, "degC", "Samples", TMS)).toEqual({ ID: "temperature", VALUE: "91.2", TAG: "degC", TYPE: "Samples", attributes: { timestamp: T } });
    expect(clockValue(Date.parse("2026-11-20T08:00:15Z"))).toEqual({ ID: "clock", VALUE: "2026-11-20T08:00:15.000Z", TAG: "Clock", TYPE: "OpenFactory", attributes: { timestamp: "2026-11-20T08:00:15.000Z" } });
    expect(availValue(true, TMS)).toMatchObject({ ID: "avail", VALUE: "AVAILABLE", TAG: "Availability", TYPE: "Events" });
    expect(derivedValue("s", 1, true, TMS)).toMatchObject({ TAG: "Derived", TYPE: "Samples", VALUE: "1" });
    expect(derivedValue("s", "RUN", false, TMS)).toMatchObject({ TAG: "Derived", TYPE: "Events" });
    expect(alarmValue("a", "NORMAL", TMS)).toMatchObject({ ID: "a", VALUE: "NORMAL", TAG: "Alarm", TYPE: "Condition" });
    expect(JSON.parse(descriptionValue("stop", "Stops", [{ name: "a", description: "b" }]).VALUE)).toEqual({ description: "Stops", arguments: [{ name: "a", description: "b" }] });
    expect(resultValue("stop", { correlation_id: "c", status: "completed" }, TMS)).toMatchObject({ ID: "stop_RESULT", TAG: "Method.Result", TYPE: "OpenFactory" });
    expect(deadLetterValue("bad_json", "d", "x", "s")).toEqual({ reason: "bad_json", detail: "d", record: "x", source: "s" });
  });
});

describe("IsoTimes", () => {
  it("gives exactly Date#toISOString for any sequence of times, however they share their second", async () => {
    const { IsoTimes } = await import("../../../runtime/wire/records.js");
    const t0 = Date.parse("2026-11-20T08:00:00Z");
    const time = fc.oneof(
      fc.integer({ min: t0 - 5000, max: t0 + 5000 }),
      fc.integer({ min: -62167219200000, max: 253402300799999 }),
      fc.double({ min: t0 - 2000, max: t0 + 2000, noNaN: true }),
      fc.constantFrom(-62167219200001, 253402300800000, t0 + 0.5, -1, 0, 999, 1000),
    );
    fc.assert(
      fc.property(fc.array(time, { minLength: 1, maxLength: 60 }), (ts) => {
        const iso = new IsoTimes();
        for (const t of ts) expect(iso.of(t)).toBe(new Date(t).toISOString());
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
