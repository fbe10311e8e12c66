// The unit algebra of the checker (compiler/check/types.ts), tested directly: a unit is
// (dimensions, scale to the base units); units convert when their dimensions are equal, by the
// ratio of their scales (language.md: units of one family convert automatically, `1 kW > 900 W`;
// units of different families never do, degC and K included). Expected values are arithmetic
// facts about the units (1 kW = 1000 W, 1 h = 3600 s), not outputs read back.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  assignable,
  conversionFactor,
  DURATION,
  ERROR,
  FLOAT,
  INT,
  isTimeUnit,
  isUnitless,
  makeUnit,
  MILLIS,
  mulUnits,
  num,
  STRING,
  BOOL,
  tyText,
  UNITLESS,
} from "../../../compiler/check/types.js";
import { check } from "../../../compiler/index.js";

const W = makeUnit({ W: 1 }, 1, "W");
const kW = makeUnit({ W: 1 }, 1000, "kW");
const s = makeUnit({ s: 1 }, 1, "s");
const min = makeUnit({ s: 1 }, 60, "min");
const h = makeUnit({ s: 1 }, 3600, "h");
const m = makeUnit({ m: 1 }, 1, "m");
const mm = makeUnit({ m: 1 }, 0.001, "mm");
const l = makeUnit({ l: 1 }, 1, "l");
const degC = makeUnit({ degC: 1 }, 1, "degC");
const K = makeUnit({ K: 1 }, 1, "K");

describe("units", () => {
  test("a unit's key is its dimensions, canonical: sorted, zero powers dropped", () => {
    expect(makeUnit({ s: -1, l: 1 }, 1, "l/min").key).toBe("l^1*s^-1");
    expect(makeUnit({ l: 1, s: -1, m: 0 }, 1, "x").key).toBe("l^1*s^-1");
    expect(makeUnit({ m: 0 }, 1, "").dims).toEqual({});
    expect(isUnitless(UNITLESS)).toBe(true);
    expect(isUnitless(W)).toBe(false);
  });

  test("durations are held in ms: every time unit is a time unit, nothing else is", () => {
    expect(MILLIS.scale).toBe(0.001);
    for (const u of [s, min, h, MILLIS]) expect(isTimeUnit(u)).toBe(true);
    for (const u of [W, m, UNITLESS, makeUnit({ s: 2 }, 1, "s^2")]) expect(isTimeUnit(u)).toBe(false);
  });

  test("conversion factors are the ratio of the scales, exact for decimal prefixes", () => {
    expect(conversionFactor(kW, W)).toBe(1000);
    expect(conversionFactor(W, kW)).toBe(0.001);
    expect(conversionFactor(h, min)).toBe(60);
    expect(conversionFactor(min, MILLIS)).toBe(60_000);
    expect(conversionFactor(MILLIS, s)).toBe(0.001);
    expect(conversionFactor(mm, m)).toBe(0.001);
    expect(conversionFactor(m, mm)).toBe(1000);
    expect(conversionFactor(W, W)).toBe(1);
  });

  test("multiplying and dividing add and subtract dimensions, multiply and divide scales", () => {
    const kWh = mulUnits(kW, h, 1);
    expect(kWh.key).toBe("W^1*s^1");
    expect(kWh.scale).toBe(3_600_000);
    expect(kWh.text).toBe("kW*h");
    const lpm = mulUnits(l, min, -1);
    expect(lpm.key).toBe("l^1*s^-1");
    expect(lpm.scale).toBeCloseTo(1 / 60, 15);
    expect(lpm.text).toBe("l/min");
    const perS = mulUnits(UNITLESS, s, -1);
    expect(perS.key).toBe("s^-1");
    expect(perS.text).toBe("s^-1"); // OFL syntax (a fix-it writes it): `1/s` is not a unit expression
    // the named units' powers are summed, so a derived text is the unit, not its history
    expect(mulUnits(mulUnits(lpm, degC, -1), degC, 1).text).toBe("l/min");
    expect(mulUnits(lpm, degC, -1).text).toBe("l/min/degC");
    expect(mulUnits(mulUnits(kW, h, 1), kW, -1).text).toBe("h");
    expect(mulUnits(mulUnits(m, s, -1), s, -1).text).toBe("m/s^2");
    expect(mulUnits(mulUnits(UNITLESS, degC, -1), s, -1).text).toBe("degC^-1*s^-1");
    // a quotient of equal units is unitless and is UNITLESS itself
    expect(mulUnits(m, m, -1)).toBe(UNITLESS);
    // mm/m is dimensionless but keeps its scale (0.001): not unitless-with-scale-1
    const ratio = mulUnits(mm, m, -1);
    expect(ratio.key).toBe("");
    expect(ratio.scale).toBe(0.001);
    expect(mulUnits(W, UNITLESS, 1)).toEqual(W);
  });

  test("a product divided by a factor is the other factor again (dimensions and scale)", () => {
    const units = [W, kW, s, min, h, m, mm, l, degC, UNITLESS];
    fc.assert(
      fc.property(fc.constantFrom(...units), fc.constantFrom(...units), (a, b) => {
        const back = mulUnits(mulUnits(a, b, 1), b, -1);
        expect(back.key).toBe(a.key);
        expect(back.scale).toBeCloseTo(a.scale, 12);
        expect(conversionFactor(a, b) * conversionFactor(b, a)).toBeCloseTo(1, 12);
      }),
    );
  });
});

