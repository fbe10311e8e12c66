// Builds the extension into dist/: the client (src/extension.ts → dist/extension.js, CommonJS, `vscode`
// external) and the language server it carries (the repository's lsp/build.mjs → dist/server.mjs).
// `--minify` for the .vsix (vscode:prepublish). The server build needs the root's node_modules
// (`npm ci` at the repository root first).
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(here, "..");
const minify = process.argv.includes("--minify");
const t0 = Date.now();

rmSync(join(here, "dist"), { recursive: true, force: true });

await build({
  entryPoints: [join(here, "src/extension.ts")],
  outfile: join(here, "dist/extension.js"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["vscode"],
  sourcemap: minify ? false : "linked",
  minify,
  logLevel: "warning",
});

const { buildLsp } = await import(pathToFileURL(join(root, "lsp/build.mjs")).href);
await buildLsp({ outfile: join(here, "dist/server.mjs"), minify });

console.log(`ofl-vscode: built dist/extension.js and dist/server.mjs${minify ? " (minified)" : ""} in ${Date.now() - t0} ms`);
