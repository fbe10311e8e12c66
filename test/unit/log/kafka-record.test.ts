// toRecord (runtime/log/kafka.ts): a kafkajs message as the log record OFL reads. With
// `headerOnly`, a record carrying that header (the rule worker's own outputs, `ofl-cause`) is
// delivered without decoding its value: the worker needs only the header.
import { expect, test } from "vitest";
import { toRecord } from "../../../runtime/log/kafka.js";

const message = (value: string | null, headers: Record<string, string> = {}) => ({
  key: Buffer.from("TANK-1"),
  value: value === null ? null : Buffer.from(value),
  offset: "41",
  timestamp: "1764835200000",
  headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
});

test("a message becomes a record: JSON value parsed, headers as text, offset and time as numbers", () => {
  expect(toRecord("ofa_assets", 2, message('{"ID":"level","VALUE":"5"}', { "ofl-cause": "7" }))).toEqual({
    topic: "ofa_assets",
    partition: 2,
    offset: 41,
    ts: 1764835200000,
    key: "TANK-1",
    value: { ID: "level", VALUE: "5" },
    headers: { "ofl-cause": "7" },
  });
  // not JSON: kept as text (the engine dead-letters it as bad_json)
  expect(toRecord("ofa_assets", 0, message("not json")).value).toBe("not json");
});

test("headerOnly: a record carrying the header keeps its headers and place but not its value; the others are decoded", () => {
  const own = toRecord("ofa_assets", 0, message('{"ID":"doubled","VALUE":"10"}', { "ofl-cause": "7" }), "ofl-cause");
  expect(own).toMatchObject({ offset: 41, key: "TANK-1", headers: { "ofl-cause": "7" }, value: null });
  const input = toRecord("ofa_assets", 0, message('{"ID":"level","VALUE":"5"}'), "ofl-cause");
  expect(input.value).toEqual({ ID: "level", VALUE: "5" });
});

test("valuesOf: only records with that key are decoded; the others keep key, headers and place (a connector reads its asset's records)", () => {
  const mine = toRecord("ofa_assets", 0, message('{"ID":"reset_CMD","VALUE":"x"}'), undefined, "TANK-1");
  expect(mine.value).toEqual({ ID: "reset_CMD", VALUE: "x" });
  const other = toRecord("ofa_assets", 0, { ...message('{"ID":"clock"}', { "ofl-processed": "40" }), key: Buffer.from("OFL-plant") }, undefined, "TANK-1");
  expect(other).toMatchObject({ offset: 41, key: "OFL-plant", headers: { "ofl-processed": "40" }, value: null });
});

test("headerOnly with several headers: a record carrying any of them is not decoded (the cross stage: its outputs and the rule workers')", () => {
  const headers = ["ofl-cross-cause", "ofl-cause"];
  expect(toRecord("ofa_assets", 0, message('{"ID":"above","VALUE":"true"}', { "ofl-cross-cause": "1:7" }), headers).value).toBeNull();
  expect(toRecord("ofa_assets", 0, message('{"ID":"doubled","VALUE":"10"}', { "ofl-cause": "7" }), headers).value).toBeNull();
  expect(toRecord("ofa_assets", 0, message('{"ID":"level","VALUE":"5"}', { "ofl-processed": "6" }), headers).value).toEqual({ ID: "level", VALUE: "5" });
});
