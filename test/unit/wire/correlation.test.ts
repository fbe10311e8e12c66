import { describe, expect, it } from "vitest";
import { correlationId, OFL_NAMESPACE, offsetCause, timerCause, uuidV5 } from "../../../runtime/wire/correlation.js";

const DNS = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
const URL_NS = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";

describe("uuidV5", () => {
  it("matches known vectors", () => {
    expect(uuidV5("www.example.com", DNS)).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
    expect(uuidV5("python.org", DNS)).toBe("886313e1-3b8a-5372-9b90-0c9aee199e5d");
    expect(uuidV5("http://www.example.com/", URL_NS)).toBe("fcde3c85-2270-590f-9e7c-ee003d65e0e2");
  });
  it("is version 5, RFC 4122 variant, deterministic", () => {
    const u = uuidV5("x", OFL_NAMESPACE);
    expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidV5("x", OFL_NAMESPACE)).toBe(u);
    expect(uuidV5("y", OFL_NAMESPACE)).not.toBe(u);
  });
  it("hashes the name as UTF-8", () => {
    expect(uuidV5("café", DNS)).not.toBe(uuidV5("cafe", DNS));
  });
  it("rejects a bad namespace", () => {
    expect(() => uuidV5("x", "nope")).toThrow(/not a UUID/);
  });
});

describe("correlationId", () => {
  it("is the v5 uuid of PROGRAM/RULE/ASSET_UUID/CAUSE/ACTION_INDEX", () => {
    expect(offsetCause(0, 1834)).toBe("offset:0:1834");
    expect(timerCause(1795161615000)).toBe("timer:1795161615000");
    const id = correlationId("plant", "stop_hot_mill", "CNC-001", offsetCause(0, 1834), 0);
    expect(id).toBe(uuidV5("plant/stop_hot_mill/CNC-001/offset:0:1834/0", OFL_NAMESPACE));
    expect(correlationId("plant", "operator", "CNC-001", timerCause(5), 1)).toBe(uuidV5("plant/operator/CNC-001/timer:5/1", OFL_NAMESPACE));
  });
});
