import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { parse } from "../../../compiler/syntax/index.js";
import type * as A from "../../../compiler/ast/nodes.js";

const here = dirname(fileURLToPath(import.meta.url));
const conf = join(here, "../../conformance");

function ok(text: string): A.SourceFile {
  const r = parse(text, "t.ofl");
  expect(r.diagnostics.map((d) => `${d.code} ${d.message} @${d.span.start}`)).toEqual([]);
  return r.file;
}
function expr(src: string): A.Expr {
  const f = ok(`model M { state s = ${src} }`);
  return ((f.decls[0] as A.ModelDecl).members[0] as A.StateMember).expr;
}
/** A compact rendering of an expression tree. */
function show(e: A.Expr): string {
  switch (e.kind) {
    case "Number":
      return e.text;
    case "Duration":
      return `${e.ms}ms`;
    case "Timestamp":
      return `@${e.ms}`;
    case "Quantity":
      return `${e.text}[${e.unit.factors.map((f) => `${f.name.name}^${f.power}`).join(" ")}]`;
    case "String":
      return JSON.stringify(e.value);
    case "Bool":
      return String(e.value);
    case "Unavailable":
      return "unavailable";
    case "Name":
      return e.name.name;
    case "Self":
      return "self";
    case "Member":
      return `${show(e.object)}.${e.member.name}`;
    case "Index":
      return `${show(e.object)}[${show(e.index)}]`;
    case "Call": {
      const args = e.args.map((a) => (a.name ? `${a.name.name}: ` : "") + show(a.value)).join(", ");
      const w = e.over
        ? ` over ${e.over.window} ${show(e.over.size)}${e.over.every ? " every " + show(e.over.every) : ""}${e.over.grace ? " grace " + show(e.over.grace) : ""}${e.final ? " final" : ""}`
        : "";
      return `${show(e.callee)}(${args})${w}`;
    }
    case "Unary":
      return `(${e.op} ${show(e.operand)})`;
    case "Binary":
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case "For":
      return `(${show(e.cond)} for ${show(e.duration)})`;
    case "If":
      return `(if ${show(e.cond)} then ${show(e.then)} else ${show(e.else)})`;
    case "Paren":
      return `<${show(e.inner)}>`;
    case "ErrorExpr":
      return "ERR";
  }
}

describe("conformance", () => {
  for (const f of readdirSync(join(conf, "pass")).filter((x) => x.endsWith(".ofl"))) {
    it(`pass/${f} parses without diagnostics`, () => {
      const text = readFileSync(join(conf, "pass", f), "utf8");
      const r = parse(text, f);
      expect(r.diagnostics).toEqual([]);
      expect(r.file.decls.length).toBeGreaterThan(0);
    });
  }
  for (const f of ["01_names_and_types.ofl", "03_sources_and_windows.ofl"]) {
    it(`errors/${f} has no syntax errors (its errors are semantic)`, () => {
      const text = readFileSync(join(conf, "errors", f), "utf8");
      expect(parse(text, f).diagnostics).toEqual([]);
    });
  }
  it("errors/02_syntax_recovery.ofl reports exactly the marked syntax lines and recovers", () => {
    const text = readFileSync(join(conf, "errors", "02_syntax_recovery.ofl"), "utf8");
    const r = parse(text, "02.ofl");
    const lines = text.split("\n");
    const marked = lines.map((l, i) => (l.includes("// error") ? i + 1 : 0)).filter((n) => n > 0);
    // the last marked line (`at 5s` after `at 10s`) is a checker error, not a syntax error
    const syntaxMarked = marked.filter((n) => !lines[n - 1]!.trim().startsWith("at 5s"));
    const errLines = [...new Set(r.diagnostics.map((d) => text.slice(0, d.span.start).split("\n").length))];
    expect(errLines).toEqual(syntaxMarked);
    expect(r.diagnostics.every((d) => d.code === "OFL1001")).toBe(true);
    expect(r.diagnostics[0]!.message).toBe("expected `:`, found `float`");
    expect(r.diagnostics[1]!.message).toBe("expected an expression, found `)`");
    // everything after the errors is still there
    expect(r.file.decls.map((d) => d.kind + ":" + ("name" in d && d.name && "kind" in d.name && d.name.kind === "Ident" ? d.name.name : ""))).toEqual([
      "Model:A",
      "Model:B",
      "Rule:q",
      "Model:C",
      "Asset:c1",
      "Test:",
    ]);
    const a = r.file.decls[0] as A.ModelDecl;
    expect(a.members.map((m) => m.name.name)).toEqual(["x", "y", "s"]);
    const b = r.file.decls[1] as A.ModelDecl;
    expect(((b.members[1] as A.StateMember).expr as A.ParenExpr).inner.kind).toBe("ErrorExpr");
    const t = r.file.decls[5] as A.TestDecl;
    expect(t.items.length).toBe(2);
  });
});

