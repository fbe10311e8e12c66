// Plant.enqueueDurable (what connectors' ctx.emit calls): resolves once the batch holding the
// records is on disk, rejects when the append fails (a full disk; SQLite's max_page_count is the
// stand-in here, the tmpfs test is test/integration/reliability/failures.test.ts), and a failed
// append stops the plant taking input (issue 11, items 2 and 4).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { compile } from "../../../compiler/index.js";
import { SqliteLog } from "../../../runtime/log/sqlite.js";
import { AppendFailure, Plant } from "../../../runtime/run/plant.js";
import type { NewRecord } from "../../../runtime/wire/types.js";

const PROGRAM = `
model Tank {
  telemetry note: string
}
asset t1: Tank {
  uuid "TANK-1"
}
`;

function note(i: number, pad = ""): NewRecord {
  const t = 1_800_000_000_000 + i;
  return { topic: "ofa_assets", key: "TANK-1", ts: t, value: { ID: "note", VALUE: `n${i}${pad}`, TAG: "note", TYPE: "Events", attributes: { timestamp: new Date(t).toISOString() } } };
}

function plant(dir: string, onFatal?: (e: AppendFailure) => void): { plant: Plant; log: SqliteLog } {
  const { ir, diagnostics } = compile([{ path: "tank.ofl", text: PROGRAM }], { name: "tank" });
  if (!ir) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const log = SqliteLog.open(dir);
  return { plant: new Plant({ program: ir, log, connect: false, clockMs: 0, onFatal }), log };
}

function onDisk(dir: string): string[] {
  const r = SqliteLog.open(dir, { readonly: true });
  try {
    return [...r.read({ topic: "ofa_assets" })].map((x) => (x.value as { VALUE: string }).VALUE);
  } finally {
    r.close();
  }
}

test("enqueueDurable resolves only once the records are on disk (read by another connection)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ofl-durable-"));
  const { plant: p } = plant(dir);
  const done = p.enqueueDurable([note(1), note(2)]);
  expect(onDisk(dir)).toEqual([]); // queued, not yet appended: nothing may be acknowledged
  await done;
  expect(onDisk(dir)).toEqual(["n1", "n2"]);
  await p.stop();
});

test("a full log: enqueueDurable rejects with the reason, onFatal is told once, the log keeps whole batches, no more input", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ofl-durable-"));
  const fatal: AppendFailure[] = [];
  const { plant: p, log } = plant(dir, (e) => fatal.push(e));
  await p.enqueueDurable([note(0)]);
  (log as unknown as { db: { pragma(s: string): unknown } }).db.pragma("max_page_count = 40"); // ~160 KiB: the stand-in for a full disk
  let accepted = 1;
  let failure: unknown;
  for (let i = 1; i < 200 && failure === undefined; i++) {
    try {
      await p.enqueueDurable([note(i, "x".repeat(3000))]);
      accepted++;
    } catch (e) {
      failure = e;
    }
  }
  expect(failure).toBeInstanceOf(AppendFailure);
  expect((failure as AppendFailure).message).toMatch(/^appending 1 record to the log failed: the disk is full \(SQLITE_FULL: /);
  expect(fatal).toHaveLength(1);
  expect(p.failed).toBe(fatal[0]);
  // nothing more is taken
  await expect(p.enqueueDurable([note(999)])).rejects.toBe(fatal[0]);
  await p.stop();
  const stored = onDisk(dir);
  expect(stored.length).toBe(accepted); // exactly what was confirmed durable
  expect(stored[stored.length - 1]).toMatch(new RegExp(`^n${accepted - 1}x`));
});
