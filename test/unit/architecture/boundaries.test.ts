// The documented dependency direction (docs/architecture.md, "Dependency direction"), enforced.
// Every import of compiler/, runtime/ and lsp/ is parsed with the TypeScript parser — static
// imports and re-exports, `import type`, dynamic `import()`, `import("…")` types and `require` —
// and resolved to a repository path; the test names each file and import that breaks a rule:
//   - compiler/ imports nothing from runtime/, lsp/, test/ or bench/;
//   - runtime/ and lsp/ import the compiler only through compiler/index.ts and the IR types
//     (compiler/ir/types.ts);
//   - runtime/ imports nothing from lsp/ (compiler ← runtime ← lsp);
//   - nothing imports test/ or bench/.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, test } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const SCANNED = ["compiler", "runtime", "lsp"];
const COMPILER_API = new Set(["compiler/index.ts", "compiler/ir/types.ts"]);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (e.name !== "node_modules") out.push(...sourceFiles(p));
    } else if (/\.(ts|mts|mjs|js)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

export interface ImportRef {
  specifier: string;
  line: number;
}

/** Every module specifier a file mentions: static, re-export, type-only, dynamic, import types, require. */
export function importsOf(path: string, text: string): ImportRef[] {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, path.endsWith("ts") ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const out: ImportRef[] = [];
  const add = (lit: ts.Node | undefined): void => {
    if (lit && ts.isStringLiteralLike(lit)) out.push({ specifier: lit.text, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) add(n.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference)) add(n.moduleReference.expression);
    else if (ts.isCallExpression(n) && (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === "require")))
      add(n.arguments[0]);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) add(n.argument.literal);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** A relative specifier as a repository path (`.js` → `.ts`, `?raw` dropped); packages: undefined. */
function target(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const p = relative(ROOT, resolve(ROOT, dirname(from), specifier.replace(/\?.*$/, ""))).split(sep).join("/");
  return p.replace(/\.js$/, ".ts");
}

/** The rule an import breaks, or undefined. */
export function violation(from: string, to: string): string | undefined {
  const area = (p: string): string => p.split("/")[0]!;
  const a = area(from);
  const b = area(to);
  if (b === "test" || b === "bench") return `nothing imports ${b}/`;
  if (a === "compiler" && (b === "runtime" || b === "lsp")) return `compiler/ imports nothing from ${b}/`;
  if (a === "runtime" && b === "lsp") return "runtime/ imports nothing from lsp/";
  if ((a === "runtime" || a === "lsp") && b === "compiler" && !COMPILER_API.has(to))
    return `${a}/ imports the compiler only through compiler/index.ts and compiler/ir/types.ts`;
  return undefined;
}

describe("dependency direction", () => {
  test("the rules themselves", () => {
    expect(violation("compiler/check/checker.ts", "runtime/engine/index.ts")).toBeDefined();
    expect(violation("compiler/index.ts", "lsp/server.ts")).toBeDefined();
    expect(violation("runtime/cli/check.ts", "compiler/check/checker.ts")).toBeDefined();
    expect(violation("lsp/features/hover.ts", "compiler/ast/nodes.ts")).toBeDefined();
    expect(violation("runtime/run/plant.ts", "lsp/server.ts")).toBeDefined();
    expect(violation("runtime/engine/index.ts", "test/oracle/expr.ts")).toBeDefined();
    expect(violation("lsp/server.ts", "bench/engine.ts")).toBeDefined();
    expect(violation("runtime/cli/check.ts", "compiler/index.ts")).toBeUndefined();
    expect(violation("lsp/server.ts", "compiler/ir/types.ts")).toBeUndefined();
    expect(violation("lsp/server.ts", "runtime/replay/runner.ts")).toBeUndefined();
    expect(violation("compiler/index.ts", "stdlib/index.ts")).toBeUndefined();
  });

  test("the parser finds every kind of import", () => {
    const text = [
      'import { a } from "./a.js";',
      'import type { B } from "./b.js";',
      'export { c } from "./c.js";',
      'export type * as D from "./d.js";',
      'const e = await import("./e.js");',
      'type F = import("./f.js").F;',
      'const g = require("./g.js");',
      'import "./h.js";',
    ].join("\n");
    expect(importsOf("x.ts", text).map((r) => `${r.line}:${r.specifier}`)).toEqual(
      ["1:./a.js", "2:./b.js", "3:./c.js", "4:./d.js", "5:./e.js", "6:./f.js", "7:./g.js", "8:./h.js"],
    );
  });

  test("compiler/, runtime/ and lsp/ follow it", () => {
    const files = SCANNED.flatMap(sourceFiles);
    expect(files.length).toBeGreaterThan(100);
    const found: string[] = [];
    for (const f of files) {
      for (const r of importsOf(f, readFileSync(join(ROOT, f), "utf8"))) {
        const to = target(f, r.specifier);
        const why = to && violation(f, to);
        if (why) found.push(`${f}:${r.line} imports "${r.specifier}" (${to}): ${why}`);
      }
    }
    expect(found).toEqual([]);
  });
});
