// Every diagnostic code in the registry has an example that triggers exactly that code, once,
// at an exact place: the examples are the diagnostics reference's (docs/diagnostics.md), so the
// reference cannot drift, and a diagnostic cannot silently move to another token.
import { describe, expect, test } from "vitest";
import { check, LineMap, registry } from "../../../compiler/index.js";

const entries = [...registry.values()];

/**
 * Where each example's one diagnostic is: `LINE:COL-LINE:COL text` (1-based, end exclusive; the
 * text is what it underlines). Written down from the language's rules (what each code is about:
 * the unknown name, the second duplicate, the offending operator…), not read back from the
 * compiler's output.
 */
const SPANS: Record<string, string> = {
  OFL1001: "2:15-2:20 float",
  OFL1002: "3:8-3:12 \"A-1",
  OFL1003: "2:1-2:3 /*",
  OFL1004: "1:28-1:29 $",
  OFL1005: "2:21-2:23 \\q",
  OFL1006: "3:33-3:54 @2026-13-01T00:00:00Z",
  OFL1007: "1:30-1:35 m / s",
  OFL1008: "1:21-1:26 1e999",
  OFL1009: "4:3-4:7 when",
  OFL1013: "1:1-1:6 modle",
  OFL2001: "3:13-3:18 speed",
  OFL2002: "2:7-2:8 M",
  OFL2003: "1:10-1:17 Missing",
  OFL2004: "3:16-3:17 x",
  OFL2005: "4:18-4:19 C",
  OFL2006: "2:17-2:18 A",
  OFL2007: "2:31-2:32 t",
  OFL2008: "1:30-1:37 furlong",
  OFL2009: "1:6-1:7 a",
  OFL2010: "3:19-3:22 \"A\"",
  OFL2011: "2:7-2:8 a",
  OFL2012: "2:14-2:17 hal",
  OFL2013: "1:13-1:14 A",
  OFL2014: "1:5-1:16 std/nothing",
  OFL2015: "2:10-2:11 E",
  OFL2016: "2:21-2:22 M",
  OFL2017: "3:30-3:33 fly",
  OFL2018: "4:15-4:19 self",
  OFL2019: "2:9-2:10 a",
  OFL2020: "3:9-3:10 t",
  OFL2021: "2:23-2:31 uuid \"B\"",
  OFL2022: "2:27-2:31 hall",
  OFL2023: "1:29-1:30 a",
  OFL2024: "2:6-2:9 \"a\"",
  OFL3001: "2:18-2:21 \"x\"",
  OFL3002: "4:15-4:16 +",
  OFL3003: "3:17-3:19 10",
  OFL3004: "3:21-3:22 +",
  OFL3005: "3:40-3:41 7",
  OFL3006: "1:31-1:38 in 0..1",
  OFL3007: "3:29-3:30 t",
  OFL3008: "3:34-3:36 0s",
  OFL3009: "3:13-3:14 w",
  OFL3010: "4:23-4:24 d",
  OFL3011: "1:31-1:35 degC",
  OFL3012: "3:25-3:26 t",
  OFL3013: "3:13-3:19 age(t)",
  OFL3014: "3:22-3:27 t + 1",
  OFL3015: "3:17-3:18 s",
  OFL3016: "3:13-3:22 abs(t, t)",
  OFL3017: "3:13-3:27 convert(t, kW)",
  OFL3018: "3:13-3:19 avg(t)",
  OFL3019: "2:24-2:25 M",
  OFL3020: "3:13-3:44 if t > 1 degC then t else \"hot\"",
  OFL3021: "4:18-4:21 x.t",
  OFL3022: "5:20-5:26 v[\"n\"]",
  OFL4001: "2:21-2:27 modbus",
  OFL4002: "2:53-2:57 node",
  OFL4003: "2:34-2:35 r",
  OFL4004: "4:3-4:4 p",
  OFL4005: "2:72-2:73 5",
  OFL4006: "2:53-2:58 topic",
  OFL4007: "2:64-2:67 jsn",
  OFL4008: "2:34-2:35 t",
  OFL4009: "2:65-2:74 \"hunter2\"",
  OFL4010: "5:7-5:8 a",
  OFL4011: "3:74-3:75 0",
  OFL4012: "2:63-2:68 write",
  OFL5001: "2:6-2:7 r",
  OFL5003: "2:43-2:48 level",
  OFL5004: "2:43-2:45 0s",
  OFL5005: "5:6-5:8 5s",
  OFL5006: "3:18-3:21 a.s",
  OFL5007: "3:19-3:25 shadow",
  OFL5008: "3:15-3:21 5 degC",
  OFL5009: "1:12-1:42 expect commands match recorded",
  OFL5010: "5:3-5:16 at 0s a.t = 1",
  OFL5011: "2:25-2:26 c",
  OFL5012: "1:37-1:43 \"late\"",
  OFL5013: "3:19-3:33 a.t > 1 for 5s",
  OFL5014: "3:3-3:19 replay \"b.jsonl\"",
};

describe("every diagnostic code is triggered by its example", () => {
  test("every code has an example or a dedicated test", () => {
    const withoutExample = entries.filter((e) => !e.example).map((e) => e.code);
    // produced outside check() (unreadable files, by the CLI) or only by pathological input
    // (the internal compiler guard, thousands of nested parentheses, the diagnostics cap):
    // tested in their own suites (test/unit/syntax, test/unit/cli, test/unit/check/cap.test.ts)
    expect(withoutExample.sort()).toEqual(["OFL1010", "OFL1011", "OFL1012", "OFL1100"]);
  });
  test("every example has its expected span, and every expected span an example", () => {
    expect(Object.keys(SPANS).sort()).toEqual(entries.filter((e) => e.example).map((e) => e.code).sort());
  });
  for (const e of entries.filter((x) => x.example)) {
    test(`${e.code} ${e.title}`, () => {
      const text = e.example!;
      const r = check([{ path: "/example.ofl", text }], { name: "example" });
      // exactly one diagnostic, of exactly this code
      expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toHaveLength(1);
      const d = r.diagnostics[0]!;
      expect(d.code).toBe(e.code);
      expect(d.severity).toBe(e.severity);
      expect(d.message).not.toMatch(/\{\w+\}/);
      const m = new LineMap(text);
      const a = m.position(d.span.start);
      const b = m.position(d.span.end);
      const at = `${a.line + 1}:${a.character + 1}-${b.line + 1}:${b.character + 1} ${text.slice(d.span.start, d.span.end)}`;
      expect(at).toBe(SPANS[e.code]);
    });
  }
});
