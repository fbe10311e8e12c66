// The documentation cannot drift from the compiler:
// - every ```ofl block of docs/*.md is a complete program that checks without error, unless the
//   line before its fence is `<!-- error OFLxxxx -->` (then it must report that code);
// - ```ofl-fragment blocks are exempt (counted, and kept few);
// - the `test` blocks of the error-free examples run on the engine and pass;
// - docs/diagnostics.md is exactly what scripts/gen-diagnostics-doc.ts generates now.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { check, compile } from "../../compiler/index.js";
import { runTests } from "../../runtime/replay/runner.js";
import { DIAGNOSTICS_DOC, REGENERATE_COMMAND, renderDiagnosticsDoc } from "../../scripts/gen-diagnostics-doc.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const docsDir = join(root, "docs");

interface Block {
  doc: string;
  /** 1-based line of the opening fence */
  line: number;
  lang: string;
  text: string;
  /** `<!-- error OFLxxxx -->` just before the fence */
  expectCode?: string;
}

/** Fenced code blocks of a Markdown text (fences of 3+ backticks, closed by an equal or longer run). */
function extractBlocks(doc: string, md: string): Block[] {
  const lines = md.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})([\w-]*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const lang = open[2]!;
    let j = i + 1;
    while (j < lines.length && !(lines[j]!.startsWith(fence) && /^`+\s*$/.test(lines[j]!))) j++;
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === "") k--;
    const marker = k >= 0 ? /^<!--\s*error\s+(OFL\d{4})\s*-->\s*$/.exec(lines[k]!.trim()) : null;
    const b: Block = { doc, line: i + 1, lang, text: lines.slice(i + 1, j).join("\n") + "\n" };
    if (marker) b.expectCode = marker[1]!;
    blocks.push(b);
    i = j;
  }
  return blocks;
}

const docFiles = existsSync(docsDir) ? readdirSync(docsDir).filter((f) => f.endsWith(".md")).sort() : [];
const blocks = docFiles.flatMap((f) => extractBlocks(f, readFileSync(join(docsDir, f), "utf8")));
const oflBlocks = blocks.filter((b) => b.lang === "ofl");
const fragments = blocks.filter((b) => b.lang === "ofl-fragment");

/** A path for a block: in docs/, so that `replay "../…"` resolves from the docs folder. */
function blockPath(b: Block): string {
  return join(docsDir, `${b.doc.replace(/\.md$/, "")}-line${b.line}.ofl`);
}

describe("the ofl examples of docs/*.md", () => {
  test("the docs exist and hold examples", () => {
    for (const f of ["language.md", "cli.md", "diagnostics.md", "architecture.md"]) expect(docFiles).toContain(f);
    expect(oflBlocks.length).toBeGreaterThan(20);
  });

  test("fragments (```ofl-fragment, not checked) are few", () => {
    const where = fragments.map((b) => `${b.doc}:${b.line}`);
    console.log(`${oflBlocks.length} checked ofl blocks, ${fragments.length} ofl-fragment blocks: ${where.join(", ")}`);
    expect(fragments.length).toBeLessThanOrEqual(Math.max(3, Math.floor(oflBlocks.length / 8)));
  });

  for (const b of oflBlocks) {
    const title = `${b.doc}:${b.line}${b.expectCode ? ` reports ${b.expectCode}` : " checks without error"}`;
    test(title, () => {
      const path = blockPath(b);
      const r = check([{ path, text: b.text }], { name: "docs" });
      const shown = r.diagnostics.map((d) => `${d.code} ${d.severity} ${d.message}`);
      if (b.expectCode) {
        expect(r.diagnostics.map((d) => d.code), `expected ${b.expectCode}; got ${JSON.stringify(shown)}`).toContain(b.expectCode);
      } else {
        expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`), b.text).toEqual([]);
      }
    });
  }

  const withTests = oflBlocks.filter((b) => !b.expectCode && /^\s*test\s+"/m.test(b.text));
  for (const b of withTests) {
    test(`${b.doc}:${b.line} its tests pass`, () => {
      const c = compile([{ path: blockPath(b), text: b.text }], { name: "docs" });
      expect(c.ir, "the example does not compile").toBeDefined();
      const results = runTests(c.ir!);
      expect(results.length).toBeGreaterThan(0);
      const failed = results.filter((r) => r.status !== "passed");
      expect(
        failed.map((r) => ({ test: r.name, failures: r.failures })),
        `tests of the example at ${b.doc}:${b.line}`,
      ).toEqual([]);
    });
  }
});

describe("docs/diagnostics.md", () => {
  test("is what scripts/gen-diagnostics-doc.ts generates from the registry", () => {
    const want = renderDiagnosticsDoc();
    const path = join(root, DIAGNOSTICS_DOC);
    if (process.env["OFL_UPDATE_DOCS"] === "1") writeFileSync(path, want);
    const have = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (have !== want) {
      const a = have.split("\n");
      const w = want.split("\n");
      let i = 0;
      while (i < a.length && i < w.length && a[i] === w[i]) i++;
      expect.fail(
        `${DIAGNOSTICS_DOC} is out of date (first difference at line ${i + 1}: have ${JSON.stringify(a[i] ?? "<end>")}, ` +
          `generated ${JSON.stringify(w[i] ?? "<end>")}). Regenerate it with:\n\n  ${REGENERATE_COMMAND}\n`,
      );
    }
  });

  test("documents every registered code", async () => {
    const { registry } = await import("../../compiler/index.js");
    const md = readFileSync(join(root, DIAGNOSTICS_DOC), "utf8");
    for (const code of registry.keys()) expect(md).toContain(`### ${code}:`);
  });
});
