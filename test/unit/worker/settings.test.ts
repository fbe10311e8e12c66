// The workers' numeric settings (runtime/worker/main.ts, envNumber): unset or empty is the
// default; a number of 0 or more is taken; anything else is a SettingError naming the setting
// (the bundled worker then exits 2: test/integration/kafka/e2e.test.ts).
import { expect, test } from "vitest";
import { SettingError, envNumber } from "../../../runtime/worker/main.js";

test("unset and empty give the default; numbers of 0 or more are taken", () => {
  expect(envNumber({}, "OFL_CLOCK_MS")).toBeUndefined();
  expect(envNumber({ OFL_CLOCK_MS: "" }, "OFL_CLOCK_MS")).toBeUndefined();
  expect(envNumber({ OFL_CLOCK_MS: "  " }, "OFL_CLOCK_MS")).toBeUndefined();
  expect(envNumber({ OFL_CLOCK_MS: "0" }, "OFL_CLOCK_MS")).toBe(0);
  expect(envNumber({ OFL_CLOCK_MS: " 250 " }, "OFL_CLOCK_MS")).toBe(250);
  expect(envNumber({ OFL_CLOCK_MS: "1e3" }, "OFL_CLOCK_MS")).toBe(1000);
});

test.each(["fast", "-1", "Infinity", "10ms", "NaN"])("%j is refused, naming the setting", (v) => {
  expect(() => envNumber({ OFL_CLOCK_MS: v }, "OFL_CLOCK_MS")).toThrow(new SettingError(`OFL_CLOCK_MS must be a number, 0 or more (got ${JSON.stringify(v)})`));
  expect(() => envNumber({ OFL_CLOCK_MS: v }, "OFL_CLOCK_MS")).toThrow(SettingError);
});
