// The replay's fast path (runner.ts telemetryFromColumns: telemetry still in a session's columns
// goes to Engine.processTelemetry without a record or an event) gives exactly the report of the
// general path (JSON.parse, classify, Engine.process): the benchmark fixture session with
// hostile records mixed in (each one a dead letter by the spec: unknown asset, undeclared
// signal, wrong type, out of range, event time far ahead of its receive time, unknown enum
// member), read on the replaying thread, by the parser worker (with a small string table, so it
// starts afresh several times) and in the binary form.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { compile } from "../../../compiler/index.js";
import { writeBinarySessionSync } from "../../../runtime/replay/binary.js";
import { replaySession } from "../../../runtime/replay/runner.js";
import { readSession, sessionLine } from "../../../runtime/replay/session.js";
import type { LogRecord } from "../../../runtime/wire/types.js";

const fixtures = join(fileURLToPath(import.meta.url), "../../../fixtures/bench-decisions");
const dir = mkdtempSync(join(tmpdir(), "ofl-fast-path-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ir = compile([{ path: "replay-small.ofl", text: readFileSync(join(fixtures, "replay-small.ofl"), "utf8") }], { name: "bench" }).ir!;

it("the fast path and the general path give the same report, dead letters included", () => {
  const recs: LogRecord[] = [...readSession(join(fixtures, "replay-small.jsonl"))].map((r) => r.record);
  const hostile = (base: LogRecord, key: string, id: string, value: string, tsShift = 0): LogRecord => ({
    ...base,
    ts: base.ts - tsShift,
    key,
    value: { ...(base.value as object), ID: id, VALUE: value, TAG: "", TYPE: "Samples" },
  });
  const mixed: LogRecord[] = [];
  let dead = 0;
  recs.forEach((r, i) => {
    mixed.push(r);
    if (i % 1000 === 500) {
      mixed.push(hostile(r, "NO-SUCH-ASSET", "temperature", "70")); // unknown_asset
      mixed.push(hostile(r, "M-1", "humidity", "40")); // unknown_signal
      mixed.push(hostile(r, "M-2", "temperature", "warm")); // wrong_type
      mixed.push(hostile(r, "M-3", "speed", "99999")); // out_of_range
      mixed.push(hostile(r, "M-4", "temperature", "80", 3_600_000)); // future_time: an hour ahead of its ts
      mixed.push(hostile(r, "M-5", "execution", "DANCING")); // not a member of Execution
      dead += 6;
    }
  });
  const renumbered = mixed.map((r, offset) => ({ ...r, offset }));
  const jsonl = join(dir, "mixed.jsonl");
  writeFileSync(jsonl, renumbered.map((r) => sessionLine(r) + "\n").join(""));
  const binary = join(dir, "mixed.oflb");
  const fd = openSync(binary, "w");
  writeBinarySessionSync(renumbered, fd, { program: "bench", recorded: "2026-11-20T09:00:00Z" }, sessionLine);
  closeSync(fd);

  const general = replaySession(ir, jsonl, { parser: "thread" });
  expect(general.deadLetters).toBe(dead);
  expect(general.passed).toBe(true);
  expect(general.commands.replayed).toBeGreaterThan(20);
  const strip = (r: typeof general) => ({ ...r, session: "" });
  expect(strip(replaySession(ir, jsonl, { parser: "worker", workerTableLimit: 500, workerSlotRecords: 256 }))).toEqual(strip(general));
  expect(strip(replaySession(ir, binary))).toEqual(strip(general));
});
