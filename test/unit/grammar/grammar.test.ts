// The VS Code extension's TextMate grammar (vscode-extension/syntaxes/ofl.tmLanguage.json) against the
// real lexer (compiler/syntax `lex`), so highlighting cannot drift from the language.
//
// The grammar is loaded with vscode-textmate and vscode-oniguruma (VS Code's own engine and regex
// library) and tokenizes every conformance case, every example and every ```ofl block of docs/*.md,
// plus an edge-case corpus below. For each token of the lexer, every TextMate token overlapping it must
// carry a scope of its category:
//   keyword                      → keyword.*  (true/false → constant.language.*, self → variable.language.*)
//   number, duration, timestamp  → constant.*
//   string                       → string.*
//   comment                      → comment.*
//   identifier                   → no keyword.*, string.* or comment.*
//   operator, punctuation        → no string.* or comment.*
// Soft keywords (`every session match commands`, §10) are keywords to the lexer wherever they stand;
// the grammar highlights them as keywords only where they act as keywords, by this rule (the same as
// in vscode-extension/scripts/grammar.mjs): `every` before a number or duration, `session` before
// `gap`, `commands` before `match`, `match` before `recorded`; anywhere else they are names and are
// checked as identifiers.
import { describe, expect, it, beforeAll } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as onig from "vscode-oniguruma";
import * as vsctm from "vscode-textmate";
import { lex, KEYWORDS, SOFT_KEYWORDS, TOKEN_CATEGORIES, type LexToken } from "../../../compiler/syntax/index.js";
import { grammarText, GRAMMAR_PATH, ALL_KEYWORDS, SOFT_KEYWORDS as GRAMMAR_SOFT } from "../../../vscode-extension/scripts/grammar.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../../..");
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------- the corpus

function walk(dir: string, ext: string, out: string[] = []): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e === "node_modules" || e.startsWith(".")) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, ext, out);
    else if (e.endsWith(ext)) out.push(p);
  }
  return out;
}

interface Source {
  name: string;
  text: string;
  /** line of the text's first line in the named file (1 for whole files) */
  firstLine: number;
}

