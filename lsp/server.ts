// The connection: documents, per-version parse cache, per-program checks (debounced, cancelled by
// newer edits, never published stale), and the LSP handlers that call the feature functions.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, basename, relative, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  createConnection,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  ResponseError,
  CodeActionKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type InitializeResult,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { findProjectRoot, listOflFiles } from "../runtime/project/load.js";
import { checkParsed, parse } from "../compiler/index.js";
import { IncrementalParser } from "./incremental.js";
import { makeAnalysis, makeDoc, isFresh, type Analysis, type Doc } from "./features/analysis.js";
import { diagnosticsByFile } from "./features/diagnostics.js";
import { complete } from "./features/completion.js";
import { hover } from "./features/hover.js";
import { definition, references, rename, prepareRename, RenameError } from "./features/navigation.js";
import { documentSymbols, workspaceSymbols } from "./features/symbols.js";
import { semanticTokens, LEGEND } from "./features/semanticTokens.js";
import { foldingRanges } from "./features/folding.js";
import { codeActions } from "./features/codeActions.js";
import { codeLenses, failureDiagnostics, replay, runTests, RUN_FILE_TESTS, RUN_TEST, REPLAY_SESSION, TestRunError } from "./features/codeLens.js";
import { formatDocument } from "./features/format.js";

const REQUEST_FAILED = -32803;

