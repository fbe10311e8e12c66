// Checker decisions beyond the registry examples: where history-keeping operators may appear.
import { describe, expect, test } from "vitest";
import { check } from "../../../compiler/index.js";

const codes = (text: string): string[] => check([{ path: "/t.ofl", text }], { name: "t" }).diagnostics.map((d) => d.code);

describe("history operators need a place to keep history", () => {
  test("a windowed aggregate in a rule without `on` has no asset: an error, not a silent unknown", () => {
    expect(codes(`model M { telemetry t: float  command c() }
      asset m1: M {}
      rule r { when avg(m1.t) over tumbling 1m > 5 then m1.c() }`)).toEqual(["OFL4010", "OFL5013"]);
  });
  test("`for` in a rule without `on` is fine (it keeps its own timer)", () => {
    expect(codes(`model M { telemetry t: float  command c() }
      asset m1: M {}
      rule r { when m1.t > 5 for 10s then m1.c() }`)).toEqual(["OFL4010"]); // m1 has no source: c reaches no device
  });
  test("not in views, interlocks or expectations", () => {
    expect(codes(`model M { telemetry t: float  command c() requires t > 1 for 5s }`)).toEqual(["OFL5013"]);
    expect(codes(`model M { telemetry t: float }
      view v = sum(t) from M where t > 1 for 5s`)).toEqual(["OFL5013"]);
    expect(codes(`model M { telemetry t: float }
      asset a: M {}
      test "x" { expect previous(a.t) > 1 at 1s }`)).toEqual(["OFL5013"]);
  });
});

// Issue 13, item 12. language.md §3: "a bare number mixed with a quantity is an error, except as
// a factor of `*` or the divisor of `/`".
describe("a bare number as the dividend of a quantity", () => {
  const diags = (text: string) => check([{ path: "/t.ofl", text }], { name: "t" }).diagnostics;
  const parses = (text: string): boolean => !diags(text).some((d) => d.code.startsWith("OFL1"));

  test("`2 / t` is OFL3003 on the 2, with a fix-it that is valid syntax", () => {
    const src = "model M {\n  telemetry t: float<degC>\n  state s = 2 / t\n}";
    const d = diags(src);
    expect(d.map((x) => x.code)).toEqual(["OFL3003"]);
    expect(src.slice(d[0]!.span.start, d[0]!.span.end)).toBe("2");
    expect(d[0]!.message).toBe("`/` mixes a bare number with a quantity in degC; write the unit, e.g. `2 degC`");
    // the suggested text, put in place of the 2, compiles
    const fixed = src.replace("2 / t", "2 degC / t");
    expect(diags(fixed)).toEqual([]);
  });

  test("negated and parenthesized numbers too; a factor of `*` and a divisor of `/` stay fine", () => {
    expect(diags("model M {\n  telemetry t: float<degC>\n  state s = -(2) / t\n}").map((x) => x.code)).toEqual(["OFL3003"]);
    expect(diags("model M {\n  telemetry t: float<degC>\n  state a = 2 * t\n  state b = t * 2\n  state c = t / 2\n  state d = 2 degC / t\n}")).toEqual([]);
    // a unitless expression (not a bare number) divided by a quantity is a rate: allowed
    expect(diags("model M {\n  telemetry n: int\n  telemetry d: duration\n  state r = n / d\n}")).toEqual([]);
  });

  test("a derived unit is named by what it is, not by how it was reached", () => {
    const src = "model M {\n  telemetry t: float<degC>\n  telemetry f: float<l/min>\n  state a = f / t * t > 2 degC\n  state b = f / t > 2 degC\n}";
    expect(diags(src).map((d) => d.message)).toEqual([
      "`>` needs equal or convertible units: float<l/min> and int<degC>",
      "`>` needs equal or convertible units: float<l/min/degC> and int<degC>",
    ]);
  });

  test("a fix-it for a reciprocal unit is valid syntax (`degC^-1`, not `1/degC`)", () => {
    const src = "model M {\n  telemetry t: float<degC>\n  state b = 2 degC / (t * t) > 0.5\n}";
    const d = diags(src);
    expect(d.map((x) => x.code)).toEqual(["OFL3003"]);
    const example = /e\.g\. `([^`]+)`/.exec(d[0]!.message)![1]!;
    expect(example).toBe("0.5 degC^-1");
    expect(parses(src.replace("> 0.5", `> ${example}`))).toBe(true);
    expect(diags(src.replace("> 0.5", `> ${example}`))).toEqual([]);
  });
});

// Issue 13, item 13: an asset with no source at all gets the unbound-command warning too.
describe("OFL4010 without any source", () => {
  test("each unbound command of a source-less asset is reported once, as a warning", () => {
    const r = check([{ path: "/t.ofl", text: "model M {\n  telemetry t: float\n  command stop()\n  command go()\n}\nasset a: M { uuid \"A\" }\n" }], { name: "t" });
    expect(r.diagnostics.map((d) => [d.code, d.severity, d.message])).toEqual([
      ["OFL4010", "warning", "command `stop` of asset `a` has no binding in its sources: it is issued and logged but reaches no device"],
      ["OFL4010", "warning", "command `go` of asset `a` has no binding in its sources: it is issued and logged but reaches no device"],
    ]);
  });
});

// Issue 13, item 13: a keyword used as a declared name is one error, with no cascade on the next line.
describe("a keyword as a declared name", () => {
  test("one OFL1001 per misuse; the following declarations parse and check", () => {
    const text = "model M {\n  telemetry rule: float\n  telemetry x: float\n  state when = x > 1\n  state ok = x > 2\n  command if()\n}\nasset a: M { uuid \"A\" }\n";
    const r = check([{ path: "/t.ofl", text }], { name: "t" });
    const errs = r.diagnostics.filter((d) => d.severity === "error");
    expect(errs.map((d) => [d.code, text.slice(d.span.start, d.span.end), d.message])).toEqual([
      ["OFL1001", "rule", "expected a name, found `rule` (a keyword)"],
      ["OFL1001", "when", "expected a name, found `when` (a keyword)"],
      ["OFL1001", "if", "expected a name, found `if` (a keyword)"],
    ]);
  });
  test("keywords in their own places are untouched", () => {
    expect(codes("model M { telemetry x: float\n  alarm hot severity high when x > 1 }\nview v = count() from M where x > 1\n")).toEqual([]);
  });
});

// A type name is parsed with its `<unit>` whatever the name: a misspelt `float` used to stop the
// parser at the `<` (OFL1001 "expected `}`") besides the unknown type, and an enum with a unit too.
describe("a unit after a type that cannot carry one", () => {
  const diags = (text: string): string[] =>
    check([{ path: "/t.ofl", text }], { name: "t" }).diagnostics.map((d) => `${d.code} ${text.slice(d.span.start, d.span.end)}`);
  test("a misspelt primitive: the unknown type alone, and the declarations after it still check", () => {
    expect(diags("model Oven {\n  telemetry temp: flaot<degC>\n  state hot = temp > 100\n  state bad = nope\n}\n")).toEqual(["OFL3019 flaot", "OFL2001 nope"]);
  });
  test("an enum with a unit: OFL3011 on the unit", () => {
    expect(diags("enum Mode { auto, manual }\nmodel M {\n  telemetry mode: Mode<degC>\n}\n")).toEqual(["OFL3011 degC"]);
  });
});
