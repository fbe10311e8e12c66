// Error recovery can leave a node half-built: a sub-rule that was skipped returns undefined.
// This pass, run on every parse, gives every node its required fields (an ErrorExpr for a
// missing expression, an empty name for a missing identifier, [] for a missing list) and drops
// null list entries, so later stages can trust the shapes of compiler/ast/nodes.ts.
// The syntax error itself has already been reported.
import type * as A from "../ast/nodes.js";

type Any = Record<string, unknown> & { kind?: string; span?: A.Span };

export function repairFile(file: A.SourceFile): void {
  const whole: A.Span = { start: 0, end: file.text.length };
  file.decls = list(file.decls).filter((d) => d && typeof d === "object") as A.Decl[];
  for (const d of file.decls) decl(d as unknown as Any, whole);
}

function list<T>(x: T[] | undefined | null): T[] {
  return Array.isArray(x) ? x.filter((v) => v !== null && v !== undefined) : [];
}

function validSpan(s: unknown, fallback: A.Span): A.Span {
  const x = s as A.Span | undefined;
  return x && typeof x.start === "number" && typeof x.end === "number" ? x : { start: fallback.start, end: fallback.start };
}

function spanOf(n: Any | undefined, fallback: A.Span): A.Span {
  const s = n?.span;
  return s && typeof s.start === "number" && typeof s.end === "number" ? s : { start: fallback.start, end: fallback.start };
}

function ident(n: Any, field: string, at: A.Span): void {
  const v = n[field] as Any | undefined;
  if (!v || typeof v !== "object" || typeof v["name"] !== "string") n[field] = { kind: "Ident", name: "", span: { start: at.start, end: at.start } };
  else v.span = spanOf(v, at);
}

function exprField(n: Any, field: string, at: A.Span, optional = false): void {
  const v = n[field] as Any | undefined;
  if (!v || typeof v !== "object" || typeof v.kind !== "string") {
    if (!optional || (v !== undefined && v !== null)) n[field] = { kind: "ErrorExpr", span: { start: at.end, end: at.end } };
    else delete n[field];
    return;
  }
  expr(v, at);
}

function expr(e: Any, parent: A.Span): void {
  const at = (e.span = spanOf(e, parent));
  switch (e.kind) {
    case "Member":
      exprField(e, "object", at);
      ident(e, "member", at);
      return;
    case "Index":
      exprField(e, "object", at);
      exprField(e, "index", at);
      return;
    case "Call":
      exprField(e, "callee", at);
      e["args"] = list(e["args"] as A.Arg[]);
      for (const a of e["args"] as unknown as Any[]) arg(a, at);
      e["final"] = e["final"] === true;
      if (e["over"]) window(e["over"] as Any, at);
      else delete e["over"];
      return;
    case "Unary":
      exprField(e, "operand", at);
      return;
    case "Binary":
      exprField(e, "left", at);
      exprField(e, "right", at);
      e["opSpan"] = validSpan(e["opSpan"], at);
      return;
    case "For":
      exprField(e, "cond", at);
      exprField(e, "duration", at);
      return;
    case "If":
      exprField(e, "cond", at);
      exprField(e, "then", at);
      exprField(e, "else", at);
      return;
    case "Paren":
      exprField(e, "inner", at);
      return;
    case "Quantity":
      unitExpr(e, "unit", at);
      return;
    case "Name":
      ident(e, "name", at);
      return;
    default:
      return;
  }
}

function arg(a: Any, at: A.Span): void {
  a.span = spanOf(a, at);
  if (a["name"]) ident(a, "name", a.span);
  exprField(a, "value", a.span);
}

function window(w: Any, at: A.Span): void {
  w.span = spanOf(w, at);
  exprField(w, "size", w.span);
  exprField(w, "every", w.span, true);
  exprField(w, "grace", w.span, true);
}

function unitExpr(n: Any, field: string, at: A.Span): void {
  const u = n[field] as Any | undefined;
  if (!u || typeof u !== "object") {
    n[field] = { kind: "UnitExpr", factors: [], span: { start: at.end, end: at.end } };
    return;
  }
  u.span = spanOf(u, at);
  u["factors"] = list(u["factors"] as Any[]).filter((f) => (f as Any)["name"] && typeof (f as Any)["power"] === "number");
}

function typeRef(n: Any, field: string, at: A.Span): void {
  const t = n[field] as Any | undefined;
  if (!t || typeof t !== "object" || (t.kind !== "PrimitiveType" && t.kind !== "NamedType")) {
    n[field] = { kind: "NamedType", name: { kind: "Ident", name: "", span: { start: at.end, end: at.end } }, span: { start: at.end, end: at.end } };
    return;
  }
  t.span = spanOf(t, at);
  if (t.kind === "NamedType") ident(t, "name", t.span);
  else if (t["unit"]) unitExpr(t, "unit", t.span);
}

