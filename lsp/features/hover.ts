// Hover: the declaration's signature (type, unit, range), its doc comment, and where it runs
// in a deployment (spec §8).
import type { Hover } from "vscode-languageserver";
import type { Ast as A } from "../../compiler/index.js";
import { forEachChild, tyText, type Ty } from "../../compiler/index.js";
import type { CheckedProgram, MemberInfo, Placement } from "../../compiler/index.js";
import { placementText } from "../../compiler/index.js";
import { IR_FUNCTIONS } from "../../compiler/ir/types.js";
import { nodePath } from "./nodeAt.js";
import type { Analysis, DeclSite, Doc, Info } from "./analysis.js";

export function hover(a: Analysis, doc: Doc, offset: number): Hover | null {
  const sym = a.index.symbolAt(doc.path, offset);
  if (sym) {
    const info = a.index.infoOf(sym.site) ;
    const md = describe(a.result.program, sym.site, info, a.placement);
    if (md) return { contents: { kind: "markdown", value: md }, range: doc.lines.range(sym.at) };
  }
  const path = nodePath(doc.file, offset);
  // a built-in function's name: its entry of the built-ins table
  const builtin = builtinAt(path);
  if (builtin) return builtin(doc);
  // any other expression: its type
  for (let i = path.length - 1; i >= 0; i--) {
    const n = path[i]! as unknown as A.Expr;
    const t = a.result.program.types.get(n);
    if (t && t.k !== "error") return { contents: { kind: "markdown", value: "```ofl\n" + tyText(t) + "\n```" }, range: doc.lines.range(n.span) };
  }
  return null;
}

function builtinAt(path: readonly object[]): ((doc: Doc) => Hover) | undefined {
  for (let i = path.length - 2; i >= 0; i--) {
    const call = path[i] as A.Expr;
    const name = path[i + 1] as A.Expr;
    if (call.kind !== "Call" || call.callee !== name || name.kind !== "Name" || call.over) continue;
    const fn = name.name.name;
    if (!Object.hasOwn(IR_FUNCTIONS, fn) || ((fn === "min" || fn === "max") && call.args.length === 1)) return undefined; // one argument: the aggregate
    const f = IR_FUNCTIONS[fn as keyof typeof IR_FUNCTIONS];
    const arity = f.max === Infinity ? `${f.min === 1 ? 2 : f.min} or more arguments` : `${f.min} argument${f.min === 1 ? "" : "s"}`;
    return (doc) => ({ contents: { kind: "markdown", value: `${code(`${fn}(…)`)}

built-in function, ${arity}: ${f.doc}` }, range: doc.lines.range(name.span) });
  }
  return undefined;
}

function code(s: string): string {
  return "```ofl\n" + s + "\n```";
}

function typeWithUnit(t: Ty | undefined): string {
  return t ? tyText(t) : "?";
}

function unitLine(t: Ty | undefined, range?: [number, number]): string[] {
  const out: string[] = [];
  if (t?.k === "num" && !t.dur && t.unit.text) out.push(`unit: \`${t.unit.text}\``);
  if (range) out.push(`range: ${range[0]}..${range[1]}`);
  return out.length ? [out.join(" · ")] : [];
}

/** The markdown for a declaration. */
/**
 * `placed`: the placement stage's answer (compiler/place/place.ts), the same as
 * `ofl build --explain`. States, alarms, commands, views and rules show it; while the program has
 * errors it is absent and hover shows a syntactic estimate, marked as such.
 */
export function describe(p: CheckedProgram, site: DeclSite | undefined, info: Info | undefined, placed?: ReadonlyMap<string, Placement>): string | undefined {
  if (!site) return undefined;
  const parts: string[] = [];
  const runs = (where: string, declaration?: string): void => {
    if (declaration !== undefined && placed) {
      const pl = placed.get(declaration);
      if (pl) {
        parts.push(`*Runs in:* ${placementText(pl)}`);
        return;
      }
    }
    parts.push(`*Runs in:* ${where}${declaration !== undefined && placed === undefined ? " (estimate: the program has errors)" : ""}`);
  };
  switch (info?.k) {
    case "member": {
      const m = info.member;
      parts.push(code(memberSignature(p, m)));
      if (m.k === "telemetry") parts.push(...unitLine(m.ty, m.range));
      else if (m.k === "attribute") parts.push(...unitLine(m.ty));
      else if (m.k === "state") parts.push(...unitLine(stateTy(p, m)));
      parts.push(`member of \`${m.owner.name}\``);
      runs(placement(p, m), m.k === "telemetry" || m.k === "attribute" ? undefined : `${m.owner.name}.${m.name}`);
      break;
    }
    case "param":
      parts.push(code(`${info.param.name}: ${typeWithUnit(info.param.ty)}${info.param.range ? ` in ${info.param.range[0]}..${info.param.range[1]}` : ""}`));
      parts.push(...unitLine(info.param.ty, info.param.range));
      parts.push(`parameter of command \`${info.command.owner.name}.${info.command.name}\``);
      break;
    case "global": {
      const s = info.sym;
      switch (s.kind) {
        case "model":
          parts.push(code(`model ${s.name}${s.base ? ` extends ${s.base.name}` : ""}`));
          parts.push(`${s.members.size} members: ${[...s.members.keys()].map((n) => "`" + n + "`").join(", ")}`);
          break;
        case "asset":
          parts.push(code(`asset ${s.name}: ${s.model?.name ?? "?"}`));
          parts.push(`uuid \`${s.uuid}\``);
          runs("the connector worker (its sources); its telemetry's latest values in ksqlDB");
          break;
        case "view":
          parts.push(code(`view ${s.name}: ${s.ty ? tyText(s.ty) : "?"}${s.decl.by ? ` by ${s.decl.by.name}` : ""}`));
          parts.push(...unitLine(s.ty));
          runs(`ksqlDB (${s.decl.over ? "a windowed aggregate" : "a table aggregation"} across \`${s.decl.from.name}\`)`, `view ${s.name}`);
          break;
        case "rule":
          parts.push(code(`rule ${s.name}${s.model ? ` on ${s.model.name}` : ""}${s.decl.shadow ? " (shadow)" : ""}`));
          runs("the rule worker (edges, cooldowns, command dispatch)", `rule ${s.name}`);
          break;
        case "enum":
          parts.push(code(`enum ${s.name} { ${s.members.join(", ")} }`));
          break;
      }
      break;
    }
    case "enumMember":
      parts.push(code(`${info.en.name}.${info.name}`));
      parts.push(`member of enum \`${info.en.name}\``);
      break;
    case "unit": {
      const d = info.unit.decl.definition;
      parts.push(code(`unit ${info.unit.name}${d ? ` = ${d.factor} ${unitText(d.unit)}` : ""}`));
      break;
    }
    case "test":
      parts.push(code(`test "${info.test.name}"`));
      break;
    default:
      parts.push(code(`${site.kind} ${site.name}`));
  }
  const docText = site.doc ?? (site.node as { doc?: string }).doc;
  if (docText) parts.splice(1, 0, docText);
  if (site.file.startsWith("std/")) parts.push(`declared in the standard library (\`${site.file.replace(/\.ofl$/, "")}\`)`);
  return parts.join("\n\n");
}

