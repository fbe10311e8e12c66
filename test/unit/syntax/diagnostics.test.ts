import { describe, expect, it } from "vitest";
import { parse, lex, KEYWORDS, TOKEN_CATEGORIES } from "../../../compiler/syntax/index.js";
import { syntaxCodes } from "../../../compiler/diagnostics/codes/syntax.js";
import type * as A from "../../../compiler/ast/nodes.js";

function codes(text: string): string[] {
  return parse(text, "t.ofl").diagnostics.map((d) => d.code);
}
function diags(text: string) {
  return parse(text, "t.ofl").diagnostics.map((d) => ({ code: d.code, message: d.message, text: text.slice(d.span.start, d.span.end) }));
}

/** One input per syntax code; the test below checks every registered OFL1xxx code has one. */
const triggers: Record<string, string> = {
  OFL1001: "model A {\n  telemetry y float float\n}",
  OFL1002: 'asset a: M { uuid "A-1 }',
  OFL1003: "model A { } /* never closed",
  OFL1004: "model A { telemetry x: int $ }",
  OFL1005: String.raw`asset a: M { uuid "A\q" }`,
  OFL1006: 'test "t" { expect known(a.x) at @2026-13-01T00:00:00Z }',
  OFL1007: "model A { state s = 3 m^x }",
  OFL1008: "model A { state s = 10degC }",
  OFL1011: "model M { state s = " + "(".repeat(20000) + "1" + ")".repeat(20000) + " }",
  OFL1013: "modle A {\n  telemtry t: float\n}",
  OFL1009: "rule r on M {\n  when a\n  when b\n  then stop()\n}",
};

