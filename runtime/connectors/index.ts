// Connector factories by source kind. OPC UA and MQTT load their client libraries only when a
// program uses them (a `check` or a `test` never loads node-opcua).
import type { IrSource } from "../../compiler/ir/types.js";
import { simulateConnector } from "./simulate.js";
import type { ConnectorFactory } from "./types.js";

export async function connectorFor(kind: IrSource["kind"]): Promise<ConnectorFactory | undefined> {
  switch (kind) {
    case "simulate":
      return simulateConnector;
    case "opcua":
      return (await import("./opcua.js")).opcuaConnector;
    case "mqtt":
      return (await import("./mqtt.js")).mqttConnector;
    case "openfactory":
      // an OpenFactory connector writes these records to the log itself: nothing to start
      return undefined;
  }
}
