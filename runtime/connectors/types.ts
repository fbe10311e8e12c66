// Connectors bind an asset's `source` to a device (language spec §4.2): they turn device values
// into telemetry and availability records, and carry accepted commands to the device.
//
// The runtime owns the log: a connector never appends itself, it calls `ctx.emit`. It never
// sees other assets, and never prints secrets (values of `env(...)` arguments): `ctx.log`
// messages and thrown errors must not contain them.
import type { IrAsset, IrBinding, IrModel, IrParam, IrSource } from "../../compiler/ir/types.js";
import type { LogRecord, NewRecord } from "../wire/types.js";

export interface ConnectorContext {
  asset: IrAsset;
  model: IrModel;
  source: IrSource;
  /**
   * Telemetry and `avail` records for this asset (key = asset uuid), built with
   * runtime/wire/records.ts (`telemetryValue`, `availValue`). Event time: the device's
   * timestamp when it gives one, else `now()`. VALUE is the raw text; the engine parses it
   * against the declared type (a binding's `map` is applied by the engine too).
   *
   * The runtime may return a promise that resolves once the batch holding these records is
   * durable on the log, and rejects if that append failed. A source that acknowledges its
   * input to the device or broker (MQTT QoS 1/2) acknowledges only after it resolves; without a
   * promise, the records count as taken when `emit` returns.
   */
  emit(records: NewRecord[]): void | Promise<void>;
  /**
   * The last records of this asset on the log (key = asset uuid), oldest first, at most `limit`:
   * a source that dedups redelivered messages learns what is already on the log. Optional.
   */
  history?(limit: number): LogRecord[];
  /** Wall clock (ms) for receive times: connectors may read it, the engine never does. */
  now(): number;
  /** Resolves a source or binding argument: literals as they are, `{ env }` from the environment. */
  arg(value: unknown): string | number | boolean | null | undefined;
  /**
   * The plant's data folder (`ofl run --data`, a Kafka connector worker's `OFL_DATA`), where a
   * connector keeps what must survive restarts next to the log (the OPC UA PKI and server pins).
   * Absent: `.ofl/data` under the working directory.
   */
  dataDir?: string;
  /** Progress and problems for the terminal (never a secret). */
  log(level: "info" | "warn" | "error", message: string): void;
}

export interface CommandToDispatch {
  command: string;
  /** argument values as on the wire (strings), by parameter name */
  args: Record<string, string>;
  /** the command's parameters in declared order (OPC UA method arguments follow it) */
  params: IrParam[];
  correlationId: string;
  binding: IrBinding;
}

export interface DispatchResult {
  status: "completed" | "failed";
  /** the device's answer (method output arguments, publish acknowledgement…) */
  result?: unknown;
  reason?: string;
}

export interface ConnectorStatus {
  connected: boolean;
  /** one short line: "opc.tcp://127.0.0.1:4840 connected, 4 monitored items" */
  detail: string;
}

export interface Connector {
  /** Connects and starts reading; resolves once started (it keeps reconnecting on its own). */
  start(): Promise<void>;
  /** Carries one accepted command to the device, at most once; resolves with the device's answer. */
  dispatch(cmd: CommandToDispatch): Promise<DispatchResult>;
  /** Stops reading and disconnects. */
  stop(): Promise<void>;
  status(): ConnectorStatus;
}

export type ConnectorFactory = (ctx: ConnectorContext) => Connector;
