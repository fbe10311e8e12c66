// The language server through a real LSP client over stdio (dist/ofl-lsp.mjs, built first).
// Positions are marked in the test texts with `‸`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { LspClient, ROOT, marked, positionAt, offsetAt } from "./client.js";
import { ResponseError } from "vscode-languageserver-protocol/node";

type Range = { start: { line: number; character: number }; end: { line: number; character: number } };
type Item = { label: string; kind?: number; detail?: string };

let c: LspClient;
let dir: string;
let plantPath: string;
let testPath: string;
let plantUri: string;
let testUri: string;
let plantText: string;
let testText: string;
let initResult: { capabilities: Record<string, unknown> };

beforeAll(async () => {
  const r = spawnSync(process.execPath, [join(ROOT, "lsp/build.mjs")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`lsp/build.mjs failed: ${r.stderr}`);
  dir = mkdtempSync(join(tmpdir(), "ofl-lsp-"));
  cpSync(join(ROOT, "examples/cnc-cell"), join(dir, "cell"), { recursive: true });
  mkdirSync(join(dir, "pass"));
  cpSync(join(ROOT, "test/conformance/pass/06_replay.ofl"), join(dir, "pass/06_replay.ofl"));
  cpSync(join(ROOT, "test/conformance/sessions"), join(dir, "sessions"), { recursive: true });
  plantPath = join(dir, "cell/plant.ofl");
  testPath = join(dir, "cell/plant.test.ofl");
  plantUri = pathToFileURL(plantPath).href;
  testUri = pathToFileURL(testPath).href;
  plantText = readFileSync(plantPath, "utf8");
  testText = readFileSync(testPath, "utf8");
  c = await LspClient.start({ debounceMs: 5 });
  initResult = c.init;
  await c.open(plantUri, plantText);
  await c.waitForDiagnostics(plantUri);
}, 60_000);

afterAll(async () => {
  await c?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens (or replaces) a scratch document in the project and returns its marker positions. */
let version = 100;
async function scratch(src: string, name = "scratch.ofl"): Promise<{ uri: string; text: string; at: (i?: number) => { line: number; character: number } }> {
  const { text, offsets } = marked(src);
  const uri = pathToFileURL(join(dir, "cell", name)).href;
  if (c.diagnostics.has(uri) || opened.has(uri)) await c.change(uri, ++version, [{ text }]);
  else {
    opened.add(uri);
    await c.open(uri, text, ++version);
  }
  const v = version;
  await c.waitForDiagnostics(uri, (p) => p.version === v);
  return { uri, text, at: (i = 0) => positionAt(text, offsets[i]!) };
}
const opened = new Set<string>();

async function completion(uri: string, position: { line: number; character: number }): Promise<Item[]> {
  const r = await c.request<Item[] | { items: Item[] } | null>("textDocument/completion", { textDocument: { uri }, position });
  return Array.isArray(r) ? r : (r?.items ?? []);
}
const labels = (items: Item[]): string[] => items.map((i) => i.label);

function markerIn(text: string, needle: string, delta = 0): { line: number; character: number } {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`not found: ${needle}`);
  return positionAt(text, i + delta);
}

// ---------------------------------------------------------------- diagnostics

describe("diagnostics", () => {
  it("publishes for every file of the project, clean for the example", async () => {
    expect(c.diagnostics.get(plantUri)?.diagnostics).toEqual([]);
    // the test file, not open, is part of the program and gets its (empty) diagnostics too
    const t = await c.waitForDiagnostics(testUri);
    expect(t.diagnostics).toEqual([]);
  });

  it("has LSP ranges, codes, did-you-mean data and related information", async () => {
    const s = await scratch(`test "dup" {\n  expect mill1.‸temprature‸ > 1 degC\n}\ntest "dup" {\n  expect true\n}\n`);
    const d = c.diagnostics.get(s.uri)!.diagnostics;
    const unknown = d.find((x) => x.code === "OFL2004")!;
    expect(unknown).toBeDefined();
    expect(unknown.range).toEqual({ start: s.at(0), end: s.at(1) });
    expect(unknown.severity).toBe(1);
    expect(unknown.source).toBe("ofl");
    expect(unknown.data).toEqual({ suggestion: "temperature" });
    const dup = d.find((x) => x.code === "OFL2024")!;
    expect(dup.relatedInformation?.[0]?.location.uri).toBe(s.uri);
    expect(dup.relatedInformation?.[0]?.location.range.start.line).toBe(0);
  });

  it("checks a file outside any project as a program by itself", async () => {
    const lone = mkdtempSync(join(tmpdir(), "ofl-lone-"));
    const uri = pathToFileURL(join(lone, "alone.ofl")).href;
    await c.open(uri, "model M { telemetry t: float<degC> }\nasset a: M {}\nview v = sum(a.x) from M\n");
    const d = await c.waitForDiagnostics(uri, (p) => p.diagnostics.length > 0);
    expect(d.diagnostics.map((x) => x.code)).toContain("OFL2004");
    await c.close(uri);
    rmSync(lone, { recursive: true, force: true });
  });

  it("never publishes a stale result: after a burst of edits the last version wins", async () => {
    const uri = pathToFileURL(join(dir, "cell", "burst.ofl")).href;
    await c.open(uri, "", 1);
    let text = "";
    const seen: number[] = [];
    const listener = (p: { uri: string; version?: number }): void => {
      if (p.uri === uri && p.version !== undefined) seen.push(p.version);
    };
    c.listeners.add(listener);
    const word = "view broken = count() from Nope\n";
    for (let v = 2; v < 2 + word.length; v++) {
      text += word[v - 2];
      await c.change(uri, v, [{ range: { start: positionAt(text, text.length - 1), end: positionAt(text, text.length - 1) }, text: word[v - 2] }]);
    }
    const last = 1 + word.length;
    const d = await c.waitForDiagnostics(uri, (p) => p.version === last);
    c.listeners.delete(listener);
    expect(d.diagnostics.map((x) => x.code)).toContain("OFL2003");
    // versions only move forward and every publish was for the newest version at the time
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen.length).toBeLessThan(word.length);
    await c.change(uri, last + 1, [{ text: "" }]);
    await c.waitForDiagnostics(uri, (p) => p.version === last + 1 && p.diagnostics.length === 0);
  });
});

// ---------------------------------------------------------------- completion

describe("completion", () => {
  it("offers an asset's members after `asset.`", async () => {
    const s = await scratch(`test "t" {\n  expect mill1.‸\n}\n`);
    const items = await completion(s.uri, s.at());
    expect(labels(items)).toEqual(expect.arrayContaining(["temperature", "overheating", "stop", "hall", "overtemp"]));
    expect(items.find((i) => i.label === "temperature")!.detail).toBe("telemetry temperature: float<degC> in -20..200");
  });

  it("offers `active` after an alarm", async () => {
    const s = await scratch(`test "t" {\n  expect mill1.overtemp.‸\n}\n`);
    expect(labels(await completion(s.uri, s.at()))).toEqual(["active"]);
  });

  it("offers models after `:` in an asset and after extends/from/on", async () => {
    for (const src of [`asset m9: ‸`, `model Lathe extends ‸`, `view v = count() from ‸`, `rule r on ‸`, `asset m9: Cnc‸`]) {
      const s = await scratch(src);
      const l = labels(await completion(s.uri, s.at()));
      expect(l, src).toEqual(expect.arrayContaining(["CncMill", "Machine"]));
      expect(l, src).not.toContain("model");
    }
  });

  it("offers enum members where an enum is expected", async () => {
    for (const src of [
      `rule r on CncMill {\n  when execution == ‸\n}`,
      `rule r on CncMill {\n  when execution != ‸ and true\n}`,
      `test "t" {\n  at 0s mill1.execution = ‸\n}`,
      `asset m9: CncMill {\n  hall = "x"\n  source opcua("opc.tcp://h:4840") {\n    execution <- node("ns=1") map { 0: ‸ }\n  }\n}`,
      `asset m9: CncMill {\n  hall = "x"\n  source opcua("opc.tcp://h:4840") {\n    execution <- node("ns=1") map { 0: READY, 1: ‸`,
    ]) {
      const s = await scratch(src);
      const l = labels(await completion(s.uri, s.at()));
      expect(l.slice(0, 4), src).toEqual(["READY", "ACTIVE", "INTERRUPTED", "STOPPED"]);
    }
  });

  it("offers unit names after a number and inside `<`", async () => {
    for (const src of [`test "t" {\n  at 0s mill1.temperature = 85 ‸\n}`, `model Q {\n  telemetry p: float<‸\n}`, `model Q {\n  telemetry p: float<b‸>\n}`]) {
      const s = await scratch(src);
      const l = labels(await completion(s.uri, s.at()));
      expect(l, src).toEqual(expect.arrayContaining(["degC", "bar", "rpm", "percent"]));
      expect(l, src).not.toContain("and");
    }
  });

  it("offers window kinds after `over`", async () => {
    const s = await scratch(`model Q {\n  telemetry p: float\n  state a = avg(p) over ‸\n}`);
    expect(labels(await completion(s.uri, s.at()))).toEqual(["tumbling", "hopping", "session"]);
  });

  it("offers binding functions by source kind inside a source block", async () => {
    const src = (kind: string, arrow: string) => `asset m9: CncMill {\n  hall = "x"\n  source ${kind} {\n    temperature ${arrow} ‸\n  }\n}`;
    const cases: [string, string, string[]][] = [
      ['opcua("opc.tcp://h:4840")', "<-", ["node"]],
      ['opcua("opc.tcp://h:4840")', "->", ["method", "write"]],
      ['mqtt("mqtt://h")', "<-", ["topic"]],
      ['mqtt("mqtt://h")', "->", ["publish"]],
      ["simulate(seed: 3)", "<-", ["constant", "random_walk", "sine", "sequence"]],
      ["simulate()", "->", ["set"]],
      ["openfactory()", "<-", ["id"]],
    ];
    for (const [kind, arrow, want] of cases) {
      const s = await scratch(src(kind, arrow));
      const l = labels(await completion(s.uri, s.at()));
      expect(l, `${kind} ${arrow}`).toEqual(expect.arrayContaining(want));
      expect(l, `${kind} ${arrow}`).not.toContain("temperature");
    }
    // at the start of a binding line: the telemetry and commands to bind
    const s = await scratch(`asset m9: CncMill {\n  hall = "x"\n  source simulate() {\n    ‸\n  }\n}`);
    const l = labels(await completion(s.uri, s.at()));
    expect(l).toEqual(expect.arrayContaining(["temperature", "stop", "set_feed"]));
    expect(l).not.toContain("hall");
  });

  it("offers keywords otherwise", async () => {
    const s = await scratch(`‸\nmodel Q {\n  ‸\n}\n`);
    expect(labels(await completion(s.uri, s.at(0)))).toEqual(expect.arrayContaining(["model", "asset", "view", "rule", "test", "enum", "unit", "use"]));
    expect(labels(await completion(s.uri, s.at(1)))).toEqual(expect.arrayContaining(["attribute", "telemetry", "state", "alarm", "command"]));
    const r = await scratch(`rule r on CncMill {\n  when temp‸\n}`);
    const l = labels(await completion(r.uri, r.at()));
    expect(l).toEqual(expect.arrayContaining(["temperature", "temp_avg", "and", "not", "avg", "mill1"]));
  });

  it("offers nothing inside a comment or a string", async () => {
    const s = await scratch(`// a comment mill1.‸\nasset m9: CncMill { uuid "abc.‸" }`);
    expect(await completion(s.uri, s.at(0))).toEqual([]);
    expect(await completion(s.uri, s.at(1))).toEqual([]);
  });
});

// ---------------------------------------------------------------- hover

describe("hover", () => {
  const hoverAt = async (uri: string, position: { line: number; character: number }): Promise<string> => {
    const h = await c.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: { uri }, position });
    return h?.contents.value ?? "";
  };

  it("shows telemetry with unit and range, where it runs", async () => {
    const md = await hoverAt(plantUri, markerIn(plantText, "temperature: float<degC>", 2));
    expect(md).toContain("telemetry temperature: float<degC> in -20..200");
    expect(md).toContain("unit: `degC`");
    expect(md).toContain("range: -20..200");
    expect(md).toContain("ksqlDB");
  });

  it("places states per spec §8", async () => {
    expect(await hoverAt(plantUri, markerIn(plantText, "state overheating", 7))).toMatch(/state overheating: bool[\s\S]*worker[\s\S]*`for`/);
    expect(await hoverAt(plantUri, markerIn(plantText, "state silent", 7))).toMatch(/worker[\s\S]*`age`/);
    expect(await hoverAt(plantUri, markerIn(plantText, "state temp_avg", 7))).toMatch(/float<degC>[\s\S]*ksqlDB \(a windowed aggregate\)/);
    expect(await hoverAt(plantUri, markerIn(plantText, "alarm overtemp", 7))).toMatch(/severity high[\s\S]*worker/);
    expect(await hoverAt(plantUri, markerIn(plantText, "view hall_temp", 6))).toMatch(/ksqlDB/);
    expect(await hoverAt(plantUri, markerIn(plantText, "rule slow_down", 6))).toMatch(/worker/);
    expect(await hoverAt(plantUri, markerIn(plantText, "command set_feed", 9))).toMatch(/requires[\s\S]*interlock/);
  });

  it("shows doc comments and parameters, from a use site in another file", async () => {
    expect(await hoverAt(plantUri, markerIn(plantText, "asset mill1: CncMill", 14))).toContain("A three-axis CNC mill.");
    expect(await hoverAt(plantUri, markerIn(plantText, "override: float", 2))).toMatch(/override: float<percent> in 0..150[\s\S]*range: 0..150/);
    await c.open(testUri, testText, 1);
    expect(await hoverAt(testUri, markerIn(testText, "mill1.overheating at 15s", 8))).toContain("state overheating: bool");
    expect(await hoverAt(testUri, markerIn(testText, "ACTIVE", 1))).toContain("Execution.ACTIVE");
  });
});

