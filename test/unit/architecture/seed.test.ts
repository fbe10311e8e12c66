// Randomness in tests is seeded (test/setup/seed.ts, vitest's setupFiles): the same inputs on
// every run, so a failure reproduces.
import fc from "fast-check";
import { expect, test } from "vitest";
import { TEST_SEED } from "../../setup/seed.js";

test("fast-check runs with the test seed unless a test passes its own", () => {
  expect(fc.readConfigureGlobal().seed).toBe(TEST_SEED);
  const a = fc.sample(fc.integer(), 20);
  const b = fc.sample(fc.integer(), 20);
  expect(a).toEqual(b);
});
