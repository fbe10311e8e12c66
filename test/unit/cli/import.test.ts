// `ofl import` (issue 12, item 5), end to end through the CLI: a session file (OFL and kcat
// form) becomes the input of an embedded log; the outputs are recomputed by the program (the
// same log as ingesting the inputs through the embedded runtime); `ofl state --data` on the
// imported log equals `ofl state --session` on the file.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { main } from "../../../runtime/cli/main.js";
import { compile } from "../../../compiler/index.js";
import { EmbeddedRuntime } from "../../../runtime/embedded/runtime.js";
import { MemoryLog } from "../../../runtime/log/memory.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { openSession } from "../../../runtime/replay/session.js";
import { classify, isInput } from "../../../runtime/wire/records.js";
import type { LogRecord } from "../../../runtime/wire/types.js";
import { readFileSync } from "node:fs";

const root = resolve(new URL(".", import.meta.url).pathname, "../../..");
const program = "test/conformance/pass/06_replay.ofl";
const session = "test/conformance/sessions/mill-shift.jsonl";
const kcat = "test/conformance/sessions/mill-shift.kcat.jsonl";

async function ofl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s), cwd: root, color: false });
  return { code, out, err };
}

const strip = (r: LogRecord) => ({ topic: r.topic, offset: r.offset, ts: r.ts, key: r.key, value: r.value });
const logOf = (dir: string) => {
  const log = SqliteLog.open(dir, { readonly: true });
  const recs = [...log.read()].map(strip);
  log.close();
  return recs;
};

describe("ofl import", () => {
  test("the session's inputs, with the outputs the program computes for them", async () => {
    const data = join(mkdtempSync(join(tmpdir(), "ofl-import-")), "data");
    const r = await ofl(["import", program, "--data", data, session]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const inputs = [...openSession(join(root, session)).records()].map((x) => x.record).filter((rec) => {
      // inputs, unreadable records and device answers are kept (the command's help); outputs are not
      const ev = classify(rec);
      return isInput(ev) || ev.kind === "bad" || (ev.kind === "command_result" && ev.result.status !== "rejected");
    });
    expect(r.out).toMatch(new RegExp(`^imported ${inputs.length} input records of \\d+ read from 1 file into .* \\(outputs recomputed by 06_replay\\)`));
    // expected: the inputs ingested through the embedded runtime of the same program
    const c = compile([{ path: join(root, program), text: readFileSync(join(root, program), "utf8") }], { name: "06_replay" });
    const mem = new MemoryLog();
    new EmbeddedRuntime({ program: c.ir!, log: mem }).ingest(inputs.map((x) => ({ topic: x.topic, key: x.key, ts: x.ts, value: x.value })));
    const expected = [...mem.read()].map(strip);
    expect(expected.length).toBeGreaterThan(inputs.length); // the program writes outputs for them
    expect(logOf(data)).toEqual(expected);
    // time travel on the imported log equals time travel on the file
    for (const at of ["2026-11-20T08:00:14.999Z", "2026-11-20T08:00:45Z", "2026-11-20T09:00:00Z"]) {
      const a = await ofl(["state", program, "--data", data, "--at", at, "--json"]);
      const b = await ofl(["state", program, "--session", session, "--at", at, "--json"]);
      expect(a.code).toBe(0);
      expect(JSON.parse(a.out)).toEqual(JSON.parse(b.out));
    }
  });

  test("the kcat form gives the same log as the OFL form", async () => {
    const a = join(mkdtempSync(join(tmpdir(), "ofl-import-")), "data");
    const b = join(mkdtempSync(join(tmpdir(), "ofl-import-")), "data");
    expect((await ofl(["import", program, "--data", a, session])).code).toBe(0);
    expect((await ofl(["import", program, "--data", b, kcat])).code).toBe(0);
    expect(logOf(b)).toEqual(logOf(a));
  });

  test("bad usage and unreadable files are clear errors", async () => {
    const data = join(mkdtempSync(join(tmpdir(), "ofl-import-")), "data");
    const none = await ofl(["import", program, "--data", data]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/session FILE/);
    const missing = await ofl(["import", program, "--data", data, "nope.jsonl"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.jsonl/);
    expect(missing.err).not.toMatch(/\n\s+at /); // no stack trace
  });
});
