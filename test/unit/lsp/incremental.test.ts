// The server's incremental parse (lsp/incremental.ts) equals the whole-file parse, edit after edit.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { parse } from "../../../compiler/index.js";
import { IncrementalParser, chunkStarts } from "../../../lsp/incremental.js";
import { ROOT } from "./client.js";

const plant = readFileSync(join(ROOT, "examples/cnc-cell/plant.ofl"), "utf8");
const tests = readFileSync(join(ROOT, "examples/cnc-cell/plant.test.ofl"), "utf8");
const base = `${plant}\n/* a block comment\nmodel NotADecl {\n*/\n${tests}\n${plant.replace(/mill(\d)/g, "mx$1").replace(/\b(Execution|Machine|CncMill|active_mills|hall_temp|stop_hot_mill|slow_down)\b/g, "$1_2")}`;

const canon = (r: { file: unknown; diagnostics: unknown }): string => JSON.stringify(r);

describe("incremental parse", () => {
  it("cuts at declarations, not inside block comments", () => {
    const starts = chunkStarts(base);
    expect(starts.length).toBeGreaterThan(20);
    for (const s of starts.slice(1)) expect(base.slice(s, s + 400)).toMatch(/^(\s*\/\/[^\n]*\n|\s*\n)*(model|asset|view|rule|test|enum|unit|use)\b/);
    const comment = base.indexOf("model NotADecl");
    expect(starts).not.toContain(comment);
  });

  it("equals the whole-file parse after random edits", () => {
    const p = new IncrementalParser();
    let text = base;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ at: fc.nat(), del: fc.nat({ max: 30 }), ins: fc.oneof(fc.constantFrom(" ", "\n", "}", "{", "model X {\n", "\nasset q: CncMill {}\n", "/*", "*/", "///doc\n", '"', "x"), fc.string({ maxLength: 6 })) }),
          { minLength: 1, maxLength: 5 },
        ),
        (edits) => {
          for (const e of edits) {
            const at = e.at % (text.length + 1);
            text = text.slice(0, at) + e.ins + text.slice(Math.min(text.length, at + e.del));
          }
          expect(canon(p.parse(text, "/p.ofl"))).toBe(canon(parse(text, "/p.ofl")));
        },
      ),
      { numRuns: 150, seed: 7 },
    );
    expect(p.stats.reused).toBeGreaterThan(0);
  });
});
