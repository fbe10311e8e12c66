// Patches of kafkajs 2.2.4 (unmaintained since 2023) applied when workers are bundled: a file under
// runtime/deploy/kafkajs-patches/ replaces the kafkajs module at the same path inside the package
// (kafkajs-patches/src/producer/groupMessagesPerPartition.js replaces
// kafkajs/src/producer/groupMessagesPerPartition.js). Each patch says what it changes and why; the
// test (test/unit/deploy/kafkajs-patch.test.ts) checks each against the original. Plain JavaScript
// so that the benchmarks' bundler (scripts/bundle-modules.mjs) applies the same patches as
// `ofl build` (runtime/deploy/bundle.ts).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** a kafkajs module's path; group 1 is its path inside the package */
export const KAFKAJS_MODULE = /[\\/]node_modules[\\/]kafkajs[\\/](src[\\/].+\.js)$/;

/** The patch file that replaces the kafkajs module at `path`, or undefined. `root`: the ofl package root. */
export function kafkajsPatchFor(root, path) {
  const m = KAFKAJS_MODULE.exec(path);
  if (!m) return undefined;
  const file = join(root, "runtime", "deploy", "kafkajs-patches", m[1]);
  return existsSync(file) ? file : undefined;
}

/** The esbuild plugin that loads the patched modules (relative requires resolve from the original's folder). */
export function kafkajsPatches(root) {
  return {
    name: "kafkajs-patches",
    setup(b) {
      b.onLoad({ filter: KAFKAJS_MODULE }, (a) => {
        const file = kafkajsPatchFor(root, a.path);
        return file === undefined ? undefined : { contents: readFileSync(file, "utf8"), loader: "js" };
      });
    },
  };
}
