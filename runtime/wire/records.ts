// The edge between raw records (wire.md §1-§3) and typed WireEvents, and the builders that
// produce record values. Hot path: classify() runs once per input record, so it avoids regexes
// and allocations beyond the event itself.

import {
  ASSETS_TOPIC,
  DEADLETTER_TOPIC,
  type AssetValue,
  type CommandEnvelope,
  type CommandResult,
  type DeadLetterReason,
  type DeadLetterValue,
  type LogRecord,
  type WireEvent,
} from "./types.js";

export { ASSETS_TOPIC, DEADLETTER_TOPIC };

// ---------------------------------------------------------------------------------------------
// Time

/** ms since the epoch → ISO-8601 UTC with milliseconds, e.g. "2026-11-20T08:00:15.000Z". */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * isoTime for a stream of times that mostly share their second (a replay, the engine's outputs):
 * Date#toISOString per record was ~8 % of a pass, so the text up to the second is cached and the
 * milliseconds appended. Whole ms in years 0000–9999 (toISOString's fixed form); else isoTime.
 */
export class IsoTimes {
  private ms = NaN;
  private text = "";
  private sec = NaN;
  private prefix = "";

  of(ms: number): string {
    if (ms === this.ms) return this.text;
    this.ms = ms;
    const sec = Math.floor(ms / 1000);
    const m = ms - sec * 1000;
    if (sec === this.sec && Number.isInteger(m)) {
      this.text = this.prefix + (m < 10 ? "00" : m < 100 ? "0" : "") + m + "Z";
    } else {
      this.text = isoTime(ms);
      if (Number.isInteger(ms) && ms >= -62167219200000 && ms < 253402300800000) {
        this.sec = sec;
        this.prefix = this.text.slice(0, 20);
      } else this.sec = NaN;
    }
    return this.text;
  }
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function dig(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1000; // poisons any sum it enters
}

function validDate(y: number, mo: number, d: number, h: number, mi: number, sec: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return false;
  const dim = mo === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[mo]!;
  return d <= dim;
}

const ISO_FALLBACK =
  /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * ISO-8601 text → ms since the epoch, or null. Fast path for `YYYY-MM-DDThh:mm:ss(.f+)Z`;
 * other ISO forms (offsets, no seconds, date only, space separator) take a slower path. A time
 * without a zone is read as UTC (never local time: replays must not depend on the machine).
 * Fractions beyond milliseconds are truncated.
 */
export function parseTime(s: string): number | null {
  const n = s.length;
  if (
    n >= 20 &&
    s.charCodeAt(4) === 45 /* - */ &&
    s.charCodeAt(7) === 45 &&
    s.charCodeAt(10) === 84 /* T */ &&
    s.charCodeAt(13) === 58 /* : */ &&
    s.charCodeAt(16) === 58 &&
    s.charCodeAt(n - 1) === 90 /* Z */
  ) {
    const y = dig(s, 0) * 1000 + dig(s, 1) * 100 + dig(s, 2) * 10 + dig(s, 3);
    const mo = dig(s, 5) * 10 + dig(s, 6);
    const d = dig(s, 8) * 10 + dig(s, 9);
    const h = dig(s, 11) * 10 + dig(s, 12);
    const mi = dig(s, 14) * 10 + dig(s, 15);
    const sec = dig(s, 17) * 10 + dig(s, 18);
    let ms = 0;
    let ok = y >= 0 && mo >= 0 && d >= 0 && h >= 0 && mi >= 0 && sec >= 0;
    if (ok && n > 20) {
      // ".f+" before the Z
      if (s.charCodeAt(19) !== 46 /* . */ || n === 21) ok = false;
      else {
        let scale = 100;
        for (let i = 20; i < n - 1; i++) {
          const c = dig(s, i);
          if (c < 0) {
            ok = false;
            break;
          }
          if (scale >= 1) {
            ms += c * scale;
            scale /= 10;
          }
        }
      }
    }
    if (ok && validDate(y, mo, d, h, mi, sec)) {
      return daysFromCivil(y, mo, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms;
    }
    // fall through: the slow path gives the definitive answer
  }
  return parseTimeSlow(s);
}

function parseTimeSlow(s: string): number | null {
  const m = ISO_FALLBACK.exec(s.trim());
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = m[4] === undefined ? 0 : Number(m[4]);
  const mi = m[5] === undefined ? 0 : Number(m[5]);
  const sec = m[6] === undefined ? 0 : Number(m[6]);
  if (!validDate(y, mo, d, h, mi, sec)) return null;
  const frac = m[7] === undefined ? 0 : Number((m[7] + "00").slice(0, 3));
  let offsetMin = 0;
  const z = m[8];
  if (z !== undefined && z !== "Z" && z !== "z") {
    const sign = z[0] === "-" ? -1 : 1;
    const digits = z.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMin = sign * (oh * 60 + om);
  }
  return daysFromCivil(y, mo, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000 + frac - offsetMin * 60_000;
}

// ---------------------------------------------------------------------------------------------
// Time from the future (language spec §7.6)

/** How far a telemetry record's event time may be ahead of its receive time by default (5 min). */
export const DEFAULT_FUTURE_TOLERANCE_MS = 5 * 60_000;

/**
 * Whether a telemetry record is dead-lettered `future_time` (language spec §7.6): its event time
 * is more than `toleranceMs` ahead of its receive time, the record's `ts` (a live source stamps
 * it when it appends the record). Exactly `toleranceMs` ahead is accepted. Only values on the
 * record decide, so a replay of the log repeats the decision. A `ts` that is not a finite number
 * (never the case on a log: appends require one) decides nothing.
 */
export function isFutureTime(eventTime: number, receivedTs: number, toleranceMs: number = DEFAULT_FUTURE_TOLERANCE_MS): boolean {
  return eventTime - receivedTs > toleranceMs;
}

/** The `future_time` dead letter's detail: both times, how far ahead, the tolerance. */
export function futureTimeDetail(eventTime: number, receivedTs: number, toleranceMs: number): string {
  return `event time ${isoTime(eventTime)} is ${distanceText(eventTime - receivedTs)} ahead of its receive time ${isoTime(receivedTs)} (tolerance ${durationText(toleranceMs)})`;
}

/**
 * A distance for people: exact (`durationText`), and from a minute on, when that is not in the
 * largest unit that fits, roughly in that unit too: `94607999997ms (about 1095d)`, `90s (about 1.5m)`.
 */
export function distanceText(ms: number): string {
  const exact = durationText(ms);
  for (const [u, n] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000]] as const) {
    if (ms < n) continue;
    if (exact.endsWith(u)) return exact;
    const v = ms / n;
    return `${exact} (about ${v < 10 ? v.toFixed(1).replace(/\.0$/, "") : Math.round(v)}${u})`;
  }
  return exact;
}

/** ms → the largest exact unit of the language (`5m`, `1500ms`, `2d`). */
export function durationText(ms: number): string {
  for (const [u, n] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms !== 0 && ms % n === 0) return `${ms / n}${u}`;
  }
  return `${ms}ms`;
}

// ---------------------------------------------------------------------------------------------
// Classification

/** A field by name in any case: `ID`, `id`, `Id`… (wire.md §1). Exact upper and lower case first. */
function field(v: Record<string, unknown>, upper: string, lower: string): unknown {
  let x = v[upper];
  if (x !== undefined) return x;
  x = v[lower];
  if (x !== undefined) return x;
  for (const k in v) {
    if (k.length === lower.length && k.toLowerCase() === lower) return v[k];
  }
  return undefined;
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (typeof x === "object") return "an object";
  if (typeof x === "string") return `the string ${JSON.stringify(x.length > 60 ? x.slice(0, 57) + "..." : x)}`;
  return `${typeof x} ${String(x)}`;
}

function bad(rec: LogRecord, detail: string): WireEvent {
  return { kind: "bad", partition: rec.partition, offset: rec.offset, key: rec.key, detail, record: rec };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** A JSON VALUE: the text parsed, or an object given directly (lenient: some producers do). */
function jsonValue(value: unknown): { ok: true; v: unknown } | { ok: false; why: string } {
  if (typeof value === "string") {
    try {
      return { ok: true, v: JSON.parse(value) };
    } catch (e) {
      return { ok: false, why: `VALUE is not JSON (${(e as Error).message})` };
    }
  }
  return { ok: true, v: value };
}

/** Whether a record with this ID, TAG and TYPE (and a text VALUE) is telemetry: not a clock tick, availability, derived value, command or result. */
export function isTelemetryKind(id: string, tag: string, type: string): boolean {
  return (type === "Samples" || type === "Events") && tag !== "Derived" && tag !== "Method.Command" && tag !== "Method.Result" && id !== "avail" && id !== "clock";
}

/**
 * Classifies a log record by what it means (wire.md §1, §3, §4). Never throws: anything that is
 * not an object with an ID, a string-ish VALUE and a parseable `attributes.timestamp` is
 * `{kind: "bad", detail}`. Records on `ofl_deadletter` are `{kind: "deadletter"}`. `stampMs`:
 * the ms of `attributes.timestamp` when the caller already has them (a session's columns), so the
 * stamp is not parsed again.
 */
export function classify(rec: LogRecord, stampMs?: number): WireEvent {
  const v = rec.value;
  if (rec.topic === DEADLETTER_TOPIC) return classifyDeadLetter(rec);
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return bad(rec, `value is not a JSON object (got ${describe(v)})`);
  }
  const o = v as Record<string, unknown>;
  const id = field(o, "ID", "id");
  if (typeof id !== "string" || id.length === 0) {
    return bad(rec, id === undefined ? "missing ID" : `ID must be a non-empty string (got ${describe(id)})`);
  }
  let value = field(o, "VALUE", "value");
  const vt = typeof value;
  if (vt !== "string") {
    if (vt === "number" || vt === "boolean") value = String(value);
    else if (value === undefined) return bad(rec, `missing VALUE (ID ${JSON.stringify(id)})`);
    else if (!isObject(value)) return bad(rec, `VALUE must be a string (got ${describe(value)}; ID ${JSON.stringify(id)})`);
    // an object VALUE is accepted for envelopes/results/descriptions only; checked below
  }
  const attrs = field(o, "attributes", "attributes");
  if (!isObject(attrs)) {
    return bad(rec, attrs === undefined ? "missing attributes.timestamp" : `attributes must be an object (got ${describe(attrs)})`);
  }
  const stamp = field(attrs, "timestamp", "timestamp");
  if (typeof stamp !== "string") {
    return bad(rec, stamp === undefined ? "missing attributes.timestamp" : `attributes.timestamp must be a string (got ${describe(stamp)})`);
  }
  const time = stampMs ?? parseTime(stamp);
  if (time === null) return bad(rec, `attributes.timestamp is not an ISO-8601 time (${JSON.stringify(stamp)})`);
  const tagRaw = field(o, "TAG", "tag");
  const typeRaw = field(o, "TYPE", "type");
  const tag = typeof tagRaw === "string" ? tagRaw : "";
  const type = typeof typeRaw === "string" ? typeRaw : "";
  const key = rec.key ?? "";
  const partition = rec.partition;
  const offset = rec.offset;

  // the common case first: telemetry (not a special ID, TAG or TYPE)
  if (typeof value === "string" && isTelemetryKind(id, tag, type)) {
    return { kind: "telemetry", partition, offset, key, time, record: rec, id, value, tag, type };
  }

  if (id === "clock" && tag === "Clock") return { kind: "clock", partition, offset, key, time, record: rec };
  if (id === "avail") {
    if (value === "AVAILABLE" || value === "UNAVAILABLE") {
      return { kind: "avail", partition, offset, key, time, record: rec, available: value === "AVAILABLE" };
    }
    return bad(rec, `avail VALUE must be AVAILABLE or UNAVAILABLE (got ${describe(value)})`);
  }
  if (tag === "Method.Command") {
    if (!id.endsWith("_CMD") || id.length === 4) return bad(rec, `a Method.Command record needs an ID <command>_CMD (got ${JSON.stringify(id)})`);
    const command = id.slice(0, -4);
    const j = jsonValue(value);
    if (!j.ok) return bad(rec, `${id}: ${j.why}`);
    const env = j.v;
    if (!isObject(env) || !isObject(env.header)) return bad(rec, `${id}: the command envelope has no header object`);
    const h = env.header;
    if (typeof h.correlation_id !== "string") return bad(rec, `${id}: the command envelope has no header.correlation_id`);
    let envelope = env as unknown as CommandEnvelope;
    if (env.arguments === undefined || env.arguments === null) envelope = { ...envelope, arguments: {} };
    else if (!isObject(env.arguments)) return bad(rec, `${id}: the command envelope's arguments must be an object`);
    const rule = h.rule;
    if (rule === undefined || rule === null || rule === "operator") {
      return { kind: "operator_command", partition, offset, key, time, record: rec, command, envelope };
    }
    return { kind: "command", partition, offset, key, time, record: rec, command, envelope };
  }
  if (tag === "Method.Result" && id.endsWith("_RESULT") && id.length > 7) {
    const command = id.slice(0, -7);
    const j = jsonValue(value);
    if (!j.ok) return bad(rec, `${id}: ${j.why}`);
    const r = j.v;
    if (!isObject(r) || typeof r.correlation_id !== "string") return bad(rec, `${id}: the command result has no correlation_id`);
    if (r.status !== "completed" && r.status !== "rejected" && r.status !== "failed") {
      return bad(rec, `${id}: the command result's status must be completed, rejected or failed (got ${describe(r.status)})`);
    }
    return { kind: "command_result", partition, offset, key, time, record: rec, command, result: r as unknown as CommandResult };
  }
  if (type === "Method") {
    return { kind: "command_description", partition, offset, key, time, record: rec, command: id };
  }
  if (typeof value !== "string") return bad(rec, `VALUE must be a string (got ${describe(value)}; ID ${JSON.stringify(id)})`);
  if (tag === "Derived") return { kind: "derived", partition, offset, key, time, record: rec, id, value };
  // OFL's alarm transitions (TAG `Alarm`) are outputs; any other Condition record is a device's
  // MTConnect Condition data item (an OpenFactory connector writes them): telemetry, bindable
  if (type === "Condition" && tag === "Alarm") return { kind: "alarm", partition, offset, key, time, record: rec, id, value };
  return { kind: "telemetry", partition, offset, key, time, record: rec, id, value, tag, type };
}

function classifyDeadLetter(rec: LogRecord): WireEvent {
  const v = rec.value;
  if (!isObject(v)) return bad(rec, `dead letter value is not a JSON object (got ${describe(v)})`);
  if (typeof v.reason !== "string") return bad(rec, "dead letter has no reason");
  return {
    kind: "deadletter",
    partition: rec.partition,
    offset: rec.offset,
    key: rec.key,
    time: rec.ts,
    reason: v.reason,
    detail: typeof v.detail === "string" ? v.detail : "",
    original: v.record,
    source: typeof v.source === "string" ? v.source : "",
    record: rec,
  };
}

/**
 * Whether an event is telemetry the engine dead-letters `future_time` (language spec §7.6): it
 * must not bound a time-travel prefix or a test's end time (it never moves stream time).
 * `toleranceMs`: the program's `futureToleranceMs` (undefined: the default).
 */
export function isFutureRecord(e: WireEvent, toleranceMs: number | undefined): boolean {
  return e.kind === "telemetry" && isFutureTime(e.time, e.record.ts, toleranceMs ?? DEFAULT_FUTURE_TOLERANCE_MS);
}

/** Whether an event is an input of the engine (wire.md §4): telemetry, avail, clock, operator commands. */
export function isInput(e: WireEvent): boolean {
  const k = e.kind;
  return k === "telemetry" || k === "avail" || k === "clock" || k === "operator_command";
}

// ---------------------------------------------------------------------------------------------
// Builders. Times are ms in, ISO strings with milliseconds out.

function assetValue(ID: string, VALUE: string, TAG: string, TYPE: string, timeMs: number): AssetValue {
  return { ID, VALUE, TAG, TYPE, attributes: { timestamp: isoTime(timeMs) } };
}

/** A telemetry value; numbers and bools become their JSON text. */
export function telemetryValue(id: string, value: string | number | boolean, tag: string, type: string, timeMs: number): AssetValue {
  return assetValue(id, typeof value === "string" ? value : String(value), tag, type, timeMs);
}

/** A derived state value: TYPE `Samples` when `isSample` (numbers) else `Events`, TAG `Derived`. */
export function derivedValue(id: string, value: string | number | boolean, isSample: boolean, timeMs: number): AssetValue {
  return assetValue(id, typeof value === "string" ? value : String(value), "Derived", isSample ? "Samples" : "Events", timeMs);
}

export function alarmValue(id: string, state: "ACTIVE" | "NORMAL" | "ACKNOWLEDGED", timeMs: number): AssetValue {
  return assetValue(id, state, "Alarm", "Condition", timeMs);
}

export function commandValue(command: string, envelope: CommandEnvelope, timeMs: number): AssetValue {
  return assetValue(`${command}_CMD`, JSON.stringify(envelope), "Method.Command", "OpenFactory", timeMs);
}

export function resultValue(command: string, result: CommandResult, timeMs: number): AssetValue {
  return assetValue(`${command}_RESULT`, JSON.stringify(result), "Method.Result", "OpenFactory", timeMs);
}

/** A clock tick; the record key should be the runtime's own uuid. */
export function clockValue(timeMs: number): AssetValue {
  const iso = isoTime(timeMs);
  return { ID: "clock", VALUE: iso, TAG: "Clock", TYPE: "OpenFactory", attributes: { timestamp: iso } };
}

export function availValue(available: boolean, timeMs: number): AssetValue {
  return assetValue("avail", available ? "AVAILABLE" : "UNAVAILABLE", "Availability", "Events", timeMs);
}

/**
 * A command offered by an asset (TYPE `Method`). The wire needs a timestamp; `timeMs` (an OFL
 * addition, optional) defaults to 0, i.e. 1970-01-01T00:00:00.000Z.
 */
export function descriptionValue(
  command: string,
  description: string,
  args: { name: string; description: string }[],
  timeMs = 0,
): AssetValue {
  return assetValue(command, JSON.stringify({ description, arguments: args }), "Method", "Method", timeMs);
}

export function deadLetterValue(reason: DeadLetterReason, detail: string, record: unknown, source: string): DeadLetterValue {
  return { reason, detail, record, source };
}
