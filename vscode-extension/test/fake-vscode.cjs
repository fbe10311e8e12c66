// A stand-in for the `vscode` module, installed with require hooks: just enough of VS Code's API for
// dist/extension.js to activate, start the real vscode-languageclient over the bundled server, and run
// its commands. Anything not written out below is a permissive proxy (callable, constructible, empty
// when iterated). The test sets `fake.activeDocument` and `fake.pick` (the file dialog's answer).
const Module = require("module");
const log = (...a) => process.env.FAKE_TRACE && console.log("[vscode]", ...a);
const openListeners = [];
// serverPath: the effective value of ofl.server.path (user or workspace); workspaceServerPath /
// userServerPath: what inspect() reports per level; trusted: workspace.isTrusted
// roots: the workspace's folders for findFiles; testControllers / testRuns: what the extension made
const fake = { activeDocument: undefined, pick: undefined, serverPath: "", userServerPath: undefined, workspaceServerPath: undefined, trusted: true, messages: [], output: [], roots: [], opened: [], testControllers: [], testRuns: [] };
function anything(name) {
  const f = function () {};
  return new Proxy(f, {
    get(_t, p) {
      if (p === "then") return undefined;
      if (p === Symbol.iterator) return function* () {};
      if (p === Symbol.toPrimitive) return () => name;
      if (p === "dispose") return () => {};
      if (p === "length") return 0;
      return anything(name + "." + String(p));
    },
    apply(_t, _this, args) { log("call", name); return anything(name + "()"); },
    construct(_t, args) { log("new", name); return anything("new " + name); },
  });
}
class Uri {
  constructor(scheme, p) { this.scheme = scheme; this.path = p; this.fsPath = p; }
  static file(p) { return new Uri("file", p); }
  static parse(s) { return s.startsWith("file://") ? new Uri("file", decodeURIComponent(s.slice(7))) : new Uri("untitled", s); }
  toString() { return this.scheme === "file" ? "file://" + this.path : this.path; }
  with() { return this; }
}
class EventEmitter { constructor() { this.l = []; this.event = (f) => { this.l.push(f); return { dispose() {} }; }; } fire(e) { for (const f of this.l) f(e); } dispose() {} }
class Disposable { constructor(f) { this.f = f; } static from(...d) { return new Disposable(() => d.forEach((x) => x.dispose?.())); } dispose() { this.f?.(); } }
class Position { constructor(line, character) { this.line = line; this.character = character; } }
class Range { constructor(a, b, c, d) { this.start = new Position(a, b); this.end = new Position(c, d); } }
class Location { constructor(uri, pos) { this.uri = uri; this.range = pos; } }
class RelativePattern { constructor(base, pattern) { this.base = typeof base === "string" ? base : base.fsPath; this.pattern = pattern; } }
class TestMessage { constructor(message) { this.message = message; } static diff(message, expected, actual) { const m = new TestMessage(message); m.expectedOutput = expected; m.actualOutput = actual; return m; } }
/** TestItemCollection: ordered by insertion, keyed by id. */
class Items { constructor() { this.m = new Map(); } get size() { return this.m.size; } get(id) { return this.m.get(id); } add(i) { this.m.set(i.id, i); } delete(id) { this.m.delete(id); } replace(is) { this.m = new Map(is.map((i) => [i.id, i])); } forEach(f) { [...this.m.values()].forEach((i) => f(i, this)); } [Symbol.iterator]() { return [...this.m.entries()][Symbol.iterator](); } }
function createTestController(id, label) {
  const ctrl = {
    id, label, items: new Items(), profiles: [], resolveHandler: undefined, refreshHandler: undefined,
    createTestItem: (iid, ilabel, uri) => ({ id: iid, label: ilabel, uri, range: undefined, children: new Items() }),
    createRunProfile: (plabel, kind, runHandler, isDefault) => { const p = { label: plabel, kind, runHandler, isDefault }; ctrl.profiles.push(p); return p; },
    createTestRun: (request) => { const events = []; const run = { request, events, ended: false }; for (const k of ["enqueued", "started", "skipped", "passed", "failed", "errored"]) run[k] = (item, ...rest) => events.push({ k, id: item.id, rest }); run.appendOutput = () => {}; run.end = () => { run.ended = true; }; fake.testRuns.push(run); return run; },
    dispose() {},
  };
  fake.testControllers.push(ctrl);
  return ctrl;
}
// findFiles over fake.roots: "**" + "/*.ext" patterns (string or RelativePattern), node_modules skipped
function findFiles(include, _exclude, max = Infinity) {
  const { readdirSync } = require("node:fs");
  const { join } = require("node:path");
  const bases = include instanceof RelativePattern ? [include.base] : fake.roots;
  const pattern = include instanceof RelativePattern ? include.pattern : include;
  const ext = /^\*\*\/\*(\.\w+)$/.exec(pattern)[1];
  const out = [];
  const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) { if (e.name === "node_modules" || e.name.startsWith(".")) continue; const f = join(d, e.name); if (e.isDirectory()) walk(f); else if (f.endsWith(ext) && out.length < max) out.push(Uri.file(f)); } };
  for (const b of bases) walk(b);
  return Promise.resolve(out);
}
const commands = new Map();
const outputs = [];
const vscode = new Proxy({
  Uri, EventEmitter, Disposable, Position, Range, Location, RelativePattern, TestMessage,
  TestRunProfileKind: { Run: 1, Debug: 2, Coverage: 3 },
  tests: { createTestController },
  version: "1.95.0",
  env: { language: "en", appName: "fake", uiKind: 1, machineId: "x", sessionId: "y" },
  commands: {
    registerCommand(id, f) { log("registerCommand", id); commands.set(id, f); return new Disposable(() => commands.delete(id)); },
    executeCommand(id, ...args) { const f = commands.get(id); if (!f) return Promise.reject(new Error(`command '${id}' not found`)); return Promise.resolve(f(...args)); },
    getCommands: async () => [...commands.keys()],
  },
  window: new Proxy({
    createOutputChannel(name) { const ch = { name, lines: [], append(s) { this.lines.push(s); }, appendLine(s) { this.lines.push(s); if (name === "OFL") fake.output.push(s); log(`[${name}] ${s}`); }, show() {}, hide() {}, clear() {}, dispose() {}, replace() {}, info(s) { log(`[${name}] ${s}`); }, warn(s) { log(`[${name}] ${s}`); }, error(s) { log(`[${name}] ERROR ${s}`); }, trace() {}, debug() {}, logLevel: 2, onDidChangeLogLevel: () => ({ dispose() {} }) }; outputs.push(ch); return ch; },
    showErrorMessage: async (m) => { fake.messages.push(`error: ${m}`); },
    showWarningMessage: async (m) => { fake.messages.push(`warning: ${m}`); },
    showInformationMessage: async (m) => { fake.messages.push(`info: ${m}`); },
    showOpenDialog: async () => (fake.pick ? [Uri.file(fake.pick)] : undefined),
    get activeTextEditor() { return fake.activeDocument ? { document: fake.activeDocument } : undefined; },
    visibleTextEditors: [],
    onDidChangeActiveTextEditor: () => ({ dispose() {} }),
    onDidChangeVisibleTextEditors: () => ({ dispose() {} }),
    tabGroups: anything("tabGroups"),
  }, { get(t, p) { return p in t ? t[p] : anything("window." + String(p)); } }),
  workspace: new Proxy({
    getConfiguration: () => ({ get: (k, d) => (k === "server.path" ? fake.serverPath : d), has: () => false, inspect: (k) => (k === "server.path" ? { key: "ofl.server.path", defaultValue: "", globalValue: fake.userServerPath, workspaceValue: fake.workspaceServerPath } : undefined), update: async () => {} }),
    get isTrusted() { return fake.trusted; },
    get textDocuments() { return [...new Set([...(fake.activeDocument ? [fake.activeDocument] : []), ...fake.opened])]; },
    findFiles,
    // opens a document without showing it (the client sends didOpen once)
    openTextDocument: async (uri) => {
      const { readFileSync } = require("node:fs");
      let d = [...(fake.activeDocument ? [fake.activeDocument] : []), ...fake.opened].find((x) => x.uri.fsPath === uri.fsPath);
      if (!d) { d = fake.document(uri.fsPath, readFileSync(uri.fsPath, "utf8")); fake.opened.push(d); for (const f of openListeners) f(d); }
      return d;
    },
    workspaceFolders: undefined,
    getWorkspaceFolder: () => undefined,
    onDidChangeConfiguration: () => ({ dispose() {} }),
    onDidOpenTextDocument: (f) => { openListeners.push(f); return { dispose() {} }; },
    onDidCloseTextDocument: () => ({ dispose() {} }),
    onDidChangeTextDocument: () => ({ dispose() {} }),
    onDidSaveTextDocument: () => ({ dispose() {} }),
    onWillSaveTextDocument: () => ({ dispose() {} }),
    onDidChangeWorkspaceFolders: () => ({ dispose() {} }),
    createFileSystemWatcher: () => ({ onDidCreate: () => ({ dispose() {} }), onDidChange: () => ({ dispose() {} }), onDidDelete: () => ({ dispose() {} }), dispose() {} }),
    textDocumentContentProvider: undefined,
    notebookDocuments: [],
  }, { get(t, p) { return p in t ? t[p] : anything("workspace." + String(p)); } }),
  languages: new Proxy({
    match: (selector, d) => (d.languageId === "ofl" ? 10 : 0),
  }, { get(t, p) { return p in t ? t[p] : anything("languages." + String(p)); } }),
}, { get(t, p) { return p in t ? t[p] : anything(String(p)); } });
const orig = Module._load;
Module._load = function (req, ...rest) { return req === "vscode" ? vscode : orig.call(this, req, ...rest); };

/** A text document as the client sees one. */
fake.document = (file, text, languageId = "ofl") => ({ uri: Uri.file(file), languageId, version: 1, getText: () => text, fileName: file, isClosed: false, lineCount: text.split("\n").length, eol: 1 });
/** Opens a document in the active editor (the client sends didOpen). */
fake.open = (doc) => { fake.activeDocument = doc; for (const f of openListeners) f(doc); };
module.exports = { vscode, commands, outputs, Uri, fake };