function corpus(): Source[] {
  const out: Source[] = [];
  const file = (p: string): Source => ({ name: relative(root, p), text: readFileSync(p, "utf8"), firstLine: 1 });
  for (const p of walk(join(root, "test/conformance/pass"), ".ofl")) out.push(file(p));
  for (const p of walk(join(root, "test/conformance/errors"), ".ofl")) out.push(file(p));
  for (const p of walk(join(root, "examples"), ".ofl")) out.push(file(p));
  for (const p of walk(join(root, "stdlib"), ".ofl")) out.push(file(p));
  for (const p of walk(join(root, "docs"), ".md")) {
    const lines = readFileSync(p, "utf8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      const m = /^```(ofl(?:-fragment)?)\s*$/.exec(lines[i]!);
      if (!m) continue;
      let j = i + 1;
      while (j < lines.length && !/^```\s*$/.test(lines[j]!)) j++;
      out.push({ name: relative(root, p), text: lines.slice(i + 1, j).join("\n"), firstLine: i + 2 });
      i = j;
    }
  }
  out.push({ name: "(edge cases in grammar.test.ts)", text: EDGE_CASES, firstLine: 1 });
  return out;
}

/** Lexically tricky text (need not check): every keyword, literals next to each other, broken literals. */
const EDGE_CASES = String.raw`/// doc comment
//// four slashes are a doc comment too
// line comment with "quote" and /* block */
/* block
   comment over lines */ model A extends B {}
model CncMill extends Machine { attribute hall: string = "unknown" }
asset mill1: CncMill { uuid "CNC-001" hall = "north" vendor = "DMG" }
asset m2:CncMill{uuid"X"}
enum Execution { READY, ACTIVE, STOPPED }
unit degC
unit kW = 1000 W
use std/oee
model M {
  telemetry t: float<degC> in -50..500
  telemetry a: float< m/s^2 >
  telemetry b: int<mm/min> in 0..24000
  telemetry c: float<m*s^-1>
  state s: float<degC> = avg(t) over tumbling 1m final
  state u = ratio(e == ACTIVE) over hopping 10m every 1m grace 5s
  state v = count() over session gap 5m
  state w = t > 90 degC for 5s
  state x = if known(t) then t else 0 degC
  state y = age(t) > 30s and not changed(t) or previous(t) < 1e-3
  state z = 1.5m + 250ms + 2h + 1d + 5s + 10degC + 2min + 3.5e+2 + 7e
  state q = 9.81 m/s^2 * 8 l/min / 50 percent
  state r = 5 m / 2
  alarm hot severity high when t > 95 degC clear when t < 85 degC
  command stop()
  command set_feed(override: float<percent> in 0..150) requires e != INTERRUPTED and override <= 120 percent
}
asset sim: M {
  source simulate(seed: 42) {
    t <- sine(mean: 20, amplitude: 5, period: 1m, every: 1s)
    e <- sequence(READY: 10s, ACTIVE: 20s)
    stop -> set(e, STOPPED)
  }
  source opcua("opc.tcp://127.0.0.1:4840", security: "SignAndEncrypt") {
    t <- node("ns=1;s=T", sampling: 100ms, deadband: 0.5) map { 0: READY, 1: ACTIVE }
    set_feed->write("ns=1;s=F")
    x<-node("ns=1;s=X")
  }
  source mqtt("mqtt://127.0.0.1", user: env("USER")) { t <- topic("a/+/b", json: "$.a.b[0]") }
}
view hall_temp = avg(t) from M by hall over tumbling 5m
view active = count() from M where e == ACTIVE
rule stop_hot on M {
  when w and self.e == ACTIVE
  then stop(), sim.set_feed(override: 50 percent)
  cooldown 1m
  repeat every 5m
  shadow
}
rule every_rule { when hall_temp["north"] >= 30 degC then sim.stop() }
test "strings \"escaped\" \\ \n \t \u{1F600} and a bad \q escape" {
  at 0s sim.e = ACTIVE, sim.t = 85 degC
  at 0 sim.t = 1
  at 10s sim.t = unavailable
  at 20s send sim.set_feed(override: 90 percent)
  at @2026-11-20T08:05:00Z sim.t = 3
  at @2026-11-20T08:05:00.250Z sim.t = 4
  at @2026-11-20T08:05Z sim.t = 5
  expect sim.stop() at 15s
  expect sim.set_feed() accepted between 10s and 20s
  expect sim.set_feed() rejected at 20s
  expect shadow sim.stop() at 15s
  expect no sim.stop()
  expect count(sim.stop()) == 1 between 0 and 5
  expect count(deadletters("range")) == 0
  expect true != false
  expect sim.hot.active at @2026-11-20T08:05:00Z
}
test "replay" {
  replay "sessions/shift-1.jsonl"
  expect commands match recorded
}
model Names { telemetry session: int telemetry every: int telemetry match: int telemetry commands: int }
state every = session + match * commands
x = a%b^c
bad @2026-13-45T99:99Z @1234 @ "unterminated
"ends with backslash \
#$ ; ? tokens the lexer rejects
ok = "after errors" /* unterminated block comment
to the end`;

// ---------------------------------------------------------------- TextMate

let grammar: vsctm.IGrammar;

beforeAll(async () => {
  const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await onig.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new onig.OnigScanner(patterns),
      createOnigString: (s: string) => new onig.OnigString(s),
    }),
    loadGrammar: async (scopeName: string) => (scopeName === "source.ofl" ? vsctm.parseRawGrammar(readFileSync(GRAMMAR_PATH, "utf8"), GRAMMAR_PATH) : null),
  });
  const g = await registry.loadGrammar("source.ofl");
  if (!g) throw new Error("the grammar did not load");
  grammar = g;
});

interface TmToken {
  start: number;
  end: number;
  scopes: string[];
}

/** TextMate tokens per line, and each line's start offset in the text. */
function tokenize(text: string): { lines: TmToken[][]; starts: number[] } {
  const lines: TmToken[][] = [];
  const starts: number[] = [];
  const re = /\r\n|\r|\n/g;
  let at = 0;
  let stack = vsctm.INITIAL;
  for (;;) {
    const m = re.exec(text);
    const end = m ? m.index : text.length;
    const line = text.slice(at, end);
    const r = grammar.tokenizeLine(line, stack);
    if (r.stoppedEarly) throw new Error(`tokenization stopped early at offset ${at}`);
    lines.push(r.tokens.map((t) => ({ start: t.startIndex, end: Math.min(t.endIndex, line.length), scopes: t.scopes })));
    starts.push(at);
    stack = r.ruleStack;
    if (!m) break;
    at = m.index + m[0].length;
  }
  return { lines, starts };
}

// ---------------------------------------------------------------- the comparison

const BOOLEANS = new Set(["true", "false"]);
const SOFT_RULE: Record<string, (next: LexToken | undefined) => boolean> = {
  every: (n) => n?.type === "Number" || n?.type === "Duration",
  session: (n) => n?.type === "KwGap",
  commands: (n) => n?.type === "KwMatch",
  match: (n) => n?.type === "KwRecorded",
};

type Expect = { what: string; ok: (scopes: string[]) => boolean };
const has = (scopes: string[], prefix: string) => scopes.some((s) => s.startsWith(prefix));
const EXPECT: Record<string, Expect> = {
  keyword: { what: "keyword.*", ok: (s) => has(s, "keyword.") },
  boolean: { what: "constant.language.*", ok: (s) => has(s, "constant.language.") },
  self: { what: "variable.language.*", ok: (s) => has(s, "variable.language.") },
  constant: { what: "constant.*", ok: (s) => has(s, "constant.") },
  string: { what: "string.*", ok: (s) => has(s, "string.") },
  comment: { what: "comment.*", ok: (s) => has(s, "comment.") },
  identifier: { what: "no keyword.*/string.*/comment.*", ok: (s) => !has(s, "keyword.") && !has(s, "string.") && !has(s, "comment.") },
  symbol: { what: "no string.*/comment.*", ok: (s) => !has(s, "string.") && !has(s, "comment.") },
};

/** What the grammar must say about a lexer token (its category, with the soft-keyword rule). */
export function expectationOf(tokens: LexToken[], i: number): Expect {
  const t = tokens[i]!;
  const cat = TOKEN_CATEGORIES[t.type];
  if (!cat) throw new Error(`token type ${t.type} has no category`);
  switch (cat) {
    case "keyword": {
      if (BOOLEANS.has(t.image)) return EXPECT.boolean!;
      if (t.image === "self") return EXPECT.self!;
      const soft = SOFT_RULE[t.image];
      if (soft) {
        let j = i + 1;
        while (tokens[j] && TOKEN_CATEGORIES[tokens[j]!.type] === "comment") j++;
        return soft(tokens[j]) ? EXPECT.keyword! : EXPECT.identifier!;
      }
      return EXPECT.keyword!;
    }
    case "number":
    case "duration":
    case "timestamp":
      return EXPECT.constant!;
    case "string":
      return EXPECT.string!;
    case "comment":
      return EXPECT.comment!;
    case "identifier":
      return EXPECT.identifier!;
    case "operator":
    case "punctuation":
      return EXPECT.symbol!;
  }
}

/** Mismatches between the lexer and the grammar in one source, as `file:line:col …` lines. */
function mismatches(src: Source): { checked: number; bad: string[] } {
  const { lines, starts } = tokenize(src.text);
  const { tokens } = lex(src.text);
  const bad: string[] = [];
  let checked = 0;
  let line = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const exp = expectationOf(tokens, i);
    while (line + 1 < starts.length && starts[line + 1]! <= t.start) line++;
    // the token may span lines (block comments): check each line's part
    for (let l = line; l < starts.length && starts[l]! < t.end; l++) {
      const from = Math.max(t.start, starts[l]!) - starts[l]!;
      const to = Math.min(t.end, l + 1 < starts.length ? starts[l + 1]! : Infinity) - starts[l]!;
      for (const tm of lines[l]!) {
        if (tm.end <= from || tm.start >= to) continue;
        checked++;
        if (exp.ok(tm.scopes)) continue;
        const lineText = src.text.slice(starts[l]!, l + 1 < starts.length ? starts[l + 1]! : undefined).replace(/\r?\n$/, "");
        bad.push(
          `${src.name}:${src.firstLine + l}:${from + 1}: ${TOKEN_CATEGORIES[t.type]} ${t.type} ${JSON.stringify(t.image)} ` +
            `expects ${exp.what}; TextMate gives ${JSON.stringify(lineText.slice(tm.start, tm.end))} [${tm.scopes.slice(1).join(" ")}]\n    ${lineText}`,
        );
      }
    }
  }
  return { checked, bad };
}

// ---------------------------------------------------------------- tests

describe("the TextMate grammar (vscode-extension/syntaxes/ofl.tmLanguage.json)", () => {
  it("is what vscode-extension/scripts/grammar.mjs generates (edit the script, run it)", () => {
    expect(readFileSync(GRAMMAR_PATH, "utf8")).toBe(grammarText());
  });

  it("knows exactly the keywords of §10, and the same soft ones as the lexer", () => {
    expect([...ALL_KEYWORDS].sort()).toEqual([...KEYWORDS].sort());
    expect([...GRAMMAR_SOFT].sort()).toEqual([...SOFT_KEYWORDS].sort());
  });

  it("highlights every keyword as a keyword where it is one", () => {
    for (const w of KEYWORDS) {
      const text = w === "every" ? "every 1m" : w === "session" ? "session gap" : w === "commands" ? "commands match" : w === "match" ? "match recorded" : w;
      const { lines } = tokenize(text);
      const exp = BOOLEANS.has(w) ? EXPECT.boolean! : w === "self" ? EXPECT.self! : EXPECT.keyword!;
      expect(exp.ok(lines[0]![0]!.scopes), `${w}: ${lines[0]![0]!.scopes.join(" ")}`).toBe(true);
    }
  });

  it("gives quantities, durations, timestamps, declarations and types their scopes", () => {
    const scopesAt = (text: string, needle: string): string[] => {
      const at = text.indexOf(needle);
      const tm = tokenize(text).lines[0]!.find((t) => t.start <= at && at < t.end)!;
      return tm.scopes;
    };
    expect(scopesAt("state w = t > 90 degC for 5s", "degC")).toContain("entity.name.type.unit.ofl");
    expect(scopesAt("state q = 9.81 m/s^2", "s^")).toContain("entity.name.type.unit.ofl");
    expect(scopesAt("state w = t > 90 degC for 5s", "5s")).toContain("constant.numeric.duration.ofl");
    expect(scopesAt("at @2026-11-20T08:05:00Z x.y = 1", "@")).toContain("constant.other.timestamp.ofl");
    expect(scopesAt("model CncMill extends Machine {", "CncMill")).toContain("entity.name.type.model.ofl");
    expect(scopesAt("model CncMill extends Machine {", "Machine")).toContain("entity.other.inherited-class.ofl");
    expect(scopesAt("asset mill1: CncMill {", "mill1")).toContain("entity.name.variable.asset.ofl");
    expect(scopesAt("rule stop_hot on CncMill {", "stop_hot")).toContain("entity.name.function.rule.ofl");
    expect(scopesAt("view v = count() from M", "v ")).toContain("entity.name.variable.view.ofl");
    expect(scopesAt("enum Execution { READY }", "Execution")).toContain("entity.name.type.enum.ofl");
    expect(scopesAt("unit kW = 1000 W", "kW")).toContain("entity.name.type.unit.ofl");
    expect(scopesAt("  telemetry t: float<degC>", "float")).toContain("support.type.primitive.ofl");
    expect(scopesAt("  telemetry t: float<degC>", "degC")).toContain("entity.name.type.unit.ofl");
    expect(scopesAt("  telemetry e: Execution", "Execution")).toContain("entity.name.type.ofl");
    expect(scopesAt("  x <- node(\"a\")", "<-")).toContain("keyword.operator.binding.ofl");
    expect(scopesAt("  stop -> method(\"a\")", "->")).toContain("keyword.operator.binding.ofl");
    expect(scopesAt('  uuid "a\\u{1F600}"', "\\u")).toContain("constant.character.escape.ofl");
    // `hall = 5 vendor = "x"`: vendor starts a new item, it is no unit (as the parser reads it)
    expect(scopesAt('asset a: M { hall = 5 vendor = "x" }', "vendor")).not.toContain("entity.name.type.unit.ofl");
    // soft keywords as names
    expect(scopesAt("state every = 1", "every")).not.toContain("keyword.other.ofl");
    expect(scopesAt("state x = hopping 10m every 1m", "every")).toContain("keyword.other.ofl");
  });

  it("agrees with the lexer on the conformance cases, examples, stdlib, docs and edge cases", () => {
    const sources = corpus();
    expect(sources.filter((s) => s.name.startsWith("test/conformance/pass")).length).toBeGreaterThanOrEqual(6);
    expect(sources.filter((s) => s.name.startsWith("examples/")).length).toBeGreaterThan(0);
    expect(sources.filter((s) => s.name === "docs/language.md").length).toBeGreaterThan(20);
    let checked = 0;
    const bad: string[] = [];
    for (const s of sources) {
      const r = mismatches(s);
      checked += r.checked;
      bad.push(...r.bad);
    }
    expect(checked).toBeGreaterThan(10_000);
    expect(bad.slice(0, 40).join("\n") + (bad.length > 40 ? `\n… and ${bad.length - 40} more` : "")).toBe("");
  });
});
