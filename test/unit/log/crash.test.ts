import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { bundleModules } from "../../../scripts/bundle-modules.mjs";

const tmp = fs.mkdtempSync(join(os.tmpdir(), "ofl-crash-"));
const child = join(fileURLToPath(import.meta.url), "../crash-child.mjs");
let bundle = "";
beforeAll(async () => {
  bundle = await bundleModules({ SqliteLog: "runtime/log/sqlite.ts" }, join(tmp, "sqlite-log.mjs"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the child until it has acknowledged `atLeast` more records (or `ms` passed), then SIGKILLs it. */
function runAndKill(dir: string, atLeast: number, ms: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, bundle, dir], { stdio: ["ignore", "pipe", "pipe"] });
    const acked: number[] = [];
    let buf = "";
    let err = "";
    let start = -1;
    const kill = () => p.kill("SIGKILL");
    const timer = setTimeout(kill, ms);
    p.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) acked.push(Number(l));
      if (start < 0 && acked.length > 0) start = acked[0]!;
      if (acked.length > 0 && acked[acked.length - 1]! - start >= atLeast) kill();
    });
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`child exited ${code} ${signal}: ${err}`));
      else resolve(acked);
    });
  });
}

describe("SqliteLog crash safety", () => {
  it("keeps every acknowledged record, intact and contiguous, after SIGKILL mid-append", async () => {
    const dir = join(tmp, "log");
    let lastAcked = -1;
    for (let round = 0; round < 4; round++) {
      const acked = await runAndKill(dir, 2000 + round * 3000, 10_000);
      expect(acked.length, `round ${round}: the child acknowledged nothing`).toBeGreaterThan(0);
      lastAcked = Math.max(lastAcked, acked[acked.length - 1]!);
      const log = SqliteLog.open(dir);
      const end = log.endOffset("ofa_assets");
      // everything acknowledged is there (a batch in flight may or may not be, but never in part)
      expect(end).toBeGreaterThan(lastAcked);
      let i = 0;
      for (const r of log.read({ topic: "ofa_assets" })) {
        expect(r.offset).toBe(i);
        expect(r.seq).toBe(i);
        expect(r.ts).toBe(1795161600000 + i);
        expect(r.key).toBe("M-" + (i % 7));
        const v = r.value as { VALUE: string; pad: string; attributes: { timestamp: string } };
        if (v.VALUE !== String(i) || v.pad.length !== i % 300 || v.attributes.timestamp !== new Date(1795161600000 + i).toISOString()) {
          throw new Error(`record ${i} is damaged: ${JSON.stringify(r)}`);
        }
        i++;
      }
      expect(i).toBe(end);
      expect(log.endSeq()).toBe(end);
      log.close();
    }
  }, 60_000);
});
