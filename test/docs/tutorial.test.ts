// The tutorial's outputs are what `ofl` prints (issue 17 item 9): its steps are run here with the
// real command in a child process, in a new folder, in order. Steps 1 to 5 and 11: each output
// block shown after a command must equal what the command printed (durations of test runs,
// "4.6 ms", and sizes of bundles, "316 KB", left out). Steps 6 to 10 run a live plant: compared
// with numbers, times and ids masked. Step 12 shows a Kafka broker's and ksqlDB's answers: not
// compared here (test/integration/kafka/e2e.test.ts runs `ofl deploy` on a real broker).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { waitFor } from "../support/wait.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../..");
const md = readFileSync(join(root, "docs/tutorial.md"), "utf8");
const bin = join(root, "bin/ofl.mjs");
let work = "";
let plant = "";

function ofl(args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The ```text block that follows the ```sh block holding exactly `command` (the n-th such). */
function outputAfter(command: string, nth = 0): string {
  const re = /```sh\n([\s\S]*?)```\s*\n+```text\n([\s\S]*?)```/g;
  const found = [...md.matchAll(re)].filter((m) => m[1]!.trim() === command);
  expect(found.length, `a \`${command}\` block followed by its output in docs/tutorial.md`).toBeGreaterThan(nth);
  return found[nth]![2]!;
}
/** The ```text block that follows a paragraph containing `marker`. */
function outputAfterText(marker: string): string {
  const at = md.indexOf(marker);
  expect(at, marker).toBeGreaterThan(0);
  const m = /```text\n([\s\S]*?)```/.exec(md.slice(at))!;
  return m[1]!;
}
const timing = (s: string): string => s.replace(/, \d+(\.\d+)? ms\)/g, ")");
const sizes = (s: string): string => s.replace(/\d+ KB/g, "N KB");

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "ofl-tutorial-"));
  plant = join(work, "plant");
});

describe("docs/tutorial.md, steps 1 to 4, with the real `ofl`", () => {
  test("1. ofl init plant", () => {
    const r = ofl(["init", "plant"], work);
    expect(r.code).toBe(0);
    expect(r.out).toBe(outputAfter("ofl init plant && cd plant"));
  });
  test("3. ofl test", () => {
    const r = ofl(["test"], plant);
    expect(r.code).toBe(0);
    expect(timing(r.out)).toBe(timing(outputAfter("ofl test")));
  });
  test("4. the whole plant.ofl afterwards: ofl check && ofl test", () => {
    const at = md.indexOf("Here is the whole `plant.ofl` afterwards");
    const block = /```ofl\n([\s\S]*?)```/.exec(md.slice(at))![1]!;
    writeFileSync(join(plant, "plant.ofl"), block);
    const check = ofl(["check"], plant);
    const t = ofl(["test"], plant);
    expect(check.code).toBe(0);
    expect(t.code).toBe(0);
    expect(timing(check.out + t.out)).toBe(timing(outputAfter("ofl check && ofl test")));
  });
  test("4. with `> 5s` instead of `> 30s`, the failures shown", () => {
    const text = readFileSync(join(plant, "plant.ofl"), "utf8");
    expect(text).toContain("age(temperature) > 30s");
    writeFileSync(join(plant, "plant.ofl"), text.replace("age(temperature) > 30s", "age(temperature) > 5s"));
    const t = ofl(["test"], plant);
    expect(t.code).toBe(1);
    expect(timing(t.out)).toBe(timing(outputAfterText("The old tests guard you too.")));
    writeFileSync(join(plant, "plant.ofl"), text);
  });
});

describe("docs/tutorial.md, steps 2, 5 and 11, with the real `ofl`", () => {
  test("2. ofl check, then the threshold in the wrong unit", () => {
    const text = readFileSync(join(plant, "plant.ofl"), "utf8");
    const good = ofl(["check"], plant);
    expect(good.code).toBe(0);
    expect(good.out).toBe(outputAfter("ofl check", 0));
    const line = "  state overheating = temperature > 90 degC for 10s";
    expect(text).toContain(line);
    writeFileSync(join(plant, "plant.ofl"), text.replace(line, "  state overheating = temperature > 90 rpm for 10s"));
    const bad = ofl(["check"], plant);
    expect(bad.code).toBe(1);
    expect(bad.out).toBe(outputAfter("ofl check", 1));
    writeFileSync(join(plant, "plant.ofl"), text);
  });
  test("5. ofl fmt --check, then ofl fmt, of the rule typed in a hurry", () => {
    const text = readFileSync(join(plant, "plant.ofl"), "utf8");
    const formatted = "rule stop_blind on Machine {\n  when silent and execution == ACTIVE\n  then stop()\n}";
    expect(text).toContain(formatted);
    const hurried = /## 5\. Format it[\s\S]*?```text\n([\s\S]*?)\n```/.exec(md)![1]!;
    writeFileSync(join(plant, "plant.ofl"), text.replace(formatted, hurried));
    const at = md.indexOf("## 5. Format it");
    const [checkOut, fmtOut] = [...md.slice(at).matchAll(/```text\n([\s\S]*?)```/g)].slice(1, 3).map((m) => m[1]!);
    const check = ofl(["fmt", "--check"], plant);
    expect(check.code).toBe(1);
    expect(check.out).toBe(checkOut);
    const fmt = ofl(["fmt"], plant);
    expect(fmt.code).toBe(0);
    expect(fmt.out).toBe(fmtOut);
    // "the file is back to the layout shown in step 4"
    expect(readFileSync(join(plant, "plant.ofl"), "utf8")).toBe(text);
  });
  test("11. ofl build --explain", () => {
    const r = ofl(["build", "--explain"], plant);
    expect(r.code).toBe(0);
    expect(sizes(r.out)).toBe(sizes(outputAfter("ofl build --explain")));
  });
});