describe("types", () => {
  test("a number in ms is a duration; other time units are numbers in a time unit", () => {
    expect(num(false, MILLIS)).toEqual(DURATION);
    expect(tyText(num(false, MILLIS))).toBe("duration");
    expect((num(true, s) as { dur?: boolean }).dur).toBeUndefined();
    expect(tyText(num(true, s))).toBe("int<s>");
    expect(tyText(num(false, kW))).toBe("float<kW>");
    expect(tyText(INT)).toBe("int");
    expect(tyText(FLOAT)).toBe("float");
  });

  test("assignable: same dimensions; int widens to float, not back; families never mix", () => {
    expect(assignable(num(true, W), num(false, kW))).toBe(true);
    expect(assignable(num(false, W), num(true, kW))).toBe(false);
    expect(assignable(INT, FLOAT)).toBe(true);
    expect(assignable(FLOAT, INT)).toBe(false);
    expect(assignable(num(false, degC), num(false, K))).toBe(false);
    expect(assignable(num(false, W), FLOAT)).toBe(false);
    expect(assignable(FLOAT, num(false, W))).toBe(false);
    expect(assignable({ k: "enum", name: "E" }, { k: "enum", name: "E" })).toBe(true);
    expect(assignable({ k: "enum", name: "E" }, { k: "enum", name: "F" })).toBe(false);
    expect(assignable(STRING, BOOL)).toBe(false);
    // an error was already reported: it fits anywhere, so it causes no second diagnostic
    expect(assignable(ERROR, STRING)).toBe(true);
    expect(assignable(INT, ERROR)).toBe(true);
  });
});

describe("the checker applies the algebra", () => {
  const conv = (text: string): number[] => {
    const r = check([{ path: "/u.ofl", text }], { name: "u" });
    expect(r.diagnostics).toEqual([]);
    return [...r.program.conversions.values()].filter((f) => f !== 1).sort((a, b) => a - b);
  };
  test("comparing kW with W converts the W side to kW (factor 0.001)", () => {
    expect(conv("model M {\n  telemetry p: float<kW>\n  state high = p > 900 W\n}")).toEqual([0.001]);
  });
  test("a duration compared with minutes is held in ms (factor 60000)", () => {
    expect(conv("model M {\n  telemetry d: duration\n  state long = d > 2 min\n}")).toEqual([60_000]);
  });
  test("degC and K never convert: OFL3002", () => {
    const r = check([{ path: "/u.ofl", text: "model M {\n  telemetry a: float<degC>\n  telemetry b: float<K>\n  state s = a > b\n}" }], { name: "u" });
    expect(r.diagnostics.map((d) => d.code)).toEqual(["OFL3002"]);
  });
});
