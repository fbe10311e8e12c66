// The OFL extension: starts the language server (the bundle the extension carries, dist/server.mjs,
// or `ofl.server.path`) over stdio for `ofl` documents, adds the commands "OFL: Run tests" and
// "OFL: Replay session", and lists the workspace's tests in VS Code's Testing view (testing.ts).
// Everything else (diagnostics, hover, code lenses "▶ Run test", …) is the server's; the client
// shows what the server's commands return in the "OFL" output channel (the server's own log is in
// "OFL language server").
//
// The server's commands (`ofl.runTest`, `ofl.runFileTests`, `ofl.replaySession`) are registered as
// VS Code commands by vscode-languageclient when the server advertises them; `ofl.replaySession` is
// also the palette's "OFL: Replay session" (contributed in package.json, never registered here: a
// second registration of one id fails). The middleware below completes its arguments: the active
// document when none is given, and a session picked in VS Code's file dialog when no path is given
// (from the palette, or from the code lens "Replay session…").
import * as path from "node:path";
import * as os from "node:os";
import * as vscode from "vscode";
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";
import { setupTesting } from "./testing";

/** Server commands (lsp/features/codeLens.ts). */
export const RUN_TEST = "ofl.runTest";
const RUN_FILE_TESTS = "ofl.runFileTests";
export const REPLAY_SESSION = "ofl.replaySession";
const SERVER_COMMANDS = new Set([RUN_TEST, RUN_FILE_TESTS, REPLAY_SESSION]);

/** What the server's commands return (runtime/replay/runner.ts), as far as the client shows it. */
export interface Failure {
  expectation: string;
  expected: string;
  actual: string;
  line: number;
}
export interface TestResult {
  name: string;
  file: string;
  line: number;
  status: "passed" | "failed";
  failures: Failure[];
  durationMs: number;
}
export interface ReplayReport {
  session: string;
  records: number;
  skipped: { line: number; message: string }[];
  deadLetters: number;
  commands: { recorded: number; replayed: number; matched: number };
  alarms: { recorded: number; replayed: number; matched: number };
  divergence?: { kind: "command" | "alarm"; index: number; expected: string; actual: string; line?: number };
  passed: boolean;
}
export interface CommandResult {
  results?: TestResult[];
  report?: ReplayReport;
  error?: string;
}

let client: LanguageClient | undefined;
let starting: Promise<void> | undefined;
let output: vscode.OutputChannel;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("OFL");
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("ofl.runTests", () => runTests()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("ofl.server.path")) void restart(context);
    }),
  );
  await start(context);
  setupTesting(context, ready);
}

export async function deactivate(): Promise<void> {
  await stop();
}

// ------------------------------------------------------------------ the client

/** `ofl.server.path` (a server bundle run with Node.js, or the `ofl` command), else the bundled server. */
export function serverOptions(context: vscode.ExtensionContext): ServerOptions {
  const configured = serverPathSetting();
  if (configured === "") {
    // VS Code's own Node.js runs the bundle: `node dist/server.mjs --stdio`
    const module = context.asAbsolutePath(path.join("dist", "server.mjs"));
    return { run: { module, transport: TransportKind.stdio }, debug: { module, transport: TransportKind.stdio, options: { execArgv: ["--inspect=6009"] } } };
  }
  let file = configured.startsWith("~") ? path.join(os.homedir(), configured.slice(1)) : configured;
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!path.isAbsolute(file) && (file.includes("/") || file.includes("\\")) && folder) file = path.join(folder.uri.fsPath, file);
  if (/\.(mjs|cjs|js)$/i.test(file)) {
    // the `ofl` command's own script (bin/ofl.mjs) takes `lsp`; a server bundle takes only `--stdio`
    const args = /^ofl\.(mjs|cjs|js)$/i.test(path.basename(file)) ? ["lsp"] : [];
    return { module: file, args, transport: TransportKind.stdio };
  }
  // the `ofl` command: `ofl lsp --stdio`
  return { command: file, args: ["lsp"], transport: TransportKind.stdio };
}

