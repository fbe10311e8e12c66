// A failing state expectation names the input record after which it stopped holding
// (issue 13, item 13): the first record of the stretch, up to the check, where the program
// and the expectation disagree.
import { describe, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { runTests } from "../../../runtime/replay/runner.js";

const prog = (expects: string) => `
model M {
  telemetry t: float
  state hot = t > 10
}
asset a: M { uuid "A" }
test "x" {
  at 0s a.t = 20
  at 10s a.t = 5
  at 15s a.t = 30
  at 20s a.t = 3
  at 25s a.t = 4
  ${expects}
}
`;

describe("a failing state expectation names where it diverged", () => {
  const run = (expects: string) => {
    const r = compile([{ path: "/t.ofl", text: prog(expects) }], { name: "t" });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    return runTests(r.ir!)[0]!;
  };

  test("at the end: the record after which it stayed false (not the first time it was false)", () => {
    const res = run("expect a.hot");
    expect(res.status).toBe("failed");
    expect(res.failures[0]!.actual).toBe("it did not: a.hot = false; not true since record #3 (a t = 3 at 20s)");
  });

  test("at a time: only records up to that time count", () => {
    const res = run("expect a.hot at 12s");
    expect(res.failures[0]!.actual).toBe("it did not: a.hot = false; not true since record #1 (a t = 5 at 10s)");
  });

  test("an expectation that never held names the first record", () => {
    const res = run("expect not a.hot at 5s");
    expect(res.failures[0]!.actual).toMatch(/; not true since record #0 \(a t = 20 at 0s\)$/);
  });

  test("values carry their unit; the record names the asset by name", () => {
    const withUnits = (expects: string): string => `
model M {
  telemetry t: float<degC>
  state warm = t > 8 degC
  state twice = t * 2
}
asset a: M { uuid "A" }
test "x" {
  at 0s a.t = 20 degC
  at 10s a.t = 5 degC
  ${expects}
}
`;
    const first = (expects: string): string => {
      const r = compile([{ path: "/t.ofl", text: withUnits(expects) }], { name: "t" });
      expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      return runTests(r.ir!)[0]!.failures[0]!.actual;
    };
    // at 12 s, t = 5 degC since record #1 (at 10 s): warm is false, twice = 10 degC
    expect(first("expect a.warm at 12s")).toBe("it did not: a.warm = false; not true since record #1 (a t = 5 degC at 10s)");
    expect(first("expect a.twice > 20 degC at 12s")).toBe("it did not: a.twice = 10 degC; not true since record #1 (a t = 5 degC at 10s)");
  });

  test("a passing expectation has no failure", () => {
    expect(run("expect a.hot at 16s").status).toBe("passed");
  });
});
