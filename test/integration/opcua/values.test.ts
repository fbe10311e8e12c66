// Device values ↔ wire text, without a device.
import { DataType, DataValue, LocalizedText, StatusCodes, Variant, VariantArrayType, coerceNodeId } from "node-opcua-client";
import { expect, test } from "vitest";
import { builtinOf, defaultDataType, deviceTime, scrubText, toDeviceValue, valueText } from "../../../runtime/connectors/opcua.js";
import type { IrParam } from "../../../compiler/ir/types.js";

const dv = (dataType: DataType, value: unknown, arrayType = VariantArrayType.Scalar) =>
  new DataValue({ value: new Variant({ dataType, value, arrayType }), statusCode: StatusCodes.Good });

test("VALUE text: shortest numbers, booleans, strings, integers, 64-bit integers, arrays", () => {
  expect(valueText(dv(DataType.Double, 91.2))).toBe("91.2");
  expect(valueText(dv(DataType.Double, 1e21))).toBe("1e+21");
  expect(valueText(dv(DataType.Double, -0))).toBe("0");
  expect(valueText(dv(DataType.Double, NaN))).toBe("NaN"); // the engine says not_finite
  expect(valueText(dv(DataType.Float, 0.1))).toBe("0.1"); // not 0.10000000149011612
  expect(valueText(dv(DataType.Float, 91.2))).toBe("91.2");
  expect(valueText(dv(DataType.Int32, -7))).toBe("-7");
  expect(valueText(dv(DataType.UInt16, 65535))).toBe("65535");
  expect(valueText(dv(DataType.Boolean, true))).toBe("true");
  expect(valueText(dv(DataType.Boolean, false))).toBe("false");
  expect(valueText(dv(DataType.String, "ACTIVE"))).toBe("ACTIVE");
  expect(valueText(dv(DataType.String, ""))).toBe("");
  expect(valueText(dv(DataType.Int64, [0xffffffff, 0xfffffffe]))).toBe("-2");
  expect(valueText(dv(DataType.UInt64, [1, 0]))).toBe("4294967296");
  expect(valueText(dv(DataType.LocalizedText, new LocalizedText({ text: "Auto" })))).toBe("Auto");
  expect(valueText(dv(DataType.DateTime, new Date("2026-11-20T08:00:00.125Z")))).toBe("2026-11-20T08:00:00.125Z");
  expect(valueText(dv(DataType.Double, new Float64Array([1.5, 2]), VariantArrayType.Array))).toBe("[1.5,2]");
});

test("VALUE text: a bad status or a null value is unknown", () => {
  expect(valueText(new DataValue({ value: new Variant({ dataType: DataType.Double, value: 1 }), statusCode: StatusCodes.BadSensorFailure }))).toBeNull();
  expect(valueText(new DataValue({ value: new Variant({ dataType: DataType.Null }), statusCode: StatusCodes.Good }))).toBeNull();
  // uncertain is still a value
  expect(valueText(new DataValue({ value: new Variant({ dataType: DataType.Double, value: 3 }), statusCode: StatusCodes.UncertainLastUsableValue }))).toBe("3");
});

test("event time: source timestamp, else server timestamp, else none (OPC UA's 1601 'no time' is none)", () => {
  const s = new Date("2026-11-20T08:00:00.125Z");
  const v = new Date("2026-11-20T08:00:01.000Z");
  expect(deviceTime({ sourceTimestamp: s, serverTimestamp: v })).toBe(s.getTime());
  expect(deviceTime({ sourceTimestamp: null, serverTimestamp: v })).toBe(v.getTime());
  expect(deviceTime({ sourceTimestamp: new Date("1601-01-01T00:00:00Z"), serverTimestamp: null })).toBeNull();
});

const param = (t: IrParam["type"], name = "x"): IrParam => ({ name, type: t });

test("arguments: wire text → the device's built-in type", () => {
  expect(toDeviceValue("50", DataType.Double, param({ t: "float" }))).toBe(50);
  expect(toDeviceValue("7", DataType.Int32, param({ t: "int" }))).toBe(7);
  expect(toDeviceValue("true", DataType.Boolean, param({ t: "bool" }))).toBe(true);
  expect(toDeviceValue("ACTIVE", DataType.String, param({ t: "enum", name: "Execution" }))).toBe("ACTIVE");
  expect(toDeviceValue("ACTIVE", DataType.Int32, param({ t: "enum", name: "Execution" }), (m) => (m === "ACTIVE" ? "1" : undefined))).toBe(1);
  expect(toDeviceValue("-2", DataType.Int64, param({ t: "int" }))).toEqual([0xffffffff, 0xfffffffe]);
  expect(() => toDeviceValue("1.5", DataType.Int32, param({ t: "float" }))).toThrow("argument x=1.5 is not Int32");
  expect(() => toDeviceValue("300", DataType.Byte, param({ t: "int" }))).toThrow("is not Byte");
  expect(() => toDeviceValue("READY", DataType.Int32, param({ t: "enum", name: "Execution" }))).toThrow("no map of this source gives READY's device value");
  expect(defaultDataType({ t: "float" }, "1")).toBe(DataType.Double);
  expect(defaultDataType({ t: "int" }, "1")).toBe(DataType.Int32);
  expect(defaultDataType({ t: "int" }, "9007199254740991")).toBe(DataType.Int64);
  expect(defaultDataType({ t: "bool" }, "true")).toBe(DataType.Boolean);
  expect(defaultDataType({ t: "enum", name: "E" }, "A")).toBe(DataType.String);
  expect(builtinOf(coerceNodeId("i=11"))).toBe(DataType.Double);
  expect(builtinOf(coerceNodeId("i=29"))).toBe(DataType.Int32); // Enumeration
  expect(builtinOf(coerceNodeId("ns=1;i=11"))).toBeNull();
});

test("scrubbing: plain and URL-encoded secrets", () => {
  expect(scrubText("user:p@ss w0rd and p%40ss%20w0rd", ["p@ss w0rd"])).toBe("user:*** and ***");
  // a user name inside the password does not leave the rest of the password behind
  expect(scrubText("operator7 / operator7pw", ["operator7", "operator7pw"])).toBe("*** / ***");
});
