// Compiles IrExpr to JavaScript source, once per distinct expression shape: the generated code is
// shared by every instance (every asset of a model), and each instance binds only its own arrays
// of cells (C) and extras (X: attribute values, views). Fewer objects per instance than a tree of
// closures means fewer cache misses per event with many assets, and one JIT-compiled function per
// model expression. Semantics are exactly those of the closure compiler in expr.ts (compileTree),
// which stays as the reference and is cross-checked by a property test.
//
// The cache of generated functions is keyed by the expression's shape: constants are hoisted
// into the instance's extras (X), so `temperature > 90` and `temperature > 95` share one function,
// and an editor session that keeps changing numbers does not keep generating new code. It is
// bounded (least recently used out first): the language server lives long.
//
// Safety: constants never reach the source (they are values in X); names never reach it either
// (cells and extras are addressed by index). No wall clock, no randomness.

import { IR_FUNCTIONS, type IrExpr, type IrRef, type Value } from "../../compiler/ir/types.js";
import { type AssetCells, type Cell, type Deps, type Fn, type Resolver, type Rt, type Scope, type ViewCells } from "./cells.js";

export type Code = (C: Cell[], X: unknown[], P: Value[] | null, rt: Rt) => Value;

function fin(x: number): Value {
  return x - x === 0 ? x : null;
}

/** Helpers the generated code calls (rare or bulky operations). */
const H = {
  fin,
  add(x: Value, y: Value): Value {
    if (typeof x === "string" || typeof y === "string") return String(x) + String(y);
    return fin((x as number) + (y as number));
  },
  round(x: Value): Value {
    if (x === null) return null;
    const n = x as number;
    return fin(n < 0 ? -Math.round(-n) : Math.round(n));
  },
  m1(f: (n: number) => number, x: Value): Value {
    return x === null ? null : fin(f(x as number));
  },
  pow(x: Value, y: Value): Value {
    return x === null || y === null ? null : fin(Math.pow(x as number, y as number));
  },
  min(xs: Value[]): Value {
    let best: Value = null;
    for (const x of xs) {
      if (x === null) return null;
      if (best === null || x < best) best = x;
    }
    return best;
  },
  max(xs: Value[]): Value {
    let best: Value = null;
    for (const x of xs) {
      if (x === null) return null;
      if (best === null || x > best) best = x;
    }
    return best;
  },
  clamp(x: Value, lo: Value, hi: Value): Value {
    if (x === null || lo === null || hi === null) return null;
    return x < lo ? lo : x > hi ? hi : x;
  },
  view(v: ViewCells, g: Value | undefined): Value {
    if (g === undefined) return v.get(null);
    return g === null ? null : v.get(String(g));
  },
  /** `age(x) OP d`: see compileTree in expr.ts */
  age(cell: Cell, op: string, dv: Value, rt: Rt): Value {
    const last = cell.reportTime;
    if (last === -Infinity || dv === null) return null;
    const T = last + (dv as number);
    const now = rt.now;
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
      default:
        res = op === "eq" ? now === T : now !== T;
        if (now < up) flip = up;
        else if (now < after) flip = after;
    }
    if (flip < rt.nextFlip) rt.nextFlip = flip;
    return res;
  },
};

const CMP: Record<string, string> = { eq: "===", ne: "!==", lt: "<", le: "<=", gt: ">", ge: ">=" };
const ARITH: Record<string, string> = { sub: "-", mul: "*", div: "/", mod: "%" };