// ---------------------------------------------------------------- navigation

describe("definition, references, rename", () => {
  it("goes to the definition across files", async () => {
    const locs = await c.request<{ uri: string; range: Range }[]>("textDocument/definition", { textDocument: { uri: testUri }, position: markerIn(testText, "mill1.overheating at 15s", 8) });
    expect(locs).toEqual([{ uri: plantUri, range: { start: markerIn(plantText, "overheating ="), end: markerIn(plantText, "overheating =", 11) } }]);
  });

  it("finds references across files", async () => {
    const refs = await c.request<{ uri: string; range: Range }[]>("textDocument/references", { textDocument: { uri: plantUri }, position: markerIn(plantText, "state overheating", 8), context: { includeDeclaration: true } });
    const byUri = (u: string) => refs.filter((r) => r.uri === u).length;
    expect(byUri(plantUri)).toBe(2); // the declaration and `when overheating` in the rule
    expect(byUri(testUri)).toBe(2);
  });

  it("renames across files, enum members in maps too", async () => {
    const edit = await c.request<{ changes: Record<string, { range: Range; newText: string }[]> }>("textDocument/rename", { textDocument: { uri: testUri }, position: markerIn(testText, "mill1.overheating at 15s", 8), newName: "too_hot" });
    expect(edit.changes[plantUri]!.length).toBe(2);
    expect(edit.changes[testUri]!.length).toBe(2);
    expect(edit.changes[plantUri]!.every((e) => e.newText === "too_hot")).toBe(true);
    const en = await c.request<{ changes: Record<string, unknown[]> }>("textDocument/rename", { textDocument: { uri: plantUri }, position: markerIn(plantText, "STOPPED }", 1), newName: "HALTED" });
    // the declaration, two `set(execution, STOPPED)` and mill3's `map { …, 3: STOPPED }`
    expect(en.changes[plantUri]!.length).toBe(4);
    const prep = await c.request<{ range: Range; placeholder: string }>("textDocument/prepareRename", { textDocument: { uri: plantUri }, position: markerIn(plantText, "mill1", 2) });
    expect(prep.placeholder).toBe("mill1");
  });

  it("refuses keywords and invalid identifiers with a clear error", async () => {
    const pos = { textDocument: { uri: plantUri }, position: markerIn(plantText, "state overheating", 8) };
    await expect(c.request("textDocument/rename", { ...pos, newName: "model" })).rejects.toThrow(/`model` is a reserved keyword/);
    await expect(c.request("textDocument/rename", { ...pos, newName: "9lives" })).rejects.toThrow(/not a valid OFL identifier/);
    await expect(c.request("textDocument/rename", { ...pos, newName: "temperature" })).rejects.toThrow(/already has a member `temperature`/);
    await expect(c.request("textDocument/prepareRename", { textDocument: { uri: plantUri }, position: markerIn(plantText, "float<degC> in -20", 7) })).rejects.toThrow(/standard library/);
  });
});