/**
 * `ofl.server.path` names a program to execute: in an untrusted workspace (Restricted Mode) only
 * the user's own value counts, never the workspace's. VS Code enforces this for the settings that
 * package.json lists under capabilities.untrustedWorkspaces.restrictedConfigurations; this reads
 * the same way so that no VS Code version or fork can let a folder choose the executable.
 */
export function serverPathSetting(): string {
  const config = vscode.workspace.getConfiguration("ofl");
  if (vscode.workspace.isTrusted === false) {
    const i = config.inspect<string>("server.path");
    return (i?.globalValue ?? "").trim();
  }
  return (config.get<string>("server.path") ?? "").trim();
}

function clientOptions(): LanguageClientOptions {
  return {
    documentSelector: [
      { scheme: "file", language: "ofl" },
      { scheme: "untitled", language: "ofl" },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.ofl,ofl.json}") },
    middleware: {
      // every server command (ours and the code lenses' "▶ Run test", "Replay session…") reports here
      executeCommand: async (command, args, next) => {
        if (command === REPLAY_SESSION) {
          const full = await replayArguments(args);
          if (!full) return null;
          args = full;
        }
        const result = (await next(command, args)) as CommandResult | null | undefined;
        if (SERVER_COMMANDS.has(command)) report(command, args, result);
        return result;
      },
    },
  };
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const c = new LanguageClient("ofl", "OFL language server", serverOptions(context), clientOptions());
  client = c;
  starting = c.start().catch((e: unknown) => {
    output.appendLine(`[error] the OFL language server did not start: ${(e as Error)?.message ?? String(e)}`);
    void vscode.window.showErrorMessage(`OFL: the language server did not start (${(e as Error)?.message ?? String(e)}). Check the setting ofl.server.path.`);
  });
  await starting;
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  starting = undefined;
  if (c) {
    try {
      await c.stop();
    } catch {
      /* already stopped */
    }
  }
}

async function restart(context: vscode.ExtensionContext): Promise<void> {
  output.appendLine("[info] ofl.server.path changed: restarting the language server");
  await stop();
  await start(context);
}

/** The client, started, or undefined (with a message unless `quiet`) when the server is not running. */
async function ready(quiet = false): Promise<LanguageClient | undefined> {
  await starting;
  if (!client || !client.isRunning()) {
    if (quiet) return undefined;
    void vscode.window.showErrorMessage("OFL: the language server is not running (see the output \"OFL language server\").");
    client?.outputChannel.show(true);
    return undefined;
  }
  return client;
}

/** The active editor's OFL document, or undefined (with a message). */
function activeOflDocument(): vscode.TextDocument | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (!doc || doc.languageId !== "ofl") {
    void vscode.window.showWarningMessage("OFL: open an .ofl file first.");
    return undefined;
  }
  return doc;
}

// ------------------------------------------------------------------ commands

/** "OFL: Run tests": the server's `ofl.runFileTests [uri]` for the active document. */
async function runTests(): Promise<void> {
  const doc = activeOflDocument();
  if (!doc) return;
  const c = await ready();
  if (!c) return;
  await execute(RUN_FILE_TESTS, [c.code2ProtocolConverter.asUri(doc.uri)]);
}

/**
 * "OFL: Replay session" (`ofl.replaySession [uri?, path?]`): the arguments completed — the active
 * document, a .jsonl picked in a file dialog — or undefined when there is nothing to replay.
 */
