// IR expressions as text, for messages and the dashboard (`requires` of a command).

import type { IrExpr, IrRef, Value } from "../../compiler/ir/types.js";

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

