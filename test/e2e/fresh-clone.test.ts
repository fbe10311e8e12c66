// A newcomer's first minutes, on a fresh clone of this repository: install from the lock file,
// `npm install -g .` (the README's one way to put `ofl` on the PATH; here into a private npm
// prefix), the README's two commands with that `ofl`, `ofl init` plus `ofl test` in a new
// folder outside the clone, and every example's tests through the CLI.
//
// The README's test command (`npm test`) is run on a part of the suite (`npm test --
// test/conformance test/examples`): the whole suite would include this test again.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const repo = resolve(new URL(".", import.meta.url).pathname, "../..");
const work = mkdtempSync(join(tmpdir(), "ofl-fresh-"));
const clone = join(work, "ofl");
// npm's global folder for this test only: `npm install -g` writes there, and its bin/ is on the PATH
const prefix = join(work, "npm-global");
const env = { ...process.env, CI: "true", NO_COLOR: "1", PATH: `${join(prefix, "bin")}:${process.env["PATH"]}` };

function run(cmd: string, args: string[], cwd: string, timeout = 300_000, extraEnv: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...env, ...extraEnv }, maxBuffer: 1 << 26 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  execFileSync("git", ["clone", "--quiet", repo, clone], { stdio: "inherit" });
  const install = run("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], clone, 600_000);
  if (install.status !== 0) throw new Error(`npm ci failed in a fresh clone:\n${install.out.slice(-3000)}`);
  const global = run("npm", ["install", "-g", ".", "--no-audit", "--no-fund"], clone, 120_000, { npm_config_prefix: prefix });
  if (global.status !== 0) throw new Error(`npm install -g . failed:\n${global.out.slice(-3000)}`);
}, 780_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("a fresh clone", () => {
  test("the README's commands are the ones tested here", () => {
    const readme = readFileSync(join(clone, "README.md"), "utf8");
    expect(readme).toContain("npm install -g .");
    expect(readme).toContain("\nofl run examples/cnc-cell\n");
    expect(readme).toContain("npm test");
    // one way, used everywhere: no `npx ofl` left in the README or the tutorial
    expect(readme).not.toContain("npx ofl");
    const tutorial = readFileSync(join(clone, "docs/tutorial.md"), "utf8");
    expect(tutorial).toContain("npm install -g .");
    expect(tutorial).not.toContain("npx ofl");
  });

  test("`npm install -g .` puts `ofl` on the PATH: it runs from any folder", () => {
    const r = run("ofl", ["--version"], work);
    expect(r.out).toBe("ofl 0.1.0\n");
    expect(r.status).toBe(0);
  });

  test("README command 1: `ofl run examples/cnc-cell` runs the plant and stops cleanly", () => {
    const data = join(work, "data");
    const r = run("ofl", ["run", "examples/cnc-cell", "--port", "0", "--for", "4s", "--data", data], clone, 120_000);
    expect(r.out).toMatch(/ofl run cnc-cell: 3 assets/);
    expect(r.out).toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\//);
    expect(r.out).toMatch(/stopped: \d+ records appended, .*; the log is in/);
    expect(r.status).toBe(0);
  }, 150_000);

  test("README command 2: `npm test` (on the conformance and example suites)", () => {
    const r = run("npm", ["test", "--", "test/conformance", "test/examples"], clone, 300_000);
    expect(r.out).toMatch(/Tests\s+\d+ passed/);
    expect(r.status).toBe(0);
  }, 320_000);

  test("`ofl init` then `ofl test` in a new folder", () => {
    const project = join(work, "my-plant");
    const init = run("ofl", ["init", "my-plant"], work);
    expect(init.status).toBe(0);
    const t = run("ofl", ["test"], project);
    expect(t.out.trim().split("\n").at(-1)).toBe("2 passed, 0 failed");
    expect(t.status).toBe(0);
  }, 60_000);

  test("every example's tests pass through the CLI", () => {
    const examples = readdirSync(join(clone, "examples")).filter((d) => statSync(join(clone, "examples", d)).isDirectory());
    expect(examples.sort()).toEqual(["cnc-cell", "environment", "packaging-line"]);
    for (const ex of examples) {
      const r = run(process.execPath, [join(clone, "bin/ofl.mjs"), "test", join("examples", ex)], clone);
      expect(r.out.trim().split("\n").at(-1), ex).toMatch(/^\d+ passed, 0 failed$/);
      expect(r.status, ex).toBe(0);
    }
  }, 120_000);
});
