// The language server's workspace and document builder, without a connection: open documents
// (through a `DocumentStore`, the connection's `TextDocuments` or a map in tests), per-version
// parse caches, programs (a project folder or a single file), debounced checks that are
// cancelled by newer edits and never published stale, and one method per LSP feature.
// server.ts only wires a connection to it; tests drive it in-process (test/unit/lsp/features/).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type {
  CodeAction,
  CodeLens,
  CompletionItem,
  Diagnostic as LspDiagnostic,
  DocumentSymbol,
  FoldingRange,
  Hover,
  Location,
  Position,
  PublishDiagnosticsParams,
  Range,
  SemanticTokens,
  SymbolInformation,
  TextEdit,
  WorkspaceEdit,
} from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { checkParsed, parse } from "../compiler/index.js";
import { findProjectRoot, listOflFiles } from "../runtime/project/load.js";
import { IncrementalParser } from "./incremental.js";
import { makeAnalysis, makeDoc, isFresh, type Analysis, type Doc } from "./features/analysis.js";
import { diagnosticsByFile } from "./features/diagnostics.js";
import { complete } from "./features/completion.js";
import { hover } from "./features/hover.js";
import { definition, references, rename, prepareRename } from "./features/navigation.js";
import { documentSymbols, workspaceSymbols } from "./features/symbols.js";
import { semanticTokens } from "./features/semanticTokens.js";
import { foldingRanges } from "./features/folding.js";
import { codeActions } from "./features/codeActions.js";
import { codeLenses, failureDiagnostics, replay, runTests, RUN_FILE_TESTS, RUN_TEST, REPLAY_SESSION, TestRunError } from "./features/codeLens.js";
import { formatDocument } from "./features/format.js";

/** The open documents: the connection's `TextDocuments`, or a map of `TextDocument`s in tests. */
export interface DocumentStore {
  get(uri: string): TextDocument | undefined;
  all(): TextDocument[];
}

/** What the workspace tells the user, and asks (the connection: `window/showMessage` and `window/showMessageRequest`). */
export interface WorkspaceUi {
  info(message: string): void;
  error(message: string): void;
  /** one of `choices`, or undefined when the user declined or the question was dismissed */
  pick(question: string, choices: string[]): Promise<string | undefined>;
}

export interface WorkspaceOptions {
  documents: DocumentStore;
  publish: (p: PublishDiagnosticsParams) => void;
  ui: WorkspaceUi;
  log?: (message: string) => void;
  debounceMs?: number;
}

/** A command failure the client shows as a request error (bad arguments, unknown command). */
export class CommandError extends Error {}

export interface ProgramState {
  key: string;
  name: string;
  /** project root (holding ofl.json), if any */
  root?: string;
  /** the single file, when outside any project */
  single?: string;
  /** bumped on every change to any of the program's files */
  gen: number;
  timer?: ReturnType<typeof setTimeout>;
  analysis?: Analysis;
  analysisGen: number;
  /** URIs diagnostics were last published for */
  published: Set<string>;
  /** test failures by URI, until the file changes */
  testDiags: Map<string, LspDiagnostic[]>;
  fileList?: { at: number; paths: string[] };
  lastCheckMs: number;
}

export function uriToPath(uri: string): string {
  if (uri.startsWith("file:")) {
    try {
      return fileURLToPath(uri);
    } catch {
      return uri;
    }
  }
  return uri;
}

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

export class Workspace {
  debounceMs: number;
  private readonly documents: DocumentStore;
  private readonly programs = new Map<string, ProgramState>();
  private readonly programOfUri = new Map<string, string>();
  /** path → URI of open documents (the client's spelling of the URI wins) */
  private readonly openUris = new Map<string, string>();
  private readonly parseCache = new Map<string, Doc>();
  /** per open document: its chunks, reused across versions */
  private readonly parsers = new Map<string, IncrementalParser>();
  private readonly diskCache = new Map<string, { mtime: number; size: number; doc: Doc }>();
  private readonly publishDiagnostics: (p: PublishDiagnosticsParams) => void;
  private readonly ui: WorkspaceUi;
  readonly log: (message: string) => void;

