// Properties of the whole front end: whatever the input, check() never throws, every
// diagnostic range lies inside its file, and a program without errors always lowers to IR.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";

const root = join(new URL(".", import.meta.url).pathname, "../../..");
const corpus = [
  ...["pass", "errors"].flatMap((d) =>
    readdirSync(join(root, "test/conformance", d))
      .filter((f) => f.endsWith(".ofl"))
      .map((f) => readFileSync(join(root, "test/conformance", d, f), "utf8")),
  ),
  readFileSync(join(root, "examples/cnc-cell/plant.ofl"), "utf8"),
  readFileSync(join(root, "examples/cnc-cell/plant.test.ofl"), "utf8"),
];

function checkAll(texts: string[]): void {
  const files = texts.map((text, i) => ({ path: `/p/f${i}.ofl`, text }));
  const r = compile(files, { name: "prop" });
  for (const d of r.diagnostics) {
    const text = files.find((f) => f.path === d.file)?.text;
    expect(text, `diagnostic in unknown file ${d.file}`).toBeDefined();
    expect(d.span.start).toBeGreaterThanOrEqual(0);
    expect(d.span.end).toBeGreaterThanOrEqual(d.span.start);
    expect(d.span.end).toBeLessThanOrEqual(text!.length);
    expect(d.message).not.toMatch(/\{\w+\}|(?<![\w`])undefined(?![\w`])/);
  }
  const hasError = r.diagnostics.some((d) => d.severity === "error");
  expect(!!r.ir).toBe(!hasError);
  if (r.ir) expect(() => JSON.stringify(r.ir)).not.toThrow();
}

/** A random edit of a text: delete, duplicate or move a slice, or insert a token. */
const edit = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.nat(), fc.constantFrom("", "}", "{", "(", ")", " 5 degC", " and ", "for 5s", "x.", ", ", "\n", "@2026-11-20T08:00:00Z", "\"", "/*"));

function apply(text: string, edits: [number, number, number, string][]): string {
  let t = text;
  for (const [kind, a, b, tok] of edits) {
    const i = t.length === 0 ? 0 : a % t.length;
    const j = Math.min(t.length, i + (b % 40));
    if (kind === 0) t = t.slice(0, i) + t.slice(j);
    else if (kind === 1) t = t.slice(0, j) + t.slice(i, j) + t.slice(j);
    else if (kind === 2) t = t.slice(0, i) + tok + t.slice(i);
    else t = t.slice(0, i) + t.slice(j) + t.slice(i, j);
  }
  return t;
}

describe("the front end never throws", () => {
  test("random edits of the conformance files and the example", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: corpus.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 6 }), (i, edits) => {
        checkAll([apply(corpus[i]!, edits)]);
      }),
      { numRuns: 300 },
    );
  });
  test("random text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => checkAll([s])),
      { numRuns: 300 },
    );
  });
  test("several edited files as one program", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: corpus.length - 1 }), fc.array(edit, { maxLength: 3 })), { minLength: 2, maxLength: 3 }), (parts) => {
        checkAll(parts.map(([i, edits]) => apply(corpus[i]!, edits)));
      }),
      { numRuns: 100 },
    );
  });
});
