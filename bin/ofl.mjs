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
  } else if (!process.argv.slice(3).includes("--stdio")) {
    // run by hand: it would wait silently for LSP messages on stdin, so explain instead
    process.stderr.write("ofl lsp: the language server is for editors, which start it as `ofl lsp --stdio` and speak the\nLanguage Server Protocol with it on standard input and output (the VS Code extension does this).\nTo check files from a terminal use `ofl check`.\n");
    process.exitCode = 2;
  } else {
    const { startServer } = await import(pathToFileURL(bundle).href);
    startServer();
  }
} else {
  const { main } = await import(pathToFileURL(bundle).href);
  process.exitCode = await main(process.argv.slice(2));
}