interface ProgramState {
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

export interface ServerOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
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

/** Starts the language server on stdio (or the given streams). */
export function startServer(opts: ServerOptions = {}): Connection {
  const connection = opts.input && opts.output ? createConnection(ProposedFeatures.all, opts.input, opts.output) : createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  const documents = new TextDocuments(TextDocument);
  const programs = new Map<string, ProgramState>();
  const programOfUri = new Map<string, string>();
  /** path → URI of open documents (the client's spelling of the URI wins) */
  const openUris = new Map<string, string>();
  const parseCache = new Map<string, Doc>();
  /** per open document: its chunks, reused across versions */
  const parsers = new Map<string, IncrementalParser>();
  const diskCache = new Map<string, { mtime: number; size: number; doc: Doc }>();
  let debounceMs = 15;

  const log = (msg: string): void => {
    try {
      connection.console.error(msg);
    } catch {
      /* the connection may be gone */
    }
  };
  const guard = <A extends unknown[], R>(name: string, fallback: R, f: (...args: A) => R): ((...args: A) => R) => {
    return (...args: A): R => {
      try {
        return f(...args);
      } catch (e) {
        if (e instanceof ResponseError) throw e;
        log(`ofl-lsp: ${name} failed: ${(e as Error)?.stack ?? String(e)}`);
        return fallback;
      }
    };
  };

  const uriOf = (path: string): string | undefined => {
    if (path.startsWith("std/")) return undefined;
    return openUris.get(path) ?? (path.includes(":") && !path.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(path) ? path : pathToFileURL(path).href);
  };

  // ------------------------------------------------------------------ documents and parses

  /** The parse of an open document at its current version (cached per version). */
  function openDoc(uri: string): Doc | undefined {
    const td = documents.get(uri);
    if (!td) return undefined;
    const cached = parseCache.get(uri);
    if (cached && cached.version === td.version) return cached;
    const path = uriToPath(uri);
    const text = td.getText();
    let parser = parsers.get(uri);
    if (!parser) parsers.set(uri, (parser = new IncrementalParser()));
    const doc = makeDoc(path, uri, td.version, text, parser.parse(text, path));
    parseCache.set(uri, doc);
    return doc;
  }

  function diskDoc(path: string): Doc | undefined {
    let st;
    try {
      st = statSync(path);
    } catch {
      return undefined;
    }
    const c = diskCache.get(path);
    if (c && c.mtime === st.mtimeMs && c.size === st.size) return c.doc;
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path));
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    } catch {
      return undefined;
    }
    const doc = makeDoc(path, pathToFileURL(path).href, -1, text, parse(text, path));
    diskCache.set(path, { mtime: st.mtimeMs, size: st.size, doc });
    return doc;
  }

  function docFor(path: string): Doc | undefined {
    const uri = openUris.get(path);
    if (uri && documents.get(uri)) return openDoc(uri);
    return diskDoc(path);
  }

  // ------------------------------------------------------------------ programs

  function programFor(uri: string): ProgramState {
    const known = programOfUri.get(uri);
    if (known && programs.has(known)) return programs.get(known)!;
    const path = uriToPath(uri);
    let root: string | undefined;
    if (uri.startsWith("file:")) root = findProjectRoot(dirname(path));
    const key = root ? `project:${root}` : `file:${path}`;
    let prog = programs.get(key);
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
      programs.set(key, prog);
    }
    programOfUri.set(uri, key);
    return prog;
  }

  function programPaths(prog: ProgramState): string[] {
    if (prog.single) return [prog.single];
    const now = Date.now();
    if (!prog.fileList || now - prog.fileList.at > 2000) prog.fileList = { at: now, paths: listOflFiles(prog.root!) };
    const paths = new Set(prog.fileList.paths);
    for (const [uri, key] of programOfUri) if (key === prog.key && documents.get(uri)) paths.add(uriToPath(uri));
    return [...paths].sort();
  }

  function analyze(prog: ProgramState): Analysis {
    const t0 = performance.now();
    const docs = new Map<string, Doc>();
    for (const p of programPaths(prog)) {
      const d = docFor(p);
      if (d) docs.set(p, d);
    }
    const result = checkParsed([...docs.values()].map((d) => ({ file: d.file, diagnostics: d.parseDiagnostics })), { name: prog.name });
    prog.lastCheckMs = performance.now() - t0;
    return makeAnalysis(result, docs);
  }

  function commit(prog: ProgramState, analysis: Analysis, gen: number): void {
    prog.analysis = analysis;
    prog.analysisGen = gen;
    if (prog.timer && gen === prog.gen) {
      clearTimeout(prog.timer);
      prog.timer = undefined;
    }
    publish(prog);
  }

  function publish(prog: ProgramState): void {
    const a = prog.analysis;
    if (!a) return;
    const lookup = (path: string) => {
      const d = a.docs.get(path);
      const uri = uriOf(path);
      return d && uri ? { uri, lines: d.lines } : undefined;
    };
    const byFile = diagnosticsByFile(a.result.diagnostics, a.docs.keys(), lookup);
    const now = new Set<string>();
    for (const [path, list] of byFile) {
      const uri = uriOf(path);
      if (!uri) continue;
      now.add(uri);
      const d = a.docs.get(path);
      const td = documents.get(uri);
      const version = td && d && td.version === d.version ? td.version : undefined;
      void connection.sendDiagnostics({ uri, version, diagnostics: [...list, ...(prog.testDiags.get(uri) ?? [])] });
    }
    for (const uri of prog.published) if (!now.has(uri)) void connection.sendDiagnostics({ uri, diagnostics: [] });
    prog.published = now;
  }

  /** The program's analysis for its current texts, checking now if the latest is stale. */
  function ensureAnalysis(prog: ProgramState): Analysis {
    if (prog.analysis && prog.analysisGen === prog.gen) return prog.analysis;
    const gen = prog.gen;
    const a = analyze(prog);
    commit(prog, a, gen);
    return a;
  }

  const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

  /** The debounced build: parse what changed, check, publish — abandoned when a newer edit arrives. */
  async function build(prog: ProgramState, gen: number): Promise<void> {
    if (gen !== prog.gen || prog.analysisGen === gen) return;
    // parse stage, one file at a time, yielding so that a newer edit can cancel
    for (const p of programPaths(prog)) {
      const uri = openUris.get(p);
      const needs = uri ? parseCache.get(uri)?.version !== documents.get(uri)?.version : false;
      docFor(p);
      if (needs) {
        await yieldNow();
        if (gen !== prog.gen || prog.analysisGen === gen) return;
      }
    }
    const a = analyze(prog);
    await yieldNow(); // let a queued edit arrive before publishing
    if (gen !== prog.gen || prog.analysisGen >= gen) return; // stale: never published
    commit(prog, a, gen);
  }

  function schedule(prog: ProgramState): void {
    prog.gen++;
    if (prog.timer) clearTimeout(prog.timer);
    const gen = prog.gen;
    prog.timer = setTimeout(() => {
      prog.timer = undefined;
      build(prog, gen).catch((e) => log(`ofl-lsp: check failed: ${(e as Error)?.stack ?? String(e)}`));
    }, debounceMs);
  }

  // ------------------------------------------------------------------ lifecycle

  connection.onInitialize(async (params): Promise<InitializeResult> => {
    const io = params.initializationOptions as { debounceMs?: number } | undefined;
    if (io && typeof io.debounceMs === "number" && io.debounceMs >= 0) debounceMs = io.debounceMs;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        completionProvider: { triggerCharacters: [".", ":", "<"] },
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        semanticTokensProvider: { legend: LEGEND, full: true },
        foldingRangeProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        codeLensProvider: { resolveProvider: false },
        executeCommandProvider: { commands: [RUN_TEST, RUN_FILE_TESTS, REPLAY_SESSION] },
        documentFormattingProvider: true,
      },
      serverInfo: { name: "ofl-lsp", version: "0.1.0" },
    };
  });

  documents.onDidOpen((e) => {
    const uri = e.document.uri;
    openUris.set(uriToPath(uri), uri);
    const prog = programFor(uri);
    prog.fileList = undefined;
    schedule(prog);
  });
  documents.onDidChangeContent((e) => {
    const prog = programFor(e.document.uri);
    prog.testDiags.delete(e.document.uri);
    schedule(prog);
  });
  documents.onDidClose((e) => {
    const uri = e.document.uri;
    parseCache.delete(uri);
    parsers.delete(uri);
    const prog = programFor(uri);
    programOfUri.delete(uri);
    openUris.delete(uriToPath(uri));
    prog.testDiags.delete(uri);
    if (prog.single) {
      // a file by itself: forget it and clear its diagnostics
      if (prog.timer) clearTimeout(prog.timer);
      prog.gen++;
      void connection.sendDiagnostics({ uri, diagnostics: [] });
      programs.delete(prog.key);
    } else schedule(prog);
  });
  connection.onDidChangeWatchedFiles(() => {
    for (const prog of programs.values()) {
      prog.fileList = undefined;
      if (!prog.single) schedule(prog);
    }
  });

  // ------------------------------------------------------------------ features

  /** The fresh analysis and this document's view in it. */
  const analysed = (uri: string): { a: Analysis; doc: Doc } | undefined => {
    if (!documents.get(uri)) return undefined;
    const prog = programFor(uri);
    const a = ensureAnalysis(prog);
    const doc = a.docs.get(uriToPath(uri));
    return doc ? { a, doc } : undefined;
  };

  connection.onCompletion(
    guard("completion", [], (params) => {
      const td = documents.get(params.textDocument.uri);
      if (!td) return [];
      const prog = programFor(params.textDocument.uri);
      const a = prog.analysis ?? ensureAnalysis(prog);
      return complete({ text: td.getText(), offset: td.offsetAt(params.position), analysis: a });
    }),
  );

  connection.onHover(
    guard("hover", null, (params) => {
      const x = analysed(params.textDocument.uri);
      return x ? hover(x.a, x.doc, x.doc.lines.offset(params.position)) : null;
    }),
  );

  connection.onDefinition(
    guard("definition", [], (params) => {
      const x = analysed(params.textDocument.uri);
      return x ? definition(x.a, x.doc, x.doc.lines.offset(params.position), uriOf) : [];
    }),
  );

  connection.onReferences(
    guard("references", [], (params) => {
      const x = analysed(params.textDocument.uri);
      return x ? references(x.a, x.doc, x.doc.lines.offset(params.position), params.context.includeDeclaration, uriOf) : [];
    }),
  );

  connection.onPrepareRename(
    guard("prepareRename", null, (params) => {
      const x = analysed(params.textDocument.uri);
      if (!x) return null;
      try {
        return prepareRename(x.a, x.doc, x.doc.lines.offset(params.position));
      } catch (e) {
        if (e instanceof RenameError) throw new ResponseError(REQUEST_FAILED, e.message);
        throw e;
      }
    }),
  );

  connection.onRenameRequest(
    guard("rename", null, (params) => {
      const x = analysed(params.textDocument.uri);
      if (!x) return null;
      try {
        return rename(x.a, x.doc, x.doc.lines.offset(params.position), params.newName, uriOf);
      } catch (e) {
        if (e instanceof RenameError) throw new ResponseError(REQUEST_FAILED, e.message);
        throw e;
      }
    }),
  );

  connection.onDocumentSymbol(
    guard("documentSymbol", [], (params) => {
      const doc = openDoc(params.textDocument.uri);
      return doc ? documentSymbols(doc.file, doc.lines) : [];
    }),
  );

  connection.onWorkspaceSymbol(
    guard("workspaceSymbol", [], (params) => {
      const files = new Map<string, { file: Doc["file"]; uri: string; lines: Doc["lines"] }>();
      for (const prog of programs.values())
        for (const d of prog.analysis?.docs.values() ?? []) {
          const uri = uriOf(d.path);
          if (uri) files.set(d.path, { file: d.file, uri, lines: d.lines });
        }
      for (const td of documents.all()) {
        const d = openDoc(td.uri);
        if (d) files.set(d.path, { file: d.file, uri: td.uri, lines: d.lines });
      }
      return workspaceSymbols([...files.values()], params.query);
    }),
  );

  connection.languages.semanticTokens.on(
    guard("semanticTokens", { data: [] }, (params) => {
      const doc = openDoc(params.textDocument.uri);
      if (!doc) return { data: [] };
      const prog = programFor(params.textDocument.uri);
      return semanticTokens(doc.file, doc.lines, isFresh(prog.analysis, doc) ? prog.analysis : undefined);
    }),
  );

  connection.onFoldingRanges(
    guard("foldingRanges", [], (params) => {
      const doc = openDoc(params.textDocument.uri);
      return doc ? foldingRanges(doc.file, doc.lines) : [];
    }),
  );

  connection.onCodeAction(
    guard("codeAction", [], (params) => {
      const x = analysed(params.textDocument.uri);
      return x ? codeActions(x.a, x.doc, params.range, uriOf) : [];
    }),
  );

  connection.onCodeLens(
    guard("codeLens", [], (params) => {
      const doc = openDoc(params.textDocument.uri);
      return doc ? codeLenses(doc) : [];
    }),
  );

  connection.onDocumentFormatting(async (params) => {
    try {
      const doc = openDoc(params.textDocument.uri);
      if (!doc) return null;
      return await formatDocument(doc.text, doc.lines);
    } catch (e) {
      log(`ofl-lsp: formatting failed: ${(e as Error)?.message}`);
      return null;
    }
  });

  connection.onExecuteCommand(async (params) => {
    const [uri, arg] = (params.arguments ?? []) as [string?, string?];
    if (typeof uri !== "string" || !documents.get(uri)) throw new ResponseError(REQUEST_FAILED, `${params.command}: the first argument must be the URI of an open .ofl document`);
    const prog = programFor(uri);
    const a = ensureAnalysis(prog);
    const doc = a.docs.get(uriToPath(uri));
    if (!doc) throw new ResponseError(REQUEST_FAILED, `${params.command}: the document is not part of its program`);
    try {
      if (params.command === RUN_TEST || params.command === RUN_FILE_TESTS) {
        const name = params.command === RUN_TEST ? arg : undefined;
        const results = runTests(a.result, doc.path, name);
        prog.testDiags.set(uri, failureDiagnostics(results, doc));
        publish(prog);
        const failed = results.filter((r) => r.status === "failed");
        const summary = failed.length === 0 ? `${results.length === 1 ? `test "${results[0]!.name}"` : `${results.length} tests`} passed` : `${failed.length} of ${results.length} test${results.length === 1 ? "" : "s"} failed: ${failed.map((r) => `"${r.name}"`).join(", ")}`;
        if (failed.length === 0) void connection.window.showInformationMessage(summary);
        else void connection.window.showErrorMessage(summary);
        return { results };
      }
      if (params.command === REPLAY_SESSION) {
        let session = arg;
        if (!session) {
          let base = prog.root ?? dirname(doc.path);
          let candidates = listFiles(base, ".jsonl");
          if (candidates.length === 0 && !prog.root) candidates = listFiles((base = dirname(base)), ".jsonl");
          candidates = candidates.slice(0, 20);
          if (candidates.length === 0) throw new TestRunError(`no session files (*.jsonl) under ${base}`);
          const pick = await connection.window.showInformationMessage("Replay which session?", ...candidates.map((c) => ({ title: relative(base, c) })));
          if (!pick) return null;
          session = join(base, pick.title);
        } else if (!session.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(session)) session = join(prog.root ?? dirname(doc.path), session);
        const report = replay(a.result, session);
        const msg = report.passed
          ? `replay of ${basename(session)}: ${report.records} records, ${report.commands.matched}/${report.commands.recorded} commands and ${report.alarms.matched}/${report.alarms.recorded} alarm transitions match`
          : `replay of ${basename(session)} diverges: expected ${report.divergence?.expected}, got ${report.divergence?.actual}${report.divergence?.line ? ` (session line ${report.divergence.line})` : ""}`;
        if (report.passed) void connection.window.showInformationMessage(msg);
        else void connection.window.showErrorMessage(msg);
        return { report };
      }
    } catch (e) {
      if (e instanceof TestRunError) {
        void connection.window.showErrorMessage(e.message);
        return { error: e.message };
      }
      log(`ofl-lsp: ${params.command} failed: ${(e as Error)?.stack ?? String(e)}`);
      return { error: (e as Error)?.message ?? String(e) };
    }
    throw new ResponseError(REQUEST_FAILED, `unknown command ${params.command}`);
  });

  documents.listen(connection);
  connection.listen();
  return connection;
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