// ---------------------------------------------------------------- symbols, tokens, folding

describe("symbols, semantic tokens, folding", () => {
  it("lists document symbols hierarchically", async () => {
    type Sym = { name: string; kind: number; children?: Sym[] };
    const syms = await c.request<Sym[]>("textDocument/documentSymbol", { textDocument: { uri: plantUri } });
    expect(syms.map((s) => s.name)).toEqual(["Execution", "Machine", "CncMill", "mill1", "mill2", "mill3", "active_mills", "hall_temp", "stop_hot_mill", "slow_down"]);
    const mill = syms.find((s) => s.name === "CncMill")!;
    expect(mill.children!.map((s) => s.name)).toEqual(expect.arrayContaining(["temperature", "overheating", "overtemp", "stop", "set_feed"]));
    expect(mill.children!.find((s) => s.name === "set_feed")!.children!.map((s) => s.name)).toEqual(["override"]);
    const tests = await c.request<Sym[]>("textDocument/documentSymbol", { textDocument: { uri: testUri } });
    expect(tests[0]!.name).toBe("a hot mill is stopped after five seconds");
  });

  it("finds workspace symbols", async () => {
    const r = await c.request<{ name: string; location: { uri: string } }[]>("workspace/symbol", { query: "hotmill" });
    expect(r.map((s) => s.name)).toContain("stop_hot_mill");
  });

  it("classifies tokens", async () => {
    const legend = ((initResult.capabilities["semanticTokensProvider"] as { legend?: { tokenTypes: string[] } })?.legend?.tokenTypes) ?? null;
    const { data } = await c.request<{ data: number[] }>("textDocument/semanticTokens/full", { textDocument: { uri: plantUri } });
    const tokens: { line: number; char: number; len: number; type: number }[] = [];
    let line = 0;
    let char = 0;
    for (let i = 0; i < data.length; i += 5) {
      line += data[i]!;
      char = data[i]! === 0 ? char + data[i + 1]! : data[i + 1]!;
      tokens.push({ line, char, len: data[i + 2]!, type: data[i + 3]! });
    }
    const types = legend ?? ["keyword", "number", "string", "comment", "operator", "type", "class", "enum", "enumMember", "property", "method", "function", "variable", "parameter", "event", "namespace"];
    const at = (needle: string, delta = 0): string => {
      const p = markerIn(plantText, needle, delta);
      const t = tokens.find((x) => x.line === p.line && x.char === p.character);
      return t ? types[t.type]! : "none";
    };
    expect(at("model CncMill")).toBe("keyword");
    expect(at("asset mill1: CncMill", 13)).toBe("class");
    expect(at("ACTIVE) over", 0)).toBe("enumMember");
    expect(at("temperature > 90", 0)).toBe("property");
    expect(at("avg(temperature)", 0)).toBe("function");
    expect(at("/// A three")).toBe("comment");
    expect(at("90 degC", 0)).toBe("number");
    expect(at("90 degC", 3)).toBe("type");
    expect(at('"CNC-001"')).toBe("string");
    expect(at("stop()\n  command")).toBe("method");
  });

  it("folds declarations, source blocks and comments", async () => {
    const folds = await c.request<{ startLine: number; endLine: number; kind?: string }[]>("textDocument/foldingRange", { textDocument: { uri: plantUri } });
    const line = (needle: string) => markerIn(plantText, needle).line;
    expect(folds).toContainEqual({ startLine: line("model CncMill"), endLine: line("    requires execution") });
    expect(folds.some((f) => f.startLine === line("  source simulate(seed: 1)"))).toBe(true);
    const s = await scratch(`// one\n// two\n// three\nmodel Q {\n  telemetry p: float\n}\n/* a\n   block */\n`);
    const f2 = await c.request<{ startLine: number; endLine: number; kind?: string }[]>("textDocument/foldingRange", { textDocument: { uri: s.uri } });
    expect(f2).toEqual(expect.arrayContaining([{ startLine: 0, endLine: 2, kind: "comment" }, { startLine: 3, endLine: 4 }, { startLine: 6, endLine: 7, kind: "comment" }]));
  });
});

