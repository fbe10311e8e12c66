// Builds the dashboard page into dist/dashboard/: index.html, dashboard.js (one bundle: the
// client code and uPlot), dashboard.css (uPlot's and ours). Called by scripts/build.mjs, by the
// end-to-end tests and by bench/dashboard.mjs; `node runtime/dashboard/build.mjs` alone works too.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeChanged, writeOutputs } from "../../scripts/write-changed.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");

export async function buildDashboard(outDir = join(root, "dist/dashboard")) {
  // each file written where changed, by a rename (scripts/write-changed.mjs): an `ofl run` serving
  // the page while the tests rebuild it never sends a half-written file
  const result = await build({
    write: false,
    entryPoints: [join(here, "client/main.ts")],
    outfile: join(outDir, "dashboard.js"),
    bundle: true,
    platform: "browser",
    format: "iife",
    target: ["chrome110", "firefox115", "safari16"],
    minify: process.env.OFL_DASHBOARD_DEV !== "1",
    sourcemap: "linked",
    legalComments: "linked",
    logLevel: "warning",
  });
  writeOutputs(result);
  const require = createRequire(import.meta.url);
  const uplotCss = readFileSync(join(dirname(require.resolve("uplot")), "uPlot.min.css"), "utf8");
  writeChanged(join(outDir, "dashboard.css"), uplotCss + "\n" + readFileSync(join(here, "client/style.css"), "utf8"));
  writeChanged(join(outDir, "index.html"), readFileSync(join(here, "client/index.html")));
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildDashboard();
