// A session recorded while the rule worker was behind ends with inputs whose outputs are not in
// it: the replay decides them and finds a command more than recorded. That is still a divergence
// (language.md §4: the commands must be equal), but the report says what it likely is.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { Engine } from "../../../runtime/engine/index.js";
import { replaySession } from "../../../runtime/replay/runner.js";
import { sessionLine } from "../../../runtime/replay/session.js";
import { classify } from "../../../runtime/wire/records.js";
import type { LogRecord } from "../../../runtime/wire/types.js";

const SOURCE = `
model Tank {
  telemetry level: int
  state doubled = level * 2
  command reset()
}
asset t1: Tank { uuid "TANK-1" }
rule drain on Tank {
  when level >= 20
  then reset()
}
`;
const ir = compile([{ path: "/tank.ofl", text: SOURCE }], { name: "tank" }).ir!;
const dir = mkdtempSync(join(tmpdir(), "ofl-tail-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A log as a live worker writes it: each input, then its outputs, offsets in order. */
function liveLog(levels: number[]): LogRecord[] {
  const log: LogRecord[] = [];
  const engine = new Engine({ program: ir, onOutput: (r) => log.push({ ...r, partition: 0, offset: log.length }) });
  levels.forEach((level, i) => {
    const t = Date.UTC(2026, 11, 4, 8, 0, i);
    const rec: LogRecord = { topic: "ofa_assets", partition: 0, offset: log.length, ts: t, key: "TANK-1", value: { ID: "level", VALUE: String(level), TAG: "", TYPE: "Samples", attributes: { timestamp: new Date(t).toISOString() } } };
    log.push(rec);
    engine.process(classify(rec));
  });
  return log;
}

function replay(name: string, recs: LogRecord[]) {
  const file = join(dir, name);
  writeFileSync(file, recs.map((r) => sessionLine(r) + "\n").join(""));
  return replaySession(ir, file);
}

// level 10 (offset 0, doubled 20 at 1), 25 (offset 2: doubled 50 at 3, reset at 4), 5 (offset 5,
// doubled 10 at 6), 30 (offset 7: doubled 60 at 8, reset at 9)
const log = liveLog([10, 25, 5, 30]);

test("the whole log replays to the same decisions", () => {
  expect(log.map((r) => (r.value as { ID: string }).ID)).toEqual(["level", "doubled", "level", "doubled", "reset_CMD", "level", "doubled", "level", "doubled", "reset_CMD"]);
  expect(replay("whole.jsonl", log).passed).toBe(true);
});

test("recorded before the worker decided the last input: a divergence with a note saying so", () => {
  const r = replay("cut.jsonl", log.slice(0, 8)); // the last level, none of its outputs
  expect(r.passed).toBe(false);
  expect(r.divergence).toMatchObject({ kind: "command", index: 1, expected: "no more commands (1 recorded)" });
  expect(r.divergence!.actual).toMatch(/^replayed command #2: TANK-1 reset\(\) at 2026-12-04T08:00:03\.000Z by rule drain$/);
  expect(r.divergence!.hint).toBe(
    "the session holds no output of the program after offset 6, and this command comes from the record at offset 7: if it was recorded while the rule worker was still deciding, record it again once the worker has caught up",
  );
});

test("a command missing from a session that has outputs after its cause: no note (the logic differs)", () => {
  // the last reset missing while the doubled of the same record is there: the worker had decided it
  const lastMissing = replay("missing-last.jsonl", log.filter((rec) => rec.offset !== 9));
  expect(lastMissing.divergence).toMatchObject({ kind: "command", index: 1, expected: "no more commands (1 recorded)" });
  expect(lastMissing.divergence!.hint).toBeUndefined();
  // the first reset missing: the replay's first command differs from the first recorded one
  const firstMissing = replay("missing-first.jsonl", log.filter((rec) => rec.offset !== 4));
  expect(firstMissing.divergence).toMatchObject({ kind: "command", index: 0 });
  expect(firstMissing.divergence!.hint).toBeUndefined();
});
