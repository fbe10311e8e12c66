import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { parse, lex } from "../../../compiler/syntax/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const conf = join(here, "../../conformance");
const corpus = ["pass", "errors"].flatMap((d) =>
  readdirSync(join(conf, d))
    .filter((f) => f.endsWith(".ofl"))
    .map((f) => readFileSync(join(conf, d, f), "utf8")),
);

/** Checks that every span object in the tree lies within [0, len]. */
function checkSpans(node: unknown, len: number, path = "file"): void {
  if (!node || typeof node !== "object") return;
  if (Array.isArray(node)) {
    node.forEach((n, i) => checkSpans(n, len, `${path}[${i}]`));
    return;
  }
  const o = node as Record<string, unknown>;
  if (typeof o["start"] === "number" && typeof o["end"] === "number") {
    const s = o["start"] as number;
    const e = o["end"] as number;
    if (!(Number.isInteger(s) && Number.isInteger(e) && 0 <= s && s <= e && e <= len)) throw new Error(`bad span at ${path}: ${s}..${e} (len ${len})`);
    return;
  }
  for (const k of Object.keys(o)) if (k !== "text") checkSpans(o[k], len, `${path}.${k}`);
}

function check(text: string): void {
  const r = parse(text, "p.ofl");
  const internal = r.diagnostics.find((d) => d.code === "OFL1010");
  if (internal) throw new Error(internal.message);
  checkSpans(r.file.decls, text.length);
  checkSpans(r.file.comments, text.length);
  for (const d of r.diagnostics) checkSpans(d.span, text.length);
  const l = lex(text);
  for (const t of l.tokens) expect(t.start >= 0 && t.end <= text.length).toBe(true);
}

type Edit = { kind: "insert" | "delete" | "duplicate"; at: number; len: number; what: string };
const edit: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom("insert" as const, "delete" as const, "duplicate" as const),
  at: fc.nat(),
  len: fc.nat({ max: 40 }),
  what: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("{", "}", "(", ")", '"', "/*", "//", "@", "..", " 5 ", "model", "\n", "<-", "^")),
});
function apply(text: string, e: Edit): string {
  const at = text.length === 0 ? 0 : e.at % (text.length + 1);
  if (e.kind === "insert") return text.slice(0, at) + e.what + text.slice(at);
  if (e.kind === "delete") return text.slice(0, at) + text.slice(at + e.len);
  return text.slice(0, at + e.len) + text.slice(at, at + e.len) + text.slice(at + e.len);
}

describe("parser robustness", () => {
  it("random strings never throw and spans stay in bounds", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 })), (s) => check(s)),
      { numRuns: 300 },
    );
  });

  it("random edits of the conformance files never throw and spans stay in bounds", () => {
    fc.assert(
      fc.property(fc.constantFrom(...corpus), fc.array(edit, { minLength: 1, maxLength: 6 }), (text, edits) => {
        check(edits.reduce(apply, text));
      }),
      { numRuns: 300 },
    );
  });

  it("every prefix cut of a conformance file parses without throwing", () => {
    const text = corpus[0]!;
    for (let i = 0; i < text.length; i += 13) check(text.slice(0, i));
  });
});
