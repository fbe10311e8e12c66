// Entry of the bundled language server (dist/ofl-lsp.mjs): `node dist/ofl-lsp.mjs --stdio`.
// Imported by the `ofl` command, it only exports `startServer`.
import { pathToFileURL } from "node:url";
import { realpathSync } from "node:fs";
import { startServer } from "./server.js";

export { startServer };

function isMain(): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(argv1)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  process.on("uncaughtException", (e) => process.stderr.write(`ofl-lsp: uncaught: ${e?.stack ?? e}\n`));
  startServer();
}
