// Event time in ksqlDB (issue 13, item 6): the TIMESTAMP_FORMAT the emitter declares, run
// through the JDK's own java.time parser set up as ksqlDB 0.29 sets it up
// (TimestampFormatCheck.java beside this file), accepts the same `attributes.timestamp` texts
// as the engine (runtime/wire/records.ts parseTime) and gives the same instant; the remaining
// differences are exactly those docs/deploy.md and the emitter's CONTEXT.md list.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { TIMESTAMP_FORMAT } from "../../../compiler/emit/ksql/emit.js";
import { parseTime } from "../../../runtime/wire/records.js";

const java = ["/usr/bin/java", "/usr/local/bin/java"].find(existsSync);
const checker = join(new URL(".", import.meta.url).pathname, "TimestampFormatCheck.java");

function ksqlParse(texts: string[]): (number | null)[] {
  const out = execFileSync(java!, [checker, TIMESTAMP_FORMAT], { input: texts.join("\n") + "\n", encoding: "utf8", timeout: 120_000 });
  return out
    .trim()
    .split("\n")
    .map((l) => (l === "ERR" ? null : Number(l)));
}

// both accept, same instant
const agreed = [
  "2026-11-20T08:00:15Z",
  "2026-11-20T08:00:15.1Z",
  "2026-11-20T08:00:15.12Z",
  "2026-11-20T08:00:15.123Z",
  "2026-11-20T08:00:15.1234Z",
  "2026-11-20T08:00:15.123456Z", // MTConnect: microseconds
  "2026-11-20T08:00:15.123456789Z",
  "2026-11-20T08:00:15+01:00",
  "2026-11-20T08:00:15.250-05:30",
  "2026-11-20T08:00:15+0100",
  "2026-11-20T08:00:15+01",
  "2026-11-20 08:00:15Z",
  "2026-11-20T08:00Z",
  "2026-11-20t08:00:15.5z",
  "2026-11-20T08:00:15", // no zone: UTC in the engine; the server's zone in ksqlDB (UTC here)
  "2024-02-29T23:59:59.999Z",
  "+002026-11-20T08:00:15Z",
];
// both reject
const rejected = ["2026-11-20T08:00:15.Z", "not a time", "2026-13-01T00:00:00Z", "2026-11-20T25:00:00Z", "2026-11-20T08:00:15Zjunk"];
// documented differences: the engine accepts, ksqlDB drops the row (and logs it)
const engineOnly = ["2026-11-20", "2026-11-20T08:00:15,5Z", "2026-11-20T08:00:15.1234567891Z", "2026-11-20T08:00:15 Z"];

describe.skipIf(java === undefined)("TIMESTAMP_FORMAT against the JDK's java.time (the parser ksqlDB uses)", () => {
  test("accepts what the engine accepts, at the same instant", () => {
    const got = ksqlParse(agreed);
    agreed.forEach((t, i) => {
      const want = parseTime(t);
      expect(want, `engine: ${t}`).not.toBeNull();
      expect(got[i], t).toBe(want);
    });
  });

  test("rejects what the engine rejects", () => {
    const got = ksqlParse(rejected);
    rejected.forEach((t, i) => {
      expect(parseTime(t), `engine: ${t}`).toBeNull();
      expect(got[i], t).toBeNull();
    });
  });

  test("the documented remaining differences are real", () => {
    const got = ksqlParse(engineOnly);
    engineOnly.forEach((t, i) => {
      expect(parseTime(t), `engine: ${t}`).not.toBeNull();
      expect(got[i], t).toBeNull();
    });
  });

  test("the old pattern rejected MTConnect's microseconds and +01:00 (the defect)", () => {
    const out = execFileSync(java!, [checker, "yyyy-MM-dd'T'HH:mm:ss[.SSS]X"], { input: "2026-11-20T08:00:15.123456Z\n2026-11-20T08:00:15+01:00\n", encoding: "utf8" });
    expect(out.trim().split("\n")).toEqual(["ERR", "ERR"]);
  });
});
