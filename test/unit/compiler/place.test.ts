// The placement stage (compiler/place/place.ts): where each declaration runs in a Kafka deployment
// (spec §8) and why, and that hover shows exactly what `ofl build --explain` prints (issue 16,
// item 1: hover used to re-derive placement and disagreed with the emitter).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { compile, emitKsql, explainKsql, place, type IrProgram } from "../../../compiler/index.js";
import { TestWorkspace } from "../lsp/features/harness.js";

const root = join(__dirname, "..", "..", "..");

/** Two tanks: each kind of declaration, and a state that reads another asset. */
const TANKS = `model Tank {
  telemetry level: float<m> in 0..10
  state high = level > 8 m
  state lower = t2.level > level
  state full = level > 9 m for 10s
  state rising = changed(level)
  state avg_level = avg(level) over tumbling(1m)
  alarm overflow severity high when level > 9.5 m clear when level < 9 m
  command drain()
  command fill(rate: float<percent> in 0..100) requires level < 9 m
}

asset t1: Tank {
  uuid "T-1"
  source simulate() {
    level <- constant(5, every: 1s)
    drain -> set(level, 0)
    fill -> set(level, 9)
  }
}

asset t2: Tank {
  uuid "T-2"
  source simulate() {
    level <- constant(6, every: 1s)
    drain -> set(level, 0)
    fill -> set(level, 9)
  }
}

view highest = max(level) from Tank

rule drain_full on Tank {
  when full
  then drain()
}
`;

function ir(text: string, name: string): IrProgram {
  const r = compile([{ path: `${name}.ofl`, text }], { name });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.ir!;
}

const W = ": runs in the rule worker";

describe("place(ir)", () => {
  test("each kind of declaration: where it runs and why, exactly", () => {
    expect(place(ir(TANKS, "tanks"))).toEqual([
      { declaration: "Tank.high", runsOn: "ksqldb", reason: "pointwise over the latest values" },
      { declaration: "Tank.lower", runsOn: "worker", reason: "reads another asset (t2.level): ksqlDB would need a cross-asset join" + W },
      { declaration: "Tank.full", runsOn: "worker", reason: "`for` needs a timer" + W },
      { declaration: "Tank.rising", runsOn: "worker", reason: "`changed` needs the value before the latest change" + W },
      { declaration: "Tank.avg_level", runsOn: "ksqldb", reason: "windowed aggregate (avg over tumbling 1 minutes, grace 0 seconds, EMIT CHANGES)" },
      { declaration: "Tank.overflow", runsOn: "worker", reason: "an alarm is raised and cleared on transitions with hysteresis (`clear when`) and acknowledged" + W },
      { declaration: "Tank.drain", runsOn: "worker", reason: "command dispatch goes through the connector" + W },
      { declaration: "Tank.fill", runsOn: "worker", reason: "the interlock (`requires`) and dispatch need current state and the connector" + W },
      { declaration: "view highest", runsOn: "worker", reason: "MAX cannot aggregate a table in ksqlDB (current values across assets)" + W },
      { declaration: "rule drain_full", runsOn: "worker", reason: "fires on the rising edge of its condition, and issues commands through the interlocks" + W },
    ]);
  });

  test("pure: the same IR gives the same answer, and the ksqlDB plan carries it", () => {
    const p = ir(TANKS, "tanks");
    expect(place(p)).toEqual(place(ir(TANKS, "tanks")));
    // the plan's placement is the stage's, each ksqlDB entry naming the object it emitted
    const names = new Map(emitKsql(p).statements.map((st) => [st.source, st.name]));
    expect(emitKsql(p).placement).toEqual(place(p).map((x) => (x.runsOn === "ksqldb" ? { ...x, reason: `${x.reason}: ${names.get(x.declaration)}` } : x)));
    expect(names.get("Tank.high")).toBe("OFL_TANKS_TANK_HIGH");
  });

  test("the emitter emits exactly what placement puts on ksqlDB, over the conformance programs and the examples", () => {
    for (const prog of programs()) {
      const p = ir(prog.text.replaceAll("‸", ""), prog.name);
      const onKsql = place(p).filter((x) => x.runsOn === "ksqldb").map((x) => x.declaration);
      const emitted = [...new Set(emitKsql(p).statements.map((st) => st.source).filter((src) => !src.startsWith("(") && !src.startsWith("model ")))];
      expect(emitted.sort(), prog.name).toEqual([...onKsql].sort());
    }
  });

  test("the example hover got wrong: `state lower = t2.level > level` runs in the rule worker", () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:tanks.ofl", TANKS.replace("state lower =", "state lo‸wer ="));
    const h = t.ws.hover(d.uri, d.at[0]!);
    const text = h && typeof h.contents === "object" && "value" in h.contents ? h.contents.value : "";
    expect(text).toContain("*Runs in:* the rule worker: reads another asset (t2.level): ksqlDB would need a cross-asset join");
    expect(text).not.toContain("ksqlDB (");
  });
});

