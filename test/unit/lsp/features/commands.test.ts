// Code lenses and the test commands through the workspace: a run reports to the user (info when
// every test passed, error otherwise) and publishes failures on the expectation line; the
// session picker's dismissal is no choice.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import { RUN_FILE_TESTS, RUN_TEST, REPLAY_SESSION } from "../../../../lsp/features/codeLens.js";
import { CommandError } from "../../../../lsp/workspace.js";
import { PLANT, TestWorkspace } from "./harness.js";

const TESTS = `
test "hot mill stops" {
  at 0s mill1.temperature = 95 degC
  expect mill1.stop() at 5s
}
test "wrong" {
  at 0s mill1.temperature = 20 degC
‸  expect mill1.temperature == 21 degC‸
}
`;

describe("code lenses and test commands", () => {
  test("a lens per test, running that test", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT + TESTS);
    const run = t.ws.codeLenses(d.uri).filter((l) => l.command?.command === RUN_TEST);
    expect(run.map((l) => l.command!.arguments)).toEqual([
      [d.uri, "hot mill stops"],
      [d.uri, "wrong"],
    ]);
  });

  test("a passing test: an info message; a failing one: an error message and a diagnostic on its expectation", async () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:plant.ofl", PLANT + TESTS);
    const ok = (await t.ws.executeCommand(RUN_TEST, [d.uri, "hot mill stops"])) as { results: { status: string }[] };
    expect(ok.results.map((r) => r.status)).toEqual(["passed"]);
    expect(t.messages.at(-1)).toEqual({ type: "info", message: 'test "hot mill stops" passed' });
    const all = (await t.ws.executeCommand(RUN_FILE_TESTS, [d.uri])) as { results: { name: string; status: string }[] };
    expect(all.results.map((r) => [r.name, r.status])).toEqual([
      ["hot mill stops", "passed"],
      ["wrong", "failed"],
    ]);
    expect(t.messages.at(-1)).toEqual({ type: "error", message: '1 of 2 tests failed: "wrong"' });
    const f = t.published.get(d.uri)!.diagnostics.filter((x) => x.source === "ofl test");
    expect(f.map((x) => x.range)).toEqual([{ start: { line: d.at[0]!.line, character: 2 }, end: d.at[1] }]);
  });

  test("replay without a session: the user picks one of the project's session files, or declines", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ofl-ws-"));
    writeFileSync(join(dir, "ofl.json"), '{"name": "plant"}');
    mkdirSync(join(dir, "sessions"));
    writeFileSync(join(dir, "sessions", "a.jsonl"), "");
    writeFileSync(join(dir, "sessions", "b.jsonl"), "");
    const t = new TestWorkspace();
    const d = t.open(pathToFileURL(join(dir, "plant.ofl")).href, PLANT);
    const asked: string[][] = [];
    t.pickAnswer = (choices) => (asked.push(choices), choices[1]);
    const r = (await t.ws.executeCommand(REPLAY_SESSION, [d.uri])) as { report: { records: number } };
    expect(asked).toEqual([["sessions/a.jsonl", "sessions/b.jsonl"]]);
    expect(r.report.records).toBe(0);
    expect(t.messages.at(-1)!.message).toMatch(/^replay of b\.jsonl: 0 records/);
    t.pickAnswer = () => undefined;
    const n = t.messages.length;
    expect(await t.ws.executeCommand(REPLAY_SESSION, [d.uri])).toBeNull();
    expect(t.messages.length).toBe(n);
    rmSync(dir, { recursive: true, force: true });
  });

  test("bad arguments and unknown commands are command errors", async () => {
    const t = new TestWorkspace();
    await expect(t.ws.executeCommand(RUN_TEST, ["untitled:not-open.ofl"])).rejects.toThrow(CommandError);
    await expect(t.ws.executeCommand("ofl.nope", [])).rejects.toThrow("unknown command ofl.nope");
  });
});
