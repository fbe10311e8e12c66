// The language server on a 5,000-line project file, through a real client over stdio:
// - edit → diagnostics: time from a one-character didChange to the publishDiagnostics of that version;
// - completion: request round trip, idle and right after an edit (before the debounced check ran).
// Targets: edit → diagnostics p95 < 50 ms; completion p95 < 30 ms. A benchmark, not a test.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import rpc from "vscode-languageserver-protocol/node";
import { plantSource } from "./generate.mjs";

const { createProtocolConnection, StreamMessageReader, StreamMessageWriter } = rpc;
const root = join(fileURLToPath(import.meta.url), "..", "..");
const EDITS = Number(process.env.OFL_BENCH_EDITS ?? 100);

const build = spawnSync(process.execPath, [join(root, "lsp/build.mjs")], { encoding: "utf8" });
if (build.status !== 0) throw new Error(build.stderr);

const dir = mkdtempSync(join(tmpdir(), "ofl-bench-lsp-"));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x) => Math.round(x * 10) / 10;
/** CPU time (ms) the server process has used so far (Linux /proc; undefined elsewhere). */
const cpuMs = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
};

try {
  writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: "bench" }));
  let text = plantSource({ models: 41, assets: 300 });
  // a rule whose condition we complete in, and an expectation line
  text += `\nrule bench_rule on M3 {\n  when temperature > 90 degC and hot\n  then stop()\n}\n`;
  const lines = text.split("\n");
  const path = join(dir, "plant.ofl");
  writeFileSync(path, text);
  const uri = pathToFileURL(path).href;

  const proc = spawn(process.execPath, [...(process.env.OFL_LSP_NODE_ARGS ? process.env.OFL_LSP_NODE_ARGS.split(" ") : []), join(root, "dist/ofl-lsp.mjs"), "--stdio"], { stdio: ["pipe", "pipe", "inherit"] });
  const conn = createProtocolConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  const waiting = new Map();
  conn.onNotification("textDocument/publishDiagnostics", (p) => {
    if (p.uri !== uri) return;
    const w = waiting.get(p.version);
    if (w) {
      waiting.delete(p.version);
      w(performance.now());
    }
  });
  conn.onNotification("window/logMessage", () => {});
  conn.listen();
  await conn.sendRequest("initialize", { processId: process.pid, rootUri: pathToFileURL(dir).href, capabilities: {}, initializationOptions: process.env.OFL_LSP_DEBOUNCE ? { debounceMs: Number(process.env.OFL_LSP_DEBOUNCE) } : {} });
  await conn.sendNotification("initialized", {});

  let version = 1;
  const published = (v) => new Promise((r) => waiting.set(v, r));
  let p = published(1);
  let t0 = performance.now();
  await conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "ofl", version: 1, text } });
  await p;
  const firstMs = performance.now() - t0;

  // one-character edits at the end of a line in the middle (insert a space, then delete it)
  const line = Math.floor(lines.length / 2);
  const col = lines[line].length;
  const edit = (i) => (i % 2 === 0 ? { range: { start: { line, character: col }, end: { line, character: col } }, text: " " } : { range: { start: { line, character: col }, end: { line, character: col + 1 } }, text: "" });
  const editLatency = [];
  let cpu0;
  for (let i = 0; i < EDITS + 20; i++) {
    if (i === 20) cpu0 = cpuMs(proc.pid);
    const v = ++version;
    p = published(v);
    t0 = performance.now();
    await conn.sendNotification("textDocument/didChange", { textDocument: { uri, version: v }, contentChanges: [edit(i)] });
    const t1 = await p;
    if (i >= 20) editLatency.push(t1 - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  const cpu1 = cpuMs(proc.pid);
  if (version % 2 === 0) {
    const v = ++version;
    p = published(v);
    await conn.sendNotification("textDocument/didChange", { textDocument: { uri, version: v }, contentChanges: [edit(1)] });
    await p;
  }

  // completion: in the rule condition (expression context: members, assets, functions, keywords)
  const ruleLine = lines.length - 4;
  const positions = [
    { line: ruleLine, character: lines[ruleLine].length - 3 },
    { line: 3, character: 2 },
  ];
  const idle = [];
  for (let i = 0; i < 120; i++) {
    t0 = performance.now();
    await conn.sendRequest("textDocument/completion", { textDocument: { uri }, position: positions[i % positions.length] });
    if (i >= 20) idle.push(performance.now() - t0);
  }
  // right after an edit: type `a1.` in the rule condition, then ask for completion
  const afterEdit = [];
  for (let i = 0; i < 60; i++) {
    const v = ++version;
    const at = { line: ruleLine, character: lines[ruleLine].length - 3 };
    const change = i % 2 === 0 ? { range: { start: at, end: at }, text: "a1." } : { range: { start: at, end: { line: ruleLine, character: at.character + 3 } }, text: "" };
    const pub = published(v);
    await conn.sendNotification("textDocument/didChange", { textDocument: { uri, version: v }, contentChanges: [change] });
    t0 = performance.now();
    const items = await conn.sendRequest("textDocument/completion", { textDocument: { uri }, position: i % 2 === 0 ? { line: ruleLine, character: at.character + 3 } : at });
    const dt = performance.now() - t0;
    if (i >= 10) afterEdit.push(dt);
    if (i === 0 && !(items.length > 0)) throw new Error("no completion items after `a1.`");
    await pub;
  }
  await conn.sendRequest("shutdown", null);
  await conn.sendNotification("exit");
  await new Promise((r) => {
    proc.on("exit", r);
    setTimeout(() => {
      proc.kill();
      r();
    }, 3000);
  });

  const result = {
    name: "ofl-lsp on a 5,000-line file",
    lines: lines.length,
    firstDiagnosticsMs: fmt(firstMs),
    editToDiagnostics: { p50: fmt(pct(editLatency, 50)), p95: fmt(pct(editLatency, 95)), max: fmt(Math.max(...editLatency)), target: "p95 < 50 ms" },
    serverCpuPerEditMs: cpu0 !== undefined && cpu1 !== undefined ? fmt((cpu1 - cpu0) / EDITS) : "n/a",
    loadAverage: loadavg().map((x) => fmt(x)),
    completionIdle: { p50: fmt(pct(idle, 50)), p95: fmt(pct(idle, 95)), target: "p95 < 30 ms" },
    completionAfterEdit: { p50: fmt(pct(afterEdit, 50)), p95: fmt(pct(afterEdit, 95)), target: "p95 < 30 ms" },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
