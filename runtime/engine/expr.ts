// Runtime cells and the compilation of IrExpr into JS closures (compiled once per instance, at
// construction; no tree walking per event). Three-valued logic as in language.md §3.

import type { IrExpr, IrRef, Value } from "../../compiler/ir/types.js";

/** The shared evaluation context: the current time and the age-flip collector. */
export interface Rt {
  /** the time of the current pass: stream time, or the firing timer's deadline */
  now: number;
  /** the earliest future instant at which an `age` comparison evaluated in this node flips */
  nextFlip: number;
  /** the current pass number (a record or a timer firing) */
  pass: number;
}

/** Something re-evaluated when its inputs change; ranks follow a topological order. */
export interface NodeLike {
  rank: number;
  dirty: boolean;
}

/** A value holder: a telemetry signal, a state, an alarm's `.active`, or a view (dependents only). */
export class Cell {
  v: Value = null;
  /** the value before the latest change */
  prev: Value = null;
  /** the pass in which it last changed */
  changedPass = -1;
  /** signals: event time of the last report; states: time of the last change */
  reportTime = -Infinity;
  /** nodes to re-evaluate when the value changes */
  onChange: NodeLike[] = [];
  /** nodes to re-evaluate on every report, changed or not (age, window events) */
  onReport: NodeLike[] = [];
  constructor(
    readonly asset: AssetCells | null,
    /** the node computing it (for ranks); null for telemetry and views */
    readonly owner: NodeLike | null,
  ) {}
}

/** What expressions need to know about an asset. */
export interface AssetCells {
  name: string;
  uuid: string;
  attrs: Record<string, Value>;
  /** telemetry cell by name */
  tel: Map<string, Cell>;
  /** state cell by name */
  states: Map<string, Cell>;
  /** alarm `.active` cell by name */
  alarms: Map<string, Cell>;
  /** the last pass that touched the asset (`changed` is true while it equals a cell's changedPass) */
  lastPass: number;
  /** nodes re-evaluated on every pass touching the asset (users of `changed`) */
  passDeps: NodeLike[];
}

/** A view as expressions read it. */
export interface ViewCells {
  cell: Cell;
  grouped: boolean;
  /** the current value of a group (`null` key: the ungrouped view) */
  get(group: string | null): Value;
}

export interface Resolver {
  asset(name: string): AssetCells | undefined;
  view(name: string): ViewCells | undefined;
}

export interface Scope {
  self: AssetCells | null;
  /** rule-local hidden states, visible for `self` refs */
  locals: Map<string, Cell> | null;
  /** command parameters (for `requires`) */
  params: { names: string[]; box: Value[] } | null;
}

/** The inputs an expression reads, collected while compiling. */
export interface Deps {
  change: Cell[];
  report: Cell[];
  pass: AssetCells[];
}

export function newDeps(): Deps {
  return { change: [], report: [], pass: [] };
}

export type Fn = () => Value;

const NULL_FN: Fn = () => null;

function constFn(v: Value): Fn {
  return () => v;
}

/** Non-finite arithmetic results (x/0, sqrt(-1)) are unknown: NaN and ±Infinity never enter state. */
function fin(x: number): Value {
  return x - x === 0 ? x : null;
}

function resolveCell(ref: IrRef, scope: Scope, r: Resolver): Cell | null {
  let a: AssetCells | null | undefined = scope.self;
  if (ref.asset !== null) a = r.asset(ref.asset);
  switch (ref.kind) {
    case "signal":
      return a?.tel.get(ref.name) ?? null;
    case "state":
      if (ref.asset === null && scope.locals !== null) {
        const l = scope.locals.get(ref.name);
        if (l !== undefined) return l;
      }
      return a?.states.get(ref.name) ?? null;
    case "alarm":
      return a?.alarms.get(ref.name) ?? null;
    default:
      return null;
  }
}

/**
 * Compiles `e` for `scope` into a tree of closures, recording what it reads in `deps`.
 * Unresolvable references (which the checker rejects) evaluate to unknown. The reference
 * implementation: the engine uses the code generator of codegen.ts, checked against this one.
 */