describe("syntax diagnostic codes", () => {
  for (const entry of syntaxCodes) {
    if (entry.code === "OFL1010") continue; // internal error: only when the parser itself fails
    it(`${entry.code} (${entry.title}) is triggered`, () => {
      const src = triggers[entry.code];
      expect(src, `no trigger for ${entry.code}`).toBeDefined();
      expect(codes(src!)).toContain(entry.code);
    });
  }

  it("a misspelled declaration keyword: one error, the declaration is still read", () => {
    expect(diags("model A {\n  telemtry t: float\n  state hot = t > 1.0\n}")).toEqual([
      { code: "OFL1013", message: "unknown keyword `telemtry`; did you mean `telemetry`?", text: "telemtry" },
    ]);
    expect(diags("modle A {\n  telemetry t: float\n}")).toEqual([{ code: "OFL1013", message: "unknown keyword `modle`; did you mean `model`?", text: "modle" }]);
    // a word far from any keyword stays a syntax error
    expect(diags("model A { bogus x: int }")[0]).toMatchObject({ code: "OFL1001", text: "bogus" });
  });

  it("reports what was expected and found", () => {
    expect(diags("model A { telemetry y float }")).toEqual([{ code: "OFL1001", message: "expected `:`, found `float`", text: "float" }]);
    expect(diags("model A { telemetry x: int")).toEqual([{ code: "OFL1001", message: "expected `}`, found end of file", text: "" }]);
    expect(diags("model A { bogus x: int }")[0]).toMatchObject({ code: "OFL1001", text: "bogus" });
    expect(diags("junk model A {}")[0]).toMatchObject({ code: "OFL1001", message: "expected a declaration, found `junk`" });
  });

  it("a model member, asset item or test item at the top level: the error says where it goes", () => {
    expect(diags("model A { telemetry t: int }\nstate hot = t > 1\nmodel B {}")).toEqual([
      { code: "OFL1001", message: "expected a declaration, found `state` (a model member: it goes inside `model Name { … }`)", text: "state" },
    ]);
    expect(diags('uuid "A-1"\nmodel B {}')[0]).toMatchObject({ message: "expected a declaration, found `uuid` (an asset item: it goes inside `asset name: Model { … }`)" });
    expect(diags("expect a.stop() at 1s\nmodel B {}")[0]).toMatchObject({ message: 'expected a declaration, found `expect` (a test item: it goes inside `test "name" { … }`)' });
    // inside a model, a misplaced declaration keyword is not given that note
    expect(diags("model A { model B {} }")[0]!.message).not.toContain("goes inside");
  });

  it("unterminated string and block comment keep the rest", () => {
    const r = parse('asset a: M { uuid "A-1 }\nmodel B {}', "t.ofl");
    expect(r.diagnostics.map((d) => d.code)).toContain("OFL1002");
    expect(r.file.decls.map((d) => d.kind)).toContain("Model");
    expect(lex("/* x").comments[0]).toMatchObject({ kind: "block", text: "/* x" });
  });

  it("escape errors point at the escape", () => {
    expect(diags(String.raw`asset a: M { uuid "ab\qc" }`)).toEqual([{ code: "OFL1005", message: "unknown escape sequence `\\q` in a string", text: "\\q" }]);
    expect(diags(String.raw`asset a: M { uuid "\u{110000}" }`)[0]!.code).toBe("OFL1005");
  });

  it("timestamps are checked against the calendar", () => {
    for (const bad of ["@2026-02-29T00:00:00Z", "@2026-04-31T00:00Z", "@2026-01-01T24:00:00Z", "@2026-01-01T10:60Z", "@2026-01-01", "@2026-01-01T10:00:00.1234Z"]) {
      expect(codes(`test "t" { expect x at ${bad} }`), bad).toContain("OFL1006");
    }
    expect(codes('test "t" { expect x at @2024-02-29T23:59:59.999Z }')).toEqual([]);
  });

  it("unit expressions are written without spaces", () => {
    expect(codes("model A { telemetry x: float<m / s> }")).toEqual(["OFL1007"]);
    expect(codes("model A { telemetry x: float<m/s^2> }")).toEqual([]);
  });

  it("non-finite and glued numbers", () => {
    expect(codes("model A { state s = 1e999 }")).toEqual(["OFL1008"]);
    expect(codes("model A { state s = 2min }")).toEqual(["OFL1008"]);
  });

  it("a non-call action is reported", () => {
    expect(diags("rule r { when a then b }")).toEqual([{ code: "OFL1001", message: "expected a command call such as `stop()`, found `b`", text: "b" }]);
  });

  it("one error per token, no cascade", () => {
    const r = parse("model A {\n  state s = (a + + )\n  state t = 1\n}\nmodel B { telemetry q: int }", "t.ofl");
    const starts = r.diagnostics.map((d) => d.span.start);
    expect(new Set(starts).size).toBe(starts.length);
    expect(r.file.decls.map((d) => (d as A.ModelDecl).name.name)).toEqual(["A", "B"]);
    expect((r.file.decls[0] as A.ModelDecl).members.map((m) => m.name.name)).toEqual(["s", "t"]);
  });

  it("an unclosed model keeps its members", () => {
    const r = parse("model A {\n  telemetry x: int\n  telemetry y: int\nmodel B { }", "t.ofl");
    expect(r.diagnostics).toHaveLength(1);
    expect((r.file.decls[0] as A.ModelDecl).members).toHaveLength(2);
    expect((r.file.decls[1] as A.ModelDecl).name.name).toBe("B");
  });
});

describe("lex", () => {
  it("lists tokens with types and categories", () => {
    const r = lex('model M { state s = 0..24000 } // c\n/// d\n@2026-11-20T08:05Z 250ms 1.5 "x" every');
    expect(r.tokens.map((t) => t.type)).toEqual([
      "KwModel", "Ident", "LBrace", "KwState", "Ident", "Eq", "Number", "DotDot", "Number", "RBrace", "LineComment", "DocComment",
      "Timestamp", "Duration", "Number", "String", "KwEvery",
    ]);
    expect(r.tokens.map((t) => TOKEN_CATEGORIES[t.type])).toEqual([
      "keyword", "identifier", "punctuation", "keyword", "identifier", "operator", "number", "operator", "number", "punctuation",
      "comment", "comment", "timestamp", "duration", "number", "string", "keyword",
    ]);
    expect(r.tokens[6]).toMatchObject({ image: "0", start: 20, end: 21 });
    expect(r.comments.map((c) => c.kind)).toEqual(["line", "doc"]);
    expect(KEYWORDS).toContain("model");
    expect(KEYWORDS).not.toContain("count");
    expect(KEYWORDS).not.toContain("float");
  });
  it("every token's type has a category", () => {
    const r = lex("model x { } <- -> .. == != <= >= < > = + - * / % ( ) [ ] , : . ^ @ /* b */");
    for (const t of r.tokens) expect(TOKEN_CATEGORIES[t.type], t.type).toBeDefined();
  });
});
