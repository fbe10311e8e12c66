// The built-in functions' table (IR_FUNCTIONS, compiler/ir/types.ts): the checker's names and the
// engine's code generator read it; a function the table lacks is a compile-time error in the code
// generator, not a silent unknown (issue 16, item 2).
import { describe, expect, test } from "vitest";
import { check, compile, FUNCTIONS, place } from "../../../compiler/index.js";
import { IR_FUNCTIONS, type IrExpr, type IrFunction, type Value } from "../../../compiler/ir/types.js";
import { compileExpr } from "../../../runtime/engine/codegen.js";
import { newDeps, type Resolver, type Rt, type Scope } from "../../../runtime/engine/cells.js";
import { compileTree } from "../engine/oracle.js";

const scope: Scope = { self: null, locals: null, params: null };
const r: Resolver = { asset: () => undefined, view: () => undefined };
const rt = (): Rt => ({ now: 0, nextFlip: Infinity, pass: 1 });
const call = (fn: string, ...args: Value[]): IrExpr => ({ k: "call", fn: fn as IrFunction, args: args.map((value) => ({ k: "const", value })) });
const run = (e: IrExpr): Value => compileExpr(e, scope, newDeps(), rt(), r)();

describe("the code generator reads the table", () => {
  test("an unknown function is an error when generating, not an unknown value", () => {
    expect(() => run(call("hypot", 3, 4))).toThrow("codegen: unknown built-in function 'hypot'");
    expect(() => run(call("toString", 3))).toThrow("codegen: unknown built-in function 'toString'");
  });

  // expected values from the spec's function table (docs/language.md §13.3), and the test oracle
  const cases: [IrFunction, Value[], Value][] = [
    ["abs", [-2.5], 2.5],
    ["floor", [-2.5], -3],
    ["ceil", [-2.5], -2],
    ["sqrt", [9], 3],
    ["sqrt", [-1], null],
    ["round", [-2.5], -3],
    ["round", [2.5], 3],
    ["pow", [2, 10], 1024],
    ["min", [3, 1, 2], 1],
    ["max", [3, 1, 2], 3],
    ["max", [3, null], null],
    ["clamp", [12, 0, 10], 10],
    ["clamp", [-1, 0, 10], 0],
    ["abs", [null], null],
  ];
  test.each(cases)("%s(%j) = %j, as the oracle says", (fn, args, want) => {
    const e = call(fn, ...args);
    expect(run(e)).toBe(want);
    expect(compileTree(e, scope, newDeps(), rt(), r)()).toBe(want);
  });

  test("every entry is exercised above", () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(Object.keys(IR_FUNCTIONS)));
  });
});

describe("the checker reads the table", () => {
  test("every function of the table is a known name, and a call to each checks", () => {
    for (const fn of Object.keys(IR_FUNCTIONS)) expect(FUNCTIONS.has(fn)).toBe(true);
    const calls: Record<IrFunction, string> = { abs: "abs(x)", floor: "floor(x)", ceil: "ceil(x)", sqrt: "sqrt(x)", round: "round(x)", pow: "pow(x, 2)", min: "min(x, 1)", max: "max(x, 1)", clamp: "clamp(x, 0, 1)" };
    const text = `model M {\n  telemetry x: float\n${Object.entries(calls).map(([fn, c]) => `  state s_${fn} = ${c}\n`).join("")}}\n`;
    const errors = check([{ path: "m.ofl", text }], { name: "m" }).diagnostics.filter((d) => d.severity === "error");
    expect(errors).toEqual([]);
  });
});

describe("typing, SQL and placement come from the table", () => {
  const text = (states: string): string => `model M {\n  telemetry x: float<degC>\n  telemetry n: int\n${states}}\nasset m1: M { uuid "M-1" }\n`;
  const errors = (states: string): string[] =>
    check([{ path: "m.ofl", text: text(states) }], { name: "m" })
      .diagnostics.filter((d) => d.severity === "error")
      .map((d) => `${d.code} ${d.message}`);

  test("each typing rule: same, integral, unitless, common", () => {
    // same: abs keeps the unit (a comparison with degC checks); integral: round of degC is an int of degC
    expect(errors("  state a = abs(x) > 1 degC\n  state b = round(x) > 1 degC\n")).toEqual([]);
    // unitless: sqrt and pow refuse a unit
    expect(errors("  state c = sqrt(x) > 1\n")).toEqual(["OFL3016 `sqrt()` needs a unitless number, found float<degC>"]);
    expect(errors("  state d = pow(x, 2) > 1\n")).toEqual(["OFL3016 `pow()` needs unitless numbers, found float<degC> and int"]);
    // common: min/max/clamp take one unit; 2 to 16 arguments for min/max
    expect(errors("  state e = min(x, 1 degC) > 0 degC\n  state f = clamp(n, 0, 10) > 1\n")).toEqual([]);
    expect(errors(`  state g = max(${Array.from({ length: 17 }, () => "n").join(", ")}) > 1\n`)).toEqual(["OFL3016 `max()` takes 2 to 16 arguments, given 17"]);
  });

  test("every built-in translates to ksqlDB: a state using it is placed there", () => {
    const calls: Record<IrFunction, string> = { abs: "abs(n)", floor: "floor(n)", ceil: "ceil(n)", sqrt: "sqrt(n)", round: "round(n)", pow: "pow(n, 2)", min: "min(n, 1)", max: "max(n, 1)", clamp: "clamp(n, 0, 1)" };
    const r = compile([{ path: "m.ofl", text: text(Object.entries(calls).map(([fn, c]) => `  state s_${fn} = ${c}\n`).join("")) }], { name: "m" });
    expect(r.ir, r.diagnostics.map((d) => d.message).join("\n")).toBeDefined();
    const placed = place(r.ir!);
    for (const fn of Object.keys(IR_FUNCTIONS)) {
      const p = placed.find((x) => x.declaration === `M.s_${fn}`);
      expect(p?.runsOn, `${fn}: ${p?.reason}`).toBe("ksqldb");
    }
  });
});
