// Checker decisions beyond the registry examples: where history-keeping operators may appear.
import { describe, expect, test } from "vitest";
import { check } from "../../../compiler/index.js";

const codes = (text: string): string[] => check([{ path: "/t.ofl", text }], { name: "t" }).diagnostics.map((d) => d.code);

describe("history operators need a place to keep history", () => {
  test("a windowed aggregate in a rule without `on` has no asset: an error, not a silent unknown", () => {
    expect(codes(`model M { telemetry t: float  command c() }
      asset m1: M {}
      rule r { when avg(m1.t) over tumbling 1m > 5 then m1.c() }`)).toEqual(["OFL5013"]);
  });
  test("`for` in a rule without `on` is fine (it keeps its own timer)", () => {
    expect(codes(`model M { telemetry t: float  command c() }
      asset m1: M {}
      rule r { when m1.t > 5 for 10s then m1.c() }`)).toEqual([]);
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
