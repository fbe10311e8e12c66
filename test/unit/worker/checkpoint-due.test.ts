// When a connector worker writes a periodic checkpoint (runtime/worker/connector.ts): only when
// its read moved, and then when its commands changed, or after 100,000 records or 10 minutes. A
// plant's connectors share one checkpoint topic (a start reads it whole), and most of them see a
// command rarely: a checkpoint a minute each would fill it with records that say nothing new.
import { expect, test } from "vitest";
import { periodicCheckpointDue } from "../../../runtime/worker/connector.js";

test("nothing read since the last: never", () => {
  expect(periodicCheckpointDue(0, true, 3_600_000)).toBe(false);
});

test("a command read, dispatched or answered since the last: at once", () => {
  expect(periodicCheckpointDue(1, true, 0)).toBe(true);
});

test("other assets' records alone: after 100,000 of them or 10 minutes", () => {
  expect(periodicCheckpointDue(99_999, false, 599_999)).toBe(false);
  expect(periodicCheckpointDue(100_000, false, 0)).toBe(true);
  expect(periodicCheckpointDue(1, false, 600_000)).toBe(true);
});
