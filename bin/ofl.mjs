#!/usr/bin/env node
// The `ofl` command. The TypeScript sources are bundled into dist/ by `npm run build`
// (run automatically by `npm install` / `npm ci` through the `prepare` script).
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const bundle = join(dist, process.argv[2] === "lsp" ? "ofl-lsp.mjs" : "ofl.mjs");
if (!existsSync(bundle)) {
  process.stderr.write("ofl: the command is not built yet; run `npm run build` in the ofl package folder\n");
  process.exit(2);
}
// A closed pipe (`ofl check | head`) ends the command quietly, as for other Unix tools.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (e) => {
    if (e && e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
if (process.argv[2] === "lsp") {
  // the language server speaks LSP on stdin/stdout (`ofl lsp --stdio`); it prints nothing else
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write("Usage: ofl lsp --stdio\n\nThe OFL language server, for editors (the VS Code extension starts it).\nIt speaks the Language Server Protocol on standard input and output.\n");
  } else {
    const { startServer } = await import(pathToFileURL(bundle).href);
    startServer();
  }
} else {
  const { main } = await import(pathToFileURL(bundle).href);
  process.exitCode = await main(process.argv.slice(2));
}
