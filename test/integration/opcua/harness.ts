// A fake ConnectorContext that collects what the connector emits and logs, a compiled program
// with an OPC UA asset, and waitFor (the shared test/support/wait.ts, with the contexts' records
// on a timeout).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor as waitUntil } from "../../support/wait.js";
import { compile } from "../../../compiler/index.js";
import type { IrProgram } from "../../../compiler/ir/types.js";
import type { ConnectorContext } from "../../../runtime/connectors/types.js";
import type { AssetValue, NewRecord } from "../../../runtime/wire/types.js";

export interface Collected {
  ctx: ConnectorContext;
  records: NewRecord[];
  logs: string[];
  /** telemetry/avail values of the records, in order */
  values(): AssetValue[];
  /** values of one signal (ID) */
  of(id: string): AssetValue[];
}

/** One data folder (the project PKI: client certificate, server pins) for the contexts of a test file. */
export const SHARED_DATA_DIR = mkdtempSync(join(tmpdir(), "ofl-opcua-data-"));

export function fakeCtx(
  ir: IrProgram,
  assetName: string,
  env: Record<string, string> = {},
  onEmit?: (r: NewRecord[]) => void,
  dataDir: string = SHARED_DATA_DIR,
): Collected {
  const asset = ir.assets.find((a) => a.name === assetName)!;
  const model = ir.models.find((m) => m.name === asset.model)!;
  const source = asset.sources.find((s) => s.kind === "opcua")!;
  const records: NewRecord[] = [];
  const logs: string[] = [];
  const ctx: ConnectorContext = {
    asset,
    model,
    source,
    emit: (rs) => {
      records.push(...rs);
      onEmit?.(rs);
    },
    now: () => Date.now(),
    dataDir,
    arg: (v) => {
      if (v !== null && typeof v === "object") {
        if ("env" in v) return env[(v as { env: string }).env] ?? process.env[(v as { env: string }).env];
        return undefined;
      }
      return v as string | number | boolean | null;
    },
    log: (level, message) => void logs.push(`${new Date().toISOString()} ${level}: ${message}`),
  };
  const values = () => records.map((r) => r.value as AssetValue);
  const col: Collected = { ctx, records, logs, values, of: (id) => values().filter((v) => v.ID === id) };
  seen.push(col);
  return col;
}

export const MILL_MODEL = `
enum Execution { READY, ACTIVE, INTERRUPTED, STOPPED }

model Mill {
  telemetry temperature: float<degC>
  telemetry execution: Execution
  telemetry spindle_speed: float<rpm>
  telemetry part_count: int
  command stop()
  command set_feed(override: float<percent> in 0..150)
    requires execution != INTERRUPTED
  command feed_override(value: float<percent>)
  command set_mode(mode: Execution, note: string)
}
`;

/** The source clause's arguments after the endpoint, e.g. `, user: "op", password: env("X")`. */
export function millProgram(endpoint: string, opts: { sourceArgs?: string; rules?: string; bindings?: string } = {}): IrProgram {
  const text = `${MILL_MODEL}
asset mill: Mill {
  uuid "MILL-1"
  source opcua("${endpoint}"${opts.sourceArgs ?? ""}) {
${
  opts.bindings ??
  `    temperature   <- node("ns=1;s=Temperature", sampling: 0ms)
    execution     <- node("ns=1;s=Execution") map { 0: READY, 1: ACTIVE, 2: INTERRUPTED, 3: STOPPED }
    spindle_speed <- node("ns=1;s=SpindleSpeed", sampling: 50ms, deadband: 100)
    part_count    <- node("ns=1;s=PartCount")
    stop          -> method("ns=1;s=Machine", "ns=1;s=Stop")
    set_feed      -> method("ns=1;s=Machine", "ns=1;s=SetFeed")
    feed_override -> write("ns=1;s=FeedOverride")
    set_mode      -> method("ns=1;s=Machine", "ns=1;s=SetMode")`
}
  }
}
${opts.rules ?? ""}
`;
  const r = compile([{ path: "mill.ofl", text }], { name: "mill" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.ir;
}

/** What the last fake contexts saw, for failure messages. */
const seen: Collected[] = [];

/** test/support/wait.ts's waitFor, with what the last fake contexts saw on a timeout. */
export function waitFor<T>(what: string, f: () => T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const detail = (): string =>
    seen
      .slice(-2)
      .map((c) => `${JSON.stringify(c.values().map((x) => [x.ID, x.VALUE]))}\n${c.logs.join("\n")}`)
      .join("\n--\n");
  return waitUntil(what, f, { timeoutMs, intervalMs: 10, detail });
}
