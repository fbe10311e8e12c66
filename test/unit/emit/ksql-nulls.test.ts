// Unknown values in the emitted ksqlDB expressions (issue 13, item 1).
//
// ksqlDB has no three-valued logic. Its code generator (ksqldb-execution, codegen/
// SqlToJavaVisitor.java, 0.29) compiles a comparison with a NULL operand to `false`
// (nullCheckPrefix), AND/OR/NOT to Java `&&`/`||`/`!` and arithmetic to Java operators over
// boxed values, and a searched CASE unboxes each WHEN (codegen/helpers/SearchedCaseFunction:
// `clause.operand.get()`): a NULL unboxed anywhere throws, and CompiledExpression.evaluate then
// yields NULL for the whole column. `ksqlEval` below implements exactly those rules over the
// emitted syntax tree; `ofl` implements the spec's three-valued logic (language.md §3: an
// unknown operand makes a comparison or arithmetic unknown; `and`/`or` are Kleene; `if` takes
// the `then` branch only when the condition is known true). Every state is evaluated over every
// combination of unknown and known inputs, and the two must agree.
import { describe, expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { emitKsql, ksqlStateExpr } from "../../../compiler/emit/ksql/emit.js";
import type { Expr } from "../../../compiler/emit/ksql/ast.js";
import type { IrExpr } from "../../../compiler/ir/types.js";

type V = number | boolean | string | null;
class Npe extends Error {}

/** ksqlDB 0.29's evaluation of an expression (see the header). */
function ksqlEval(e: Expr, row: Record<string, V>): V {
  const ev = (x: Expr): V => ksqlEval(x, row);
  const unbox = (v: V): V => {
    if (v === null) throw new Npe("NULL unboxed");
    return v;
  };
  switch (e.k) {
    case "col":
      return row[e.name.toUpperCase().replace(/^S_/, "")] ?? null; // signal columns are S_<NAME> once printed
    case "lit":
      return e.value;
    case "cast": {
      let v: V;
      try {
        v = ev(e.arg);
      } catch {
        return null; // evaluateOrReturnNull
      }
      if (v === null) return null;
      if (e.type.t === "DOUBLE" || e.type.t === "BIGINT") return Number(v);
      if (e.type.t === "VARCHAR") return String(v);
      return v;
    }
    case "binary": {
      if (e.op === "AND") return (unbox(ev(e.left)) as boolean) && (unbox(ev(e.right)) as boolean);
      if (e.op === "OR") return (unbox(ev(e.left)) as boolean) || (unbox(ev(e.right)) as boolean);
      const l = ev(e.left);
      const r = ev(e.right);
      if (["=", "<>", "<", "<=", ">", ">="].includes(e.op)) {
        if (l === null || r === null) return false; // nullCheckPrefix
        switch (e.op) {
          case "=":
            return l === r;
          case "<>":
            return l !== r;
          case "<":
            return l < r;
          case "<=":
            return l <= r;
          case ">":
            return l > r;
          default:
            return l >= r;
        }
      }
      const a = unbox(l) as number;
      const b = unbox(r) as number;
      switch (e.op) {
        case "+":
          return a + b;
        case "-":
          return a - b;
        case "*":
          return a * b;
        case "/":
          return a / b;
        default:
          return a % b;
      }
    }
    case "unary":
      return e.op === "NOT" ? !(unbox(ev(e.arg)) as boolean) : -(unbox(ev(e.arg)) as number);
    case "isNull":
      return (ev(e.arg) === null) !== e.negated;
    case "case": {
      for (const w of e.whens) if (unbox(ev(w.when)) === true) return ev(w.then);
      return e.else ? ev(e.else) : null;
    }
    case "call": {
      const a = e.args.map(ev);
      const n = a as number[];
      // the math UDFs return NULL for a NULL argument
      if (["ABS", "FLOOR", "CEIL", "SQRT", "POWER", "SIGN", "ROUND"].includes(e.fn) && a.some((x) => x === null)) return null;
      switch (e.fn) {
        case "ABS":
          return Math.abs(n[0]!);
        case "FLOOR":
          return Math.floor(n[0]!);
        case "CEIL":
          return Math.ceil(n[0]!);
        case "SQRT":
          return Math.sqrt(n[0]!);
        case "POWER":
          return n[0]! ** n[1]!;
        case "SIGN":
          return Math.sign(n[0]!);
        case "ROUND":
          return Math.round(n[0]!);
        case "LEAST":
        case "GREATEST": {
          const k = n.filter((x) => x !== null);
          return k.length === 0 ? null : e.fn === "LEAST" ? Math.min(...k) : Math.max(...k);
        }
      }
      throw new Error(`no UDF ${e.fn} in this evaluator`);
    }
    default:
      throw new Error(`not evaluated here: ${e.k}`);
  }
}

/** CompiledExpression.evaluate: an exception makes the column NULL. */
function ksqlColumn(e: Expr, row: Record<string, V>): V {
  try {
    return ksqlEval(e, row);
  } catch (err) {
    if (err instanceof Npe) return null;
    throw err;
  }
}

/** The spec's three-valued evaluation of the IR (language.md §3). */
function ofl(e: IrExpr, env: Record<string, V>, states: Map<string, IrExpr>): V {
  const ev = (x: IrExpr): V => ofl(x, env, states);
  switch (e.k) {
    case "const":
      return e.value as V;
    case "ref":
      return e.kind === "state" ? ev(states.get(e.name)!) : (env[e.name] ?? null);
    case "unary": {
      const a = ev(e.arg);
      return a === null ? null : e.op === "not" ? !a : -(a as number);
    }
    case "binary": {
      if (e.op === "and" || e.op === "or") {
        const l = ev(e.left);
        const r = ev(e.right);
        const dec = e.op === "or";
        if (l === dec || r === dec) return dec;
        return l === null || r === null ? null : !dec;
      }
      const l = ev(e.left);
      const r = ev(e.right);
      if (l === null || r === null) return null;
      const a = l as number;
      const b = r as number;
      switch (e.op) {
        case "eq":
          return l === r;
        case "ne":
          return l !== r;
        case "lt":
          return a < b;
        case "le":
          return a <= b;
        case "gt":
          return a > b;
        case "ge":
          return a >= b;
        case "add":
          return a + b;
        case "sub":
          return a - b;
        case "mul":
          return a * b;
        case "div":
          return b === 0 ? null : a / b;
        case "mod":
          return b === 0 ? null : a % b;
      }
      break;
    }
    case "scale": {
      const a = ev(e.arg);
      return a === null ? null : (a as number) * e.factor;
    }
    case "if":
      return ev(e.cond) === true ? ev(e.then) : ev(e.else);
    case "known":
      return ev(e.arg) !== null;
    case "call": {
      const a = e.args.map(ev);
      if (a.some((x) => x === null)) return null;
      const n = a as number[];
      switch (e.fn) {
        case "abs":
          return Math.abs(n[0]!);
        case "sqrt":
          return n[0]! < 0 ? null : Math.sqrt(n[0]!);
        case "min":
          return Math.min(...n);
        case "max":
          return Math.max(...n);
        case "clamp":
          return Math.min(Math.max(n[0]!, n[1]!), n[2]!);
      }
    }
  }
  throw new Error(`not evaluated here: ${e.k}`);
}

const program = [
  "model M {",
  "  telemetry a: float",
  "  telemetry b: float",
  "  telemetry p: bool",
  "  telemetry q: bool",
  "  state gt = a > b",
  "  state both = p and q",
  "  state either = p or q",
  "  state neither = not (p or q)",
  "  state nboth = not both",
  "  state mixed = a > 1 and p or q",
  "  state chain = p and q and a < b",
  "  state kn_sum = known(a + b)",
  "  state kn_and = known(p and q)",
  "  state kn_cmp = known(a > b)",
  "  state pick = if p then a else b",
  "  state pick_logic = if p and a > 0 then 1.0 else 2.0",
  "  state same = p == q",
  "  state quot = a / b > 1 or q",
  "  state lo = min(a, b)",
  "  state cl = clamp(a, 0.0, 1.0)",
  "  state root = sqrt(a - b) > 0 and not p",
  "  state neg = not p",
  "}",
  'asset x: M { uuid "X" }',
].join("\n");

const r = compile([{ path: "/virtual/nulls.ofl", text: program }], { name: "nulls" });

describe("three-valued logic in the emitted ksqlDB (evaluated under ksqlDB 0.29's codegen rules)", () => {
  test("the program compiles and every state runs in ksqlDB", () => {
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const plan = emitKsql(r.ir!);
    for (const p of plan.placement.filter((x) => x.declaration.startsWith("M."))) expect(p.runsOn, p.declaration).toBe("ksqldb");
  });

  const m = r.ir!.models.find((x) => x.name === "M")!;
  const states = new Map(m.states.map((s) => [s.name, s.def as IrExpr]));
  const nums: V[] = [null, 0, 2, 3];
  const bools: V[] = [null, true, false];
  for (const s of m.states) {
    test(`${s.name}: equals the spec's result for every mix of unknown inputs`, () => {
      const e = ksqlStateExpr(r.ir!, "M", s.name);
      let n = 0;
      for (const a of nums)
        for (const b of nums)
          for (const p of bools)
            for (const q of bools) {
              const want = ofl(s.def as IrExpr, { a, b, p, q }, states);
              const got = ksqlColumn(e, { A: a, B: b, P: p, Q: q });
              expect(got, `${s.name} with a=${a} b=${b} p=${p} q=${q}`).toEqual(want);
              n++;
            }
      expect(n).toBe(144);
    });
  }

  test("the evaluator is strict where ksqlDB is: the old bare forms give wrong answers", () => {
    // what the emitter printed before: `P AND Q` is NULL (an exception) when P is NULL even if Q is false
    const bare: Expr = { k: "binary", op: "AND", left: { k: "col", name: "P" }, right: { k: "col", name: "Q" } };
    expect(ksqlColumn(bare, { P: null, Q: false })).toBe(null);
    // and `A > B` is false, not unknown, when A is NULL
    expect(ksqlColumn({ k: "binary", op: ">", left: { k: "col", name: "A" }, right: { k: "col", name: "B" } }, { A: null, B: 1 })).toBe(false);
  });
});

describe("aggregates and latest values over unknown (emitted SQL)", () => {
  const sql = (text: string): string =>
    emitKsql(compile([{ path: "/virtual/agg.ofl", text }], { name: "agg" }).ir!)
      .statements.map((s) => s.sql)
      .join("\n");

  test("ratio skips unknown conditions and never tests a bare boolean in a WHEN", () => {
    const s = sql(['model M { telemetry p: bool', '  state r = ratio(p) over tumbling 1m }', 'asset x: M { uuid "X" }'].join("\n"));
    // unknown p: the CASE has no branch for it, so COUNT/SUM skip the row (the engine skips unknown)
    expect(s).toContain("CASE WHEN S_P = TRUE THEN 1.0E0 WHEN S_P = FALSE THEN 0.0E0 END");
    expect(s).not.toMatch(/WHEN S_P THEN/);
  });

  test("a never-reported signal is unknown in the latest values, not false", () => {
    const s = sql(['model M { telemetry p: bool }', 'asset x: M { uuid "X" }'].join("\n"));
    expect(s).toContain("CASE WHEN T_P IS NULL OR T_P = 'UNAVAILABLE' THEN CAST(NULL AS BOOLEAN) ELSE T_P = 'true' END AS S_P");
  });

  test("stddev is STDDEV_SAMPLE (the square root), not STDDEV_SAMP (the variance in 0.29)", () => {
    const s = sql(['model M { telemetry a: float', '  state sd = stddev(a) over tumbling 1m }', 'asset x: M { uuid "X" }'].join("\n"));
    expect(s).toContain("STDDEV_SAMPLE(S_A)");
    expect(s).not.toContain("STDDEV_SAMP(");
  });
});
