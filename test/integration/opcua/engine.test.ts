// The OPC UA connector through the engine: records from a real node-opcua device are classified
// and processed by the Engine; commands the rules issue are dispatched through the connector
// unless the engine rejected them (a `<cmd>_RESULT` with status rejected), as the runtime does.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { IrProgram } from "../../../compiler/ir/types.js";
import { opcuaConnector } from "../../../runtime/connectors/opcua.js";
import type { CommandToDispatch, Connector, DispatchResult } from "../../../runtime/connectors/types.js";
import { Engine } from "../../../runtime/engine/index.js";
import { classify } from "../../../runtime/wire/records.js";
import type { AssetValue, CommandEnvelope, CommandResult, NewRecord } from "../../../runtime/wire/types.js";
import { startDevice, type Device } from "./device.js";
import { fakeCtx, millProgram, waitFor } from "./harness.js";

const RULES = `
rule hot on Mill {
  when temperature > 90 degC
  then stop()
}
rule warm on Mill {
  when temperature > 80 degC
  then set_feed(override: 50 percent)
}
`;

interface Plant {
  engine: Engine;
  outputs: NewRecord[];
  /** correlation ids handed to the connector, in order, at the moment they are handed over */
  issued: string[];
  dispatched: { command: string; args: Record<string, string>; result: DispatchResult }[];
  conn: Connector;
}

/** connector → classify → engine → (accepted commands) → connector.dispatch */
function plant(ir: IrProgram): Plant {
  const outputs: NewRecord[] = [];
  const dispatched: Plant["dispatched"] = [];
  const issued: string[] = [];
  let offset = 0;
  let conn: Connector;
  const engine = new Engine({ program: ir, onOutput: (r) => outputs.push(r) });
  const asset = ir.assets[0]!;
  const model = ir.models.find((m) => m.name === asset.model)!;
  const source = asset.sources[0]!;
  const feed = (recs: NewRecord[]): void => {
    for (const r of recs) {
      const from = outputs.length;
      engine.process(classify({ topic: r.topic, partition: 0, offset: offset++, ts: r.ts, key: r.key, value: r.value }));
      const batch = outputs.slice(from).map((o) => o.value as AssetValue);
      const rejected = new Set(
        batch.filter((v) => v.ID.endsWith("_RESULT")).map((v) => (JSON.parse(v.VALUE) as CommandResult).correlation_id),
      );
      for (const v of batch) {
        if (!v.ID.endsWith("_CMD")) continue;
        const env = JSON.parse(v.VALUE) as CommandEnvelope;
        if (rejected.has(env.header.correlation_id) || env.header.shadow) continue;
        const name = v.ID.slice(0, -4);
        const cmd: CommandToDispatch = {
          command: name,
          args: env.arguments,
          params: model.commands.find((c) => c.name === name)!.params,
          correlationId: env.header.correlation_id,
          binding: source.bindings.find((b) => b.direction === "command" && b.target === name)!,
        };
        issued.push(cmd.correlationId);
        void conn.dispatch(cmd).then((result) => dispatched.push({ command: name, args: env.arguments, result }));
      }
    }
  };
  const col = fakeCtx(ir, asset.name, {}, feed);
  conn = opcuaConnector(col.ctx);
  return { engine, outputs, issued, dispatched, conn };
}

let dev: Device;
let p: Plant;
beforeAll(async () => {
  dev = await startDevice({ temperature: 20, execution: 2 /* INTERRUPTED */ });
  p = plant(millProgram(dev.endpoint, { rules: RULES }));
  await p.conn.start();
});
afterAll(async () => {
  await p.conn.stop();
  await dev.stop();
});

const tel = () => p.engine.snapshot().assets["mill"]!.telemetry;
const results = (cmd: string) =>
  p.outputs.map((o) => o.value as AssetValue).filter((v) => v.ID === `${cmd}_RESULT`).map((v) => JSON.parse(v.VALUE) as CommandResult);
const commands = (cmd: string) =>
  p.outputs.map((o) => o.value as AssetValue).filter((v) => v.ID === `${cmd}_CMD`).map((v) => JSON.parse(v.VALUE) as CommandEnvelope);

test("device values become engine state (enum through the binding's map)", async () => {
  await waitFor("state", () => tel()["temperature"] === 20 && tel()["execution"] === "INTERRUPTED");
  expect(tel()).toEqual({ temperature: 20, execution: "INTERRUPTED", spindle_speed: 12000, part_count: 0 });
  dev.set("SpindleSpeed", 15000.5, new Date("2026-11-20T08:00:00.000Z"));
  await waitFor("spindle", () => tel()["spindle_speed"] === 15000.5);
});

test("an interlock-rejected command never reaches the device; an accepted one does", async () => {
  dev.calls.length = 0;
  // warm while INTERRUPTED: set_feed is rejected by `requires execution != INTERRUPTED`
  dev.set("Temperature", 85);
  await waitFor("rejected set_feed", () => results("set_feed").find((r) => r.status === "rejected"));
  expect(commands("set_feed")).toHaveLength(1);
  expect(commands("set_feed")[0]!.header.verdict).toBe("rejected");
  // a command is handed to the connector in the same synchronous step that records its verdict:
  // nothing was handed over, so nothing can reach the device (checked there below, once a later
  // accepted command has completed)
  expect(p.issued).toEqual([]);

  // cool down, run, warm again: accepted, SetFeed(50.0) called on the device
  dev.set("Temperature", 70);
  dev.set("Execution", 1);
  await waitFor("ACTIVE, 70", () => tel()["execution"] === "ACTIVE" && tel()["temperature"] === 70);
  dev.set("Temperature", 85);
  await waitFor("SetFeed call", () => dev.calls.find((c) => c.method === "SetFeed"));
  expect(dev.calls).toEqual([{ method: "SetFeed", args: [{ dataType: "Double", value: 50 }] }]);
  // sentinel: the accepted set_feed has completed; it was the first and only command handed over
  await waitFor("dispatch result", () => p.dispatched.length === 1);
  expect(p.issued).toEqual([commands("set_feed")[1]!.header.correlation_id]);
  expect(p.dispatched[0]).toEqual({ command: "set_feed", args: { override: "50" }, result: { status: "completed", result: [50] } });
  // the device's new feed comes back as telemetry? (FeedOverride is not bound) — the write happened
  expect(dev.value("FeedOverride")).toBe(50);

  // hot: stop() reaches the device, which reports STOPPED
  dev.set("Temperature", 95);
  await waitFor("Stop call", () => dev.calls.find((c) => c.method === "Stop"));
  await waitFor("STOPPED", () => tel()["execution"] === "STOPPED");
  expect(dev.calls.map((c) => c.method)).toEqual(["SetFeed", "Stop"]);
  expect(commands("stop")).toHaveLength(1);
  expect(commands("stop")[0]!.header.verdict).toBe("accepted");
});

test("avail UNAVAILABLE from the connector makes every signal unknown in the engine", async () => {
  const port = dev.port;
  await dev.stop();
  await waitFor("unknown", () => Object.values(tel()).every((v) => v === null));
  dev = await startDevice({ port, temperature: 60, execution: 1 });
  await waitFor("back", () => tel()["temperature"] === 60 && tel()["execution"] === "ACTIVE");
}, 60_000);
