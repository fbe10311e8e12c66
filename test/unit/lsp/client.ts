// A real LSP client over stdio for the language server tests: spawns `node dist/ofl-lsp.mjs --stdio`.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type Position,
} from "vscode-languageserver-protocol/node";

export const ROOT = join(fileURLToPath(import.meta.url), "..", "..", "..", "..");
export const BUNDLE = join(ROOT, "dist", "ofl-lsp.mjs");

/** Removes `‸` markers from a text and returns their offsets (in order). */
export function marked(src: string): { text: string; offsets: number[] } {
  const parts = src.split("‸");
  const offsets: number[] = [];
  let text = parts[0]!;
  for (let i = 1; i < parts.length; i++) {
    offsets.push(text.length);
    text += parts[i]!;
  }
  return { text, offsets };
}

export function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  const line = before.split("\n").length - 1;
  return { line, character: offset - (before.lastIndexOf("\n") + 1) };
}

export function offsetAt(text: string, pos: Position): number {
  const lines = text.split("\n");
  let off = 0;
  for (let i = 0; i < pos.line; i++) off += lines[i]!.length + 1;
  return off + pos.character;
}

export class LspClient {
  readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  readonly messages: { type: number; message: string }[] = [];
  /** answers `window/showMessageRequest` (default: the first action); may throw to refuse */
  onShowMessageRequest: (p: { message: string; actions?: { title: string }[] }) => unknown = (p) => p.actions?.[0] ?? null;
  readonly stderr: string[] = [];
  init: { capabilities: Record<string, unknown> } = { capabilities: {} };
  /** extra observers of published diagnostics (jsonrpc allows one handler per method) */
  readonly listeners = new Set<(p: PublishDiagnosticsParams) => void>();
  private waiters: { uri: string; pred: (p: PublishDiagnosticsParams) => boolean; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  private constructor(
    readonly proc: ChildProcess,
    readonly conn: ProtocolConnection,
  ) {}

  static async start(initializationOptions: Record<string, unknown> = {}, rootUri: string | null = null): Promise<LspClient> {
    const proc = spawn(process.execPath, [BUNDLE, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    const conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    const c = new LspClient(proc, conn);
    proc.stderr!.on("data", (d: Buffer) => c.stderr.push(d.toString()));
    conn.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
      c.diagnostics.set(p.uri, p);
      for (const l of c.listeners) l(p);
      c.waiters = c.waiters.filter((w) => {
        if (w.uri === p.uri && w.pred(p)) {
          w.resolve(p);
          return false;
        }
        return true;
      });
    });
    conn.onNotification("window/showMessage", (p: { type: number; message: string }) => void c.messages.push(p));
    conn.onNotification("window/logMessage", (p: { type: number; message: string }) => void c.stderr.push(p.message));
    conn.onRequest("window/showMessageRequest", (p: { message: string; actions?: { title: string }[] }) => c.onShowMessageRequest(p));
    conn.onRequest("client/registerCapability", () => null);
    conn.listen();
    c.init = await conn.sendRequest("initialize", {
      processId: process.pid,
      rootUri,
      capabilities: {
        textDocument: {
          hover: { contentFormat: ["markdown", "plaintext"] },
          documentSymbol: { hierarchicalDocumentSymbolSupport: true },
          rename: { prepareSupport: true },
          publishDiagnostics: { relatedInformation: true, versionSupport: true },
        },
      },
      initializationOptions,
    }) as LspClient["init"];
    await conn.sendNotification("initialized", {});
    return c;
  }

  request<R = unknown>(method: string, params: unknown): Promise<R> {
    return this.conn.sendRequest(method, params) as Promise<R>;
  }

  open(uri: string, text: string, version = 1): Promise<void> {
    return this.conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "ofl", version, text } });
  }

  change(uri: string, version: number, contentChanges: unknown[]): Promise<void> {
    return this.conn.sendNotification("textDocument/didChange", { textDocument: { uri, version }, contentChanges });
  }

  close(uri: string): Promise<void> {
    return this.conn.sendNotification("textDocument/didClose", { textDocument: { uri } });
  }

  /** The next diagnostics published for `uri` that satisfy `pred` (or the current ones if they already do). */
  waitForDiagnostics(uri: string, pred: (p: PublishDiagnosticsParams) => boolean = () => true, timeoutMs = 10_000, current = true): Promise<PublishDiagnosticsParams> {
    const have = this.diagnostics.get(uri);
    if (current && have && pred(have)) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} in ${timeoutMs} ms; stderr: ${this.stderr.join("").slice(-2000)}`)), timeoutMs);
      this.waiters.push({
        uri,
        pred,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
    });
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.request("shutdown", null), new Promise((r) => setTimeout(r, 2000))]);
      await this.conn.sendNotification("exit");
    } catch {
      /* already gone */
    }
    await new Promise<void>((resolve) => {
      if (this.proc.exitCode !== null) return resolve();
      const t = setTimeout(() => {
        this.proc.kill();
        resolve();
      }, 2000);
      this.proc.on("exit", () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.conn.dispose();
  }
}
