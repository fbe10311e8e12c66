// Hover (lsp/features/hover.ts) through the workspace: a declaration's signature, unit and
// range, its doc comment, where it runs (spec §8); any other expression: its type.
import { describe, expect, test } from "vitest";
import { PLANT, TestWorkspace } from "./harness.js";

const hoverText = (t: TestWorkspace, uri: string, at: { line: number; character: number }): string => {
  const h = t.ws.hover(uri, at);
  return h && typeof h.contents === "object" && "value" in h.contents ? h.contents.value : "";
};

describe("hover", () => {
  test("a telemetry: its type, unit and range, and its model", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("state overheating = temperature > 90", "state overheating = temp‸erature > 90"));
    const text = hoverText(t, d.uri, d.at[0]!);
    expect(text).toContain("telemetry temperature: float<degC>");
    expect(text).toContain("unit: `degC` · range: -50..500");
    expect(text).toContain("member of `Mill`");
  });

  test("a state: its doc comment, and that a `for` runs in the rule worker", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("  when overheating", "  when over‸heating"));
    const text = hoverText(t, d.uri, d.at[0]!);
    expect(text).toContain("Too hot to keep cutting.");
    // the placement stage's answer, as `ofl build --explain` prints it (test/unit/compiler/place.test.ts)
    expect(text).toContain("*Runs in:* the rule worker: `for` needs a timer");
  });

  test("while the program has errors: a syntactic estimate of where it runs, marked as such", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("  when overheating", "  when over‸heating") + "\nasset broken: NoSuchModel {}\n");
    const text = hoverText(t, d.uri, d.at[0]!);
    expect(text).toContain("*Runs in:* the rule worker (a duration condition `for`) (estimate: the program has errors)");
  });

  test("a built-in function's name: its entry of the built-ins table (IR_FUNCTIONS)", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("state overheating = temperature > 90 degC for 5s", "state overheating = cl‸amp(temperature, 0 degC, 80 degC) > 90 degC for 5s"));
    expect(hoverText(t, d.uri, d.at[0]!)).toBe("```ofl\nclamp(…)\n```\n\nbuilt-in function, 3 arguments: `x` limited to `lo..hi`");
  });

  test("an expression that is not a name: its type", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("temperature > 90 degC for 5s", "temperature >‸ 90 degC for 5s"));
    expect(hoverText(t, d.uri, d.at[0]!)).toBe("```ofl\nbool\n```");
  });

  test("nothing under the cursor: no hover", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT + "\n‸\n");
    expect(t.ws.hover(d.uri, d.at[0]!)).toBeNull();
  });
});
