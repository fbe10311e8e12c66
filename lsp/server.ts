// The connection: wires an LSP connection (stdio or given streams) to the Workspace
// (workspace.ts), which owns documents, programs, checks and the features. Messages to the user
// are `window/showMessage` notifications (nothing to answer, so nothing to reject when a window
// closes); only the replay's session picker is a request, and a dismissed or cancelled one
// counts as no choice.
import {
  createConnection,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  ResponseError,
  CodeActionKind,
  MessageType,
  ShowMessageNotification,
  type Connection,
  type InitializeResult,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { RenameError } from "./features/navigation.js";
import { LEGEND } from "./features/semanticTokens.js";
import { RUN_FILE_TESTS, RUN_TEST, REPLAY_SESSION } from "./features/codeLens.js";
import { CommandError, Workspace } from "./workspace.js";

export { uriToPath } from "./workspace.js";

const REQUEST_FAILED = -32803;

export interface ServerOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

/** Starts the language server on stdio (or the given streams). */
export function startServer(opts: ServerOptions = {}): Connection {
  const connection = opts.input && opts.output ? createConnection(ProposedFeatures.all, opts.input, opts.output) : createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  const documents = new TextDocuments(TextDocument);

  const log = (msg: string): void => {
    try {
      connection.console.error(msg);
    } catch {
      /* the connection may be gone */
    }
  };
  const show = (type: MessageType, message: string): void => {
    connection.sendNotification(ShowMessageNotification.type, { type, message }).catch(() => {});
  };
  const ws = new Workspace({
    documents,
    publish: (p) => void connection.sendDiagnostics(p).catch(() => {}),
    log,
    ui: {
      info: (m) => show(MessageType.Info, m),
      error: (m) => show(MessageType.Error, m),
      pick: async (question, choices) => {
        try {
          const r = await connection.window.showInformationMessage(question, ...choices.map((title) => ({ title })));
          return r?.title;
        } catch (e) {
          // the client cancelled the request (its window closed) or cannot show it
          log(`ofl-lsp: ${question} not answered: ${(e as Error)?.message ?? String(e)}`);
          return undefined;
        }
      },
    },
  });

  const guard = <A extends unknown[], R>(name: string, fallback: R, f: (...args: A) => R): ((...args: A) => R) => {
    return (...args: A): R => {
      try {
        return f(...args);
      } catch (e) {
        if (e instanceof ResponseError) throw e;
        if (e instanceof RenameError) throw new ResponseError(REQUEST_FAILED, e.message);
        log(`ofl-lsp: ${name} failed: ${(e as Error)?.stack ?? String(e)}`);
        return fallback;
      }
    };
  };

  // ------------------------------------------------------------------ lifecycle

  connection.onInitialize(async (params): Promise<InitializeResult> => {
    const io = params.initializationOptions as { debounceMs?: number } | undefined;
    if (io && typeof io.debounceMs === "number" && io.debounceMs >= 0) ws.debounceMs = io.debounceMs;
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

  documents.onDidOpen((e) => ws.didOpen(e.document.uri));
  documents.onDidChangeContent((e) => ws.didChange(e.document.uri));
  documents.onDidClose((e) => ws.didClose(e.document.uri));
  connection.onDidChangeWatchedFiles(() => ws.didChangeWatchedFiles());

  // ------------------------------------------------------------------ features

  connection.onCompletion(guard("completion", [], (p) => ws.completion(p.textDocument.uri, p.position)));
  connection.onHover(guard("hover", null, (p) => ws.hover(p.textDocument.uri, p.position)));
  connection.onDefinition(guard("definition", [], (p) => ws.definition(p.textDocument.uri, p.position)));
  connection.onReferences(guard("references", [], (p) => ws.references(p.textDocument.uri, p.position, p.context.includeDeclaration)));
  connection.onPrepareRename(guard("prepareRename", null, (p) => ws.prepareRename(p.textDocument.uri, p.position)));
  connection.onRenameRequest(guard("rename", null, (p) => ws.rename(p.textDocument.uri, p.position, p.newName)));
  connection.onDocumentSymbol(guard("documentSymbol", [], (p) => ws.documentSymbols(p.textDocument.uri)));
  connection.onWorkspaceSymbol(guard("workspaceSymbol", [], (p) => ws.workspaceSymbols(p.query)));
  connection.languages.semanticTokens.on(guard("semanticTokens", { data: [] }, (p) => ws.semanticTokens(p.textDocument.uri)));
  connection.onFoldingRanges(guard("foldingRanges", [], (p) => ws.foldingRanges(p.textDocument.uri)));
  connection.onCodeAction(guard("codeAction", [], (p) => ws.codeActions(p.textDocument.uri, p.range)));
  connection.onCodeLens(guard("codeLens", [], (p) => ws.codeLenses(p.textDocument.uri)));
  connection.onDocumentFormatting(async (p) => {
    try {
      return await ws.format(p.textDocument.uri);
    } catch (e) {
      log(`ofl-lsp: formatting failed: ${(e as Error)?.message}`);
      return null;
    }
  });
  connection.onExecuteCommand(async (p) => {
    try {
      return await ws.executeCommand(p.command, p.arguments ?? []);
    } catch (e) {
      if (e instanceof CommandError) throw new ResponseError(REQUEST_FAILED, e.message);
      throw e;
    }
  });

  documents.listen(connection);
  connection.listen();
  return connection;
}
