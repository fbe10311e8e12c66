// The JSON path evaluator of connector bindings, and MQTT topic filter matching (pure functions,
// kept next to the MQTT tests that use them).
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { compileJsonPath, evalJsonPath, valueAsText } from "../../../runtime/connectors/jsonpath.js";
import { filterProblem, topicMatches } from "../../../runtime/connectors/mqtt.js";

const at = (path: string, doc: unknown) => evalJsonPath(compileJsonPath(path), doc);

describe("json paths", () => {
  test("parses the supported forms", () => {
    expect(compileJsonPath("$").segments).toEqual([]);
    expect(compileJsonPath("$.a.b[0]").segments).toEqual([{ key: "a" }, { key: "b" }, { index: 0 }]);
    expect(compileJsonPath("$['odd key'][\"x.y\"][-1]").segments).toEqual([{ key: "odd key" }, { key: "x.y" }, { index: -1 }]);
    expect(compileJsonPath("$['it\\'s']").segments).toEqual([{ key: "it's" }]);
    expect(compileJsonPath(" $.data.counts[12] ").segments).toEqual([{ key: "data" }, { key: "counts" }, { index: 12 }]);
    expect(compileJsonPath("$.über_temp-1").segments).toEqual([{ key: "über_temp-1" }]);
  });

  test("rejects bad syntax with a readable message", () => {
    for (const bad of ["", "a.b", "$.", "$..a", "$[", "$[a]", "$['a'", "$[1", "$.a b", "$[1.5]", "$[*]", "$.a[?(@.x)]"]) {
      expect(() => compileJsonPath(bad), bad).toThrow(/invalid JSON path/);
    }
  });

  test("evaluates", () => {
    const doc = { a: { b: [10, { c: "x" }], n: null, "odd key": true }, arr: [[1, 2], [3]] };
    expect(at("$", doc)).toEqual({ found: true, value: doc });
    expect(at("$.a.b[0]", doc)).toEqual({ found: true, value: 10 });
    expect(at("$.a.b[1].c", doc)).toEqual({ found: true, value: "x" });
    expect(at("$.a.b[-1].c", doc)).toEqual({ found: true, value: "x" });
    expect(at("$.a.n", doc)).toEqual({ found: true, value: null });
    expect(at("$.a['odd key']", doc)).toEqual({ found: true, value: true });
    expect(at("$.arr[0][1]", doc)).toEqual({ found: true, value: 2 });
    expect(at("$[0]", [5])).toEqual({ found: true, value: 5 });
  });

  test("says why a path does not resolve", () => {
    const doc = { a: { b: [10] }, s: "text" };
    expect(at("$.x", doc)).toEqual({ found: false, why: '$ has no key "x"' });
    expect(at("$.a.b[3]", doc)).toEqual({ found: false, why: "$.a.b has no index 3 (length 1)" });
    expect(at("$.a.b.c", doc)).toEqual({ found: false, why: "$.a.b is an array, not an object" });
    expect(at("$.s[0]", doc)).toEqual({ found: false, why: "$.s is a string, not an array" });
    expect(at("$.a.x.y", doc)).toEqual({ found: false, why: '$.a has no key "x"' });
    expect(at("$.v", 42)).toEqual({ found: false, why: "$ is a number, not an object" });
    expect(at("$.v", null)).toEqual({ found: false, why: "$ is null, not an object" });
    // inherited properties are not keys
    expect(at("$.toString", {})).toMatchObject({ found: false });
    expect(at("$.constructor", {})).toMatchObject({ found: false });
  });

  test("values as telemetry text", () => {
    expect(valueAsText("NaN")).toBe("NaN");
    expect(valueAsText(71.5)).toBe("71.5");
    expect(valueAsText(1e21)).toBe("1e+21");
    expect(valueAsText(true)).toBe("true");
    expect(valueAsText(null)).toBe("null");
    expect(valueAsText({ a: [1] })).toBe('{"a":[1]}');
    expect(valueAsText([1, "x"])).toBe('[1,"x"]');
  });

  test("property: a path built from a document's keys finds the value put there", () => {
    const key = fc.string({ minLength: 1, maxLength: 8 });
    const step = fc.oneof(key.map((k) => ({ key: k })), fc.nat(5).map((i) => ({ index: i })));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 6 }), fc.jsonValue(), (steps, leaf) => {
        let doc: unknown = leaf;
        for (let i = steps.length - 1; i >= 0; i--) {
          const s = steps[i]!;
          if ("key" in s) doc = { [s.key]: doc, other: 1 };
          else {
            const arr: unknown[] = new Array(s.index + 1).fill(0);
            arr[s.index] = doc;
            doc = arr;
          }
        }
        const text = "$" + steps.map((s) => ("key" in s ? `[${JSON.stringify(s.key)}]` : `[${s.index}]`)).join("");
        const r = at(text, doc);
        expect(r.found).toBe(true);
        expect(r.found && r.value).toBe(leaf);
      }),
      { numRuns: 300 },
    );
  });
});

describe("mqtt topic filters", () => {
  test("matching", () => {
    const yes: [string, string][] = [
      ["a/b", "a/b"],
      ["a/+", "a/b"],
      ["+/b", "a/b"],
      ["a/+/c", "a/x/c"],
      ["a/#", "a"],
      ["a/#", "a/b/c"],
      ["#", "a/b"],
      ["+", "a"],
      ["+/+", "/x"],
      ["a/+", "a/"],
      ["$SYS/#", "$SYS/broker"],
    ];
    const no: [string, string][] = [
      ["a/b", "a/c"],
      ["a/+", "a/b/c"],
      ["a/+", "a"],
      ["a/+/c", "a/x/d"],
      ["a/#", "b"],
      ["#", "$SYS/broker"],
      ["+/broker", "$SYS/broker"],
      ["a/b", "a/b/"],
      ["A/b", "a/b"],
    ];
    for (const [f, t] of yes) expect(topicMatches(f, t), `${f} ~ ${t}`).toBe(true);
    for (const [f, t] of no) expect(topicMatches(f, t), `${f} !~ ${t}`).toBe(false);
  });

  test("valid filters", () => {
    for (const ok of ["a", "a/b", "+", "#", "a/+/b", "a/#", "+/+/#", "/a"]) expect(filterProblem(ok), ok).toBeNull();
    for (const bad of ["", "a/#/b", "a#", "a/b+", "+a/b", "#/a"]) expect(filterProblem(bad), bad).not.toBeNull();
  });
});
