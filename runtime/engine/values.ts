// Telemetry value grammar (language.md §7.5) and value ↔ text conversions used by the engine.
// Hot path: parseTelemetryValue runs once per telemetry record, so it avoids regexes and
// allocates only when it rejects.

import type { IrRange, IrType, Value } from "../../compiler/ir/types.js";
import type { DeadLetterReason } from "../wire/types.js";
import { parseTime } from "../wire/records.js";

/** Why a raw value was refused: a dead-letter reason and a human detail. */
export class Rejection {
  constructor(
    readonly reason: DeadLetterReason,
    readonly detail: string,
  ) {}
}

/**
 * Whether `s` is exactly a JSON number (RFC 8259 §6): `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
 * No whitespace, no leading `+`, no hex, no `.5`, no `5.`.
 */
export function isJsonNumber(s: string): boolean {
  const n = s.length;
  let i = 0;
  if (n === 0) return false;
  let c = s.charCodeAt(0);
  if (c === 45 /* - */) {
    i++;
    if (i === n) return false;
    c = s.charCodeAt(i);
  }
  if (c === 48 /* 0 */) {
    i++;
  } else if (c >= 49 && c <= 57) {
    i++;
    while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) i++;
  } else return false;
  if (i < n && s.charCodeAt(i) === 46 /* . */) {
    i++;
    const start = i;
    while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) i++;
    if (i === start) return false;
  }
  if (i < n && ((c = s.charCodeAt(i)) === 101 || c === 69) /* e E */) {
    i++;
    if (i < n && ((c = s.charCodeAt(i)) === 43 || c === 45)) i++;
    const start = i;
    while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) i++;
    if (i === start) return false;
  }
  return i === n;
}

function typeName(t: IrType): string {
  switch (t.t) {
    case "enum":
      return t.name;
    case "int":
    case "float":
      return t.unit ? `${t.t}<${t.unit}>` : t.t;
    default:
      return t.t;
  }
}

function quote(raw: string): string {
  return JSON.stringify(raw.length > 60 ? raw.slice(0, 57) + "..." : raw);
}

/** Raw device value → enum member, per binding `map`; built once per (asset, signal). */
export type EnumMap = Map<string, string>;

/**
 * Parses a telemetry VALUE text as the declared type. Returns the value (null for `UNAVAILABLE`)
 * or a Rejection whose reason is the first that applies of `wrong_type`, `not_finite`,
 * `out_of_range` (`unknown_asset`/`unknown_signal` are the caller's).
 *
 * `members`: the enum's member names (for enum types); `map`: the binding's device-value map.
 */
export function parseTelemetryValue(
  type: IrType,
  range: IrRange | undefined,
  raw: string,
  members?: ReadonlySet<string>,
  map?: EnumMap,
): Value | Rejection {
  if (raw === "UNAVAILABLE") return null;
  switch (type.t) {
    case "float":
    case "int":
    case "duration": {
      let v: number;
      if (isJsonNumber(raw)) {
        v = Number(raw);
        if (!Number.isFinite(v)) return new Rejection("not_finite", `${quote(raw)} overflows a double`);
        if (type.t === "int" && !Number.isSafeInteger(v)) {
          return new Rejection("wrong_type", `${quote(raw)} is not an int`);
        }
      } else if (raw === "NaN" || raw === "Infinity" || raw === "-Infinity") {
        return new Rejection("not_finite", `${raw} is not a finite number`);
      } else {
        return new Rejection("wrong_type", `${quote(raw)} is not a ${typeName(type)}`);
      }
      if (range !== undefined && (v < range[0] || v > range[1])) {
        return new Rejection("out_of_range", `${raw} is outside ${range[0]}..${range[1]}`);
      }
      return v;
    }
    case "bool":
      if (raw === "true") return true;
      if (raw === "false") return false;
      return new Rejection("wrong_type", `${quote(raw)} is not a bool (true or false)`);
    case "string":
      return raw;
    case "enum": {
      if (members !== undefined && members.has(raw)) return raw;
      if (map !== undefined) {
        const m = map.get(raw);
        if (m !== undefined) return m;
      }
      if (members === undefined) return raw; // enum not declared: accept names as given
      return new Rejection("wrong_type", `${quote(raw)} is not a member of ${type.name}`);
    }
    case "timestamp": {
      if (isJsonNumber(raw)) {
        const v = Number(raw);
        if (!Number.isFinite(v)) return new Rejection("not_finite", `${quote(raw)} overflows a double`);
        return v;
      }
      if (raw === "NaN" || raw === "Infinity" || raw === "-Infinity") {
        return new Rejection("not_finite", `${raw} is not a finite time`);
      }
      const t = parseTime(raw);
      if (t === null) return new Rejection("wrong_type", `${quote(raw)} is not a timestamp`);
      return t;
    }
  }
}

/** Whether a state of this type is written as `Samples` (numbers) rather than `Events`. */
export function isSampleType(t: IrType): boolean {
  return t.t === "int" || t.t === "float" || t.t === "duration" || t.t === "timestamp";
}

/** A value as wire text: numbers in their shortest JS form, bools `true`/`false`, unknown `UNAVAILABLE`. */
export function valueText(v: Value): string {
  if (v === null) return "UNAVAILABLE";
  if (typeof v === "string") return v;
  return String(v);
}
