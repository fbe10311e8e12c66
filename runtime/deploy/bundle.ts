// Bundles the worker entry points of runtime/deploy/entries.ts with esbuild: one self-contained ESM
// file per worker (kafkajs and the connector libraries included), run with plain `node`.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RUNTIME_MODULE, type WorkerEntry } from "./entries.js";
import { kafkajsPatches } from "./kafkajsPatches.mjs";

/** The package root: the folder holding runtime/worker/main.ts (works from sources and from dist/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "runtime", "worker", "main.ts"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot find runtime/worker/main.ts: the ofl package is incomplete");
}

export interface BundledWorker {
  name: string;
  code: string;
  bytes: number;
}

/** Bundles every entry; `minify` (default true) keeps the files small for Swarm configs. */
export async function bundleWorkers(entries: WorkerEntry[], opts: { minify?: boolean } = {}): Promise<BundledWorker[]> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch {
    throw new Error("ofl build needs esbuild to bundle the workers: npm install esbuild");
  }
  const root = packageRoot();
  const worker = join(root, "runtime", "worker");
  const out: BundledWorker[] = [];
  for (const e of entries) {
    const r = await esbuild.build({
      stdin: { contents: e.entry, loader: "ts", resolveDir: root, sourcefile: `${e.name}.ts` },
      bundle: true,
      write: false,
      platform: "node",
      format: "esm",
      target: "node20",
      minify: opts.minify !== false,
      legalComments: "none",
      logLevel: "silent",
      // optional add-ons required inside try/catch, absent is fine: ws's native helpers (mqtt),
      // proper-lockfile (node-opcua's certificate manager)
      external: ["bufferutil", "utf-8-validate", "proper-lockfile"],
      banner: { js: "import { createRequire as __oflCreateRequire } from 'node:module'; const require = __oflCreateRequire(import.meta.url);" },
      plugins: [
        {
          name: "ofl-runtime",
          setup(b) {
            b.onResolve({ filter: /^ofl-runtime\/worker\/(rule|cross|connector)$/ }, (a) => ({ path: join(worker, `${a.path.slice(RUNTIME_MODULE.length + 1)}.ts`) }));
            // a connector worker carries only its own source's client library
            b.onResolve({ filter: /^\.\/(opcua|mqtt)\.js$/ }, (a) =>
              /connectors[\\/]index\.ts$/.test(a.importer) && a.path !== `./${e.sourceKind}.js` ? { path: a.path, namespace: "ofl-absent" } : undefined,
            );
            b.onLoad({ filter: /.*/, namespace: "ofl-absent" }, () => ({ contents: "export {};", loader: "js" }));
          },
        },
        // kafkajs's producer hot paths (kafkajsPatches.mjs)
        kafkajsPatches(root),
      ],
    });
    const code = r.outputFiles[0]!.text;
    out.push({ name: e.name, code, bytes: Buffer.byteLength(code) });
  }
  return out;
}
