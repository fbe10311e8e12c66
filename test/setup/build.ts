// vitest global setup: bundles the `ofl` command (dist/ofl.mjs) once, so tests that run it as
// a child process (`ofl run`, SIGKILL and restart) exercise what users run.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

export default function setup(): void {
  const root = resolve(new URL(".", import.meta.url).pathname, "../..");
  execFileSync(process.execPath, [resolve(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
}
