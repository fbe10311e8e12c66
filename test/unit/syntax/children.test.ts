// The AST's one shape table (compiler/ast/children.ts) is complete: every node kind declared in
// compiler/ast/nodes.ts has an entry, and on real parsed files (the conformance cases, the
// examples, the standard library, a file broken on purpose) every field that holds nodes is
// listed, so the walks it drives (repair, node-at-offset, formatter visitor keys, hover) reach
// every node that reflection over the objects would find.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { CHILD_KEYS, walkAst, type Shape } from "../../../compiler/ast/children.js";
import { parse } from "../../../compiler/index.js";
import { STD_MODULES } from "../../../stdlib/index.js";

const ROOT = resolve(new URL(".", import.meta.url).pathname, "../../..");

/** Fields that hold data with a span, not nodes: keyword positions and flags. */
const NOT_CHILDREN = new Set(["span", "opSpan", "pathSpan", "factorSpan", "shadow", "no", "verdict", "comments"]);

const KINDLESS = ["Arg", "Param", "BindingCall", "MapEntry", "UnitFactor", "UnitDefinition"];

function corpus(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const dir of ["test/conformance/pass", "test/conformance/errors", "examples/cnc-cell", "examples/environment", "examples/packaging-line"])
    for (const f of readdirSync(join(ROOT, dir)).filter((x) => x.endsWith(".ofl"))) out.push({ path: `${dir}/${f}`, text: readFileSync(join(ROOT, dir, f), "utf8") });
  for (const m of STD_MODULES) out.push({ path: m.path, text: m.text });
  // what the corpus lacks: recovery placeholders, `unavailable`, `between`, map keys, replay
  out.push({
    path: "extra.ofl",
    text: [
      "unit kW = 1000 W",
      "enum E { A, B }",
      "model M {",
      "  telemetry e: E",
      "  telemetry t: float<degC> in 0..100",
      "  state s = if t > 1 degC then (t) else -t",
      "  state u = self.t > 1 degC",
      "  command go(level: int in 1..3) requires not (t > 5 degC)",
      "}",
      'asset a: M { source simulate() { e <- constant(0, every: 1s) map { 0: A, -1: B, "x": A, true: B } } }',
      'test "t" {',
      '  replay "s.jsonl"',
      "  at 0s a.t = unavailable, send a.go(level: 1)",
      "  expect a.t > 1 between 1s and 2s",
      "  expect commands match recorded",
      "  expect a.t > ",
      "}",
    ].join("\n"),
  });
  return out;
}

describe("the AST shape table", () => {
  test("every node kind of compiler/ast/nodes.ts has an entry, and only those (plus the kindless shapes)", () => {
    const src = readFileSync(join(ROOT, "compiler/ast/nodes.ts"), "utf8");
    const kinds = [...new Set([...src.matchAll(/^\s*kind: "(\w+)";/gm)].map((m) => m[1]!))].sort();
    expect(kinds.length).toBeGreaterThan(40);
    expect(Object.keys(CHILD_KEYS).sort()).toEqual([...kinds, ...KINDLESS].sort());
  });

  test("on real files, every field holding nodes is in the table, and the walk meets every node", () => {
    const met = new Set<Shape>();
    const missing = new Set<string>();
    for (const f of corpus()) {
      const file = parse(f.text, f.path).file;
      // reflection: every object with a span anywhere under the file
      const reflected = new Set<object>();
      const reflect = (v: unknown, key: string): void => {
        if (!v || typeof v !== "object" || NOT_CHILDREN.has(key)) return;
        if (Array.isArray(v)) return v.forEach((x) => reflect(x, key));
        if ("span" in v) reflected.add(v);
        for (const [k, x] of Object.entries(v)) reflect(x, k);
      };
      reflect(file.decls, "decls");
      const walked = new Set<object>();
      walkAst(file, (n, shape) => {
        met.add(shape);
        walked.add(n);
        const listed = CHILD_KEYS[shape] as Record<string, string>;
        for (const [k, v] of Object.entries(n)) {
          if (NOT_CHILDREN.has(k) || k in listed) continue;
          const holdsObjects = Array.isArray(v) ? v.some((x) => x && typeof x === "object") : !!v && typeof v === "object";
          if (holdsObjects) missing.add(`${shape}.${k} (${f.path})`);
        }
      });
      const unwalked = [...reflected].filter((n) => !walked.has(n)).map((n) => `${JSON.stringify(n).slice(0, 80)} (${f.path})`);
      expect(unwalked).toEqual([]);
    }
    expect([...missing]).toEqual([]);
    // the corpus exercises every shape, so the check above covered every entry
    expect(Object.keys(CHILD_KEYS).filter((s) => !met.has(s as Shape))).toEqual([]);
  });
});