  constructor(opts: WorkspaceOptions) {
    this.documents = opts.documents;
    this.publishDiagnostics = opts.publish;
    this.ui = opts.ui;
    this.log = opts.log ?? (() => {});
    this.debounceMs = opts.debounceMs ?? 15;
  }

  readonly uriOf = (path: string): string | undefined => {
    if (path.startsWith("std/")) return undefined;
    return this.openUris.get(path) ?? (path.includes(":") && !path.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(path) ? path : pathToFileURL(path).href);
  };

  // ------------------------------------------------------------------ document events

  didOpen(uri: string): void {
    this.openUris.set(uriToPath(uri), uri);
    const prog = this.programFor(uri);
    prog.fileList = undefined;
    this.schedule(prog);
  }

  didChange(uri: string): void {
    const prog = this.programFor(uri);
    prog.testDiags.delete(uri);
    this.schedule(prog);
  }

  didClose(uri: string): void {
    this.parseCache.delete(uri);
    this.parsers.delete(uri);
    const prog = this.programFor(uri);
    this.programOfUri.delete(uri);
    this.openUris.delete(uriToPath(uri));
    prog.testDiags.delete(uri);
    if (prog.single) {
      // a file by itself: forget it and clear its diagnostics
      if (prog.timer) clearTimeout(prog.timer);
      prog.gen++;
      this.publishDiagnostics({ uri, diagnostics: [] });
      this.programs.delete(prog.key);
    } else this.schedule(prog);
  }

  didChangeWatchedFiles(): void {
    for (const prog of this.programs.values()) {
      prog.fileList = undefined;
      if (!prog.single) this.schedule(prog);
    }
  }

