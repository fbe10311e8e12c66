// Bundles the `ofl` command into dist/ofl.mjs (one file, fast start-up).
// Native and large runtime dependencies stay external and load from node_modules.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

await build({
  entryPoints: [join(root, "runtime/cli/main.ts")],
  outfile: join(root, "dist/ofl.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  external: ["better-sqlite3"],
  banner: { js: "import { createRequire as __oflCreateRequire } from 'node:module'; const require = __oflCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
