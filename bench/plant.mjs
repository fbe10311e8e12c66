// Benchmarks that run the plant: `ofl run` as a child process, and its dashboard URL once it has
// started (it prints `dashboard: URL` and `stop with Ctrl-C`), or the output if it exits first.
import { spawn } from "node:child_process";

/** Starts `node OFL run ARGS…`; `url` resolves once the plant serves. */
export function startOflRun(ofl, args) {
  const child = spawn(process.execPath, [ofl, "run", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const url = new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /dashboard: (http:\/\/[^/\s]+)/.exec(out);
      if (m && /stop with Ctrl-C/.test(out)) {
        clearInterval(timer);
        resolve(m[1]);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`ofl run exited:\n${out}`));
      }
    }, 50);
  });
  return { child, url, output: () => out };
}
