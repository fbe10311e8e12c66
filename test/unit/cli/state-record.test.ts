// `ofl state` (time travel from a session or the embedded log) and `ofl record` (a session
// file from the embedded log), end to end through the CLI.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { main } from "../../../runtime/cli/main.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { openSession } from "../../../runtime/replay/session.js";

const root = resolve(new URL(".", import.meta.url).pathname, "../../..");
const program = "test/conformance/pass/06_replay.ofl";
const session = "test/conformance/sessions/mill-shift.jsonl";
let data = "";

async function ofl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s), cwd: root, color: false });
  return { code, out, err };
}

beforeAll(() => {
  data = join(mkdtempSync(join(tmpdir(), "ofl-state-")), "data");
  const log = SqliteLog.open(data, { program: "mill-line" });
  log.append([...openSession(join(root, session)).records()].map(({ record: r }) => ({ topic: r.topic, key: r.key, value: r.value, ts: r.ts })));
  log.close();
});

describe("ofl state", () => {
  test("from the embedded log: telemetry, states at T", async () => {
    const r = await ofl(["state", program, "--data", data, "--at", "2026-11-20T08:00:16Z"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("06_replay at 2026-11-20T08:00:16.000Z");
    expect(r.out).toMatch(/temperature\s+92\.5 degC/);
    expect(r.out).toMatch(/overheating\s+true/);
  });
  test("a time before the end (--at 10s) from an imported log with checkpoints equals the session's", async () => {
    // ofl import writes a checkpoint at its end: the log's last event time then comes from its
    // horizon and the records after it, not from a scan of the history
    const imported = join(mkdtempSync(join(tmpdir(), "ofl-state-imported-")), "data");
    const im = await ofl(["import", program, "--data", imported, session]);
    expect(im.code, im.err).toBe(0);
    expect(readdirSync(join(imported, "checkpoints")).length).toBeGreaterThan(0);
    for (const at of ["10s", "30s", "+5s"]) {
      const a = await ofl(["state", program, "--data", imported, "--at", at, "--json"]);
      const b = await ofl(["state", program, "--session", session, "--at", at, "--json"]);
      expect(a.code, a.err).toBe(0);
      expect(JSON.parse(a.out)).toEqual(JSON.parse(b.out));
    }
  });
  test("--at 0s counts from the last input, not from a record stamped years ahead (dead-lettered future_time)", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "ofl-state-future-")), "data");
    const log = SqliteLog.open(dir, { program: "mill-line" });
    const recs = [...openSession(join(root, session)).records()].map(({ record: r }) => ({ topic: r.topic, key: r.key, value: r.value, ts: r.ts }));
    const lastTs = recs.at(-1)!.ts;
    // received after the session's last record, stamped three years ahead
    const far = new Date(lastTs + 3 * 365 * 86_400_000).toISOString();
    log.append([...recs, { topic: "ofa_assets", key: "M-1", ts: lastTs + 1000, value: { ID: "temperature", VALUE: "21", TAG: "degC", TYPE: "Samples", attributes: { timestamp: far } } }]);
    log.close();
    const r = await ofl(["state", program, "--data", dir, "--at", "0s"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("06_replay at 2026-11-20T08:00:40.000Z");
  });
  test("equals the session's state at the same time (--json), before and after a change", async () => {
    for (const at of ["2026-11-20T08:00:14.999Z", "2026-11-20T08:00:15Z", "2026-11-20T08:00:45Z", "2026-11-20T08:00:59Z"]) {
      const a = await ofl(["state", program, "--data", data, "--at", at, "--json"]);
      const b = await ofl(["state", program, "--session", session, "--at", at, "--json"]);
      expect(a.code).toBe(0);
      expect(JSON.parse(a.out)).toEqual(JSON.parse(b.out));
    }
    const j = JSON.parse((await ofl(["state", program, "--session", session, "--at", "2026-11-20T08:00:14.999Z", "--json"])).out);
    expect(j.assets.m1.states.overheating).toBe(false);
    const k = JSON.parse((await ofl(["state", program, "--session", session, "--at", "2026-11-20T08:00:59Z", "--json"])).out);
    expect(k.assets.m1.telemetry.temperature).toBeNull();
    expect(k.assets.m1.states.avg1m).toBe(82.5);
  });
  test("without --at: the state at the log's last input record, as --at 0s and as that record's own time", async () => {
    const r = await ofl(["state", program, "--data", data, "--json"]);
    expect(r.code, r.err).toBe(0);
    // the session's last input record: the latest event time of the log
    const times = [...openSession(join(root, session)).records()].map(({ record: x }) => (x.value as { attributes?: { timestamp?: string } } | null)?.attributes?.timestamp);
    const last = Math.max(...times.filter((t) => t !== undefined).map((t) => Date.parse(t)));
    expect(JSON.parse(r.out).at).toBe(new Date(last).toISOString());
    expect(JSON.parse(r.out)).toEqual(JSON.parse((await ofl(["state", program, "--data", data, "--at", "0s", "--json"])).out));
    expect(JSON.parse(r.out)).toEqual(JSON.parse((await ofl(["state", program, "--session", session, "--at", new Date(last).toISOString(), "--json"])).out));
  });
  test("bad usage", async () => {
    expect((await ofl(["state", program, "--at", "yesterday", "--data", data])).err).toMatch(/neither an ISO-8601 time .* nor a duration/);
    expect((await ofl(["state", program, "--at", "2026-11-20T08:00:16Z", "--data", data, "--session", session])).err).toMatch(/one of --session FILE or --data DIR, not both/);
    const missing = await ofl(["state", program, "--data", join(data, "nope"), "--at", "2026-11-20T08:00:16Z"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot open the log/);
  });
});

describe("ofl record", () => {
  test("writes an OFL session of the time range that replays to the same decisions", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "ofl-rec-")), "shift.jsonl");
    const r = await ofl(["record", "--data", data, "--since", "2026-11-20T08:00:00Z", "--until", "2026-11-20T08:01:00Z", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/12 records written/);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(JSON.parse(lines[0]!)).toMatchObject({ ofl_session: 1, program: "mill-line" });
    expect(lines).toHaveLength(13);
    const replay = await ofl(["test", program, "--replay", out]);
    expect(replay.code).toBe(0);
    expect(replay.out).toMatch(/commands\s+1\s+1\s+1\s+✓/);
  });
  test("--since and --until select by event time", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "ofl-rec-")), "part.jsonl");
    await ofl(["record", "--data", data, "--since", "2026-11-20T08:00:10Z", "--until", "2026-11-20T08:00:13Z", "--out", out]);
    const recs = readFileSync(out, "utf8").trim().split("\n").slice(1).map((l) => JSON.parse(l));
    expect(recs.map((x) => x.offset)).toEqual([1, 2, 3, 4]);
  });
  test("--topic ofl_deadletter writes the embedded log's dead letters, with their reasons; another topic is bad usage", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ofl-rec-dead-"));
    const lines = readFileSync(join(root, session), "utf8").trim().split("\n");
    const first = JSON.parse(lines[1]!) as { key: string; value: Record<string, unknown> };
    // a data item the model does not declare: the engine dead-letters it (unknown_signal)
    const bad = { ...first, offset: 9999, value: { ...first.value, ID: "humidity", VALUE: "40" } };
    writeFileSync(join(dir, "with-bad.jsonl"), [...lines, JSON.stringify(bad)].join("\n") + "\n");
    const imported = join(dir, "data");
    const im = await ofl(["import", program, "--data", imported, join(dir, "with-bad.jsonl")]);
    expect(im.code, im.err).toBe(0);
    const reasons = async (data: string): Promise<string[][]> => {
      const out = join(dir, "dead.jsonl");
      const r = await ofl(["record", "--data", data, "--topic", "ofl_deadletter", "--out", out]);
      expect(r.code, r.err).toBe(0);
      return readFileSync(out, "utf8").trim().split("\n").slice(1).map((l) => JSON.parse(l) as { topic: string; value: { reason: string } }).map((x) => [x.topic, x.value.reason]);
    };
    // the conformance session has its own bad records (one of each reason); ours comes after them
    const plain = join(dir, "plain");
    expect((await ofl(["import", program, "--data", plain, session])).code).toBe(0);
    const before = await reasons(plain);
    expect(before.length).toBeGreaterThan(0);
    expect(await reasons(imported)).toEqual([...before, ["ofl_deadletter", "unknown_signal"]]);
    const wrong = await ofl(["record", "--data", imported, "--topic", "ofa_cmds"]);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain("--topic: the embedded log holds ofa_assets and ofl_deadletter, not ofa_cmds");
  });
  test("without --data, the project's .ofl/data; none there is bad usage, said plainly", async () => {
    const empty = mkdtempSync(join(tmpdir(), "ofl-rec-"));
    const r = await ofl(["record", empty]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("no log in");
    expect(r.err).toContain("run the plant with `ofl run` first");
  });
});