  /** Resolves once every scheduled check has run (tests; a newer edit reschedules). */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.programs.values()].filter((p) => p.timer !== undefined || p.analysisGen !== p.gen);
      if (pending.length === 0) return;
      for (const p of pending) this.ensureAnalysis(p);
      await yieldNow();
    }
  }

  // ------------------------------------------------------------------ documents and parses

  /** The parse of an open document at its current version (cached per version). */
  openDoc(uri: string): Doc | undefined {
    const td = this.documents.get(uri);
    if (!td) return undefined;
    const cached = this.parseCache.get(uri);
    if (cached && cached.version === td.version) return cached;
    const path = uriToPath(uri);
    const text = td.getText();
    let parser = this.parsers.get(uri);
    if (!parser) this.parsers.set(uri, (parser = new IncrementalParser()));
    const doc = makeDoc(path, uri, td.version, text, parser.parse(text, path));
    this.parseCache.set(uri, doc);
    return doc;
  }

  private diskDoc(path: string): Doc | undefined {
    let st;
    try {
      st = statSync(path);
    } catch {
      return undefined;
    }
    const c = this.diskCache.get(path);
    if (c && c.mtime === st.mtimeMs && c.size === st.size) return c.doc;
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path));
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    } catch {
      return undefined;
    }
    const doc = makeDoc(path, pathToFileURL(path).href, -1, text, parse(text, path));
    this.diskCache.set(path, { mtime: st.mtimeMs, size: st.size, doc });
    return doc;
  }

  private docFor(path: string): Doc | undefined {
    const uri = this.openUris.get(path);
    if (uri && this.documents.get(uri)) return this.openDoc(uri);
    return this.diskDoc(path);
  }

  // ------------------------------------------------------------------ programs

  programFor(uri: string): ProgramState {
    const known = this.programOfUri.get(uri);
    if (known && this.programs.has(known)) return this.programs.get(known)!;
    const path = uriToPath(uri);
    let root: string | undefined;
    if (uri.startsWith("file:")) root = findProjectRoot(dirname(path));
    const key = root ? `project:${root}` : `file:${path}`;
    let prog = this.programs.get(key);
    if (!prog) {
      let name = basename(path, ".ofl");
      if (root) {
        name = basename(root);
        try {
          const cfg = JSON.parse(readFileSync(join(root, "ofl.json"), "utf8")) as { name?: unknown };
          if (typeof cfg.name === "string") name = cfg.name;
        } catch {
          /* a broken ofl.json: keep the folder name */
        }
      }
      prog = { key, name, root, single: root ? undefined : path, gen: 0, analysisGen: -1, published: new Set(), testDiags: new Map(), lastCheckMs: 0 };
      this.programs.set(key, prog);
    }
    this.programOfUri.set(uri, key);
    return prog;
  }

  private programPaths(prog: ProgramState): string[] {
    if (prog.single) return [prog.single];
    const now = Date.now();
    if (!prog.fileList || now - prog.fileList.at > 2000) prog.fileList = { at: now, paths: listOflFiles(prog.root!) };
    const paths = new Set(prog.fileList.paths);
    for (const [uri, key] of this.programOfUri) if (key === prog.key && this.documents.get(uri)) paths.add(uriToPath(uri));
    return [...paths].sort();
  }

  private analyze(prog: ProgramState): Analysis {
    const t0 = performance.now();
    const docs = new Map<string, Doc>();
    for (const p of this.programPaths(prog)) {
      const d = this.docFor(p);
      if (d) docs.set(p, d);
    }
    const result = checkParsed([...docs.values()].map((d) => ({ file: d.file, diagnostics: d.parseDiagnostics })), { name: prog.name });
    prog.lastCheckMs = performance.now() - t0;
    return makeAnalysis(result, docs);
  }

  private commit(prog: ProgramState, analysis: Analysis, gen: number): void {
    prog.analysis = analysis;
    prog.analysisGen = gen;
    if (prog.timer && gen === prog.gen) {
      clearTimeout(prog.timer);
      prog.timer = undefined;
    }
    this.publish(prog);
  }

  private publish(prog: ProgramState): void {
    const a = prog.analysis;
    if (!a) return;
    const lookup = (path: string) => {
      const d = a.docs.get(path);
      const uri = this.uriOf(path);
      return d && uri ? { uri, lines: d.lines } : undefined;
    };
    const byFile = diagnosticsByFile(a.result.diagnostics, a.docs.keys(), lookup);
    const now = new Set<string>();
    for (const [path, list] of byFile) {
      const uri = this.uriOf(path);
      if (!uri) continue;
      now.add(uri);
      const d = a.docs.get(path);
      const td = this.documents.get(uri);
      const version = td && d && td.version === d.version ? td.version : undefined;
      this.publishDiagnostics({ uri, version, diagnostics: [...list, ...(prog.testDiags.get(uri) ?? [])] });
    }
    for (const uri of prog.published) if (!now.has(uri)) this.publishDiagnostics({ uri, diagnostics: [] });
    prog.published = now;
  }

  /** The program's analysis for its current texts, checking now if the latest is stale. */
  ensureAnalysis(prog: ProgramState): Analysis {
    if (prog.analysis && prog.analysisGen === prog.gen) return prog.analysis;
    const gen = prog.gen;
    const a = this.analyze(prog);
    this.commit(prog, a, gen);
    return a;
  }

  /** The debounced build: parse what changed, check, publish — abandoned when a newer edit arrives. */
  private async build(prog: ProgramState, gen: number): Promise<void> {
    if (gen !== prog.gen || prog.analysisGen === gen) return;
    // parse stage, one file at a time, yielding so that a newer edit can cancel
    for (const p of this.programPaths(prog)) {
      const uri = this.openUris.get(p);
      const needs = uri ? this.parseCache.get(uri)?.version !== this.documents.get(uri)?.version : false;
      this.docFor(p);
      if (needs) {
        await yieldNow();
        if (gen !== prog.gen || prog.analysisGen === gen) return;
      }
    }
    const a = this.analyze(prog);
    await yieldNow(); // let a queued edit arrive before publishing
    if (gen !== prog.gen || prog.analysisGen >= gen) return; // stale: never published
    this.commit(prog, a, gen);
  }

  private schedule(prog: ProgramState): void {
    prog.gen++;
    if (prog.timer) clearTimeout(prog.timer);
    const gen = prog.gen;
    prog.timer = setTimeout(() => {
      prog.timer = undefined;
      this.build(prog, gen).catch((e) => this.log(`ofl-lsp: check failed: ${(e as Error)?.stack ?? String(e)}`));
    }, this.debounceMs);
  }

  // ------------------------------------------------------------------ features

  /** The fresh analysis and this document's view in it. */
  private analysed(uri: string): { a: Analysis; doc: Doc } | undefined {
    if (!this.documents.get(uri)) return undefined;
    const a = this.ensureAnalysis(this.programFor(uri));
    const doc = a.docs.get(uriToPath(uri));
    return doc ? { a, doc } : undefined;
  }

  /** Completion never waits for a check: the latest analysis, possibly one edit old. */
  completion(uri: string, position: Position): CompletionItem[] {
    const td = this.documents.get(uri);
    if (!td) return [];
    const prog = this.programFor(uri);
    const a = prog.analysis ?? this.ensureAnalysis(prog);
    return complete({ text: td.getText(), offset: td.offsetAt(position), analysis: a });
  }

  hover(uri: string, position: Position): Hover | null {
    const x = this.analysed(uri);
    return x ? hover(x.a, x.doc, x.doc.lines.offset(position)) : null;
  }

  definition(uri: string, position: Position): Location[] {
    const x = this.analysed(uri);
    return x ? definition(x.a, x.doc, x.doc.lines.offset(position), this.uriOf) : [];
  }

  references(uri: string, position: Position, includeDeclaration: boolean): Location[] {
    const x = this.analysed(uri);
    return x ? references(x.a, x.doc, x.doc.lines.offset(position), includeDeclaration, this.uriOf) : [];
  }

  /** Throws RenameError (features/navigation.ts) when the name there cannot be renamed. */
  prepareRename(uri: string, position: Position): { range: Range; placeholder: string } | null {
    const x = this.analysed(uri);
    return x ? prepareRename(x.a, x.doc, x.doc.lines.offset(position)) : null;
  }

  /** Throws RenameError when the new name is invalid or the name cannot be renamed. */
  rename(uri: string, position: Position, newName: string): WorkspaceEdit | null {
    const x = this.analysed(uri);
    return x ? rename(x.a, x.doc, x.doc.lines.offset(position), newName, this.uriOf) : null;
  }

  documentSymbols(uri: string): DocumentSymbol[] {
    const doc = this.openDoc(uri);
    return doc ? documentSymbols(doc.file, doc.lines) : [];
  }

  workspaceSymbols(query: string): SymbolInformation[] {
    const files = new Map<string, { file: Doc["file"]; uri: string; lines: Doc["lines"] }>();
    for (const prog of this.programs.values())
      for (const d of prog.analysis?.docs.values() ?? []) {
        const uri = this.uriOf(d.path);
        if (uri) files.set(d.path, { file: d.file, uri, lines: d.lines });
      }
    for (const td of this.documents.all()) {
      const d = this.openDoc(td.uri);
      if (d) files.set(d.path, { file: d.file, uri: td.uri, lines: d.lines });
    }
    return workspaceSymbols([...files.values()], query);
  }

  semanticTokens(uri: string): SemanticTokens {
    const doc = this.openDoc(uri);
    if (!doc) return { data: [] };
    const prog = this.programFor(uri);
    return semanticTokens(doc.file, doc.lines, isFresh(prog.analysis, doc) ? prog.analysis : undefined);
  }

  foldingRanges(uri: string): FoldingRange[] {
    const doc = this.openDoc(uri);
    return doc ? foldingRanges(doc.file, doc.lines) : [];
  }

  codeActions(uri: string, range: Range): CodeAction[] {
    const x = this.analysed(uri);
    return x ? codeActions(x.a, x.doc, range, this.uriOf) : [];
  }

  codeLenses(uri: string): CodeLens[] {
    const doc = this.openDoc(uri);
    return doc ? codeLenses(doc) : [];
  }

  async format(uri: string): Promise<TextEdit[] | null> {
    const doc = this.openDoc(uri);
    if (!doc) return null;
    return formatDocument(doc.text, doc.lines);
  }

  /**
   * `ofl.runTest [uri, name]`, `ofl.runFileTests [uri]`, `ofl.replaySession [uri, path?]`.
   * Throws CommandError on bad arguments or an unknown command; a failed run is a result
   * (`{ error }`) and a message to the user.
   */
  async executeCommand(command: string, args: unknown[]): Promise<unknown> {
    if (command !== RUN_TEST && command !== RUN_FILE_TESTS && command !== REPLAY_SESSION) throw new CommandError(`unknown command ${command}`);
    const [uri, arg] = args as [string?, string?];
    if (typeof uri !== "string" || !this.documents.get(uri)) throw new CommandError(`${command}: the first argument must be the URI of an open .ofl document`);
    const prog = this.programFor(uri);
    const a = this.ensureAnalysis(prog);
    const doc = a.docs.get(uriToPath(uri));
    if (!doc) throw new CommandError(`${command}: the document is not part of its program`);
    try {
      if (command === RUN_TEST || command === RUN_FILE_TESTS) {
        const name = command === RUN_TEST ? arg : undefined;
        const results = runTests(a.result, doc.path, name);
        prog.testDiags.set(uri, failureDiagnostics(results, doc));
        this.publish(prog);
        const failed = results.filter((r) => r.status === "failed");
        const summary =
          failed.length === 0
            ? `${results.length === 1 ? `test "${results[0]!.name}"` : `${results.length} tests`} passed`
            : `${failed.length} of ${results.length} test${results.length === 1 ? "" : "s"} failed: ${failed.map((r) => `"${r.name}"`).join(", ")}`;
        if (failed.length === 0) this.ui.info(summary);
        else this.ui.error(summary);
        return { results };
      }
      let session = arg;
      if (!session) {
        let base = prog.root ?? dirname(doc.path);
        let candidates = listFiles(base, ".jsonl");
        if (candidates.length === 0 && !prog.root) candidates = listFiles((base = dirname(base)), ".jsonl");
        candidates = candidates.slice(0, 20);
        if (candidates.length === 0) throw new TestRunError(`no session files (*.jsonl) under ${base}`);
        const pick = await this.ui.pick(
          "Replay which session?",
          candidates.map((c) => relative(base, c)),
        );
        if (!pick) return null;
        session = join(base, pick);
      } else if (!session.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(session)) session = join(prog.root ?? dirname(doc.path), session);
      const report = replay(a.result, session);
      const msg = report.passed
        ? `replay of ${basename(session)}: ${report.records} records, ${report.commands.matched}/${report.commands.recorded} commands and ${report.alarms.matched}/${report.alarms.recorded} alarm transitions match`
        : `replay of ${basename(session)} diverges: expected ${report.divergence?.expected}, got ${report.divergence?.actual}${report.divergence?.line ? ` (session line ${report.divergence.line})` : ""}`;
      if (report.passed) this.ui.info(msg);
      else this.ui.error(msg);
      return { report };
    } catch (e) {
      if (e instanceof TestRunError) {
        this.ui.error(e.message);
        return { error: e.message };
      }
      this.log(`ofl-lsp: ${command} failed: ${(e as Error)?.stack ?? String(e)}`);
      return { error: (e as Error)?.message ?? String(e) };
    }
  }
}

function listFiles(root: string, ext: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 4 || out.length > 200) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name.endsWith(ext)) out.push(p);
    }
  };
  walk(root, 0);
  return out.sort();
}