describe("declarations", () => {
  it("use, unit, enum", () => {
    const f = ok("use std/oee\nunit degC\nunit kW = 1000 W\nenum E { A, B, C, }\nenum F {}");
    const [u, d1, d2, e, e2] = f.decls as [A.UseDecl, A.UnitDecl, A.UnitDecl, A.EnumDecl, A.EnumDecl];
    expect(u).toMatchObject({ kind: "Use", path: "std/oee", pathSpan: { start: 4, end: 11 }, span: { start: 0, end: 11 } });
    expect(d1.definition).toBeUndefined();
    expect(d2.definition).toMatchObject({ factor: 1000, unit: { factors: [{ name: { name: "W" }, power: 1 }] } });
    expect(e.members.map((m) => m.name)).toEqual(["A", "B", "C"]);
    expect(e2.members).toEqual([]);
  });

  it("model members", () => {
    const f = ok(`model CncMill extends Machine {
  attribute vendor: string = "unknown"
  attribute hall: string
  telemetry spindle_speed: float<rpm> in 0..24000
  telemetry t: float<degC> in -50..-1.5
  telemetry execution: Execution
  state temp_avg: float<degC> = avg(temperature) over tumbling 1m
  state overheating = temperature > 90 degC for 5s
  alarm overtemp severity high
    when temperature > 95 degC
    clear when temperature < 85 degC
  alarm a2 severity low when x
  command stop()
  command set_feed(override: float<percent> in 0..150, mode: int)
    requires execution != INTERRUPTED and override <= 120 percent
}`);
    const m = f.decls[0] as A.ModelDecl;
    expect(m.name.name).toBe("CncMill");
    expect(m.extends?.name).toBe("Machine");
    expect(m.members.map((x) => x.kind)).toEqual([
      "Attribute", "Attribute", "Telemetry", "Telemetry", "Telemetry", "State", "State", "Alarm", "Alarm", "Command", "Command",
    ]);
    const [vendor, hall, speed, t, exec, avg, over, alarm, a2, stop, feed] = m.members as [
      A.AttributeMember, A.AttributeMember, A.TelemetryMember, A.TelemetryMember, A.TelemetryMember, A.StateMember, A.StateMember,
      A.AlarmMember, A.AlarmMember, A.CommandMember, A.CommandMember,
    ];
    expect(vendor.type).toMatchObject({ kind: "PrimitiveType", name: "string" });
    expect(vendor.default).toMatchObject({ kind: "String", value: "unknown" });
    expect(hall.default).toBeUndefined();
    expect(speed.type).toMatchObject({ kind: "PrimitiveType", name: "float", unit: { factors: [{ name: { name: "rpm" } }] } });
    expect(speed.range).toMatchObject({ kind: "Range", min: 0, max: 24000 });
    expect(t.range).toMatchObject({ min: -50, max: -1.5 });
    expect(exec.type).toMatchObject({ kind: "NamedType", name: { name: "Execution" } });
    expect(avg.type).toMatchObject({ kind: "PrimitiveType", name: "float" });
    expect(show(avg.expr)).toBe("avg(temperature) over tumbling 60000ms");
    expect(show(over.expr)).toBe("((temperature > 90[degC^1]) for 5000ms)");
    expect(alarm.severity.name).toBe("high");
    expect(show(alarm.when)).toBe("(temperature > 95[degC^1])");
    expect(show(alarm.clearWhen!)).toBe("(temperature < 85[degC^1])");
    expect(a2.clearWhen).toBeUndefined();
    expect(stop.params).toEqual([]);
    expect(stop.requires).toBeUndefined();
    expect(feed.params.map((p) => p.name.name)).toEqual(["override", "mode"]);
    expect(feed.params[0]!.range).toMatchObject({ min: 0, max: 150 });
    expect(show(feed.requires!)).toBe("((execution != INTERRUPTED) and (override <= 120[percent^1]))");
  });

  it("asset with sources and bindings", () => {
    const f = ok(`asset mill1: CncMill {
  uuid "CNC-001"
  hall = "north" vendor = "DMG Mori"
  source opcua("opc.tcp://127.0.0.1:4840", security: "SignAndEncrypt") {
    spindle_speed <- node("ns=1;s=Spindle.Speed", sampling: 100ms)
    execution     <- node("ns=1;s=Execution") map { 0: READY, 1: ACTIVE, -1: STOPPED, "x": A, true: B, }
    stop          -> method("ns=1;s=Machine", "ns=1;s=Stop")
  }
}`);
    const a = f.decls[0] as A.AssetDecl;
    expect(a.name.name).toBe("mill1");
    expect(a.model.name).toBe("CncMill");
    expect(a.items.map((i) => i.kind)).toEqual(["Uuid", "AttributeAssign", "AttributeAssign", "Source"]);
    expect((a.items[0] as A.UuidItem).value.value).toBe("CNC-001");
    expect((a.items[2] as A.AttributeAssign).name.name).toBe("vendor");
    const src = a.items[3] as A.SourceBlock;
    expect(src.sourceKind.name).toBe("opcua");
    expect(src.args[1]!.name?.name).toBe("security");
    expect(src.bindings.map((b) => [b.direction, b.target.name, b.call.name.name])).toEqual([
      ["telemetry", "spindle_speed", "node"],
      ["telemetry", "execution", "node"],
      ["command", "stop", "method"],
    ]);
    expect(src.bindings[0]!.call.args[1]).toMatchObject({ name: { name: "sampling" }, value: { kind: "Duration", ms: 100 } });
    const map = src.bindings[1]!.map!;
    expect(map.map((e) => e.key.kind)).toEqual(["Number", "Number", "Unary", "String", "Bool"]);
    expect(map.map((e) => e.member.name)).toEqual(["READY", "ACTIVE", "STOPPED", "A", "B"]);
    expect(src.bindings[2]!.map).toBeUndefined();
  });

  it("a quantity does not eat the next attribute", () => {
    const f = ok(`asset a: M { hall = 5 vendor = "x" speed = 3 rpm }`);
    const items = (f.decls[0] as A.AssetDecl).items as A.AttributeAssign[];
    expect(items.map((i) => [i.name.name, show(i.value)])).toEqual([
      ["hall", "5"],
      ["vendor", '"x"'],
      ["speed", "3[rpm^1]"],
    ]);
  });

  it("views", () => {
    const f = ok(`view hall_temp = avg(temperature) from Thermometer by hall over tumbling 5m final
view active = count() from CncMill where execution == ACTIVE
view w = count() from M where known(x) over hopping 10m every 1m grace 5s`);
    const [v1, v2, v3] = f.decls as A.ViewDecl[];
    expect(v1).toMatchObject({ aggregate: { name: "avg" }, from: { name: "Thermometer" }, by: { name: "hall" }, final: true });
    expect(show(v1!.arg!)).toBe("temperature");
    expect(v1!.over).toMatchObject({ window: "tumbling", size: { ms: 300000 } });
    expect(v2!.arg).toBeUndefined();
    expect(show(v2!.where!)).toBe("(execution == ACTIVE)");
    expect(v2!.over).toBeUndefined();
    expect(show(v3!.where!)).toBe("known(x)");
    expect(v3!.over).toMatchObject({ window: "hopping", every: { ms: 60000 }, grace: { ms: 5000 } });
  });

  it("rules, clauses in any order", () => {
    const f = ok(`rule slow_down on CncMill {
  cooldown 1m
  shadow
  when temp_avg > 80 degC
  then set_feed(override: 50 percent), mill2.stop()
  repeat every 10s
}
rule r2 { when x then a() }`);
    const r = f.decls[0] as A.RuleDecl;
    expect(r.on?.name).toBe("CncMill");
    expect(r.shadow).toBeDefined();
    expect(show(r.when!)).toBe("(temp_avg > 80[degC^1])");
    expect(r.actions.map(show)).toEqual(["set_feed(override: 50[percent^1])", "mill2.stop()"]);
    expect(show(r.cooldown!)).toBe("60000ms");
    expect(show(r.repeatEvery!)).toBe("10000ms");
    const r2 = f.decls[1] as A.RuleDecl;
    expect(r2.on).toBeUndefined();
    expect(r2.shadow).toBeUndefined();
  });

  it("tests", () => {
    const f = ok(`test "a hot mill" {
  at 0s  mill1.execution = ACTIVE, mill1.temperature = 85 degC
  at 20s send mill1.set_feed(override: 90 percent)
  at 30s mill1.temperature = unavailable
  replay "sessions/shift-1.jsonl"
  expect commands match recorded
  expect mill1.stop() at 15s
  expect shadow no mill1.stop() between 1s and 74s
  expect mill1.set_feed() accepted at 20s
  expect p.set_speed() rejected
  expect count(mill1.stop()) == 1
  expect mill1.temp_avg > 80 degC at @2026-11-20T08:05:00Z
  expect commands
}`);
    const t = f.decls[0] as A.TestDecl;
    expect(t.name.value).toBe("a hot mill");
    expect(t.items.map((i) => i.kind)).toEqual([
      "At", "At", "At", "Replay", "ExpectMatch", "Expect", "Expect", "Expect", "Expect", "Expect", "Expect", "Expect",
    ]);
    const at0 = t.items[0] as A.AtItem;
    expect(show(at0.time)).toBe("0ms");
    expect(at0.steps.map((s) => (s.kind === "Set" ? `${show(s.target)} = ${show(s.value)}` : "send"))).toEqual([
      "mill1.execution = ACTIVE",
      "mill1.temperature = 85[degC^1]",
    ]);
    expect((t.items[1] as A.AtItem).steps[0]).toMatchObject({ kind: "Send", call: { kind: "Call" } });
    expect((t.items[2] as A.AtItem).steps[0]).toMatchObject({ value: { kind: "Unavailable" } });
    expect((t.items[3] as A.ReplayItem).path.value).toBe("sessions/shift-1.jsonl");
    const e1 = t.items[5] as A.ExpectItem;
    expect(show(e1.expr)).toBe("mill1.stop()");
    expect(show(e1.at!)).toBe("15000ms");
    const e2 = t.items[6] as A.ExpectItem;
    expect(e2.shadow).toBeDefined();
    expect(e2.no).toBeDefined();
    expect(e2.between!.map(show)).toEqual(["1000ms", "74000ms"]);
    expect((t.items[7] as A.ExpectItem).verdict?.value).toBe("accepted");
    expect((t.items[8] as A.ExpectItem).verdict?.value).toBe("rejected");
    expect(show((t.items[9] as A.ExpectItem).expr)).toBe("(count(mill1.stop()) == 1)");
    expect(show((t.items[10] as A.ExpectItem).at!)).toBe("@" + Date.UTC(2026, 10, 20, 8, 5));
    expect(show((t.items[11] as A.ExpectItem).expr)).toBe("commands");
  });

  it("soft keywords serve as names", () => {
    const f = ok(`model session { telemetry every: int state match = count(every) command commands() }`);
    const m = f.decls[0] as A.ModelDecl;
    expect(m.name.name).toBe("session");
    expect(m.members.map((x) => x.name.name)).toEqual(["every", "match", "commands"]);
  });
});

