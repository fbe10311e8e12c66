// Semantic tokens through the workspace: identifiers classified from the parse and the analysis.
import { describe, expect, test } from "vitest";
import { LEGEND } from "../../../../lsp/features/semanticTokens.js";
import { TestWorkspace } from "./harness.js";

describe("semantic tokens", () => {
  test("a state read in a rule is a property; a model name a class", async () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:m.ofl", "model M {\n  telemetry t: int\n  state hot = t > 5\n  command stop()\n}\nrule r on M {\n  when hot\n  then stop()\n}\n");
    await t.settled();
    const data = t.ws.semanticTokens(d.uri).data;
    // decode: [line, char, length, type, modifiers] relative to the previous token
    const tokens: { line: number; char: number; len: number; type: string }[] = [];
    let line = 0;
    let char = 0;
    for (let i = 0; i < data.length; i += 5) {
      line += data[i]!;
      char = data[i]! === 0 ? char + data[i + 1]! : data[i + 1]!;
      tokens.push({ line, char, len: data[i + 2]!, type: LEGEND.tokenTypes[data[i + 3]!]! });
    }
    const at = (l: number, c: number) => tokens.find((x) => x.line === l && x.char === c)?.type;
    expect(at(0, 6)).toBe("class"); // M: models are classes
    expect(at(6, 7)).toBe("property"); // hot in `when hot`
  });
});
