// The formatter on the whole corpus: (a) one pass reaches a fixed point, (b) every comment is kept,
// in order, (c) the program means the same: equal IR (or, for programs with errors, the same
// diagnostic codes).
import { describe, expect, test } from "vitest";
import * as prettier from "prettier";
import { compile, parse } from "../../../compiler/index.js";
import plugin, { formatOfl, OflSyntaxError } from "../../../compiler/format/index.js";
import { conformancePrograms, docBlockPath, docBlocks, examplePrograms, type CorpusFile, type CorpusProgram } from "./corpus.js";

/** Comment texts in order, as the lexer sees them (line comments without trailing blanks). */
function commentTexts(text: string): string[] {
  return parse(text, "c.ofl").file.comments.map((c) => (c.kind === "block" ? c.text : c.text.replace(/\s+$/, "")));
}

/**
 * The IR with what depends on layout taken out: `line` (source line numbers of tests, at lines and
 * expectations) and the whitespace inside `text` (an expectation's source text, kept for messages).
 */
function irJson(files: CorpusFile[], name: string): string | undefined {
  const r = compile(files, { name });
  if (!r.ir) return undefined;
  return JSON.stringify(r.ir, (k, v: unknown) => (k === "line" ? undefined : (k === "text" || k === "requiresText") && typeof v === "string" ? v.replace(/\s+/g, "") : v));
}

function codes(files: CorpusFile[], name: string): string[] {
  return compile(files, { name }).diagnostics.map((d) => `${d.code} ${d.severity}`);
}

async function checkProgram(p: CorpusProgram): Promise<void> {
  const formatted: CorpusFile[] = [];
  for (const f of p.files) {
    const once = await formatOfl(f.text);
    const twice = await formatOfl(once);
    expect(twice, `${f.path}: a second pass changes the output`).toBe(once);
    expect(commentTexts(once), `${f.path}: comments`).toEqual(commentTexts(f.text));
    expect(parse(once, f.path).diagnostics, `${f.path}: the output parses`).toEqual([]);
    formatted.push({ path: f.path, text: once });
  }
  if (p.errors) {
    const before = codes(p.files, p.name);
    expect(before.some((c) => c.endsWith("error"))).toBe(true);
    expect(codes(formatted, p.name)).toEqual(before);
  } else {
    const before = irJson(p.files, p.name);
    expect(before, `${p.name} compiles`).toBeDefined();
    expect(irJson(formatted, p.name)).toEqual(before);
  }
}

describe("conformance files", () => {
  for (const p of conformancePrograms()) test(p.name, () => checkProgram(p));
});

describe("examples", () => {
  const programs = examplePrograms();
  test("there are examples", () => expect(programs.length).toBeGreaterThan(0));
  for (const p of programs) test(`${p.name} (${p.files.length} files)`, () => checkProgram(p));
});

describe("docs/language.md ofl blocks", () => {
  const blocks = docBlocks();
  test("there are blocks", () => expect(blocks.length).toBeGreaterThan(20));
  for (const b of blocks) {
    const path = docBlockPath(b);
    const syntaxOk = parse(b.text, path).diagnostics.length === 0;
    if (!syntaxOk) {
      test(`line ${b.line} has a syntax error: refused`, async () => {
        await expect(formatOfl(b.text)).rejects.toBeInstanceOf(OflSyntaxError);
      });
      continue;
    }
    const hasErrors = compile([{ path, text: b.text }], { name: "docs" }).diagnostics.some((d) => d.severity === "error");
    test(`line ${b.line}${b.expectCode ? ` (${b.expectCode})` : ""}`, () =>
      checkProgram({ name: "docs", files: [{ path, text: b.text }], errors: hasErrors }));
  }
});

describe("the plugin through prettier's own API", () => {
  test("prettier.format with plugins: [plugin] and filepath x.ofl infers the OFL parser", async () => {
    const text = "model M{telemetry t:float<degC>\nstate hot=t>90 degC}\n";
    const out = await prettier.format(text, { plugins: [plugin], filepath: "x.ofl" });
    expect(out).toBe("model M {\n  telemetry t: float<degC>\n  state hot = t > 90 degC\n}\n");
    expect(await prettier.check(out, { plugins: [plugin], filepath: "x.ofl" })).toBe(true);
  });

  test("getSupportInfo lists the OFL language", async () => {
    const info = await prettier.getSupportInfo({ plugins: [plugin] });
    const ofl = info.languages.find((l) => l.name === "OFL");
    expect(ofl?.extensions).toEqual([".ofl"]);
    expect(ofl?.parsers).toEqual(["ofl"]);
  });

  test("a syntax error is thrown with its place, prettier style", async () => {
    const err = await prettier.format("model A {\n  telemetry y float\n}\n", { plugins: [plugin], filepath: "x.ofl" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyntaxError);
    expect((err as OflSyntaxError).loc.start).toEqual({ line: 2, column: 15 });
    expect((err as Error).message).toMatch(/^OFL1001 expected `:`, found `float` \(2:15\)\n/);
    expect((err as Error).message).toContain("> 2 |   telemetry y float"); // prettier's code frame
  });

  test("printWidth is honoured", async () => {
    const text = "model M {\n  telemetry a: bool\n  telemetry b: bool\n  state s = a and b and not a\n}\n";
    expect(await formatOfl(text, { printWidth: 20 })).toBe(
      "model M {\n  telemetry a: bool\n  telemetry b: bool\n  state s = a and\n    b and\n    not a\n}\n",
    );
  });
});