export function compileTree(e: IrExpr, scope: Scope, deps: Deps, rt: Rt, r: Resolver): Fn {
  const c = (x: IrExpr): Fn => compileTree(x, scope, deps, rt, r);
  switch (e.k) {
    case "const":
      return constFn(e.value);
    case "ref": {
      if (e.kind === "attr") {
        const a = e.asset === null ? scope.self : r.asset(e.asset);
        const v = a?.attrs[e.name];
        return constFn(v === undefined ? null : v);
      }
      if (e.kind === "param") {
        const p = scope.params;
        if (p === null) return NULL_FN;
        const i = p.names.indexOf(e.name);
        if (i < 0) return NULL_FN;
        const box = p.box;
        return () => box[i]!;
      }
      const cell = resolveCell(e, scope, r);
      if (cell === null) return NULL_FN;
      deps.change.push(cell);
      return () => cell.v;
    }
    case "view": {
      const v = r.view(e.name);
      if (v === undefined) return NULL_FN;
      deps.change.push(v.cell);
      if (e.group === undefined) return () => v.get(null);
      const g = c(e.group);
      return () => {
        const k = g();
        return k === null ? null : v.get(String(k));
      };
    }
    case "unary": {
      const a = c(e.arg);
      if (e.op === "not")
        return () => {
          const x = a();
          return x === null ? null : !x;
        };
      return () => {
        const x = a();
        return x === null ? null : fin(-(x as number));
      };
    }
    case "binary":
      return compileBinary(e.op, c(e.left), c(e.right));
    case "scale": {
      const a = c(e.arg);
      const f = e.factor;
      return () => {
        const x = a();
        return x === null ? null : fin((x as number) * f);
      };
    }
    case "if": {
      const cond = c(e.cond);
      const t = c(e.then);
      const f = c(e.else);
      return () => (cond() === true ? t() : f());
    }
    case "call":
      return compileCall(e.fn, e.args.map(c));
    case "known": {
      const a = c(e.arg);
      return () => a() !== null;
    }
    case "previous": {
      const cell = resolveCell(e.ref, scope, r);
      if (cell === null) return NULL_FN;
      deps.change.push(cell);
      return () => cell.prev;
    }
    case "changed": {
      const cell = resolveCell(e.ref, scope, r);
      if (cell === null || cell.asset === null) return constFn(false);
      const a = cell.asset;
      deps.change.push(cell);
      deps.pass.push(a);
      return () => cell.changedPass === a.lastPass;
    }
    case "age_cmp": {
      const cell = resolveCell(e.ref, scope, r);
      if (cell === null) return NULL_FN;
      deps.report.push(cell);
      const d = c(e.duration);
      const op = e.op;
      return () => {
        const last = cell.reportTime;
        const dv = d();
        if (last === -Infinity || dv === null) return null;
        const T = last + (dv as number);
        const now = rt.now;
        // the instants at which the comparison can flip: ceil(T) for >=/<, floor(T)+1 for >/<=
        const up = Math.ceil(T);
        const after = Math.floor(T) + 1;
        let res: boolean;
        let flip = Infinity;
        switch (op) {
          case "gt":
            res = now > T;
            if (now < after) flip = after;
            break;
          case "le":
            res = now <= T;
            if (now < after) flip = after;
            break;
          case "ge":
            res = now >= T;
            if (now < up) flip = up;
            break;
          case "lt":
            res = now < T;
            if (now < up) flip = up;
            break;
          case "eq":
          case "ne":
            res = op === "eq" ? now === T : now !== T;
            if (now < up) flip = up;
            else if (now < after) flip = after;
            break;
        }
        if (flip < rt.nextFlip) rt.nextFlip = flip;
        return res;
      };
    }
  }
}

function compileBinary(op: string, a: Fn, b: Fn): Fn {
  switch (op) {
    case "and":
      return () => {
        const x = a();
        if (x === false) return false;
        const y = b();
        if (y === false) return false;
        return x === null || y === null ? null : true;
      };
    case "or":
      return () => {
        const x = a();
        if (x === true) return true;
        const y = b();
        if (y === true) return true;
        return x === null || y === null ? null : false;
      };
    case "eq":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        return y === null ? null : x === y;
      };
    case "ne":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        return y === null ? null : x !== y;
      };
    case "lt":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        return y === null ? null : x < y;
      };
    case "le":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        return y === null ? null : x <= y;
      };
    case "gt":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        return y === null ? null : x > y;
      };
    case "ge":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        return y === null ? null : x >= y;
      };
    case "add":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        if (y === null) return null;
        if (typeof x === "string" || typeof y === "string") return String(x) + String(y);
        return fin((x as number) + (y as number));
      };
    case "sub":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        return y === null ? null : fin((x as number) - (y as number));
      };
    case "mul":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        return y === null ? null : fin((x as number) * (y as number));
      };
    case "div":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        return y === null ? null : fin((x as number) / (y as number));
      };
    case "mod":
      return () => {
        const x = a();
        if (x === null) return null;
        const y = b();
        return y === null ? null : fin((x as number) % (y as number));
      };
  }
  return NULL_FN;
}

