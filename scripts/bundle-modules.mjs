// Bundles TypeScript modules of this repository into one plain .mjs, for benchmarks and for
// tests that run code in a child process (no TypeScript loader needed there):
//
//   const mod = await importBundled({ Engine: "runtime/engine/index.ts", SqliteLog: "runtime/log/sqlite.ts" });
//
// Packages (better-sqlite3, node-opcua, mqtt…) stay external and load from this repository's
// node_modules by absolute path; `./x.ofl?raw` imports (the standard library) become text.
import { build } from "esbuild";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { kafkajsPatches } from "../runtime/deploy/kafkajsPatches.mjs";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));

/** `require` inside the ESM bundle (CommonJS packages bundled in require Node's built-ins) */
const REQUIRE_BANNER = { js: "import { createRequire as __oflRequire } from 'node:module'; const require = __oflRequire(import.meta.url);" };

/** the entry: one re-export per name */
const entrySource = (exports) => Object.entries(exports).map(([name, path]) => `export { ${name} } from ${JSON.stringify(join(root, path))};`).join("\n") + "\n";

/** `import text from "./x.ofl?raw"`: the file's text */
const RAW_TEXT = {
  name: "raw-text",
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (a) => ({ path: join(a.resolveDir, a.path.replace(/\?raw$/, "")), namespace: "raw" }));
    b.onLoad({ filter: /.*/, namespace: "raw" }, (a) => ({ contents: readFileSync(a.path, "utf8"), loader: "text" }));
  },
};

/** Writes the bundle of `exports` (name → repository-relative .ts path) to `outfile`. */
export async function bundleModules(exports, outfile = join(mkdtempSync(join(tmpdir(), "ofl-bundle-")), "bundle.mjs")) {
  const entry = `${outfile}.entry.ts`;
  writeFileSync(entry, entrySource(exports));
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    banner: REQUIRE_BANNER,
    plugins: [
      {
        name: "repository-packages",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (a) => {
            if (a.path.startsWith("node:") || a.kind === "entry-point") return undefined;
            // as an ES module import resolves it (the package's "import" export: prettier/doc is
            // doc.mjs there, and its CommonJS doc.js has no named exports Node can see), from here
            try {
              return { path: import.meta.resolve(a.path), external: true };
            } catch {
              try {
                return { path: pathToFileURL(require.resolve(a.path)).href, external: true };
              } catch {
                return undefined;
              }
            }
          });
        },
      },
      RAW_TEXT,
    ],
  });
  return outfile;
}

/** Bundles and imports. */
export async function importBundled(exports, outfile) {
  return import(pathToFileURL(await bundleModules(exports, outfile)).href);
}

/**
 * The benchmarks that run Kafka workers in child processes: `exports` (as above) bundled to
 * `outfile` inside this repository with kafkajs inside and patched as `ofl build` patches it
 * (runtime/deploy/kafkajsPatches.mjs), other packages left to Node's own resolution from there,
 * and `import.meta.url` standing for test/services/kafka/start.ts (it finds Kafka's jars next to
 * itself). A worker process imports the file its parent wrote.
 */
export async function bundleForKafka(exports, outfile) {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    stdin: { contents: entrySource(exports), resolveDir: root, loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    define: { "import.meta.url": JSON.stringify(pathToFileURL(join(root, "test/services/kafka/start.ts")).href) },
    logLevel: "warning",
    banner: REQUIRE_BANNER,
    plugins: [
      kafkajsPatches(root),
      {
        name: "packages-outside",
        setup(b) {
          // packages other than kafkajs stay outside the bundle
          b.onResolve({ filter: /^[^./]/ }, (a) => (a.kind === "entry-point" || a.path === "kafkajs" || a.path.startsWith("kafkajs/") ? undefined : { path: a.path, external: true }));
        },
      },
      RAW_TEXT,
    ],
  });
  return outfile;
}
