// Test blocks (language spec §4.5): `at` lines, `replay`, and the classification of `expect` lines.
import type * as A from "../ast/nodes.js";
import type { Checker, Ctx } from "./checker.js";
import { exprText } from "./checker.js";
import type { ClassifiedExpect, CmpOp, TestInfo } from "./symbols.js";
import { TIMESTAMP, isTimeUnit, tyText } from "./types.js";

export const DEADLETTER_REASONS = ["bad_json", "unknown_asset", "unknown_signal", "future_time", "wrong_type", "not_finite", "out_of_range"];
const CMP: Record<string, CmpOp> = { "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge" };

export function checkTest(c: Checker, t: TestInfo): void {
  const file = t.file;
  const ctx: Ctx = { file, self: null, stateful: false, place: "an expectation" };
  const replays = t.decl.items.filter((i): i is A.ReplayItem => i.kind === "Replay");
  for (const extra of replays.slice(1)) c.report("OFL5014", file, extra.span);
  if (replays[0]) t.replay = replays[0].path.value;
  const ats = t.decl.items.filter((i): i is A.AtItem => i.kind === "At");
  if (replays[0] && ats[0]) c.report("OFL5010", file, ats[0].span);
  let end = 0;
  t.at = [];
  let previous: { ms: number; e: A.Expr } | undefined;
  for (const at of ats) {
    const ms = testTime(c, at.time, ctx, "the time of an `at` line");
    if (ms !== undefined) {
      if (previous && ms < previous.ms)
        c.report("OFL5005", file, at.time.span, { time: exprText(at.time), previous: exprText(previous.e) }, c.relatedTo(file, previous.e.span, "the earlier line"));
      else previous = { ms, e: at.time };
      end = Math.max(end, ms);
      t.at.push({ ms, item: at });
    }
    for (const step of at.steps) {
      if (step.kind === "Send") c.commandCall(step.call, { ...ctx, place: "a `send`" }, "send");
      else setStep(c, step, ctx);
    }
  }
  t.expectations = [];
  for (const item of t.decl.items) {
    if (item.kind === "ExpectMatch") {
      if (!replays[0]) c.report("OFL5009", file, item.span);
      t.expectations.push({ k: "match_recorded", item });
      continue;
    }
    if (item.kind !== "Expect") continue;
    const classified = expectation(c, item, ctx);
    if (!classified) continue;
    t.expectations.push(classified);
    if (classified.k === "state" && classified.atMs !== undefined) end = Math.max(end, classified.atMs);
    if ((classified.k === "command" || classified.k === "no_command" || classified.k === "count_command") && classified.between)
      end = Math.max(end, classified.between[1]);
  }
  t.endMs = end;
}

function setStep(c: Checker, step: A.SetStep, ctx: Ctx): void {
  const target = step.target;
  const t = c.expr(target, ctx);
  if (t.k === "error") {
    if (step.value.kind !== "Unavailable") c.expr(step.value, ctx);
    return;
  }
  const res = c.p.resolutions.get(target);
  if (target.kind !== "Member" || !res || res.k !== "member" || res.member.k !== "telemetry" || res.asset === null) {
    c.report("OFL5006", ctx.file, target.span, { target: exprText(target) });
    return;
  }
  if (step.value.kind === "Unavailable") {
    c.p.types.set(step.value, { k: "unknown" });
    return;
  }
  // no range check: out-of-range test values are how quarantine is tested
  c.constant(step.value, { ...ctx, place: "a test value" }, res.member.ty, `the value of \`${exprText(target)}\``);
}

