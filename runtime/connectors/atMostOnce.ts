// At most once per correlation id, for every connector: the one place that remembers which ids
// were handed to a device. A command handed again with an id already seen (a replay, a bug, a
// restarted worker reading the same record) is answered `failed` without reaching the connector.
// The id is remembered as soon as the dispatch starts, whatever its outcome: a command that
// failed to reach the device is never tried again under the same id. The memory is bounded
// (the newest MAX_REMEMBERED ids); across restarts the runtime itself never re-sends a command
// that has a result, or that was issued before a stop without one (marked failed).
import type { CommandToDispatch, Connector, ConnectorFactory, ConnectorStatus, DispatchResult } from "./types.js";

export const MAX_REMEMBERED = 100_000;

export class AtMostOnce implements Connector {
  private readonly seen = new Set<string>();
  /** `device`: the connector that talks to the device */
  constructor(readonly device: Connector) {}
  start(): Promise<void> {
    return this.device.start();
  }
  stop(): Promise<void> {
    return this.device.stop();
  }
  status(): ConnectorStatus {
    return this.device.status();
  }
  dispatch(cmd: CommandToDispatch): Promise<DispatchResult> {
    if (this.seen.has(cmd.correlationId)) return Promise.resolve({ status: "failed", reason: `already dispatched (${cmd.correlationId})` });
    this.seen.add(cmd.correlationId);
    if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.values().next().value!);
    return this.device.dispatch(cmd);
  }
}

export const atMostOnce = (c: Connector): AtMostOnce => new AtMostOnce(c);

/** A factory whose connectors are wrapped in atMostOnce. */
export function dispatchingAtMostOnce(factory: ConnectorFactory): ConnectorFactory {
  return (ctx) => atMostOnce(factory(ctx));
}
