// The language server's workspace in-process (lsp/workspace.ts), without a connection: documents
// in a map, published diagnostics and messages collected. Texts mark cursor positions with `‸`
// (as the stdio suite, test/unit/lsp/lsp.test.ts, which stays the integration test).
import type { Position, PublishDiagnosticsParams } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import { Workspace, type DocumentStore } from "../../../../lsp/workspace.js";
import { marked, positionAt } from "../client.js";

class Documents implements DocumentStore {
  readonly map = new Map<string, TextDocument>();
  get(uri: string): TextDocument | undefined {
    return this.map.get(uri);
  }
  all(): TextDocument[] {
    return [...this.map.values()];
  }
}

export interface Opened {
  uri: string;
  text: string;
  /** the positions of the `‸` markers, in order */
  at: Position[];
}

export class TestWorkspace {
  readonly docs = new Documents();
  readonly published = new Map<string, PublishDiagnosticsParams>();
  /** every publication, in order */
  readonly history: PublishDiagnosticsParams[] = [];
  readonly messages: { type: "info" | "error"; message: string }[] = [];
  readonly logs: string[] = [];
  /** the answer to the next `pick` (undefined: the user declines) */
  pickAnswer: ((choices: string[]) => string | undefined) | undefined = (c) => c[0];
  readonly ws = new Workspace({
    documents: this.docs,
    publish: (p) => {
      this.published.set(p.uri, p);
      this.history.push(p);
    },
    log: (m) => void this.logs.push(m),
    debounceMs: 0,
    ui: {
      info: (message) => void this.messages.push({ type: "info", message }),
      error: (message) => void this.messages.push({ type: "error", message }),
      pick: async (_q, choices) => this.pickAnswer?.(choices),
    },
  });

  /** Opens a document; `‸` marks positions (removed from the text). */
  open(uri: string, src: string, version = 1): Opened {
    const { text, offsets } = marked(src);
    this.docs.map.set(uri, TextDocument.create(uri, "ofl", version, text));
    this.ws.didOpen(uri);
    return { uri, text, at: offsets.map((o) => positionAt(text, o)) };
  }

  /** Replaces a document's text (a full-text change). */
  change(uri: string, src: string, version: number): Opened {
    const { text, offsets } = marked(src);
    const td = this.docs.map.get(uri)!;
    this.docs.map.set(uri, TextDocument.update(td, [{ text }], version));
    this.ws.didChange(uri);
    return { uri, text, at: offsets.map((o) => positionAt(text, o)) };
  }

  close(uri: string): void {
    this.docs.map.delete(uri);
    this.ws.didClose(uri);
  }

  /** Every scheduled check has run and published. */
  settled(): Promise<void> {
    return this.ws.settled();
  }
}

/** A small plant: a model with a state, an alarm and an interlocked command, one asset, a rule. */
export const PLANT = `enum Execution { READY, ACTIVE, STOPPED }

/// A milling machine.
model Mill {
  telemetry temperature: float<degC> in -50..500
  telemetry execution: Execution
  /// Too hot to keep cutting.
  state overheating = temperature > 90 degC for 5s
  alarm hot severity high when temperature > 95 degC clear when temperature < 85 degC
  command stop()
  command set_feed(override: float<percent> in 0..150) requires execution != STOPPED
}

asset mill1: Mill {
  uuid "MILL-1"
  source simulate() {
    temperature <- constant(20, every: 1s)
    execution <- constant(ACTIVE, every: 1s)
    stop -> set(execution, STOPPED)
    set_feed -> set(temperature, 20)
  }
}

rule stop_hot on Mill {
  when overheating
  then stop()
}
`;
