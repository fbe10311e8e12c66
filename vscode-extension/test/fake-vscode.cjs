// A stand-in for the `vscode` module, installed with require hooks: just enough of VS Code's API for
// dist/extension.js to activate, start the real vscode-languageclient over the bundled server, and run
// its commands. Anything not written out below is a permissive proxy (callable, constructible, empty
// when iterated). The test sets `fake.activeDocument` and `fake.pick` (the file dialog's answer).
const Module = require("module");
const log = (...a) => process.env.FAKE_TRACE && console.log("[vscode]", ...a);
const openListeners = [];
// serverPath: the effective value of ofl.server.path (user or workspace); workspaceServerPath /
// userServerPath: what inspect() reports per level; trusted: workspace.isTrusted
const fake = { activeDocument: undefined, pick: undefined, serverPath: "", userServerPath: undefined, workspaceServerPath: undefined, trusted: true, messages: [], output: [] };
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
const commands = new Map();
const outputs = [];
const vscode = new Proxy({
  Uri, EventEmitter, Disposable,
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
    get textDocuments() { return fake.activeDocument ? [fake.activeDocument] : []; },
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