// ---------------------------------------------------------------- code actions

describe("code actions", () => {
  type Action = { title: string; kind: string; edit: { changes: Record<string, { range: Range; newText: string }[]> } };
  it("fixes a did-you-mean", async () => {
    const s = await scratch(`test "t" {\n  expect mill1.‸temprature‸ > 1 degC\n}\n`);
    const actions = await c.request<Action[]>("textDocument/codeAction", { textDocument: { uri: s.uri }, range: { start: s.at(0), end: s.at(0) }, context: { diagnostics: [] } });
    const fix = actions.find((a) => a.title === "Change to `temperature`")!;
    expect(fix.kind).toBe("quickfix");
    expect(fix.edit.changes[s.uri]).toEqual([{ range: { start: s.at(0), end: s.at(1) }, newText: "temperature" }]);
  });

  it("adds a missing member to the model", async () => {
    const s = await scratch(`test "t" {\n  expect mill1.‸pressure > 1\n}\n`);
    const actions = await c.request<Action[]>("textDocument/codeAction", { textDocument: { uri: s.uri }, range: { start: s.at(0), end: s.at(0) }, context: { diagnostics: [] } });
    const add = actions.find((a) => a.title.startsWith("Add `telemetry pressure: float`"))!;
    expect(add.title).toContain("`CncMill`");
    const [edit] = add.edit.changes[plantUri]!;
    const closing = markerIn(plantText, "    requires execution").line + 1;
    expect(edit).toEqual({ range: { start: { line: closing, character: 0 }, end: { line: closing, character: 0 } }, newText: "  telemetry pressure: float\n" });
    // applying it makes the diagnostic go away
    const lines = plantText.split("\n");
    lines.splice(closing, 0, "  telemetry pressure: float");
    await c.change(plantUri, 2, [{ text: lines.join("\n") }]);
    await c.waitForDiagnostics(s.uri, (p) => !p.diagnostics.some((d) => d.code === "OFL2004"), 10_000, true);
    await c.change(plantUri, 3, [{ text: plantText }]);
    await c.waitForDiagnostics(plantUri, (p) => p.version === 3);
  });
});

