// Test helper: bundles runtime/log/sqlite.ts to a plain .mjs (better-sqlite3 left external, by
// absolute path) so a child node process can use it without a TypeScript loader.
import { build } from "esbuild";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "../../../..");

export async function bundleSqliteLog(outfile: string): Promise<string> {
  const sqlitePath = createRequire(import.meta.url).resolve("better-sqlite3");
  await build({
    entryPoints: [join(root, "runtime/log/sqlite.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    plugins: [
      {
        name: "external-better-sqlite3",
        setup(b) {
          b.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: sqlitePath, external: true }));
        },
      },
    ],
  });
  return outfile;
}
