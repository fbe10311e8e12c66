// Every diagnostic code in the registry has an example that triggers exactly that code:
// the examples are the diagnostics reference's, so the reference cannot drift.
import { describe, expect, test } from "vitest";
import { check, registry } from "../../../compiler/index.js";

const entries = [...registry.values()];

describe("every diagnostic code is triggered by its example", () => {
  test("every code has an example or a dedicated test", () => {
    const withoutExample = entries.filter((e) => !e.example).map((e) => e.code);
    // produced outside check() (unreadable files, by the CLI) or only by pathological input
    // (the internal parser guard, thousands of nested parentheses): tested in their own suites
    expect(withoutExample.sort()).toEqual(["OFL1010", "OFL1011", "OFL1012", "OFL1100"]);
  });
  for (const e of entries.filter((x) => x.example)) {
    test(`${e.code} ${e.title}`, () => {
      const r = check([{ path: "/example.ofl", text: e.example! }], { name: "example" });
      const codes = r.diagnostics.map((d) => d.code);
      expect(codes, JSON.stringify(r.diagnostics.map((d) => `${d.code} ${d.message}`))).toContain(e.code);
      const d = r.diagnostics.find((x) => x.code === e.code)!;
      expect(d.severity).toBe(e.severity);
      expect(d.span.start).toBeGreaterThanOrEqual(0);
      expect(d.span.end).toBeLessThanOrEqual(e.example!.length);
      expect(d.message).not.toMatch(/\{\w+\}/);
    });
  }
});