function num1(a: Fn, f: (x: number) => number): Fn {
  return () => {
    const x = a();
    return x === null ? null : fin(f(x as number));
  };
}

function compileCall(fn: string, args: Fn[]): Fn {
  const [a, b, c] = args;
  switch (fn) {
    case "abs":
      return a ? num1(a, Math.abs) : NULL_FN;
    case "round":
      // half away from zero (Math.round rounds -2.5 to -2)
      return a ? num1(a, (x) => (x < 0 ? -Math.round(-x) : Math.round(x))) : NULL_FN;
    case "floor":
      return a ? num1(a, Math.floor) : NULL_FN;
    case "ceil":
      return a ? num1(a, Math.ceil) : NULL_FN;
    case "sqrt":
      return a ? num1(a, Math.sqrt) : NULL_FN;
    case "pow":
      if (!a || !b) return NULL_FN;
      return () => {
        const x = a();
        const y = b();
        return x === null || y === null ? null : fin(Math.pow(x as number, y as number));
      };
    case "min":
    case "max": {
      if (args.length === 0) return NULL_FN;
      const isMin = fn === "min";
      return () => {
        // every argument is evaluated (age flips in any of them are registered)
        const xs = args.map((f) => f());
        let best: Value = null;
        for (const x of xs) {
          if (x === null) return null;
          if (best === null || (isMin ? x < best : x > best)) best = x;
        }
        return best;
      };
    }
    case "clamp":
      if (!a || !b || !c) return NULL_FN;
      return () => {
        const x = a();
        const lo = b();
        const hi = c();
        if (x === null || lo === null || hi === null) return null;
        return x < lo ? lo : x > hi ? hi : x;
      };
  }
  return NULL_FN;
}

// ---------------------------------------------------------------- describing IR (reasons)

const OPS: Record<string, [string, number]> = {
  or: ["or", 1],
  and: ["and", 2],
  eq: ["==", 4],
  ne: ["!=", 4],
  lt: ["<", 4],
  le: ["<=", 4],
  gt: [">", 4],
  ge: [">=", 4],
  add: ["+", 5],
  sub: ["-", 5],
  mul: ["*", 6],
  div: ["/", 6],
  mod: ["%", 6],
};

function refText(r: IrRef): string {
  const m = r.kind === "alarm" ? `${r.name}.active` : r.name;
  return r.asset === null ? m : `${r.asset}.${m}`;
}

function valueSrc(v: Value): string {
  if (typeof v === "string") return v;
  return String(v);
}

/**
 * OFL-like source text of an expression, for rejection reasons (the IR keeps no source text;
 * units are gone, so quantities print as plain numbers in the declared unit).
 */
export function describeExpr(e: IrExpr, prec = 0): string {
  const wrap = (s: string, p: number): string => (p < prec ? `(${s})` : s);
  switch (e.k) {
    case "const":
      return valueSrc(e.value);
    case "ref":
      return refText(e);
    case "view":
      return e.group === undefined ? e.name : `${e.name}[${describeExpr(e.group)}]`;
    case "unary":
      return e.op === "not" ? wrap(`not ${describeExpr(e.arg, 3)}`, 3) : wrap(`-${describeExpr(e.arg, 7)}`, 7);
    case "binary": {
      const [sym, p] = OPS[e.op]!;
      return wrap(`${describeExpr(e.left, p)} ${sym} ${describeExpr(e.right, p + 1)}`, p);
    }
    case "scale":
      return e.arg.k === "const" && typeof e.arg.value === "number"
        ? valueSrc(e.arg.value * e.factor)
        : describeExpr(e.arg, prec);
    case "if":
      return wrap(`if ${describeExpr(e.cond)} then ${describeExpr(e.then)} else ${describeExpr(e.else)}`, 0);
    case "call":
      return `${e.fn}(${e.args.map((a) => describeExpr(a)).join(", ")})`;
    case "known":
      return `known(${describeExpr(e.arg)})`;
    case "previous":
      return `previous(${refText(e.ref)})`;
    case "changed":
      return `changed(${refText(e.ref)})`;
    case "age_cmp": {
      const sym = OPS[e.op]![0];
      const d = e.duration.k === "const" && typeof e.duration.value === "number" ? `${e.duration.value}ms` : describeExpr(e.duration, 5);
      return wrap(`age(${refText(e.ref)}) ${sym} ${d}`, 4);
    }
  }
}