async function replayArguments(args: unknown[]): Promise<unknown[] | undefined> {
  let [uri, session] = args as [unknown, unknown];
  let docUri: vscode.Uri | undefined;
  if (typeof uri !== "string") {
    const doc = activeOflDocument();
    if (!doc) return undefined;
    docUri = doc.uri;
    uri = client ? client.code2ProtocolConverter.asUri(doc.uri) : doc.uri.toString();
  } else docUri = vscode.Uri.parse(uri);
  if (session instanceof vscode.Uri) session = session.fsPath;
  if (typeof session !== "string" || session === "") {
    const folder = vscode.workspace.getWorkspaceFolder(docUri)?.uri ?? (docUri.scheme === "file" ? vscode.Uri.file(path.dirname(docUri.fsPath)) : undefined);
    const picked = await vscode.window.showOpenDialog({
      canSelectFiles: true,
      canSelectFolders: false,
      canSelectMany: false,
      defaultUri: folder,
      filters: { "OFL session": ["jsonl"], "All files": ["*"] },
      openLabel: "Replay",
      title: "Replay which session?",
    });
    if (!picked?.[0]) return undefined;
    session = picked[0].fsPath;
  }
  return [uri, session];
}

/** Runs a server command through VS Code (so the middleware reports it), showing failures to call it. */
async function execute(command: string, args: unknown[]): Promise<void> {
  try {
    await vscode.commands.executeCommand(command, ...args);
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    output.appendLine(`[error] ${command}: ${msg}`);
    void vscode.window.showErrorMessage(`OFL: ${msg}`);
  }
}

// ------------------------------------------------------------------ results in the output channel

function stamp(): string {
  return new Date().toLocaleTimeString();
}

function fileName(uri: unknown): string {
  if (typeof uri !== "string") return "?";
  try {
    return path.basename(vscode.Uri.parse(uri).fsPath);
  } catch {
    return uri;
  }
}

/** Writes what a server command returned; shows the channel when something failed. */
export function report(command: string, args: unknown[], result: CommandResult | null | undefined): void {
  const [uri, arg] = args as [unknown, unknown];
  if (result == null) return; // cancelled (e.g. no session picked in the server's own prompt)
  if (result.error) {
    output.appendLine(`[${stamp()}] ${command} ${fileName(uri)}: ${result.error}`);
    output.show(true);
    return;
  }
  if (result.results) {
    const what = command === RUN_TEST ? `test "${String(arg)}"` : "tests";
    output.appendLine(`[${stamp()}] ${what} of ${fileName(uri)}`);
    let failed = 0;
    for (const r of result.results) {
      if (r.status === "passed") {
        output.appendLine(`  ✓ ${r.name} (${Math.round(r.durationMs)} ms)`);
        continue;
      }
      failed++;
      output.appendLine(`  ✗ ${r.name} (${path.basename(r.file)}:${r.line})`);
      for (const f of r.failures) {
        output.appendLine(`      line ${f.line}: ${f.expectation}`);
        output.appendLine(`        expected: ${f.expected}`);
        output.appendLine(`        actual:   ${f.actual}`);
      }
    }
    output.appendLine(`  ${result.results.length - failed} passed, ${failed} failed`);
    if (failed > 0) output.show(true);
    return;
  }
  if (result.report) {
    const r = result.report;
    output.appendLine(`[${stamp()}] replay of ${r.session} against ${fileName(uri)}`);
    output.appendLine(`  ${r.records} records, ${r.deadLetters} dead letters, ${r.skipped.length} lines skipped`);
    output.appendLine(`  commands: ${r.commands.matched}/${r.commands.recorded} recorded matched (${r.commands.replayed} issued in the replay)`);
    output.appendLine(`  alarm transitions: ${r.alarms.matched}/${r.alarms.recorded} recorded matched (${r.alarms.replayed} in the replay)`);
    for (const s of r.skipped.slice(0, 20)) output.appendLine(`  skipped line ${s.line}: ${s.message}`);
    if (r.passed) output.appendLine("  decisions match");
    else {
      const d = r.divergence;
      output.appendLine(`  DIVERGES${d ? ` at ${d.kind} #${d.index + 1}${d.line ? ` (session line ${d.line})` : ""}` : ""}`);
      if (d) {
        output.appendLine(`    expected: ${d.expected}`);
        output.appendLine(`    actual:   ${d.actual}`);
      }
      output.show(true);
    }
  }
}
