// Completion through the workspace, at `‸`: members after `asset.`, source kinds after `source`,
// bindings after `<-`, built-in functions and names in expressions.
import { describe, expect, test } from "vitest";
import { PLANT, TestWorkspace } from "./harness.js";

const labels = (t: TestWorkspace, uri: string, at: { line: number; character: number }): string[] => t.ws.completion(uri, at).map((c) => c.label);

describe("completion", () => {
  test("after `mill1.`: the members of Mill", async () => {
    const t = new TestWorkspace();
    t.open("untitled:plant.ofl", PLANT);
    await t.settled();
    const d = t.change("untitled:plant.ofl", PLANT + "\nrule r2 {\n  when mill1.‸\n  then mill1.stop()\n}\n", 2);
    expect(labels(t, d.uri, d.at[0]!).sort()).toEqual(["execution", "hot", "overheating", "set_feed", "stop", "temperature"]);
  });

  test("after `source`: the source kinds", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("source simulate() {", "source ‸ simulate() {"));
    expect(labels(t, d.uri, d.at[0]!)).toEqual(expect.arrayContaining(["opcua", "mqtt", "simulate", "openfactory"]));
  });

  test("after `<-` in a simulate source: its telemetry bindings", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("temperature <- constant(20, every: 1s)", "temperature <- ‸"));
    expect(labels(t, d.uri, d.at[0]!)).toEqual(expect.arrayContaining(["constant", "random_walk", "sine", "sequence"]));
  });

  test("in an expression: the model's members and the built-in functions", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT.replace("  when overheating", "  when ‸overheating"));
    const got = labels(t, d.uri, d.at[0]!);
    expect(got).toEqual(expect.arrayContaining(["overheating", "temperature", "abs", "avg", "age"]));
  });
});
