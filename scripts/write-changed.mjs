// Build outputs are written only where their content changed, each file by a rename: a process
// reading one meanwhile (a test suite running `ofl`, or an `ofl run` serving the dashboard, while
// another rebuilds: every vitest run builds first) never reads it half-written, and an unchanged
// build writes nothing. Used by scripts/build.mjs, lsp/build.mjs and runtime/dashboard/build.mjs.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** Writes `contents` to `path` unless it holds them already; returns whether it wrote. */
export function writeChanged(path, contents) {
  const bytes = typeof contents === "string" ? Buffer.from(contents) : contents;
  if (existsSync(path) && readFileSync(path).equals(bytes)) return false;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
  return true;
}

/** Writes an esbuild result built with `write: false`. */
export function writeOutputs(result) {
  for (const f of result.outputFiles) writeChanged(f.path, f.contents);
}