function decl(d: Any, whole: A.Span): void {
  const at = (d.span = spanOf(d, whole));
  switch (d.kind) {
    case "Use":
      d["path"] = typeof d["path"] === "string" ? d["path"] : "";
      d["pathSpan"] = validSpan(d["pathSpan"], at);
      return;
    case "Unit": {
      ident(d, "name", at);
      const def = d["definition"] as Any | undefined;
      if (def) {
        if (typeof def["factor"] !== "number") def["factor"] = 1;
        def["factorSpan"] = validSpan(def["factorSpan"], at);
        unitExpr(def, "unit", at);
      }
      return;
    }
    case "Enum":
      ident(d, "name", at);
      d["members"] = list(d["members"] as Any[]).filter((m) => typeof (m as Any)["name"] === "string");
      return;
    case "Model":
      ident(d, "name", at);
      if (d["extends"]) ident(d, "extends", at);
      d["members"] = list(d["members"] as Any[]);
      for (const m of d["members"] as Any[]) member(m, at);
      return;
    case "Asset":
      ident(d, "name", at);
      ident(d, "model", at);
      d["items"] = list(d["items"] as Any[]);
      for (const i of d["items"] as Any[]) assetItem(i, at);
      return;
    case "View":
      ident(d, "name", at);
      ident(d, "aggregate", at);
      ident(d, "from", at);
      exprField(d, "arg", at, true);
      exprField(d, "where", at, true);
      if (d["by"]) ident(d, "by", at);
      if (d["over"]) window(d["over"] as Any, at);
      d["final"] = d["final"] === true;
      return;
    case "Rule":
      ident(d, "name", at);
      if (d["on"]) ident(d, "on", at);
      exprField(d, "when", at, true);
      exprField(d, "cooldown", at, true);
      exprField(d, "repeatEvery", at, true);
      d["actions"] = list(d["actions"] as Any[]).filter((a) => (a as Any).kind === "Call");
      for (const a of d["actions"] as Any[]) expr(a, at);
      return;
    case "Test": {
      const name = d["name"] as Any | undefined;
      if (!name || typeof name["value"] !== "string") d["name"] = { kind: "String", value: "", span: { start: at.start, end: at.start } };
      d["items"] = list(d["items"] as Any[]);
      for (const i of d["items"] as Any[]) testItem(i, at);
      return;
    }
  }
}

function member(m: Any, parent: A.Span): void {
  const at = (m.span = spanOf(m, parent));
  ident(m, "name", at);
  switch (m.kind) {
    case "Attribute":
      typeRef(m, "type", at);
      exprField(m, "default", at, true);
      return;
    case "Telemetry":
      typeRef(m, "type", at);
      return;
    case "State":
      if (m["type"]) typeRef(m, "type", at);
      exprField(m, "expr", at);
      return;
    case "Alarm":
      ident(m, "severity", at);
      exprField(m, "when", at);
      exprField(m, "clearWhen", at, true);
      return;
    case "Command":
      m["params"] = list(m["params"] as Any[]);
      for (const p of m["params"] as Any[]) {
        p.span = spanOf(p, at);
        ident(p, "name", p.span);
        typeRef(p, "type", p.span);
      }
      exprField(m, "requires", at, true);
      return;
  }
}

function assetItem(i: Any, parent: A.Span): void {
  const at = (i.span = spanOf(i, parent));
  switch (i.kind) {
    case "Uuid": {
      const v = i["value"] as Any | undefined;
      if (!v || typeof v["value"] !== "string") i["value"] = { kind: "String", value: "", span: { start: at.end, end: at.end } };
      return;
    }
    case "AttributeAssign":
      ident(i, "name", at);
      exprField(i, "value", at);
      return;
    case "Source":
      ident(i, "sourceKind", at);
      i["args"] = list(i["args"] as Any[]);
      for (const a of i["args"] as Any[]) arg(a, at);
      i["bindings"] = list(i["bindings"] as Any[]);
      for (const b of i["bindings"] as Any[]) {
        b.span = spanOf(b, at);
        ident(b, "target", b.span);
        const call = (b["call"] as Any | undefined) ?? (b["call"] = { span: { start: b.span.end, end: b.span.end } } as Any);
        call.span = spanOf(call, b.span);
        ident(call, "name", call.span);
        call["args"] = list(call["args"] as Any[]);
        for (const a of call["args"] as Any[]) arg(a, call.span);
        if (b["map"]) b["map"] = list(b["map"] as Any[]).filter((e) => (e as Any)["key"] && (e as Any)["member"]);
      }
      return;
  }
}

function testItem(i: Any, parent: A.Span): void {
  const at = (i.span = spanOf(i, parent));
  switch (i.kind) {
    case "At":
      exprField(i, "time", at);
      i["steps"] = list(i["steps"] as Any[]);
      for (const s of i["steps"] as Any[]) {
        s.span = spanOf(s, at);
        if (s.kind === "Send") {
          const call = s["call"] as Any | undefined;
          if (!call || call.kind !== "Call") s["call"] = { kind: "Call", callee: { kind: "ErrorExpr", span: s.span }, args: [], final: false, span: s.span };
          else expr(call, s.span);
        } else {
          exprField(s, "target", s.span);
          exprField(s, "value", s.span);
        }
      }
      return;
    case "Replay": {
      const p = i["path"] as Any | undefined;
      if (!p || typeof p["value"] !== "string") i["path"] = { kind: "String", value: "", span: { start: at.end, end: at.end } };
      return;
    }
    case "Expect":
      exprField(i, "expr", at);
      exprField(i, "at", at, true);
      if (i["between"]) {
        const b = i["between"] as Any[];
        if (!Array.isArray(b) || b.length !== 2) delete i["between"];
        else {
          const holder = { a: b[0], b: b[1] } as Any;
          exprField(holder, "a", at);
          exprField(holder, "b", at);
          i["between"] = [holder["a"], holder["b"]];
        }
      }
      return;
  }
}