// Steps 6 to 10 run a live plant: times, counts, ids and measured values differ from run to run,
// so each output is compared with numbers, times and ids masked (and runs of spaces as one):
// what the tutorial shows must be what `ofl` prints, line by line, in that shape.
const mask = (s: string): string =>
  s
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "UUID")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "TIME")
    .replace(/\d+(\.\d+)?/g, "N")
    .replace(/ +/g, " ")
    .trimEnd();
const lines = (s: string): string[] => s.trimEnd().split("\n").map(mask);

describe("docs/tutorial.md, steps 6 to 10, a live plant (numbers, times and ids masked)", () => {
  let run: { code: number | null; out: string } | undefined;
  let sent = "";
  test("6 and 7. ofl run, and ofl send from another terminal while it runs", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [bin, "run", "--for", "21s", "--port", "0"], { cwd: plant, env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    // the operator's command after the third status line (15 s: the machine is ACTIVE from 10 s, as in the tutorial's run)
    await waitFor("the third status line of ofl run", () => (out.match(/^\[\d\d:\d\d:\d\d\]/gm) ?? []).length >= 3, { timeoutMs: 40_000, intervalMs: 100, detail: () => out });
    const send = spawnSync(process.execPath, [bin, "send", "machine1.stop()"], { cwd: plant, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 });
    sent = `${send.stdout}${send.stderr}`;
    expect(send.status, sent).toBe(0);
    run = { code: await exited, out };
    expect(run.code, out).toBe(0);

    const doc = lines(outputAfter("ofl run --for 60s       # or plain `ofl run`, and Ctrl-C to stop"));
    const got = lines(out).map((l) => l.replace(/http:\/\/N\.N\.N\.N:N\//, "http://N.N.N.N:N/"));
    // the header lines, exactly (the port is masked like every number)
    expect(got.slice(0, 4)).toEqual(doc.slice(0, 4));
    // every status line has the shape of one the tutorial shows, and the last line is the summary
    const shapes = new Set(doc.filter((l) => l.startsWith("[N:N:N]")));
    const status = got.filter((l) => l.startsWith("[N:N:N]"));
    expect(status.length).toBeGreaterThan(0);
    for (const l of status) expect(shapes, l).toContain(l);
    expect(status.some((l) => l.includes("last: machineN.stop() accepted")), got.join("\n")).toBe(true);
    expect(got.at(-1)).toBe(doc.at(-1));
    // 7: the answer to the operator's command
    expect(lines(sent)).toEqual(lines(outputAfter("ofl send 'machine1.stop()'")));
  }, 60_000);

  test("8. ofl state --at a time of the run", () => {
    expect(run?.code).toBe(0);
    // a moment before the operator's stop, the machine ACTIVE (the tutorial's first answer)
    const r = ofl(["state", "--at", "+12s"], plant);
    expect(r.code, r.out).toBe(0);
    const doc = outputAfter("ofl state --at 2026-11-27T07:57:15Z\nofl state --at 2026-11-27T07:57:30Z");
    expect(lines(r.out)).toEqual(lines(doc));
  });

  test("9 and 10. ofl record, then ofl test --replay of the session", () => {
    expect(run?.code).toBe(0);
    mkdirSync(join(plant, "sessions"), { recursive: true });
    const rec = spawnSync(process.execPath, [bin, "record", "--since", "10m"], { cwd: plant, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
    expect(rec.status, rec.stderr).toBe(0);
    writeFileSync(join(plant, "sessions", "today.jsonl"), rec.stdout);
    expect(lines(rec.stderr)).toEqual(lines(outputAfter("ofl record --since 10m > sessions/today.jsonl")));
    const replay = ofl(["test", "--replay", "sessions/today.jsonl"], plant);
    expect(replay.code, replay.out).toBe(0);
    // the first replay, of the unchanged program (the second one's outcome depends on the run's temperatures)
    expect(lines(replay.out)).toEqual(lines(outputAfter("ofl test --replay sessions/today.jsonl")));
  });
});