function expectation(c: Checker, item: A.ExpectItem, ctx: Ctx): ClassifiedExpect | undefined {
  const file = ctx.file;
  const e = item.expr;
  const window = expectWindow(c, item, ctx);
  if (window === null) return undefined;
  // a command: `a.cmd(args)`
  if (e.kind === "Call" && e.callee.kind === "Member" && !e.over) {
    const res = c.commandCall(e, ctx, "expect");
    if (!res || !res.asset) return undefined;
    return { k: item.no ? "no_command" : "command", item, call: e, asset: res.asset, between: window };
  }
  // `count(a.cmd()) OP N` / `count(deadletters("r")) OP N`
  if (e.kind === "Binary" && CMP[e.op] && e.left.kind === "Call" && isCall(e.left, "count") && e.left.args.length === 1 && !e.left.over) {
    const inner = e.left.args[0]!.value;
    const n = c.constNumber(e.right);
    const rt = c.expr(e.right, ctx);
    if (n === undefined || !Number.isInteger(n) || rt.k !== "num") {
      c.report("OFL5007", file, e.right.span, { detail: "a count is compared with a whole number, e.g. `count(a.stop()) == 1`" });
      return undefined;
    }
    if (inner.kind === "Call" && isCall(inner, "deadletters")) {
      if (item.no || item.shadow || item.verdict || window) {
        c.report("OFL5007", file, item.span, { detail: "`count(deadletters())` takes no `no`, `shadow`, `accepted`/`rejected`, `at` or `between`: it counts every quarantined record of the test" });
        return undefined;
      }
      let reason: string | undefined;
      if (inner.args.length > 1 || (inner.args[0] && inner.args[0].value.kind !== "String")) {
        c.report("OFL5012", file, inner.span, { name: inner.args[0] ? exprText(inner.args[0].value) : "", allowed: DEADLETTER_REASONS.join(", ") });
        return undefined;
      }
      const r = inner.args[0]?.value;
      if (r && r.kind === "String") {
        if (!DEADLETTER_REASONS.includes(r.value)) {
          c.report("OFL5012", file, r.span, { name: r.value, allowed: DEADLETTER_REASONS.join(", ") });
          return undefined;
        }
        reason = r.value;
      }
      return { k: "count_deadletters", item, reason, op: CMP[e.op]!, n };
    }
    if (inner.kind === "Call" && inner.callee.kind === "Member" && !inner.over) {
      if (item.no) {
        c.report("OFL5007", file, item.no, { detail: "`no` and `count(...)` do not combine: write `count(...) == 0`" });
        return undefined;
      }
      const res = c.commandCall(inner, ctx, "expect");
      if (!res || !res.asset) return undefined;
      return { k: "count_command", item, call: inner, asset: res.asset, op: CMP[e.op]!, n, between: window };
    }
    c.report("OFL5007", file, inner.span, { detail: "`count(...)` in an expectation counts a command, `count(a.stop())`, or dead letters, `count(deadletters())`" });
    return undefined;
  }
  // a boolean over state
  const extra = item.no ?? item.shadow ?? item.verdict?.span ?? (item.between ? item.between[0].span : undefined);
  if (extra) {
    c.expr(e, ctx);
    c.report("OFL5007", file, extra, { detail: "`no`, `shadow`, `accepted`/`rejected` and `between` apply to command expectations (`expect a.stop() at 5s`); this expectation is a condition" });
    return undefined;
  }
  const t = c.expr(e, ctx, { k: "bool" });
  if (t.k === "error") return undefined;
  if (t.k !== "bool") {
    c.report("OFL3007", file, e.span, { what: "an expectation", found: tyText(t) });
    return undefined;
  }
  return { k: "state", item, expr: e, atMs: window ? window[0] : undefined };
}

/** `at T` → [T, T]; `between A and B` → [A, B]; none → undefined; invalid → null. */
function expectWindow(c: Checker, item: A.ExpectItem, ctx: Ctx): [number, number] | undefined | null {
  if (item.at) {
    const ms = testTime(c, item.at, ctx, "the time of an expectation");
    return ms === undefined ? null : [ms, ms];
  }
  if (item.between) {
    const a = testTime(c, item.between[0], ctx, "the start of `between`");
    const b = testTime(c, item.between[1], ctx, "the end of `between`");
    if (a === undefined || b === undefined) return null;
    if (b < a) {
      c.report("OFL5007", ctx.file, item.between[1].span, { detail: "`between A and B` needs A ≤ B" });
      return null;
    }
    return [a, b];
  }
  return undefined;
}

/** A constant test time: a duration from the epoch or a timestamp, in ms. */
export function testTime(c: Checker, e: A.Expr, ctx: Ctx, what: string): number | undefined {
  const t = c.expr(e, ctx);
  if (t.k === "error") return undefined;
  const v = c.constNumber(e);
  if (v !== undefined && t.k === TIMESTAMP.k) return v;
  if (v !== undefined && t.k === "num" && isTimeUnit(t.unit)) return Math.round(v * (t.unit.scale / 0.001) * 1000) / 1000;
  c.report("OFL5008", ctx.file, e.span, { what });
  return undefined;
}

function isCall(e: A.Expr, name: string): boolean {
  return e.kind === "Call" && e.callee.kind === "Name" && e.callee.name.name === name;
}
