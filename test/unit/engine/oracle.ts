// The test oracle: IrExpr compiled into a tree of closures, the reference the code generator
// of runtime/engine/codegen.ts is cross-checked against (test/unit/engine/codegen.test.ts).
// Three-valued logic as in language.md §3. It lives in test/: the runtime ships only the
// generated-code compiler.

import type { IrExpr, IrRef, Value } from "../../../compiler/ir/types.js";
import type { AssetCells, Cell, Deps, Fn, Resolver, Rt, Scope } from "../../../runtime/engine/cells.js";

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
      // language.md §3: `age(x)` is the time since x last reported (unknown before the first
      // report), compared with a duration; §5: time has millisecond resolution, and an `age`
      // comparison is a timer that fires at the first instant its value changes. Written from
      // that definition, not from the code generator: the value at instant t is
      // cmp(t - last, d); the flip is the first whole millisecond after now where it differs.
      const cmp = (age: number, dv: number): boolean => {
        switch (op) {
          case "gt":
            return age > dv;
          case "ge":
            return age >= dv;
          case "lt":
            return age < dv;
          case "le":
            return age <= dv;
          case "eq":
            return age === dv;
          case "ne":
            return age !== dv;
        }
      };
      return () => {
        const last = cell.reportTime;
        const dv = d();
        if (last === -Infinity || dv === null) return null;
        const now = rt.now;
        const res = cmp(now - last, dv as number);
        // the value can change only where t - last meets d: at the whole milliseconds around
        // last + d (and the one after, for == and !=); the first of those after now that
        // differs is the flip
        const T = last + (dv as number);
        for (const t of [Math.floor(T), Math.ceil(T), Math.floor(T) + 1, Math.ceil(T) + 1]) {
          if (t > now && t < rt.nextFlip && cmp(t - last, dv as number) !== res) {
            rt.nextFlip = t;
            break;
          }
        }
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
