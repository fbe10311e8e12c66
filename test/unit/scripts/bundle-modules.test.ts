// scripts/bundle-modules.mjs, the bundler of the benchmarks and of the tests' child processes:
// a bundle written outside the repository loads its packages by absolute URL, resolved as an ES
// module import resolves them. As `require` resolved them, prettier/doc (which the compiler's
// formatter imports) was its CommonJS doc.js, and the bundle failed to load in Node:
// bench/opcua-latency stopped running unnoticed.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { expect, test } from "vitest";
import { bundleModules } from "../../../scripts/bundle-modules.mjs";

test("a bundle of the compiler and the formatter loads in Node and works", async () => {
  const out = (await bundleModules({ compile: "compiler/index.ts", formatOfl: "compiler/format/index.ts" })) as string;
  // in a plain node process: vitest's own loader would forgive what Node's does not
  const script = `
    const { compile, formatOfl } = await import(${JSON.stringify(pathToFileURL(out).href)});
    const r = compile([{ path: "t.ofl", text: 'model M {\\n  telemetry t: float<degC>\\n}\\nasset m: M { uuid "M-1" }\\n' }], { name: "t" });
    console.log(JSON.stringify({ assets: r.ir.assets.length, formatted: await formatOfl("model  M {telemetry t: float<degC>}\\n") }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  expect(r.stderr).toBe("");
  expect(JSON.parse(r.stdout)).toEqual({ assets: 1, formatted: "model M {\n  telemetry t: float<degC>\n}\n" });
}, 60_000);

test("packages stay external, by the URL an ES module import resolves to", async () => {
  const text = readFileSync((await bundleModules({ compile: "compiler/index.ts" })) as string, "utf8");
  expect(text).toMatch(/from "file:\/\/[^"]*\/node_modules\/prettier\/doc\.mjs"/);
  expect(text).not.toMatch(/node_modules\/prettier\/doc\.js"/);
}, 60_000);
