// A fake connector context (collects records and log lines), a compiled test program, and an
// engine fed with what the connector emitted.
import mqtt, { type MqttClient } from "mqtt";
import { compile } from "../../../compiler/index.js";
import type { IrAsset, IrModel, IrProgram, IrSource } from "../../../compiler/ir/types.js";
import type { ConnectorContext, ConnectorFactory, Connector } from "../../../runtime/connectors/types.js";
import { Engine } from "../../../runtime/engine/index.js";
import { classify } from "../../../runtime/wire/records.js";
import type { AssetValue, LogRecord, NewRecord } from "../../../runtime/wire/types.js";

export const USER_ENV = "OFL_TEST_MQTT_USER";
export const PASSWORD_ENV = "OFL_TEST_MQTT_PASSWORD";

/** The test plant: one press on MQTT, with credentials from the environment when `auth`. */
export function plantSource(url: string, auth: boolean): string {
  const creds = auth ? `, user: env("${USER_ENV}"), password: env("${PASSWORD_ENV}")` : "";
  return `
enum Mode { AUTO, MANUAL }
model Press {
  telemetry temperature: float<degC> in 0..200
  telemetry count: int
  telemetry count_raw: string
  telemetry mode: Mode
  telemetry pressure: float<bar>
  telemetry note: string
  command stop()
  command set_speed(rpm: float in 0..100, label: string)
}
asset p1: Press {
  uuid "PRESS-1"
  source mqtt("${url}"${creds}) {
    temperature <- topic("plant/p1/temp", json: "$.v", time: "$.ts")
    count       <- topic("plant/p1/count", json: "$.data.counts[0]")
    count_raw   <- topic("plant/+/count")
    mode        <- topic("plant/p1/mode")
    pressure    <- topic("plant/+/pressure", json: "$.bar")
    note        <- topic("plant/p1/notes/#")
    stop        -> publish("plant/p1/cmd/stop")
    set_speed   -> publish("plant/p1/cmd/speed")
  }
}
`;
}

export function plantIr(url: string, auth = false): IrProgram {
  const r = compile([{ path: "/test/plant.ofl", text: plantSource(url, auth) }], { name: "plant" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.ir;
}

export interface FakeCtx extends ConnectorContext {
  records: NewRecord[];
  logs: { level: string; message: string }[];
  /** emit() calls (batch sizes) */
  batches: number[];
}

export function fakeCtx(program: IrProgram, assetName = "p1", env: Record<string, string> = {}): FakeCtx {
  const asset: IrAsset = program.assets.find((a) => a.name === assetName)!;
  const model: IrModel = program.models.find((m) => m.name === asset.model)!;
  const source: IrSource = asset.sources[0]!;
  const ctx: FakeCtx = {
    asset,
    model,
    source,
    records: [],
    logs: [],
    batches: [],
    emit(records) {
      ctx.batches.push(records.length);
      ctx.records.push(...records);
    },
    now: () => Date.now(),
    arg(value) {
      if (value !== null && typeof value === "object") {
        if ("env" in value) return env[(value as { env: string }).env] ?? process.env[(value as { env: string }).env];
        return undefined;
      }
      return value as string | number | boolean | null | undefined;
    },
    log(level, message) {
      ctx.logs.push({ level, message });
    },
  };
  return ctx;
}

export const values = (ctx: FakeCtx, id: string): AssetValue[] =>
  ctx.records.map((r) => r.value as AssetValue).filter((v) => v.ID === id);

export const avail = (ctx: FakeCtx): string[] => values(ctx, "avail").map((v) => v.VALUE);

export async function waitFor(what: string, pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Feeds records through classify() into an Engine, like the runtime does; collects its outputs. */
export class EngineFeed {
  engine: Engine;
  outputs: NewRecord[] = [];
  private offset = 0;
  constructor(program: IrProgram) {
    this.engine = new Engine({ program, onOutput: (r) => this.outputs.push(r) });
  }
  feed(records: NewRecord[]): void {
    for (const r of records) {
      const rec: LogRecord = { topic: r.topic, partition: 0, offset: this.offset++, ts: r.ts, key: r.key, value: r.value };
      this.engine.process(classify(rec));
    }
  }
  deadLetters(): { reason: string; detail: string; record: unknown }[] {
    return this.outputs.filter((r) => r.topic === "ofl_deadletter").map((r) => r.value as { reason: string; detail: string; record: unknown });
  }
}

/** A plain MQTT client (the "device" side of the tests). */
export async function device(url: string, opts: { username?: string; password?: string } = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 200, connectTimeout: 5000, ...opts });
  return c;
}

export function startConnector(factory: ConnectorFactory, ctx: FakeCtx): { connector: Connector; started: Promise<void> } {
  const connector = factory(ctx);
  return { connector, started: connector.start() };
}
