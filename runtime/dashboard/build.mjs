// Builds the dashboard page into dist/dashboard/: index.html, dashboard.js (one bundle: the
// client code and uPlot), dashboard.css (uPlot's and ours). Called by scripts/build.mjs, by the
// end-to-end tests and by bench/dashboard.mjs; `node runtime/dashboard/build.mjs` alone works too.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");

export async function buildDashboard(outDir = join(root, "dist/dashboard")) {
  mkdirSync(outDir, { recursive: true });
  await build({
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
  const require = createRequire(import.meta.url);
  const uplotCss = readFileSync(join(dirname(require.resolve("uplot")), "uPlot.min.css"), "utf8");
  writeFileSync(join(outDir, "dashboard.css"), uplotCss + "\n" + readFileSync(join(here, "client/style.css"), "utf8"));
  copyFileSync(join(here, "client/index.html"), join(outDir, "index.html"));
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildDashboard();
