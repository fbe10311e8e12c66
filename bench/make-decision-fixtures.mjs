// Writes test/fixtures/bench-decisions: small versions of the replay and engine benchmark
// sessions (bench/inputs.mjs), each recorded with the decisions (rule-issued commands, their
// results, alarm transitions) of the engine as it was when the fixtures were made, so that
// test/unit/wire/bench-decisions.test.ts checks every later optimisation against them.
// Re-run only on purpose (it overwrites the reference):  node bench/make-decision-fixtures.mjs
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "../scripts/bundle-modules.mjs";
import { engineEvents, engineProgram, replayProgram, replayRecords } from "./inputs.mjs";

const out = join(root, "test/fixtures/bench-decisions");
mkdirSync(out, { recursive: true });
const bundle = join(root, "bench/out/decision-fixtures.mjs");
await build({
  stdin: {
    contents: `export { compile } from "./compiler/index.ts"; export { Engine } from "./runtime/engine/index.ts"; export { classify, isInput, telemetryValue } from "./runtime/wire/records.ts";`,
    resolveDir: root,
    loader: "ts",
  },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: bundle,
  packages: "external",
  logLevel: "warning",
  plugins: [
    {
      name: "raw-text", // `import text from "./x.ofl?raw"` (the standard library), as scripts/build.mjs does
      setup(b) {
        b.onResolve({ filter: /\?raw$/ }, (a) => ({ path: join(a.resolveDir, a.path.replace(/\?raw$/, "")), namespace: "raw" }));
        b.onLoad({ filter: /.*/, namespace: "raw" }, (a) => ({ contents: readFileSync(a.path, "utf8"), loader: "text" }));
      },
    },
  ],
});
const { compile, Engine, classify, isInput, telemetryValue } = await import(pathToFileURL(bundle).href);

const DECISION_TAGS = new Set(["Method.Command", "Method.Result", "Alarm"]);

/** Runs the inputs through the engine; returns the recorded session lines and the decisions. */
function record(ir, inputs, name) {
  const lines = [JSON.stringify({ ofl_session: 1, program: ir.program, recorded: "2026-11-20T09:00:00Z" })];
  const decisions = [];
  let offset = 0;
  let pending = [];
  const engine = new Engine({ program: ir, derivedOutputs: false, onOutput: (r) => pending.push(r) });
  const flush = () => {
    for (const r of pending) {
      if (!DECISION_TAGS.has(r.value?.TAG)) continue;
      decisions.push({ key: r.key, ts: r.ts, value: r.value });
      lines.push(JSON.stringify({ topic: r.topic, partition: 0, offset: offset++, ts: r.ts, key: r.key, value: r.value }));
    }
    pending = [];
  };
  let last = 0;
  let count = 0;
  for (const rec of inputs) {
    const r = { ...rec, offset: offset++ };
    lines.push(JSON.stringify(r));
    const ev = classify(r);
    if (!isInput(ev)) throw new Error(`${name}: input ${count} is not an input (${ev.kind})`);
    last = Math.max(last, ev.time);
    engine.process(ev);
    count++;
    flush();
  }
  engine.advanceTo(last);
  flush();
  const tally = (tag) => decisions.filter((d) => d.value.TAG === tag).length;
  console.log(`${name}: ${count} inputs, ${tally("Method.Command")} commands, ${tally("Method.Result")} results, ${tally("Alarm")} alarm transitions`);
  return { text: lines.join("\n") + "\n", decisions, inputs: count };
}

// the replay benchmark, small: 20 assets, 12,000 records, 1 record per asset per second
{
  const assets = 20;
  const text = replayProgram(assets);
  const { ir, diagnostics } = compile([{ path: "replay-small.ofl", text }], { name: "bench" });
  if (!ir) throw new Error(`the replay program does not compile: ${JSON.stringify(diagnostics)}`);
  const r = record(ir, replayRecords({ records: 12_000, assets, stepMs: 50, clockMs: 1000 }), "replay-small");
  writeFileSync(join(out, "replay-small.ofl"), text);
  writeFileSync(join(out, "replay-small.jsonl"), r.text);
  writeFileSync(join(out, "replay-small.decisions.json"), JSON.stringify({ inputs: r.inputs, decisions: r.decisions }, null, 1) + "\n");
}

// the engine benchmark (scenario 3: timers, windows, views), small: 20 assets, 12,000 events
{
  const assets = 20;
  const ir = engineProgram(3, assets);
  const inputs = (function* () {
    let i = 0;
    for (const e of engineEvents({ events: 12_000, assets, perSecond: 20 })) {
      yield { topic: "ofa_assets", partition: 0, offset: i++, ts: e.time, key: `CNC-${e.a}`, value: telemetryValue(e.id, e.value, e.id, "Samples", e.time) };
    }
  })();
  const r = record(ir, inputs, "engine-small");
  writeFileSync(join(out, "engine-small.ir.json"), JSON.stringify(ir, null, 1) + "\n");
  writeFileSync(join(out, "engine-small.jsonl"), r.text);
  writeFileSync(join(out, "engine-small.decisions.json"), JSON.stringify({ inputs: r.inputs, decisions: r.decisions }, null, 1) + "\n");
}
