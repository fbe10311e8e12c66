// Bundles the `ofl` command into dist/ofl.mjs (one file, fast start-up).
// Native and large runtime dependencies stay external and load from node_modules.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { buildLsp } from "../lsp/build.mjs";
import { writeOutputs } from "./write-changed.mjs";

/** `import text from "./x.ofl?raw"` (as in Vite/vitest): the file's text as a string. */
const rawText = {
  name: "raw-text",
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({ path: join(args.resolveDir, args.path.replace(/\?raw$/, "")), namespace: "raw" }));
    b.onLoad({ filter: /.*/, namespace: "raw" }, async (args) => ({
      contents: (await import("node:fs")).readFileSync(args.path, "utf8"),
      loader: "text",
    }));
  },
};

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

// `npm ci` runs this as the `prepare` step: say what it does, unless in CI or under the tests
const quiet = !!process.env.CI || !!process.env.VITEST || process.env.OFL_BUILD_QUIET === "1";
const started = Date.now();
const step = (what) => quiet || process.stderr.write(`ofl build step: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
step("bundling the ofl command into dist/");

// written only where the content changed, each file by a rename (write-changed.mjs)
const result = await build({
  write: false,
  // the time-travel worker thread (runtime/run/timeTravel.ts) is an entry of its own:
  // dist/time-travel-worker.mjs, beside dist/ofl.mjs
  entryPoints: { ofl: join(root, "runtime/cli/main.ts"), "time-travel-worker": join(root, "runtime/run/timeTravelWorker.ts") },
  outdir: join(root, "dist"),
  outExtension: { ".js": ".mjs" },
  // connectors load their client libraries (node-opcua, mqtt) in chunks of their own, only
  // when a program uses them: `ofl check` never loads node-opcua
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  // native modules and large libraries load from node_modules, and only when used
  external: ["better-sqlite3", "mqtt", "node-opcua-certificate-manager", "node-opcua-client", "node-opcua-server", "prettier", "prettier/*", "esbuild", "kafkajs"],
  banner: { js: "import { createRequire as __oflCreateRequire } from 'node:module'; const require = __oflCreateRequire(import.meta.url);" },
  logLevel: "warning",
  plugins: [rawText],
});
writeOutputs(result);

// the language server (`ofl lsp --stdio`), a bundle of its own
step("bundling the language server");
await buildLsp();

// the dashboard page that `ofl run` serves (plain DOM + uPlot), into dist/dashboard
step("bundling the dashboard");
await (await import("../runtime/dashboard/build.mjs")).buildDashboard(join(root, "dist/dashboard"));
step("done");
