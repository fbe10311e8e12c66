// A new user's first hour with the `ofl` command (issue 17), run as the real command in a child
// process: `ofl init` never overwrites a user's file, a closed pipe ends quietly, `ofl state`
// and `ofl record` find the project's log by themselves, suggestions for typos, plain messages.
import { spawnSync } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { ASSETS_TOPIC, telemetryValue } from "../../../runtime/wire/records.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../..");
const bin = join(root, "bin/ofl.mjs");

function ofl(args: string[], cwd: string, input?: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", input, env: { ...process.env, NO_COLOR: "1", CI: "true" }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
/** A shell pipeline (for `| head -1`). */
function sh(script: string, cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync("sh", ["-c", script], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", OFL: bin }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tmp = (): string => mkdtempSync(join(tmpdir(), "ofl-first-"));

describe("ofl init", () => {
  test("a new folder: every file created and listed, .gitignore included", () => {
    const d = tmp();
    const r = ofl(["init", "plant"], d);
    expect(r.code).toBe(0);
    expect(r.out.split("\n")[0]).toBe("created plant/ with ofl.json, plant.ofl, plant.test.ofl, sessions/first-shift.jsonl, README.md, .gitignore (project name `plant`)");
    expect(readFileSync(join(d, "plant/.gitignore"), "utf8")).toBe(".ofl/\n");
  });
  test("a user's README.md and .gitignore are kept; .gitignore gets `.ofl/` added once", () => {
    const d = tmp();
    writeFileSync(join(d, "README.md"), "# my notes\n");
    writeFileSync(join(d, ".gitignore"), "node_modules");
    const r = ofl(["init"], d);
    expect(r.code).toBe(0);
    expect(r.out).toContain("created ofl.json, plant.ofl, plant.test.ofl, sessions/first-shift.jsonl (project name");
    expect(r.out).toContain("kept your README.md (already there, not overwritten)");
    expect(r.out).toContain("added `.ofl/` (the local log) to your .gitignore");
    expect(readFileSync(join(d, "README.md"), "utf8")).toBe("# my notes\n");
    expect(readFileSync(join(d, ".gitignore"), "utf8")).toBe("node_modules\n.ofl/\n");
    // and a .gitignore that already has the line is left exactly as it was
    const e = tmp();
    writeFileSync(join(e, ".gitignore"), "/.ofl/\n*.log\n");
    const r2 = ofl(["init"], e);
    expect(r2.out).toContain("kept your .gitignore");
    expect(readFileSync(join(e, ".gitignore"), "utf8")).toBe("/.ofl/\n*.log\n");
  });
});

describe("the project's log by default, a closed pipe, --at relative to the log", () => {
  let project = "";
  // a log as `ofl run` leaves it: in .ofl/data of the project, 30,000 readings of machine1
  // one second apart from 08:00:00 (enough to fill any pipe buffer)
  const t0 = Date.parse("2026-01-05T08:00:00Z");
  const n = 30_000;
  beforeAll(() => {
    project = join(tmp(), "plant");
    expect(ofl(["init", project], root).code).toBe(0);
    const log = SqliteLog.open(join(project, ".ofl/data"), { program: "plant" });
    const recs = [];
    for (let i = 0; i < n; i++) {
      const t = t0 + i * 1000;
      recs.push({ topic: ASSETS_TOPIC, key: "MACHINE-1", ts: t, value: telemetryValue("temperature", String(80 + (i % 7) / 3), "degC", "Samples", t) });
    }
    log.append(recs);
    log.close();
  });

  test("`ofl record | head -1` ends quietly: exit 0, no internal error", () => {
    // POSIX sh has no PIPESTATUS: the status of ofl is written to a file by the pipeline itself
    const s = sh(`{ node "$OFL" record; echo $? > status; } | head -1`, project);
    expect(s.out.split("\n")).toHaveLength(2);
    expect(s.out.split("\n")[0]).toMatch(/^\{"ofl_session":1,"program":"plant"/);
    expect(s.err).not.toMatch(/internal error|EPIPE/);
    expect(readFileSync(join(project, "status"), "utf8").trim()).toBe("0");
  });

  test("a progress line on a terminal only: `ofl record` under a pty counts, in a pipe or CI it says only the total", () => {
    // util-linux `script` gives the command a terminal; stdout goes to a file
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", OFL: bin };
    delete env["CI"];
    const tty = spawnSync("script", ["-qc", `node "$OFL" record --out shift.jsonl`, "/dev/null"], { cwd: project, encoding: "utf8", env, timeout: 60_000 });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/\r\x1b\[2Kofl record: \d{2},000 records written/);
    expect(tty.stdout).toContain(`ofl record: 30000 records written to shift.jsonl`);
    const ci = spawnSync("script", ["-qc", `node "$OFL" record --out shift.jsonl`, "/dev/null"], { cwd: project, encoding: "utf8", env: { ...env, CI: "true" }, timeout: 60_000 });
    expect(ci.stdout.replace(/\r/g, "")).toBe("ofl record: 30000 records written to shift.jsonl\n");
    const piped = ofl(["record", "--out", "shift.jsonl"], project);
    expect(piped.err).toBe("ofl record: 30000 records written to shift.jsonl\n");
  });

  test("`ofl test --replay` and `ofl import` of a large file show progress on a terminal, nothing in CI", () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", OFL: bin };
    delete env["CI"];
    expect(ofl(["record", "--out", "big.jsonl"], project).code).toBe(0);
    const replay = spawnSync("script", ["-qc", `node "$OFL" test --replay big.jsonl`, "/dev/null"], { cwd: project, encoding: "utf8", env, timeout: 120_000 });
    expect(replay.stdout).toMatch(/\r\x1b\[2Kreplay big\.jsonl: 16,384 records/);
    expect(replay.stdout).toContain("replay big.jsonl: 30000 records");
    const imp = spawnSync("script", ["-qc", `node "$OFL" import --data imported big.jsonl`, "/dev/null"], { cwd: project, encoding: "utf8", env, timeout: 120_000 });
    expect(imp.status).toBe(0);
    expect(imp.stdout).toMatch(/\r\x1b\[2Kofl import: big\.jsonl: \d{1,2},\d{3} input records/);
    const ci = spawnSync("script", ["-qc", `node "$OFL" test --replay big.jsonl`, "/dev/null"], { cwd: project, encoding: "utf8", env: { ...env, CI: "true" }, timeout: 120_000 });
    expect(ci.stdout).not.toContain("\x1b[2K");
    expect(ci.stdout).toContain("replay big.jsonl: 30000 records");
  }, 120_000);

  test("`ofl build` on a terminal says what it is doing while it bundles", () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", OFL: bin };
    delete env["CI"];
    const tty = spawnSync("script", ["-qc", `node "$OFL" build --out build`, "/dev/null"], { cwd: project, encoding: "utf8", env, timeout: 120_000 });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toContain("\r\x1b[2Kofl build: bundling 2 workers with esbuild");
    expect(tty.stdout).toMatch(/\r\x1b\[2Kofl build plant: \d+ ksqlDB statements/);
  }, 120_000);

  test("`ofl record` without --data writes the project's log", () => {
    const r = ofl(["record", "--since", "2026-01-05T08:00:00Z", "--until", "2026-01-05T08:00:09Z"], project);
    expect(r.code).toBe(0);
    expect(r.err).toBe("ofl record: 10 records\n");
    expect(r.out.trim().split("\n")).toHaveLength(11);
  });

  test("`ofl state` without --data; --at +D after the start, D before the end; readable numbers", () => {
    const a = ofl(["state", "--at", "+10s", "--json"], project);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out).at).toBe("2026-01-05T08:00:10.000Z");
    // reading 10 is 80 + 3/3 = 81; reading 11 (80 + 4/3) prints as 81.3333
    expect(JSON.parse(a.out).assets.machine1.telemetry.temperature).toBe(81);
    const end = t0 + (n - 1) * 1000;
    const b = ofl(["state", "--at", "5m", "--json"], project);
    expect(JSON.parse(b.out).at).toBe(new Date(end - 300_000).toISOString());
    const c = ofl(["state", "--at", "+11s"], project);
    expect(c.out).toMatch(/temperature\s+81\.3333 degC\n/);
    expect(c.out).not.toMatch(/\d\.\d{5,}/);
  });

  test("a time before the log's start is said, exit 1", () => {
    const r = ofl(["state", "--at", "2026-01-05T07:59:59Z"], project);
    expect(r.code).toBe(1);
    expect(r.err).toBe("ofl state: 2026-01-05T07:59:59.000Z is before the log's first record (2026-01-05T08:00:00.000Z); nothing was known then\n");
    expect(r.out).toBe("");
  });
});

describe("suggestions and plain messages", () => {
  test("a misspelled command", () => {
    const r = ofl(["chek"], root);
    expect(r.code).toBe(2);
    expect(r.err).toBe("ofl: unknown command `chek`; did you mean `check`? Run `ofl --help` for the list of commands.\n");
  });
  test("an unknown flag: a clean line with the closest option, not Node's parseArgs text", () => {
    const r = ofl(["record", "--sine", "1h"], root);
    expect(r.code).toBe(2);
    expect(r.err).toBe("ofl record: unknown option --sine; did you mean --since?\nRun `ofl record --help` for usage.\n");
    const f = ofl(["fmt", "--chek"], root);
    expect(f.err).toContain("ofl fmt: unknown option --chek; did you mean --check?");
    const v = ofl(["state", "--at"], root);
    expect(v.err).toContain("ofl state: option --at needs a value");
    expect(`${r.err}${f.err}${v.err}`).not.toMatch(/To specify a positional argument|ERR_PARSE_ARGS/);
  });
  test("a misspelled keyword is one error with a suggestion, not a cascade", () => {
    const d = tmp();
    writeFileSync(join(d, "a.ofl"), "model M {\n  telemtry t: float<degC>\n  state hot = t > 90 degC\n}\n");
    writeFileSync(join(d, "b.ofl"), 'modle N {\n  telemetry u: int\n}\nasset n1: N { uuid "N-1" }\n');
    const r = ofl(["check", "a.ofl", "b.ofl"], d);
    expect(r.code).toBe(1);
    const errors = r.out.split("\n").filter((l) => l.startsWith("error"));
    expect(errors).toEqual([
      "error[OFL1013]: unknown keyword `telemtry`; did you mean `telemetry`?",
      "error[OFL1013]: unknown keyword `modle`; did you mean `model`?",
    ]);
  });
  test("`ofl send 'mill1 stop'`: one error about what was typed, never a `}` the user did not write", () => {
    const d = tmp();
    expect(ofl(["init", "p"], d).code).toBe(0);
    const a = ofl(["send", "machine1 stop"], join(d, "p"));
    expect(a.code).toBe(1);
    expect(a.err.split("\n").filter((l) => l.startsWith("error"))).toEqual(["error[OFL1001]: expected a command call such as `stop()`, found `machine1`"]);
    expect(a.err).toContain("a command is written ASSET.COMMAND(ARGS): ofl send 'machine1.stop()'");
    const b = ofl(["send", "machine1.stop("], join(d, "p"));
    expect(b.err.split("\n").filter((l) => l.startsWith("error"))).toEqual(["error[OFL1001]: expected `)`, found the end of the command"]);
    expect(`${a.err}${b.err}`).not.toContain("`}`");
  });
  test("`ofl run` on a program with errors shows them once, without sending the user to `ofl check`", () => {
    const d = tmp();
    writeFileSync(join(d, "bad.ofl"), "model M { telemetry t: float<degC>  state s = t > 10 rpm }\n");
    const r = ofl(["run", "bad.ofl", "--port", "0"], d);
    expect(r.code).toBe(1);
    expect(r.out).toContain("error[OFL3002]");
    expect(r.err).toBe("ofl: 1 error in the program; nothing was done\n");
  });
  test("`ofl lsp` without --stdio explains itself instead of waiting silently", () => {
    const r = ofl(["lsp"], root, "");
    expect(r.code).toBe(2);
    expect(r.err).toContain("the language server is for editors, which start it as `ofl lsp --stdio`");
  });
  test("plurals: one simulated signal", () => {
    const d = tmp();
    mkdirSync(join(d, "one"));
    writeFileSync(
      join(d, "one/one.ofl"),
      `model M { telemetry t: float<degC> }\nasset m1: M { uuid "M-1" source simulate(seed: 1) { t <- random_walk(20, 1, 0, 40, every: 1s) } }\n`,
    );
    const r = ofl(["run", "one", "--port", "0", "--for", "1s", "--data", join(d, "data")], d);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("m1 (simulate): simulated, seed 1, 1 signal\n");
    expect(existsSync(join(d, "data"))).toBe(true);
  });
  test("`ofl deploy` and `ofl record --kafka` where no broker listens: exit 1, said so, and how to name another", async () => {
    // a port nothing listens on: one just freed
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => res(p));
      });
    });
    const d = tmp();
    expect(ofl(["init", "p"], d).code).toBe(0);
    expect(ofl(["build"], join(d, "p")).code).toBe(0);
    const hint = "(no broker answered: is Kafka running there? --kafka HOST:PORT names another)";
    const dep = ofl(["deploy", "--plan", "--kafka", `127.0.0.1:${port}`], join(d, "p"));
    expect(dep.code).toBe(1);
    expect(dep.err).toContain(`ofl deploy: Kafka at 127.0.0.1:${port}: `);
    expect(dep.err).toContain(hint);
    const t0 = Date.now();
    const rec = ofl(["record", "--kafka", `127.0.0.1:${port}`], join(d, "p"));
    // said in about 5 s (4 retries from 300 ms); kafkajs's default retries took 31 s
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(rec.code).toBe(1);
    expect(rec.err).toContain(`ofl record: cannot read ofa_assets from 127.0.0.1:${port}: `);
    expect(rec.err).toContain(hint);
  }, 60_000);
});
