// The Testing view (issue 17, item 13): a TestController with one item per `.ofl` file that has
// tests, its `test` blocks as children (at their line: the gutter's run buttons), and one
// "replay <session>" child per session file (`*.jsonl`) in the file's folder and below. Runs go
// through the language server's own commands (`ofl.runTest [uri, name]`, `ofl.replaySession [uri,
// path]`), the same runs as the code lenses and the "OFL" output channel; failures are shown
// inline as test messages at the expectation's line (expected/actual as a diff), a replay's
// divergence at the session line it happened.
//
// Discovery asks the server for the document's code lenses (one "▶ Run test" lens per test
// block): the server's parser decides what a test is, never a second one here. A file is opened
// as a text document (not shown) so the server knows it.
import * as path from "node:path";
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";
import { REPLAY_SESSION, RUN_TEST, type CommandResult } from "./extension";

interface Lens {
  range: { start: { line: number; character: number } };
  command?: { command: string; arguments?: unknown[] };
}

type Ready = (quiet?: boolean) => Promise<LanguageClient | undefined>;

/** What an item runs: a test of a file, a session replayed against a file's program. */
type Target = { kind: "test"; uri: vscode.Uri; name: string } | { kind: "replay"; uri: vscode.Uri; session: string } | { kind: "file"; uri: vscode.Uri };

const SESSIONS_MAX = 20;

export function setupTesting(context: vscode.ExtensionContext, ready: Ready): vscode.TestController {
  const ctrl = vscode.tests.createTestController("ofl", "OFL");
  const targets = new WeakMap<vscode.TestItem, Target>();
  context.subscriptions.push(ctrl);

  /** (Re)reads one file's tests and sessions into the tree. */
  const refresh = async (uri: vscode.Uri): Promise<void> => {
    const c = await ready(true);
    if (!c) return;
    await vscode.workspace.openTextDocument(uri);
    const lenses = ((await c.sendRequest("textDocument/codeLens", { textDocument: { uri: c.code2ProtocolConverter.asUri(uri) } })) ?? []) as Lens[];
    const tests = lenses.filter((l) => l.command?.command === RUN_TEST && typeof l.command.arguments?.[1] === "string");
    const id = uri.toString();
    if (tests.length === 0) {
      ctrl.items.delete(id);
      return;
    }
    const file = ctrl.items.get(id) ?? ctrl.createTestItem(id, path.basename(uri.fsPath), uri);
    targets.set(file, { kind: "file", uri });
    const children: vscode.TestItem[] = [];
    for (const l of tests) {
      const name = l.command!.arguments![1] as string;
      const item = ctrl.createTestItem(`${id}#test:${name}`, name, uri);
      const { line, character } = l.range.start;
      item.range = new vscode.Range(line, character, line, character);
      targets.set(item, { kind: "test", uri, name });
      children.push(item);
    }
    const dir = path.dirname(uri.fsPath);
    const sessions = await vscode.workspace.findFiles(new vscode.RelativePattern(dir, "**/*.jsonl"), "**/node_modules/**", SESSIONS_MAX);
    for (const s of [...sessions].sort((a, b) => a.fsPath.localeCompare(b.fsPath))) {
      const rel = path.relative(dir, s.fsPath);
      const item = ctrl.createTestItem(`${id}#replay:${rel}`, `replay ${rel}`, s);
      targets.set(item, { kind: "replay", uri, session: s.fsPath });
      children.push(item);
    }
    file.children.replace(children);
    ctrl.items.add(file);
  };

  const discoverAll = async (): Promise<void> => {
    const files = await vscode.workspace.findFiles("**/*.ofl", "**/node_modules/**");
    for (const f of files) await refresh(f);
  };

  ctrl.resolveHandler = async (item) => {
    if (!item) await discoverAll();
    else if (item.uri) await refresh(item.uri);
  };
  ctrl.refreshHandler = () => discoverAll();

  ctrl.createRunProfile(
    "Run",
    vscode.TestRunProfileKind.Run,
    async (request, token) => {
      const run = ctrl.createTestRun(request);
      const leaves: vscode.TestItem[] = [];
      const excluded = new Set(request.exclude ?? []);
      const collect = (item: vscode.TestItem): void => {
        if (excluded.has(item)) return;
        if (item.children.size === 0) leaves.push(item);
        else item.children.forEach(collect);
      };
      if (request.include) request.include.forEach(collect);
      else ctrl.items.forEach(collect);
      for (const item of leaves) run.enqueued(item);
      for (const item of leaves) {
        if (token.isCancellationRequested) {
          run.skipped(item);
          continue;
        }
        run.started(item);
        try {
          await runItem(item, targets.get(item), run, ready);
        } catch (e) {
          run.errored(item, new vscode.TestMessage((e as Error)?.message ?? String(e)));
        }
      }
      run.end();
    },
    true,
  );

  // keep the tree in step with the files
  context.subscriptions.push(
    vscode.workspace.onDidSaveTextDocument((d) => {
      if (d.languageId === "ofl") void refresh(d.uri);
    }),
  );
  const watcher = vscode.workspace.createFileSystemWatcher("**/*.ofl");
  context.subscriptions.push(
    watcher,
    watcher.onDidCreate((u) => void refresh(u)),
    watcher.onDidDelete((u) => ctrl.items.delete(u.toString())),
  );
  return ctrl;
}

async function runItem(item: vscode.TestItem, target: Target | undefined, run: vscode.TestRun, ready: Ready): Promise<void> {
  if (!target || target.kind === "file") return run.skipped(item);
  const c = await ready();
  if (!c) return run.errored(item, new vscode.TestMessage("the OFL language server is not running"));
  await vscode.workspace.openTextDocument(target.uri);
  const uri = c.code2ProtocolConverter.asUri(target.uri);
  if (target.kind === "test") {
    const r = (await vscode.commands.executeCommand(RUN_TEST, uri, target.name)) as CommandResult | null | undefined;
    if (!r || r.error || !r.results?.[0]) return run.errored(item, new vscode.TestMessage(r?.error ?? "the test did not run"));
    const t = r.results[0];
    if (t.status === "passed") return run.passed(item, t.durationMs);
    const messages = t.failures.map((f) => {
      const m = vscode.TestMessage.diff(f.expectation, f.expected, f.actual);
      m.location = new vscode.Location(target.uri, new vscode.Position(Math.max(0, f.line - 1), 0));
      return m;
    });
    return run.failed(item, messages, t.durationMs);
  }
  const r = (await vscode.commands.executeCommand(REPLAY_SESSION, uri, target.session)) as CommandResult | null | undefined;
  if (!r || r.error || !r.report) return run.errored(item, new vscode.TestMessage(r?.error ?? "the session was not replayed"));
  const rep = r.report;
  if (rep.passed) return run.passed(item);
  const d = rep.divergence;
  const m = d
    ? vscode.TestMessage.diff(`the replay diverges at ${d.kind} #${d.index + 1}`, d.expected, d.actual)
    : new vscode.TestMessage(`the replay does not match the recorded decisions`);
  if (d?.line) m.location = new vscode.Location(vscode.Uri.file(target.session), new vscode.Position(d.line - 1, 0));
  run.failed(item, m);
}
