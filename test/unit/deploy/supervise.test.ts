// `ofl deploy --local`'s supervisor (runtime/deploy/supervise.ts) on real child processes: a worker
// that exits 1 is restarted after its backoff; one that exits 2 (a setting it cannot use) is not,
// and the supervisor says so and calls onSetting; nor is one that exits 3 (superseded: another
// worker claimed its connector's source).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { Supervisor } from "../../../runtime/deploy/supervise.js";
import { waitFor } from "../../support/wait.js";

let dir: string | undefined;
let sup: Supervisor | undefined;
afterEach(async () => {
  await sup?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("exit 1 is restarted; exits 2 and 3 are not, and are reported", async () => {
  dir = mkdtempSync(join(tmpdir(), "ofl-supervise-"));
  // `flaky` exits 1 on its first run, then stays up; `misset` always exits 2
  const runs = join(dir, "runs");
  writeFileSync(
    join(dir, "flaky.mjs"),
    `import { appendFileSync, readFileSync } from "node:fs";\nappendFileSync(${JSON.stringify(runs)}, "x");\nconsole.log("up");\nif (readFileSync(${JSON.stringify(runs)}, "utf8").length === 1) process.exit(1);\nsetInterval(() => {}, 1000);\n`,
  );
  writeFileSync(join(dir, "misset.mjs"), `console.error("error: OFL_CLOCK_MS must be a number, 0 or more (got \\"fast\\")");\nprocess.exit(2);\n`);
  writeFileSync(join(dir, "superseded.mjs"), `process.exit(3);\n`);
  const lines: string[] = [];
  const settings: string[] = [];
  sup = new Supervisor(
    [
      { name: "flaky", file: join(dir, "flaky.mjs"), env: process.env },
      { name: "misset", file: join(dir, "misset.mjs"), env: process.env },
      { name: "superseded", file: join(dir, "superseded.mjs"), env: process.env },
    ],
    (l) => void lines.push(l),
    (name) => void settings.push(name),
  );
  sup.start();
  await waitFor("flaky up a second time", () => lines.filter((l) => l === "[flaky] up").length === 2, { timeoutMs: 10_000, intervalMs: 20 });
  // flaky's restart came after misset's exit (1 s backoff): everything misset would do is done
  expect(settings).toEqual(["misset"]);
  expect(lines).toContain("[flaky] exited (1); restarting in 1 s");
  expect(lines).toContain(`[misset] error: OFL_CLOCK_MS must be a number, 0 or more (got "fast")`);
  expect(lines).toContain("[misset] exited (2): a setting it cannot use (above); not restarted");
  expect(sup.restarts.get("flaky")).toBe(1);
  expect(sup.restarts.get("misset")).toBeUndefined();
  expect(lines).toContain("[superseded] exited (3): another worker does its job (above); not restarted");
  expect(sup.restarts.get("superseded")).toBeUndefined();
});
