// Bundles the language server into dist/ofl-lsp.mjs (one file; `node dist/ofl-lsp.mjs --stdio`).
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { writeOutputs } from "../scripts/write-changed.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** `import text from "./x.ofl?raw"`: the file's text (as scripts/build.mjs does). */
const rawText = {
  name: "raw-text",
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({ path: join(args.resolveDir, args.path.replace(/\?raw$/, "")), namespace: "raw" }));
    b.onLoad({ filter: /.*/, namespace: "raw" }, (args) => ({ contents: readFileSync(args.path, "utf8"), loader: "text" }));
  },
};

export async function buildLsp({ outfile = join(root, "dist/ofl-lsp.mjs"), minify = false } = {}) {
  const result = await build({
    write: false, // written where changed, by a rename (scripts/write-changed.mjs)
    entryPoints: [join(root, "lsp/main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    minify,
    // the formatter uses prettier/standalone and prettier/doc, which bundle cleanly
    external: ["better-sqlite3"],
    banner: { js: "import { createRequire as __oflCreateRequire } from 'node:module'; const require = __oflCreateRequire(import.meta.url);" },
    logLevel: "warning",
    plugins: [rawText],
  });
  writeOutputs(result);
  return outfile;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildLsp();
