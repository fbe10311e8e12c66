// The built extension (dist/extension.js) activated under a stand-in for VS Code (fake-vscode.cjs):
// the real vscode-languageclient starts the bundled server (dist/server.mjs) over stdio, and the
// commands run tests and replay a session, reporting in the "OFL" output channel.
// `npm run build && npm test` (the repository root must have been built with `npm ci` first).
const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { mkdtempSync, writeFileSync, readFileSync, rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { join } = require("node:path");
const { vscode, commands, fake } = require("./fake-vscode.cjs");

const ext = join(__dirname, "..", "dist", "extension.js");
const example = join(__dirname, "..", "..", "examples", "packaging-line");
let extension;
let project;

const context = () => ({
  subscriptions: [],
  asAbsolutePath: (p) => join(__dirname, "..", p),
  extensionPath: join(__dirname, ".."),
  globalState: { get() {}, update: async () => {} },
  workspaceState: { get() {}, update: async () => {} },
});

describe("the extension under a stand-in VS Code", () => {
  before(async () => {
    project = mkdtempSync(join(tmpdir(), "ofl-vscode-"));
    writeFileSync(join(project, "ofl.json"), '{ "name": "smoke" }\n');
    writeFileSync(
      join(project, "plant.ofl"),
      'model M { telemetry t: float<degC> state hot = t > 90 degC }\nasset m1: M {}\ntest "fails" {\n  at 0s m1.t = 80 degC\n  expect m1.hot at 0s\n}\ntest "passes" {\n  at 0s m1.t = 95 degC\n  expect m1.hot at 0s\n}\n',
    );
    const file = join(project, "plant.ofl");
    fake.activeDocument = fake.document(file, readFileSync(file, "utf8"));
    extension = require(ext);
    await extension.activate(context());
  });
  after(async () => {
    await extension?.deactivate();
    rmSync(project, { recursive: true, force: true });
  });

  it("registers its commands and the server's", async () => {
    const ids = await vscode.commands.getCommands();
    for (const id of ["ofl.runTests", "ofl.runTest", "ofl.runFileTests", "ofl.replaySession"]) assert.ok(ids.includes(id), `${id} in ${ids}`);
  });

  it("OFL: Run tests runs the file's tests and lists them in the output", async () => {
    fake.output.length = 0;
    await vscode.commands.executeCommand("ofl.runTests");
    const out = fake.output.join("\n");
    assert.match(out, /✗ fails \(plant\.ofl:3\)/);
    assert.match(out, /line 5: expect m1\.hot at 0s/);
    assert.match(out, /✓ passes/);
    assert.match(out, /1 passed, 1 failed/);
  });

  it("a code lens's ▶ Run test runs one test", async () => {
    fake.output.length = 0;
    const r = await vscode.commands.executeCommand("ofl.runTest", fake.activeDocument.uri.toString(), "passes");
    assert.equal(r.results.length, 1);
    assert.equal(r.results[0].status, "passed");
    assert.match(fake.output.join("\n"), /1 passed, 0 failed/);
  });

  it("OFL: Replay session replays the picked .jsonl against the program", async () => {
    const file = join(example, "line.test.ofl");
    fake.open(fake.document(file, readFileSync(file, "utf8")));
    fake.pick = join(example, "sessions", "shift.jsonl");
    fake.output.length = 0;
    await vscode.commands.executeCommand("ofl.replaySession");
    assert.match(fake.output.join("\n"), /replay of .*shift\.jsonl/);
    assert.match(fake.output.join("\n"), /decisions match/);
  });

  it("Restricted Mode: the manifest declares limited support with ofl.server.path restricted", () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8"));
    assert.deepEqual(manifest.capabilities.untrustedWorkspaces.supported, "limited");
    assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, ["ofl.server.path"]);
    // the setting it restricts is one the extension really reads
    assert.ok(manifest.contributes.configuration.properties["ofl.server.path"]);
  });

  it("an untrusted workspace cannot choose the server's executable; the user's own setting still counts", () => {
    const before = { ...fake };
    try {
      fake.trusted = false;
      fake.serverPath = fake.workspaceServerPath = "./evil/ofl";
      fake.userServerPath = undefined;
      const bundled = extension.serverOptions(context());
      assert.match(bundled.run.module, /dist[\\/]server\.mjs$/);
      fake.userServerPath = "/opt/ofl/bin/ofl";
      assert.deepEqual(extension.serverOptions(context()), { command: "/opt/ofl/bin/ofl", args: ["lsp"], transport: 0 });
      // trusted: the workspace's value is used
      fake.trusted = true;
      assert.equal(extension.serverOptions(context()).command, "./evil/ofl");
    } finally {
      Object.assign(fake, { trusted: before.trusted, serverPath: before.serverPath, userServerPath: before.userServerPath, workspaceServerPath: before.workspaceServerPath });
    }
  });

  it("the Testing view lists each file's tests (at their line) and sessions; a run reports passes, failures at their line, and a replay", async () => {
    fake.roots = [project, example];
    const ctrl = fake.testControllers.find((c) => c.id === "ofl");
    assert.ok(ctrl, "a test controller");
    await ctrl.resolveHandler(undefined);
    const files = [...ctrl.items].map(([, i]) => i);
    const plant = files.find((i) => i.label === "plant.ofl");
    const line = files.find((i) => i.label === "line.test.ofl");
    assert.ok(plant && line, files.map((i) => i.label).join(", "));
    // line.ofl has no tests: not listed
    assert.equal(files.some((i) => i.label === "line.ofl"), false);
    const kids = (i) => [...i.children].map(([, c]) => c);
    assert.deepEqual(kids(plant).map((c) => [c.label, c.range.start.line]), [["fails", 2], ["passes", 6]]);
    assert.ok(kids(line).some((c) => c.label === `replay ${join("sessions", "shift.jsonl")}`), kids(line).map((c) => c.label).join(", "));

    const profile = ctrl.profiles.find((p) => p.kind === vscode.TestRunProfileKind.Run);
    const replayItem = kids(line).find((c) => c.label.startsWith("replay "));
    await profile.runHandler({ include: [plant, replayItem], exclude: [] }, { isCancellationRequested: false });
    const run = fake.testRuns.at(-1);
    assert.ok(run.ended);
    const final = (id) => run.events.filter((e) => e.id === id && e.k !== "enqueued" && e.k !== "started").map((e) => e.k);
    const failsId = kids(plant).find((c) => c.label === "fails").id;
    assert.deepEqual(final(failsId), ["failed"]);
    assert.deepEqual(final(kids(plant).find((c) => c.label === "passes").id), ["passed"]);
    assert.deepEqual(final(replayItem.id), ["passed"]);
    // the failure inline: at the expectation's line (line 5 of the file), with expected and actual
    const [msg] = run.events.find((e) => e.id === failsId && e.k === "failed").rest[0];
    assert.equal(msg.location.range.line, 4);
    assert.match(msg.message, /expect m1\.hot at 0s/);
    assert.ok(msg.expectedOutput && msg.actualOutput, JSON.stringify(msg));
  });

  it("nothing is replayed when no session is picked", async () => {
    fake.pick = undefined;
    assert.equal(await vscode.commands.executeCommand("ofl.replaySession"), null);
  });
});
