// `ofl check` on a generated plant of 200 models and 2,000 assets (~30,000 lines):
// wall time of the whole command (process start to exit) and lines per second.
// Target (issue 2): under 1.5 s on the 2-core development machine.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writePlant } from "./generate.mjs";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const dir = mkdtempSync(join(tmpdir(), "ofl-bench-check-"));
try {
  const lines = writePlant(dir, { models: 200, assets: 2000 });
  const runs = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(root, "bin/ofl.mjs"), "check", dir], { encoding: "utf8" });
    const ms = performance.now() - t0;
    if (r.status !== 0) {
      console.error(r.stdout.slice(0, 2000), r.stderr);
      throw new Error(`ofl check exited ${r.status}`);
    }
    runs.push(ms);
  }
  runs.sort((a, b) => a - b);
  const median = runs[Math.floor(runs.length / 2)];
  const result = { name: "ofl check, 200 models + 2,000 assets", lines, medianMs: Math.round(median), bestMs: Math.round(runs[0]), linesPerSec: Math.round(lines / (median / 1000)), target: "< 1500 ms" };
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
