// Golden files pin the layout: golden/NAME.input.txt formats to golden/NAME.expected.txt
// (and the expected output is a fixed point). Regenerate after a deliberate layout change with
//   OFL_UPDATE_GOLDEN=1 npx vitest run test/unit/format/golden.test.ts
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { formatOfl, printString } from "../../../compiler/format/index.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "golden");
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".input.txt"))
  .map((f) => f.replace(/\.input\.txt$/, ""))
  .sort();

describe("golden layouts", () => {
  test("there are golden files", () => expect(names).toEqual(expect.arrayContaining(["breaking", "comments", "constructs"])));
  for (const name of names) {
    test(name, async () => {
      const input = readFileSync(join(dir, `${name}.input.txt`), "utf8");
      const out = await formatOfl(input);
      const path = join(dir, `${name}.expected.txt`);
      if (process.env["OFL_UPDATE_GOLDEN"] === "1") writeFileSync(path, out);
      expect(out).toBe(readFileSync(path, "utf8"));
      expect(await formatOfl(out)).toBe(out);
    });
  }
});

describe("small constructs", () => {
  const cases: [string, string, string][] = [
    ["quantities, durations and timestamps print as written", "model M{state s=x>8 l/min and y<9.81 m/s^2 and z==1.50 degC for 1.5m}\n", "model M {\n  state s = x > 8 l/min and y < 9.81 m/s^2 and z == 1.50 degC for 1.5m\n}\n"],
    ["a doc comment stays right before its declaration", "/// Doc.\n\n\nmodel M {}\n", "/// Doc.\nmodel M {}\n"],
    ["blank lines between declarations: at most one kept", "model A {}\n\n\n\nmodel B {}\nmodel C {}\n", "model A {}\n\nmodel B {}\nmodel C {}\n"],
    ["several members on one line: one per line", 'asset a1: M { uuid "A-1" hall = "n" }\n', 'asset a1: M {\n  uuid "A-1"\n  hall = "n"\n}\n'],
    ["`- -x` keeps its space", "model M{state s=- -x}\n", "model M {\n  state s = - -x\n}\n"],
    ["an empty file stays empty", "\n\n", ""],
    ["a file of comments only", "// one\n\n\n/* two */\n", "// one\n\n/* two */\n"],
  ];
  for (const [title, input, expected] of cases) test(title, async () => expect(await formatOfl(input)).toBe(expected));

  test("strings are re-escaped canonically", () => {
    expect(printString('a "q" \\ \n \t é 😀')).toBe('"a \\"q\\" \\\\ \\n \\t é 😀"');
    expect(printString("\r\u0001\u2028")).toBe('"\\u{D}\\u{1}\\u{2028}"');
  });
});