// ---------------------------------------------------------------- code lenses and test runs

describe("code lenses", () => {
  type Lens = { range: Range; command: { title: string; command: string; arguments: unknown[] } };
  it("puts ▶ Run test on each test and Replay session… on the file", async () => {
    const lenses = await c.request<Lens[]>("textDocument/codeLens", { textDocument: { uri: testUri } });
    const run = lenses.filter((l) => l.command.title === "▶ Run test");
    expect(run.length).toBe(5);
    expect(run[0]!.command.arguments).toEqual([testUri, "a hot mill is stopped after five seconds"]);
    expect(lenses.filter((l) => l.command.title === "Replay session…").length).toBe(1);
    expect(await c.request<Lens[]>("textDocument/codeLens", { textDocument: { uri: plantUri } })).toEqual([]);
  });

  it("runs a test and reports failures on the expectation line", async () => {
    // scratch documents with errors would keep the program from running
    for (const uri of opened) await c.close(uri);
    opened.clear();
    const ok = await c.request<{ results: { status: string }[] }>("workspace/executeCommand", { command: "ofl.runTest", arguments: [testUri, "a hot mill is stopped after five seconds"] });
    expect(ok.results.map((r) => r.status)).toEqual(["passed"]);
    // the summary is a notification (window/showMessage, sent before the result): nothing to
    // answer, so a closed window cannot make it fail
    expect(c.messages.at(-1)).toEqual({ type: 3, message: 'test "a hot mill is stopped after five seconds" passed' });
    const s = await scratch(`test "wrong" {\n  at 0s mill1.temperature = 85 degC\n  expect mill1.temperature == 86 degC\n}\n`, "failing.test.ofl");
    const res = await c.request<{ results: { status: string; failures: { line: number }[] }[] }>("workspace/executeCommand", { command: "ofl.runTest", arguments: [s.uri, "wrong"] });
    expect(res.results[0]!.status).toBe("failed");
    const d = await c.waitForDiagnostics(s.uri, (p) => p.diagnostics.some((x) => x.source === "ofl test"));
    const f = d.diagnostics.find((x) => x.source === "ofl test")!;
    expect(f.range).toEqual({ start: { line: 2, character: 2 }, end: { line: 2, character: 37 } });
    expect(f.message).toMatch(/expected[\s\S]*actual/);
    // an edit clears them
    await c.change(s.uri, ++version, [{ text: s.text + "\n" }]);
    const v = version;
    expect((await c.waitForDiagnostics(s.uri, (p) => p.version === v)).diagnostics).toEqual([]);
    await c.close(s.uri);
  });

  it("replays a session and runs replay tests", async () => {
    const uri = pathToFileURL(join(dir, "pass/06_replay.ofl")).href;
    await c.open(uri, readFileSync(join(dir, "pass/06_replay.ofl"), "utf8"));
    await c.waitForDiagnostics(uri);
    const r = await c.request<{ report: { passed: boolean; records: number } }>("workspace/executeCommand", { command: "ofl.replaySession", arguments: [uri, "../sessions/mill-shift.jsonl"] });
    expect(r.report.records).toBeGreaterThan(5);
    expect(r.report.passed).toBe(true);
    const all = await c.request<{ results: { status: string }[] }>("workspace/executeCommand", { command: "ofl.runFileTests", arguments: [uri] });
    expect(all.results.every((x) => x.status === "passed")).toBe(true);
    // without a path, the server asks which session (the client answers with the first)
    const picked = await c.request<{ report: { passed: boolean } }>("workspace/executeCommand", { command: "ofl.replaySession", arguments: [uri] });
    expect(picked.report).toBeDefined();
    // a question the client cancels (its window closed: RequestCancelled) is no choice, not a failure
    c.onShowMessageRequest = () => {
      throw new ResponseError(-32800, "Canceled");
    };
    try {
      const cancelled = await c.request("workspace/executeCommand", { command: "ofl.replaySession", arguments: [uri] });
      expect(cancelled).toBeNull();
    } finally {
      c.onShowMessageRequest = (p) => p.actions?.[0] ?? null;
    }
    expect(c.stderr.join("")).toMatch(/Replay which session\? not answered: Canceled/);
    expect(c.stderr.join("")).not.toMatch(/Unhandled|unhandled/);
  });
});

