// A session of every partition of a partitioned topic (ofl record --kafka of P > 1 partitions:
// header `partitions`, partitions one after the other), written by hand from docs/deploy.md
// ("The cross stage"): each partition decides its own assets; what reads across partitions is
// decided over the inputs merged by event time, only while every partition has one. `ofl test
// --replay` compares both; `ofl state` and `ofl import` read the session in the merged order.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { writeBinarySessionSync } from "../../../runtime/replay/binary.js";
import { replaySession } from "../../../runtime/replay/runner.js";
import { inLogOrder, openSession, sessionLine } from "../../../runtime/replay/session.js";
import { stateAt } from "../../../runtime/replay/stateAt.js";
import { correlationId, offsetCause } from "../../../runtime/wire/correlation.js";
import { partitionOfKey } from "../../../runtime/wire/partitions.js";
import { mergedOrder } from "../../../runtime/wire/merge.js";
import { classify, commandValue, telemetryValue } from "../../../runtime/wire/records.js";
import type { LogRecord } from "../../../runtime/wire/types.js";

const P = 2;
const A = Array.from({ length: 50 }, (_, i) => `A-${i}`).find((u) => partitionOfKey(u, P) === 0)!;
const B = Array.from({ length: 50 }, (_, i) => `B-${i}`).find((u) => partitionOfKey(u, P) === 1)!;
const SOURCE = `
model Tank {
  telemetry level: int
  command reset()
}
view total = sum(level) from Tank
asset a: Tank { uuid "${A}" }
asset b: Tank { uuid "${B}" }
rule overfill {
  when total >= 10
  then a.reset()
}
rule drain on Tank {
  when level >= 20
  then reset()
}
`;
const ir = compile([{ path: "/tanks.ofl", text: SOURCE }], { name: "tanks" }).ir!;
const dir = mkdtempSync(join(tmpdir(), "ofl-partitioned-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const t = (s: number): number => Date.UTC(2026, 11, 4, 8, 0, s);
const level = (key: string, partition: number, offset: number, v: number, s: number): LogRecord => ({ topic: "ofa_assets", partition, offset, ts: t(s), key, value: telemetryValue("level", String(v), "", "Samples", t(s)) });
const command = (partition: number, offset: number, rule: string, cause: string, s: number): LogRecord => ({
  topic: "ofa_assets",
  partition,
  offset,
  ts: t(s),
  key: A,
  value: commandValue(
    "reset",
    {
      header: { correlation_id: correlationId("tanks", rule, A, cause, 0), sender_uuid: "OFL-tanks", timestamp: new Date(t(s)).toISOString(), signature: null, rule, shadow: false, verdict: "accepted" },
      arguments: {},
    },
    t(s),
  ),
});

// partition 0: a at 5 (second 1), a at 25 (second 3: drain, decided by partition 0 at its own
// time); partition 1: b at 5 (second 2). Merged: a@1, b@2, then partition 1 has nothing more: the
// cross stage waits, so a@3 is not merged. total = 5 + 5 = 10 at b@2: overfill, caused by (1, 0),
// at second 2, written to a's partition 0.
const p0 = [level(A, 0, 0, 5, 1), command(0, 1, "overfill", offsetCause(1, 0), 2), level(A, 0, 2, 25, 3), command(0, 3, "drain", offsetCause(0, 2), 3)];
const p1 = [level(B, 1, 0, 5, 2)];

function session(name: string, records: LogRecord[]): string {
  const file = join(dir, name);
  writeFileSync(file, [JSON.stringify({ ofl_session: 1, program: "kafka", recorded: "2026-12-04T09:00:00.000Z", partitions: P }), ...records.map(sessionLine)].join("\n") + "\n");
  return file;
}

test("each partition's decisions and the cross stage's, as the deployment decides them", () => {
  const r = replaySession(ir, session("whole.jsonl", [...p0, ...p1]));
  expect(r.divergence).toBeUndefined();
  expect(r.commands).toEqual({ recorded: 2, replayed: 2, matched: 2 });
});

test("the binary form carries the header's partitions: the same replay", () => {
  const file = join(dir, "whole.oflb");
  const fd = openSync(file, "w");
  writeBinarySessionSync([...p0, ...p1], fd, { program: "kafka", recorded: "2026-12-04T09:00:00.000Z", partitions: P }, sessionLine);
  closeSync(fd);
  const r = replaySession(ir, file);
  expect(openSession(file).header).toMatchObject({ partitions: P });
  expect(openSession(file).header?.partition).toBeUndefined();
  expect(r.divergence).toBeUndefined();
  expect(r.commands).toEqual({ recorded: 2, replayed: 2, matched: 2 });
});

test("a cross-stage decision missing from the session is found, on its partition, as the cross stage's", () => {
  const r = replaySession(ir, session("missing.jsonl", [...p0.filter((x) => (x.value as { ID: string }).ID !== "reset_CMD" || x.offset !== 1), ...p1]));
  expect(r.passed).toBe(false);
  expect(r.divergence?.expected).toBe("partition 0 (cross stage): no more commands (0 recorded)");
  expect(r.divergence?.actual).toMatch(new RegExp(`^partition 0 \\(cross stage\\): replayed command #1: ${A} reset\\(\\) at 2026-12-04T08:00:02.000Z by rule overfill$`));
});

test("ofl state and ofl import read it in the merged order: the inputs by event time, each followed by what came after it on its partition", () => {
  const order = [...inLogOrder(openSession(session("order.jsonl", [...p0, ...p1])))].map((r) => `${r.record.partition}:${r.record.offset}`);
  // a@1, its command after it; b@2; a@3 (no partition waits at the end of a session), its command
  expect(order).toEqual(["0:0", "0:1", "1:0", "0:2", "0:3"]);
  const records = [...inLogOrder(openSession(join(dir, "order.jsonl")))].map((r) => r.record);
  // ofl record --kafka writes it in that order already: read the same, replayed the same
  const merged = [...mergedOrder([...p0, ...p1], P, (r) => ({ partition: r.partition, ev: classify(r) }))];
  expect(merged.map((r) => `${r.partition}:${r.offset}`)).toEqual(order);
  expect([...inLogOrder(openSession(session("merged.jsonl", merged)))].map((r) => `${r.record.partition}:${r.record.offset}`)).toEqual(order);
  expect(replaySession(ir, join(dir, "merged.jsonl")).commands).toEqual({ recorded: 2, replayed: 2, matched: 2 });
  // at second 2 both tanks are at 5 (read in file order, b's 5 would come after a's 25)
  expect(stateAt(ir, records, t(2)).snapshot.views["total"]).toBe(10);
  expect(stateAt(ir, records, t(3)).snapshot.views["total"]).toBe(30);
});