describe("expressions", () => {
  it("precedence", () => {
    expect(show(expr("a or b and not c == d + e * -f"))).toBe("(a or (b and (not (c == (d + (e * (- f)))))))");
    expect(show(expr("a - b - c"))).toBe("((a - b) - c)");
    expect(show(expr("a / b % c"))).toBe("((a / b) % c)");
    expect(show(expr("x > 1 and y for 5s"))).toBe("(((x > 1) and y) for 5000ms)");
    expect(show(expr("not a.b[1].c(2)"))).toBe("(not a.b[1].c(2))");
    expect(show(expr("(a + b) * c"))).toBe("(<(a + b)> * c)");
    expect(show(expr("if a then b else c + 1"))).toBe("(if a then b else (c + 1))");
    expect(show(expr("1 + if a then b else c + 1"))).toBe("(1 + (if a then b else (c + 1)))");
    expect(show(expr("self.x == true or false"))).toBe("((self.x == true) or false)");
    expect(show(expr("avg(t) over tumbling 1m > 20 degC"))).toBe("(avg(t) over tumbling 60000ms > 20[degC^1])");
    expect(show(expr("max(t) over session gap 30s grace 1s final"))).toBe("max(t) over session 30000ms grace 1000ms final");
  });

  it("spans", () => {
    const src = "a + b * 2";
    const e = expr(src) as A.BinaryExpr;
    const base = "model M { state s = ".length;
    expect(e.span).toEqual({ start: base, end: base + src.length });
    expect(e.opSpan).toEqual({ start: base + 2, end: base + 3 });
    expect((e.right as A.BinaryExpr).span).toEqual({ start: base + 4, end: base + 9 });
    const call = expr("f(x, y: 1) over tumbling 1m") as A.CallExpr;
    expect(call.span).toEqual({ start: base, end: base + "f(x, y: 1) over tumbling 1m".length });
    expect(call.args[1]!.span).toEqual({ start: base + 5, end: base + 9 });
  });

  it("quantities and division", () => {
    expect(show(expr("8 l/min"))).toBe("8[l^1 min^-1]");
    expect(show(expr("9.81 m/s^2"))).toBe("9.81[m^1 s^-2]");
    expect(show(expr("3 m*s^-2"))).toBe("3[m^1 s^-2]");
    expect(show(expr("2 N*m"))).toBe("2[N^1 m^1]");
    expect(show(expr("x / 2"))).toBe("(x / 2)");
    expect(show(expr("5 m / 2"))).toBe("(5[m^1] / 2)");
    expect(show(expr("5 m * x"))).toBe("(5[m^1] * x)");
    expect(show(expr("5\n  + x"))).toBe("(5 + x)");
    expect(show(expr("50 percent"))).toBe("50[percent^1]");
  });

  it("a number followed by a name on the next line is not a quantity", () => {
    const f = ok("asset a: M { hall = 5\n  vendor = 2 }");
    expect(((f.decls[0] as A.AssetDecl).items[0] as A.AttributeAssign).value.kind).toBe("Number");
  });

  it("numbers, durations and ranges", () => {
    expect(expr("42")).toMatchObject({ kind: "Number", value: 42, isInt: true, text: "42" });
    expect(expr("3.5")).toMatchObject({ value: 3.5, isInt: false });
    expect(expr("1e-3")).toMatchObject({ value: 0.001, isInt: false });
    expect(expr("250ms")).toMatchObject({ kind: "Duration", ms: 250, text: "250ms" });
    expect(expr("1.5m")).toMatchObject({ ms: 90000 });
    expect(expr("2h")).toMatchObject({ ms: 7200000 });
    expect(expr("1d")).toMatchObject({ ms: 86400000 });
    expect(expr("50.001s")).toMatchObject({ ms: 50001 });
    expect(expr("-7")).toMatchObject({ kind: "Unary", op: "-", operand: { value: 7 } });
    const f = ok("model M { telemetry x: int in 0..24000 }");
    expect(((f.decls[0] as A.ModelDecl).members[0] as A.TelemetryMember).range).toMatchObject({ min: 0, max: 24000 });
  });

  it("timestamps", () => {
    expect(expr("@2026-11-20T08:05:00Z")).toMatchObject({ kind: "Timestamp", ms: Date.UTC(2026, 10, 20, 8, 5, 0) });
    expect(expr("@2026-11-20T08:05:00.250Z")).toMatchObject({ ms: Date.UTC(2026, 10, 20, 8, 5, 0, 250) });
    expect(expr("@2026-11-20T08:05Z")).toMatchObject({ ms: Date.UTC(2026, 10, 20, 8, 5) });
    expect(expr("@2024-02-29T00:00:00Z")).toMatchObject({ ms: Date.UTC(2024, 1, 29) });
  });

  it("strings and escapes", () => {
    expect(expr(String.raw`"a\"b\\c\nd\te\u{1F600}"`)).toMatchObject({ kind: "String", value: 'a"b\\c\nd\te\u{1F600}' });
  });

  it("ErrorExpr where an expression is missing", () => {
    const r = parse("model M { state s = \n state t = 1 }", "t.ofl");
    expect(r.diagnostics.map((d) => d.message)).toEqual(["expected an expression, found `state`"]);
    const m = r.file.decls[0] as A.ModelDecl;
    expect(m.members.map((x) => x.name.name)).toEqual(["s", "t"]);
    expect((m.members[0] as A.StateMember).expr.kind).toBe("ErrorExpr");
  });
});

describe("doc comments", () => {
  it("attach to the next declaration and member", () => {
    const f = ok(`/// A three-axis mill.
///   indented
model CncMill {
  /// Spindle speed.
  telemetry speed: float
  // plain comment
  telemetry other: int
}
/// detached

/* block */
rule r { when x then y() }`);
    const m = f.decls[0] as A.ModelDecl;
    expect(m.doc).toBe("A three-axis mill.\n  indented");
    expect(m.members[0]!.doc).toBe("Spindle speed.");
    expect(m.members[1]!.doc).toBeUndefined();
    expect(f.decls[1]!.doc).toBeUndefined();
    expect(f.comments.map((c) => c.kind)).toEqual(["doc", "doc", "doc", "line", "doc", "block"]);
  });
});