function unitText(u: A.UnitExpr): string {
  return u.factors.map((f, i) => `${i === 0 ? (f.power < 0 ? "1/" : "") : f.power < 0 ? "/" : "*"}${f.name.name}${Math.abs(f.power) !== 1 ? `^${Math.abs(f.power)}` : ""}`).join("");
}

function stateTy(p: CheckedProgram, m: Extract<MemberInfo, { k: "state" }>): Ty | undefined {
  return m.ty ?? p.types.get(m.decl.expr);
}

export function memberSignature(p: CheckedProgram, m: MemberInfo): string {
  switch (m.k) {
    case "attribute":
      return `attribute ${m.name}: ${typeWithUnit(m.ty)}`;
    case "telemetry":
      return `telemetry ${m.name}: ${typeWithUnit(m.ty)}${m.range ? ` in ${m.range[0]}..${m.range[1]}` : ""}`;
    case "state":
      return `state ${m.name}: ${typeWithUnit(stateTy(p, m))}`;
    case "alarm":
      return `alarm ${m.name} severity ${m.decl.severity.name}`;
    case "command":
      return `command ${m.name}(${m.params.map((x) => `${x.name}: ${typeWithUnit(x.ty)}${x.range ? ` in ${x.range[0]}..${x.range[1]}` : ""}`).join(", ")})${m.decl.requires ? " requires …" : ""}`;
  }
}

// ---------------------------------------------------------------- spec §8: where it runs

const WORKER_FUNCTIONS = new Set(["age", "previous", "changed"]);

/** Where a member runs in a Kafka deployment, estimated from the AST (while the program has errors). */
export function placement(p: CheckedProgram, m: MemberInfo): string {
  switch (m.k) {
    case "attribute":
      return "nowhere: static metadata, carried with the asset";
    case "telemetry":
      return "ksqlDB (latest value per asset)";
    case "alarm":
      return "the rule worker (raise/clear with hysteresis)";
    case "command":
      return m.decl.requires ? "the command worker (its `requires` interlock is checked there before dispatch)" : "the command worker (dispatch)";
    case "state": {
      const why = workerReason(p, m.decl.expr, new Set([m]));
      if (why) return `the rule worker (${why})`;
      return hasWindow(m.decl.expr) ? "ksqlDB (a windowed aggregate)" : "ksqlDB (latest values and filters)";
    }
  }
}

function workerReason(p: CheckedProgram, e: A.Expr, seen: Set<MemberInfo>): string | undefined {
  let reason: string | undefined;
  const visit = (x: object): void => {
    if (reason) return;
    const n = x as A.Expr;
    if (n.kind === "For") {
      reason = "a duration condition `for`";
      return;
    }
    if (n.kind === "Call" && n.callee.kind === "Name" && WORKER_FUNCTIONS.has(n.callee.name.name)) {
      reason = n.callee.name.name === "age" ? "`age`" : `an edge: \`${n.callee.name.name}\``;
      return;
    }
    if (n.kind === "Name" || n.kind === "Member") {
      const r = p.resolutions.get(n);
      if (r?.k === "member" && r.member.k === "state" && !seen.has(r.member)) {
        seen.add(r.member);
        const inner = workerReason(p, r.member.decl.expr, seen);
        if (inner) {
          reason = `reads \`${r.member.name}\`, which needs ${inner}`;
          return;
        }
      }
      if (r?.k === "alarm") {
        reason = "reads an alarm";
        return;
      }
    }
    forEachChild(n, visit);
  };
  visit(e);
  return reason;
}

function hasWindow(e: A.Expr): boolean {
  let found = false;
  const visit = (x: object): void => {
    if (found) return;
    if ((x as A.Expr).kind === "Call" && (x as A.CallExpr).over) {
      found = true;
      return;
    }
    forEachChild(x, visit);
  };
  visit(e);
  return found;
}
