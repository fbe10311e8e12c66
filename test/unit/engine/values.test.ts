import { describe, expect, it } from "vitest";
import { isJsonNumber, parseTelemetryValue, Rejection } from "../../../runtime/engine/index.js";
import type { IrType, Value } from "../../../compiler/ir/types.js";

const F: IrType = { t: "float" };
const I: IrType = { t: "int" };
const reason = (v: Value | Rejection) => (v instanceof Rejection ? v.reason : v);

describe("JSON number syntax", () => {
  it.each(["0", "-0", "1", "-1", "10", "1.5", "0.25", "-0.5", "1e3", "1E3", "1e+3", "1e-3", "2.5e10", "123456789"])("accepts %s", (s) => {
    expect(isJsonNumber(s)).toBe(true);
  });
  it.each(["", "-", "+1", "01", "1.", ".5", "1e", "1e+", " 1", "1 ", "0x10", "1_000", "NaN", "Infinity", "abc", "1.2.3", "--1", "1,5"])(
    "rejects %j",
    (s) => {
      expect(isJsonNumber(s)).toBe(false);
    },
  );
});

describe("parseTelemetryValue", () => {
  it("parses numbers in JSON syntax", () => {
    expect(parseTelemetryValue(F, undefined, "91.2")).toBe(91.2);
    expect(parseTelemetryValue(F, undefined, "-3e2")).toBe(-300);
    expect(reason(parseTelemetryValue(F, undefined, "abc"))).toBe("wrong_type");
    expect(reason(parseTelemetryValue(F, undefined, " 1"))).toBe("wrong_type");
  });
  it("an int with a fraction is wrong_type; integral forms are ints", () => {
    expect(reason(parseTelemetryValue(I, undefined, "5.5"))).toBe("wrong_type");
    expect(parseTelemetryValue(I, undefined, "5")).toBe(5);
    expect(parseTelemetryValue(I, undefined, "5.0")).toBe(5);
    expect(reason(parseTelemetryValue(I, undefined, "1e300"))).toBe("wrong_type");
  });
  it("exactly NaN, Infinity, -Infinity are not_finite (numbers only)", () => {
    for (const t of [F, I]) {
      expect(reason(parseTelemetryValue(t, undefined, "NaN"))).toBe("not_finite");
      expect(reason(parseTelemetryValue(t, undefined, "Infinity"))).toBe("not_finite");
      expect(reason(parseTelemetryValue(t, undefined, "-Infinity"))).toBe("not_finite");
    }
    expect(reason(parseTelemetryValue(F, undefined, "nan"))).toBe("wrong_type");
    expect(reason(parseTelemetryValue(F, undefined, "+Infinity"))).toBe("wrong_type");
    expect(reason(parseTelemetryValue(F, undefined, "1e400"))).toBe("not_finite");
    expect(parseTelemetryValue({ t: "string" }, undefined, "NaN")).toBe("NaN");
  });
  it("ranges are inclusive; out_of_range comes after the type checks", () => {
    expect(parseTelemetryValue(F, [0, 500], "500")).toBe(500);
    expect(parseTelemetryValue(F, [0, 500], "0")).toBe(0);
    expect(reason(parseTelemetryValue(F, [0, 500], "500.1"))).toBe("out_of_range");
    expect(reason(parseTelemetryValue(F, [-50, 500], "-51"))).toBe("out_of_range");
    expect(reason(parseTelemetryValue(F, [0, 500], "NaN"))).toBe("not_finite");
    expect(reason(parseTelemetryValue(I, [0, 5], "7.5"))).toBe("wrong_type");
  });
  it("UNAVAILABLE is always valid (unknown)", () => {
    expect(parseTelemetryValue(F, [0, 1], "UNAVAILABLE")).toBe(null);
    expect(parseTelemetryValue({ t: "bool" }, undefined, "UNAVAILABLE")).toBe(null);
    expect(parseTelemetryValue({ t: "string" }, undefined, "UNAVAILABLE")).toBe(null);
  });
  it("bools are exactly true/false", () => {
    const b: IrType = { t: "bool" };
    expect(parseTelemetryValue(b, undefined, "true")).toBe(true);
    expect(parseTelemetryValue(b, undefined, "false")).toBe(false);
    expect(reason(parseTelemetryValue(b, undefined, "True"))).toBe("wrong_type");
    expect(reason(parseTelemetryValue(b, undefined, "1"))).toBe("wrong_type");
  });
  it("enums: a member name or a mapped device value", () => {
    const e: IrType = { t: "enum", name: "Execution" };
    const members = new Set(["READY", "ACTIVE"]);
    const map = new Map([
      ["0", "READY"],
      ["1", "ACTIVE"],
    ]);
    expect(parseTelemetryValue(e, undefined, "ACTIVE", members, map)).toBe("ACTIVE");
    expect(parseTelemetryValue(e, undefined, "1", members, map)).toBe("ACTIVE");
    expect(reason(parseTelemetryValue(e, undefined, "2", members, map))).toBe("wrong_type");
    expect(reason(parseTelemetryValue(e, undefined, "active", members))).toBe("wrong_type");
  });
  it("strings are anything", () => {
    expect(parseTelemetryValue({ t: "string" }, undefined, "")).toBe("");
    expect(parseTelemetryValue({ t: "string" }, undefined, "x y")).toBe("x y");
  });
});