// ---------------------------------------------------------------- formatting

describe("formatting", () => {
  it("formats through compiler/format when it is there, and is off otherwise", async () => {
    const uri = "untitled:fmt-1";
    await c.open(uri, "model   M {telemetry t: float\n}\n");
    const r = await c.request<{ range: Range; newText: string }[] | null>("textDocument/formatting", { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
    if (initResult.capabilities["documentFormattingProvider"]) {
      expect(r).not.toBeNull();
      expect(r![0]!.newText).toMatch(/^model M \{\n\s+telemetry t: float\n\}\n$/);
    } else expect(r).toBeNull();
    await c.close(uri);
  });
});

// ---------------------------------------------------------------- robustness

describe("robustness", () => {
  it("survives random edits; every range lies within the document", async () => {
    const sources = [plantText, testText, readFileSync(join(dir, "pass/06_replay.ofl"), "utf8")];
    const uri = pathToFileURL(join(dir, "cell", "fuzz.ofl")).href;
    let text = plantText;
    let v = 1;
    await c.open(uri, text, v);
    const edit = fc.oneof(
      fc.record({ kind: fc.constant("insert"), at: fc.nat(), s: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("{", "}", "(", ")", "\n", ".", ":", "<-", "\"", "/*", "//", "model ", "asset ", "‸", "😀", "\r\n")) }),
      fc.record({ kind: fc.constant("delete"), at: fc.nat(), len: fc.nat({ max: 40 }) }),
      fc.record({ kind: fc.constant("paste"), at: fc.nat(), src: fc.nat({ max: sources.length - 1 }), from: fc.nat(), len: fc.nat({ max: 400 }) }),
    );
    const within = (r: Range, t: string): boolean => {
      const lines = t.split(/\r\n|\r|\n/);
      const ok = (p: { line: number; character: number }) => p.line >= 0 && p.line < lines.length && p.character >= 0 && p.character <= lines[p.line]!.length;
      return ok(r.start) && ok(r.end) && (r.start.line < r.end.line || (r.start.line === r.end.line && r.start.character <= r.end.character));
    };
    const ranges = (x: unknown, out: Range[] = []): Range[] => {
      if (!x || typeof x !== "object") return out;
      if (Array.isArray(x)) {
        for (const y of x) ranges(y, out);
        return out;
      }
      const o = x as Record<string, unknown>;
      if (o["start"] && o["end"] && typeof (o["start"] as { line?: unknown }).line === "number") out.push(o as unknown as Range);
      for (const k of Object.keys(o)) if (k !== "start" && k !== "end") ranges(o[k], out);
      return out;
    };
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 12 }), fc.nat(), async (edits, probe) => {
        for (const e of edits) {
          const at = text.length === 0 ? 0 : e.at % (text.length + 1);
          let change: { range: Range; text: string };
          if (e.kind === "insert") change = { range: { start: positionAt2(text, at), end: positionAt2(text, at) }, text: e.s };
          else if (e.kind === "delete") change = { range: { start: positionAt2(text, at), end: positionAt2(text, Math.min(text.length, at + e.len)) }, text: "" };
          else {
            const src = sources[e.src]!;
            const from = e.from % (src.length + 1);
            change = { range: { start: positionAt2(text, at), end: positionAt2(text, at) }, text: src.slice(from, from + e.len) };
          }
          text = applyChange(text, change);
          await c.change(uri, ++v, [change]);
          steps++;
        }
        const pos = positionAt2(text, text.length === 0 ? 0 : probe % (text.length + 1));
        const td = { textDocument: { uri } };
        const results = await Promise.all([
          c.request("textDocument/completion", { ...td, position: pos }),
          c.request("textDocument/hover", { ...td, position: pos }),
          c.request("textDocument/definition", { ...td, position: pos }),
          c.request("textDocument/references", { ...td, position: pos, context: { includeDeclaration: true } }),
          c.request("textDocument/documentSymbol", td),
          c.request("textDocument/foldingRange", td),
          c.request("textDocument/codeLens", td),
          c.request("textDocument/codeAction", { ...td, range: { start: pos, end: pos }, context: { diagnostics: [] } }),
          c.request("textDocument/semanticTokens/full", td),
        ]);
        const d = await c.waitForDiagnostics(uri, (p) => p.version === v, 15_000);
        for (const r of [...ranges(results.filter((_, i) => i !== 2 && i !== 3)), ...ranges(d.diagnostics.map((x) => x.range))]) expect(within(r, text), JSON.stringify(r)).toBe(true);
        // locations in this document lie within it too
        for (const loc of [...(results[2] as { uri: string; range: Range }[]), ...(results[3] as { uri: string; range: Range }[])]) if (loc.uri === uri) expect(within(loc.range, text)).toBe(true);
        // semantic tokens: every token within its line
        const data = (results[8] as { data: number[] }).data;
        const lines = text.split(/\r\n|\r|\n/);
        let line = 0;
        let ch = 0;
        for (let i = 0; i < data.length; i += 5) {
          line += data[i]!;
          ch = data[i]! === 0 ? ch + data[i + 1]! : data[i + 1]!;
          expect(line).toBeLessThan(lines.length);
          expect(ch + data[i + 2]!).toBeLessThanOrEqual(lines[line]!.length);
        }
      }),
      { numRuns: 40, seed: 4242 },
    );
    expect(steps).toBeGreaterThan(200);
    // still answers
    const h = await c.request("textDocument/documentSymbol", { textDocument: { uri } });
    expect(Array.isArray(h)).toBe(true);
    expect(c.proc.exitCode).toBe(null);
    expect(c.stderr.join("")).not.toMatch(/failed:|uncaught/);
  }, 60_000);
});

function positionAt2(text: string, offset: number): { line: number; character: number } {
  // LSP positions count \r\n, \r and \n as line breaks
  let line = 0;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10 || (ch === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      start = i + 1;
    } else if (ch === 13) {
      // \r\n: counted at the \n
    }
  }
  // an offset between \r and \n is not a valid position: move before the \r
  if (offset > 0 && text.charCodeAt(offset - 1) === 13 && text.charCodeAt(offset) === 10) return positionAt2(text, offset - 1);
  return { line, character: offset - start };
}

function applyChange(text: string, change: { range: Range; text: string }): string {
  const off = (p: { line: number; character: number }): number => {
    let line = 0;
    let i = 0;
    while (line < p.line && i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 13 && text.charCodeAt(i + 1) === 10) i++;
      if (ch === 10 || ch === 13) line++;
      i++;
    }
    return i + p.character;
  };
  return text.slice(0, off(change.range.start)) + change.text + text.slice(off(change.range.end));
}

void writeFileSync;
void offsetAt;