// ---------------------------------------------------------------- hover = --explain

/** The conformance programs and the examples (their main file; `*.test.ofl` holds tests). */
function programs(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  const pass = join(root, "test", "conformance", "pass");
  for (const f of readdirSync(pass).filter((f) => f.endsWith(".ofl")).sort()) out.push({ name: f.replace(/\.ofl$/, ""), text: readFileSync(join(pass, f), "utf8") });
  const ex = join(root, "examples");
  for (const dir of readdirSync(ex).sort())
    for (const f of readdirSync(join(ex, dir)).filter((f) => f.endsWith(".ofl") && !f.endsWith(".test.ofl")))
      out.push({ name: f.replace(/\.ofl$/, ""), text: readFileSync(join(ex, dir, f), "utf8") });
  return out;
}

/** `ofl build --explain`'s placement sections, parsed: declaration -> "ksqlDB: reason" / "the rule worker: reason". */
function explained(text: string, name: string): Map<string, string> {
  // the language server names an untitled document's program after its URI's path
  const lines = explainKsql(emitKsql(ir(text, `untitled:${name}`))).split("\n");
  const out = new Map<string, string>();
  let where = "";
  for (const l of lines) {
    if (l.startsWith("Runs in ksqlDB")) where = "ksqlDB";
    else if (l.startsWith("Runs in the rule worker")) where = "the rule worker";
    else if (l.startsWith("ksqlDB statements")) where = "";
    else if (where && l.startsWith("  ") && l !== "  (none)") {
      const m = /^ {2}(\S+(?: \S+)?)\s{2,}(.*)$/.exec(l)!;
      // hover shows the placement stage's reason: without the emitted object's name
      out.set(m[1]!, `${where}: ${m[2]!.replace(/: runs in the rule worker$/, "").replace(/: OFL_\w+$/, "")}`);
    }
  }
  return out;
}

/** The offset of a declaration's name in the text; undefined for a member declared elsewhere (a base or std model). */
function nameOffset(text: string, declaration: string): number | undefined {
  const [a, b] = declaration.split(/[ .]/) as [string, string];
  if (a === "view" || a === "rule") return new RegExp(`\\b${a}\\s+(${b})\\b`).exec(text)!.index + a.length + 1;
  const model = new RegExp(`\\bmodel\\s+${a}\\b`).exec(text)?.index;
  if (model === undefined) return undefined; // a model of the standard library
  const next = text.indexOf("\nmodel ", model + 1);
  const body = text.slice(0, next < 0 ? text.length : next);
  const m = new RegExp(`\\b(state|alarm|command)\\s+${b}\\b`, "g");
  m.lastIndex = model;
  const hit = m.exec(body);
  return hit ? hit.index + hit[1]!.length + 1 : undefined;
}

describe("hover shows the placement `ofl build --explain` prints", () => {
  const ps = programs();
  test("the set of programs is the conformance programs and the examples", () => {
    expect(ps.length).toBeGreaterThanOrEqual(9);
  });
  for (const p of ps)
    test(p.name, () => {
      const want = explained(p.text, p.name);
      expect(want.size).toBeGreaterThan(0);
      const t = new TestWorkspace();
      const uri = `untitled:${p.name}.ofl`;
      t.open(uri, p.text.replaceAll("‸", ""));
      let compared = 0;
      for (const [decl, where] of want) {
        // inherited members appear under each sub-model; hover is on the declaring model's text
        const off = nameOffset(p.text, decl);
        if (off === undefined) continue;
        const before = p.text.slice(0, off);
        const line = before.split("\n").length - 1;
        const character = off - before.lastIndexOf("\n") - 1;
        const h = t.ws.hover(uri, { line, character });
        const text = h && typeof h.contents === "object" && "value" in h.contents ? h.contents.value : "";
        const runs = text.split("\n\n").find((s) => s.startsWith("*Runs in:* "));
        expect({ decl, runs }).toEqual({ decl, runs: `*Runs in:* ${where}` });
        compared++;
      }
      expect(compared).toBeGreaterThan(0);
    });
});
