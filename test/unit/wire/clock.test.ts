// The clock both runtimes share (runtime/wire/clock.ts): records keyed by the writer, times that
// never go backwards when the wall clock does, no timer with period 0.
import { expect, test } from "vitest";
import { Clock } from "../../../runtime/wire/clock.js";
import type { NewRecord } from "../../../runtime/wire/types.js";

test("clock records never go backwards, even when the wall clock does", () => {
  const wall = [1000, 1000, 900, 2000, 1999];
  const out: NewRecord[] = [];
  const c = new Clock({ periodMs: 100, key: "OFL-p", now: () => wall.shift()!, onTick: (r) => out.push(r) });
  for (let i = 0; i < 5; i++) c.tick();
  expect(out.map((r) => r.ts)).toEqual([1000, 1001, 1002, 2000, 2001]);
  expect(out.every((r) => r.key === "OFL-p" && r.topic === "ofa_assets")).toBe(true);
  expect(out[0]!.value).toEqual({ ID: "clock", VALUE: "1970-01-01T00:00:01.000Z", TAG: "Clock", TYPE: "OpenFactory", attributes: { timestamp: "1970-01-01T00:00:01.000Z" } });
});

test("period 0: start() runs no timer; a started clock ticks until stopped", async () => {
  const none = new Clock({ periodMs: 0, key: "k", onTick: () => {} });
  none.start();
  expect(none.running).toBe(false);
  let n = 0;
  let resolve!: () => void;
  const three = new Promise<void>((r) => (resolve = r));
  const c = new Clock({ periodMs: 5, key: "k", onTick: () => ++n === 3 && resolve() });
  c.start();
  expect(c.running).toBe(true);
  await three;
  c.stop();
  expect(c.running).toBe(false);
});
