// Checker types: units as (dimensions, scale) and the type lattice of expressions.

/**
 * A unit resolved to base dimensions and a linear scale to those base units.
 * Unitless is `{ dims: {}, scale: 1 }`. Two units convert when their `key`s are equal.
 */
export interface Unit {
  dims: Readonly<Record<string, number>>;
  scale: number;
  /** as written, or derived (in OFL syntax, its named units' powers summed: `l/min`, `kW*s`, `degC^-1`), for messages and fix-its */
  text: string;
  /** canonical dimension key: `l^1*s^-1` ("" when unitless) */
  key: string;
  /** the named units it is made of, with their powers (what a derived text is written from) */
  factors: Readonly<Record<string, number>>;
}

export function dimsKey(dims: Readonly<Record<string, number>>): string {
  return Object.keys(dims)
    .filter((d) => dims[d] !== 0)
    .sort()
    .map((d) => `${d}^${dims[d]}`)
    .join("*");
}

/** A unit; `factors` default: `text` is one named unit (`degC`, `kW`). */
export function makeUnit(dims: Record<string, number>, scale: number, text: string, factors: Readonly<Record<string, number>> = text ? { [text]: 1 } : {}): Unit {
  const clean: Record<string, number> = {};
  for (const d of Object.keys(dims).sort()) if (dims[d] !== 0) clean[d] = dims[d]!;
  return { dims: clean, scale, text, key: dimsKey(clean), factors };
}

/** Named units and powers as OFL unit syntax: `kW*h`, `l/min/degC`, `m/s^2`; only negative powers: `degC^-1`. */
export function factorsText(factors: Readonly<Record<string, number>>): string {
  const fs = Object.entries(factors);
  const pos = fs.filter(([, p]) => p > 0).map(([n, p]) => (p === 1 ? n : `${n}^${p}`));
  const neg = fs.filter(([, p]) => p < 0);
  if (pos.length === 0) return neg.map(([n, p]) => `${n}^${p}`).join("*");
  return pos.join("*") + neg.map(([n, p]) => (p === -1 ? `/${n}` : `/${n}^${-p}`)).join("");
}

export const UNITLESS: Unit = makeUnit({}, 1, "");
/** Durations are held in milliseconds: a quantity in a time unit is a duration. */
export const MILLIS: Unit = makeUnit({ s: 1 }, 0.001, "ms");

export function isUnitless(u: Unit): boolean {
  return u.key === "";
}
export function isTimeUnit(u: Unit): boolean {
  return u.key === MILLIS.key;
}

export function mulUnits(a: Unit, b: Unit, sign: 1 | -1): Unit {
  const dims: Record<string, number> = { ...a.dims };
  for (const [d, p] of Object.entries(b.dims)) dims[d] = (dims[d] ?? 0) + sign * p;
  if (isUnitless(b) && b.scale === 1) return a;
  // the named units' powers summed: `flow / temp * temp` is in l/min again, not `l/min/degC*degC`
  const factors: Record<string, number> = { ...a.factors };
  for (const [n, p] of Object.entries(b.factors)) factors[n] = (factors[n] ?? 0) + sign * p;
  for (const n of Object.keys(factors)) if (factors[n] === 0) delete factors[n];
  const scale = sign === 1 ? a.scale * b.scale : a.scale / b.scale;
  const u = makeUnit(dims, scale, factorsText(factors), factors);
  return u.key === "" && scale === 1 ? UNITLESS : u;
}

/** Factor that converts a value in `from` into `to` (same key assumed). */
export function conversionFactor(from: Unit, to: Unit): number {
  const f = from.scale / to.scale;
  // keep exact factors exact: 1000 * 0.001 style round-off is removed
  const r = Math.round(f * 1e12) / 1e12;
  return Math.abs(r - f) < 1e-15 * Math.abs(f) + 1e-18 ? r : f;
}

export type Ty =
  | { k: "bool" }
  | { k: "string" }
  | { k: "timestamp" }
  /** int/float with a unit; `dur` marks durations (declared `duration`, duration literals) */
  | { k: "num"; int: boolean; unit: Unit; dur?: boolean }
  | { k: "enum"; name: string }
  /** an asset named as a value (`mill1`): only its members can be read */
  | { k: "asset"; asset: string; model: string }
  /** an alarm named without `.active` */
  | { k: "alarm"; name: string }
  /** an enum type name (`Execution` in `Execution.ACTIVE`) */
  | { k: "enumType"; name: string }
  /** a grouped view named without its index */
  | { k: "groupedView"; name: string; elem: Ty; key: Ty }
  /** the `unavailable` literal */
  | { k: "unknown" }
  /** an error was already reported: suppresses cascades */
  | { k: "error" };

export const BOOL: Ty = { k: "bool" };
export const STRING: Ty = { k: "string" };
export const TIMESTAMP: Ty = { k: "timestamp" };
export const ERROR: Ty = { k: "error" };
export const INT: Ty = { k: "num", int: true, unit: UNITLESS };
export const FLOAT: Ty = { k: "num", int: false, unit: UNITLESS };
export const DURATION: Ty = { k: "num", int: false, unit: MILLIS, dur: true };

export function num(int: boolean, unit: Unit): Ty {
  return isTimeUnit(unit) && unit.scale === MILLIS.scale ? { k: "num", int, unit, dur: true } : { k: "num", int, unit };
}

export function tyText(t: Ty): string {
  switch (t.k) {
    case "num":
      if (t.dur) return "duration";
      return `${t.int ? "int" : "float"}${isUnitless(t.unit) ? "" : `<${t.unit.text}>`}`;
    case "enum":
      return t.name;
    case "asset":
      return `asset ${t.asset}`;
    case "alarm":
      return `alarm ${t.name} (read \`${t.name}.active\`)`;
    case "enumType":
      return `enum type ${t.name}`;
    case "groupedView":
      return `grouped view ${t.name} (read \`${t.name}[key]\`)`;
    case "unknown":
      return "unavailable";
    case "error":
      return "an invalid expression";
    default:
      return t.k;
  }
}

/** Whether a value of type `from` can stand where `to` is expected (after unit conversion). */
export function assignable(from: Ty, to: Ty): boolean {
  if (from.k === "error" || to.k === "error") return true;
  if (from.k === "num" && to.k === "num") {
    if (from.unit.key !== to.unit.key) return false;
    if (to.int && !from.int) return false;
    return true;
  }
  if (from.k === "enum" && to.k === "enum") return from.name === to.name;
  return from.k === to.k && (from.k === "bool" || from.k === "string" || from.k === "timestamp");
}