class Gen {
  C: Cell[] = [];
  X: unknown[] = [];
  temps = 0;
  constructor(
    readonly scope: Scope,
    readonly deps: Deps,
    readonly r: Resolver,
  ) {}
  t(): string {
    return `t${this.temps++}`;
  }
  cell(c: Cell): number {
    let i = this.C.indexOf(c);
    if (i < 0) {
      i = this.C.length;
      this.C.push(c);
    }
    return i;
  }
  x(v: unknown): number {
    const i = this.X.length;
    this.X.push(v);
    return i;
  }
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

/** A constant, hoisted into X (the generated source depends only on the expression's shape). */
function lit(v: Value, g: Gen): string {
  if (v === null || (typeof v === "number" && !Number.isFinite(v))) return "null";
  return `X[${g.x(v)}]`;
}

function gen(e: IrExpr, g: Gen): string {
  switch (e.k) {
    case "const":
      return lit(e.value, g);
    case "ref": {
      if (e.kind === "attr") {
        const a = e.asset === null ? g.scope.self : g.r.asset(e.asset);
        const v = a?.attrs[e.name];
        return `X[${g.x(v === undefined ? null : v)}]`;
      }
      if (e.kind === "param") {
        const p = g.scope.params;
        const i = p === null ? -1 : p.names.indexOf(e.name);
        return i < 0 ? "null" : `P[${i}]`;
      }
      const cell = resolveCell(e, g.scope, g.r);
      if (cell === null) return "null";
      g.deps.change.push(cell);
      return `C[${g.cell(cell)}].v`;
    }
    case "view": {
      const v = g.r.view(e.name);
      if (v === undefined) return "null";
      g.deps.change.push(v.cell);
      const j = g.x(v);
      return e.group === undefined ? `H.view(X[${j}])` : `H.view(X[${j}], ${gen(e.group, g)})`;
    }
    case "unary": {
      const t = g.t();
      const a = gen(e.arg, g);
      return e.op === "not" ? `((${t} = ${a}) === null ? null : !${t})` : `((${t} = ${a}) === null ? null : H.fin(-${t}))`;
    }
    case "binary": {
      const a = gen(e.left, g);
      const ta = g.t();
      const tb = g.t();
      switch (e.op) {
        case "and":
          return `((${ta} = ${a}) === false ? false : (${tb} = ${gen(e.right, g)}) === false ? false : ${ta} === null || ${tb} === null ? null : true)`;
        case "or":
          return `((${ta} = ${a}) === true ? true : (${tb} = ${gen(e.right, g)}) === true ? true : ${ta} === null || ${tb} === null ? null : false)`;
        case "add":
          return `((${ta} = ${a}) === null ? null : (${tb} = ${gen(e.right, g)}) === null ? null : H.add(${ta}, ${tb}))`;
        default: {
          const b = gen(e.right, g);
          const cmp = CMP[e.op];
          if (cmp !== undefined) return `((${ta} = ${a}) === null ? null : (${tb} = ${b}) === null ? null : ${ta} ${cmp} ${tb})`;
          const tc = g.t();
          return `((${ta} = ${a}) === null ? null : (${tb} = ${b}) === null ? null : (${tc} = ${ta} ${ARITH[e.op]} ${tb}) - ${tc} === 0 ? ${tc} : null)`;
        }
      }
    }
    case "scale": {
      const t = g.t();
      const u = g.t();
      return `((${t} = ${gen(e.arg, g)}) === null ? null : (${u} = ${t} * ${lit(e.factor, g)}) - ${u} === 0 ? ${u} : null)`;
    }
    case "if":
      return `(${gen(e.cond, g)} === true ? ${gen(e.then, g)} : ${gen(e.else, g)})`;
    case "call": {
      // the built-ins table (compiler/ir/types.ts); a function not in it is a bug upstream
      const f = Object.hasOwn(IR_FUNCTIONS, e.fn) ? IR_FUNCTIONS[e.fn] : undefined;
      if (!f) throw new Error(`codegen: unknown built-in function '${String(e.fn)}'`);
      if (e.args.length < f.min) return "null"; // checked IR never has too few arguments; the oracle agrees
      return f.js(e.args.map((x) => gen(x, g)));
    }
    case "known":
      return `(${gen(e.arg, g)} !== null)`;
    case "previous": {
      const cell = resolveCell(e.ref, g.scope, g.r);
      if (cell === null) return "null";
      g.deps.change.push(cell);
      return `C[${g.cell(cell)}].prev`;
    }
    case "changed": {
      const cell = resolveCell(e.ref, g.scope, g.r);
      if (cell === null || cell.asset === null) return "false";
      g.deps.change.push(cell);
      g.deps.pass.push(cell.asset);
      const i = g.cell(cell);
      return `(C[${i}].changedPass === C[${i}].asset.lastPass)`;
    }
    case "age_cmp": {
      const cell = resolveCell(e.ref, g.scope, g.r);
      if (cell === null) return "null";
      g.deps.report.push(cell);
      return `H.age(C[${g.cell(cell)}], ${JSON.stringify(e.op)}, ${gen(e.duration, g)}, rt)`;
    }
  }
}

/** At most this many generated functions are kept (each is a few hundred bytes plus its JIT code). */
export const GENERATED_LIMIT = 1024;
/** source → function, in order of last use (a Map iterates in insertion order) */
const cache = new Map<string, Code>();
let generated = 0;

/** The number of distinct generated functions in the cache (for tests and diagnostics). */
export function generatedCount(): number {
  return cache.size;
}

/** How many functions were generated since the process started (cache misses; for tests). */
export function generatedTotal(): number {
  return generated;
}

function cachedCode(src: string): Code {
  let code = cache.get(src);
  if (code !== undefined) {
    cache.delete(src); // most recently used goes last
    cache.set(src, code);
    return code;
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  code = new Function("H", `return function ofl_expr(C, X, P, rt) {\n${src}\n};`)(H) as Code;
  generated++;
  cache.set(src, code);
  if (cache.size > GENERATED_LIMIT) cache.delete(cache.keys().next().value!);
  return code;
}

/**
 * Compiles `e` for `scope` into a Fn, recording what it reads in `deps`. Same contract as
 * compileTree (expr.ts); unresolvable references evaluate to unknown.
 */
export function compileExpr(e: IrExpr, scope: Scope, deps: Deps, rt: Rt, r: Resolver): Fn {
  const p = compileParts(e, scope, deps, r);
  const { code, C, X, P } = p;
  return () => code(C, X, P, rt);
}

/** A compiled expression as its parts: call `code(C, X, P, rt)` (saves a closure per instance). */
export interface Parts {
  code: Code;
  C: Cell[];
  X: unknown[];
  P: Value[] | null;
}

export function compileParts(e: IrExpr, scope: Scope, deps: Deps, r: Resolver): Parts {
  const g = new Gen(scope, deps, r);
  const body = gen(e, g);
  let vars = "";
  for (let i = 0; i < g.temps; i++) vars += i === 0 ? `t${i}` : `, t${i}`;
  const src = `${vars ? `let ${vars};\n` : ""}return ${body};`;
  return { code: cachedCode(src), C: g.C, X: g.X, P: scope.params === null ? null : scope.params.box };
}
