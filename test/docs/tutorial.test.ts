// The tutorial's outputs are what `ofl` prints (issue 17 item 9): its steps 1 to 5 and 11 are run
// here with the real command in a child process, in a new folder, and each output block shown
// after a command must equal what the command printed. Durations of test runs ("4.6 ms") and the
// sizes of bundles ("316 KB") are the only parts that differ between runs or builds and are left
// out of the comparison. Steps 6 to 10 show a live run (times, counts and ids of that run) and
// step 12 a broker's answers: they are not compared.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";

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
