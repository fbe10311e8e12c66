// Formatting through the workspace: the edits give `ofl fmt`'s output.
import { describe, expect, test } from "vitest";
import { TextDocument } from "vscode-languageserver-textdocument";
import { TestWorkspace } from "./harness.js";

describe("formatting", () => {
  test("the edits turn the text into `ofl fmt`'s output", async () => {
    const t = new TestWorkspace();
    const d = t.open("untitled:m.ofl", "model   M {\ntelemetry t:int\n   state hot = t>5\n}\n");
    const edits = (await t.ws.format(d.uri))!;
    const after = TextDocument.applyEdits(TextDocument.create(d.uri, "ofl", 1, d.text), edits);
    expect(after).toBe("model M {\n  telemetry t: int\n  state hot = t > 5\n}\n");
  });
});
