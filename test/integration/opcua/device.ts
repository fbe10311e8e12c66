// A real OPC UA device for the tests: a node-opcua server in-process on 127.0.0.1 with a mill's
// variables (Temperature, Execution, SpindleSpeed, PartCount, FeedOverride) and methods (Stop,
// SetFeed(Double), SetMode(Int32)) on the object ns=1;s=Machine.
import { DataType, StatusCodes, type StatusCode, type Variant } from "node-opcua-client";
import { createRequire } from "node:module";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import { OPCUAServer } from "node-opcua-server";

/** node-opcua's minimal nodeset: the standard one takes seconds to load. */
const MINI_NODESET = createRequire(import.meta.url).resolve("node-opcua-address-space/nodesets/mini.Nodeset2.xml");

type Namespace = ReturnType<NonNullable<OPCUAServer["engine"]["addressSpace"]>["getOwnNamespace"]>;
type UAVariable = ReturnType<Namespace["addVariable"]>;

export interface MethodCall {
  method: string;
  args: { dataType: string; value: unknown }[];
}

export interface DeviceOptions {
  /** 0 (default): a free port */
  port?: number;
  /** user name → password; when given, anonymous sessions are refused */
  users?: Record<string, string>;
  /** initial values */
  temperature?: number;
  execution?: number;
  /**
   * the server's own PKI folder: a device with its own folder has its own certificate (created
   * there on first start); default: node-opcua's shared one
   */
  pkiDir?: string;
}

export interface Device {
  server: OPCUAServer;
  port: number;
  endpoint: string;
  calls: MethodCall[];
  vars: Record<"Temperature" | "Execution" | "SpindleSpeed" | "PartCount" | "FeedOverride", UAVariable>;
  set(name: keyof Device["vars"], value: number, sourceTime?: Date, status?: StatusCode): void;
  value(name: keyof Device["vars"]): unknown;
  /** users who opened sessions */
  sessions: string[];
  stop(): Promise<void>;
}

export async function startDevice(opts: DeviceOptions = {}): Promise<Device> {
  const users = opts.users;
  const sessions: string[] = [];
  const server = new OPCUAServer({
    port: opts.port ?? 0,
    hostname: "127.0.0.1",
    alternateHostname: ["127.0.0.1"],
    allowAnonymous: users === undefined,
    userManager: users
      ? {
          isValidUser: (user: string, password: string) => {
            const ok = Object.prototype.hasOwnProperty.call(users, user) && users[user] === password;
            if (ok) sessions.push(user);
            return ok;
          },
        }
      : undefined,
    serverInfo: { applicationName: { text: "OFL test mill" } },
    ...(opts.pkiDir ? { serverCertificateManager: new OPCUACertificateManager({ rootFolder: opts.pkiDir, automaticallyAcceptUnknownCertificate: true }) } : {}),
    nodeset_filename: [MINI_NODESET],
  });
  await server.initialize();
  const space = server.engine.addressSpace!;
  const ns = space.getOwnNamespace();
  const machine = ns.addObject({ organizedBy: space.rootFolder.objects, browseName: "Machine", nodeId: "s=Machine" });
  const variable = (name: string, dataType: DataType, value: number, writable = false) =>
    ns.addVariable({
      componentOf: machine,
      browseName: name,
      nodeId: `s=${name}`,
      dataType: DataType[dataType],
      minimumSamplingInterval: 0,
      accessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
      userAccessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
      value: { dataType, value },
    });
  const vars = {
    Temperature: variable("Temperature", DataType.Double, opts.temperature ?? 20),
    Execution: variable("Execution", DataType.Int32, opts.execution ?? 0),
    SpindleSpeed: variable("SpindleSpeed", DataType.Double, 12000),
    PartCount: variable("PartCount", DataType.Int32, 0),
    FeedOverride: variable("FeedOverride", DataType.Double, 100, true),
  };
  const types: Record<string, DataType> = {
    Temperature: DataType.Double,
    Execution: DataType.Int32,
    SpindleSpeed: DataType.Double,
    PartCount: DataType.Int32,
    FeedOverride: DataType.Double,
  };
  const set: Device["set"] = (name, value, sourceTime, status) =>
    vars[name].setValueFromSource({ dataType: types[name]!, value }, status ?? StatusCodes.Good, sourceTime ?? new Date());
  const calls: MethodCall[] = [];
  const method = (
    name: string,
    inputs: { name: string; dataType: DataType }[],
    outputs: { name: string; dataType: DataType }[],
    run: (args: unknown[]) => { dataType: DataType; value: unknown }[],
  ) => {
    const m = ns.addMethod(machine, {
      browseName: name,
      nodeId: `s=${name}`,
      inputArguments: inputs.map((i) => ({ name: i.name, description: { text: i.name }, dataType: i.dataType })),
      outputArguments: outputs.map((o) => ({ name: o.name, description: { text: o.name }, dataType: o.dataType })),
    });
    m.bindMethod(async (args: Variant[], _context: unknown) => {
      calls.push({ method: name, args: args.map((a) => ({ dataType: DataType[a.dataType], value: a.value })) });
      return { statusCode: StatusCodes.Good, outputArguments: run(args.map((a) => a.value)) };
    });
  };
  method("Stop", [], [], () => {
    set("Execution", 3);
    return [];
  });
  method("SetFeed", [{ name: "Feed", dataType: DataType.Double }], [{ name: "Applied", dataType: DataType.Double }], ([f]) => {
    set("FeedOverride", f as number);
    return [{ dataType: DataType.Double, value: f }];
  });
  method("SetMode", [{ name: "Mode", dataType: DataType.Int32 }, { name: "Note", dataType: DataType.String }], [], ([m]) => {
    set("Execution", m as number);
    return [];
  });
  await server.start();
  const port = server.endpoints[0]!.port;
  return {
    server,
    port,
    endpoint: `opc.tcp://127.0.0.1:${port}`,
    calls,
    vars,
    set,
    value: (name) => vars[name].readValue().value.value,
    sessions,
    stop: () => server.shutdown(0),
  };
}
