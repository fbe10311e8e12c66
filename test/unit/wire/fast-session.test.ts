// The fast path for session lines OFL writes must read exactly what JSON.parse reads, and
// decline (undefined) anything it does not fully understand.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { fastRecord, sessionLine, toLogRecord } from "../../../runtime/replay/session.js";

const text = fc.string({ maxLength: 12 });
const record = fc.record({
  topic: fc.constantFrom("ofa_assets", "ofl_deadletter", "x"),
  partition: fc.nat({ max: 9 }),
  offset: fc.nat(),
  ts: fc.oneof(fc.nat(), fc.double({ noNaN: true, noDefaultInfinity: true })),
  key: fc.option(text, { nil: null }),
  value: fc.oneof(
    fc.record({ ID: text, VALUE: text, TAG: text, TYPE: text, attributes: fc.record({ timestamp: text }) }),
    fc.record({ ID: text, VALUE: text, TAG: text, TYPE: text, attributes: fc.record({ timestamp: text, extra: text }) }),
    fc.record({ reason: text, detail: text }),
    fc.jsonValue(),
  ),
});

describe("fastRecord", () => {
  test("agrees with JSON.parse on every line OFL writes, or declines", () => {
    fc.assert(
      fc.property(record, (r) => {
        const line = sessionLine(r);
        const fast = fastRecord(line);
        if (fast !== undefined) expect(fast).toEqual(toLogRecord(JSON.parse(line)));
      }),
      { numRuns: 2000 },
    );
  });
  test("takes the common telemetry line", () => {
    const line = sessionLine({ topic: "ofa_assets", partition: 0, offset: 12, ts: 1795161600000, key: "M-1", value: { ID: "temperature", VALUE: "71.5", TAG: "degC", TYPE: "Samples", attributes: { timestamp: "2026-11-20T08:00:00.000Z" } } });
    expect(fastRecord(line)).toEqual(JSON.parse(line));
  });
  test("declines spaced JSON, escapes and other shapes", () => {
    expect(fastRecord('{"topic": "ofa_assets", "partition": 0, "offset": 0, "ts": 1, "key": "M", "value": {"ID": "t", "VALUE": "1", "TAG": "t", "TYPE": "Samples", "attributes": {"timestamp": "x"}}}')).toBeUndefined();
    expect(fastRecord('{"topic":"ofa_assets","partition":0,"offset":0,"ts":1,"key":"M\\"x","value":{"ID":"t","VALUE":"1","TAG":"t","TYPE":"Samples","attributes":{"timestamp":"x"}}}')).toBeUndefined();
    expect(fastRecord('{"topic":"ofa_assets","partition":0,"offset":0,"ts":1.5,"key":"M","value":{"ID":"t","VALUE":"1","TAG":"t","TYPE":"Samples","attributes":{"timestamp":"x"}}}')).toBeUndefined();
    expect(fastRecord('{"topic":"ofa_assets","partition":0,"offset":0,"ts":1,"key":"M","value":{"ID":"t","VALUE":"1","TAG":"t","TYPE":"Samples","attributes":{"timestamp":"x"}}}x')).toBeUndefined();
  });
});
