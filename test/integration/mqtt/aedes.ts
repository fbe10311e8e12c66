// An in-process MQTT broker (aedes) on 127.0.0.1, for tests and the ingest benchmark.
import { Aedes, type AedesOptions } from "aedes";
import { createServer, type Server, type Socket } from "node:net";

export interface AedesBroker {
  port: number;
  url: string;
  broker: Aedes;
  /** closes the listener, every client connection and the broker */
  stop(): Promise<void>;
  /** a new broker on the same port after stop() (retained messages and sessions are gone, as after a crash) */
  start(): Promise<void>;
  /** stop() then start() */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startAedes(opts: { port?: number; users?: Record<string, string> } = {}): Promise<AedesBroker> {
  const options: AedesOptions = {};
  if (opts.users) {
    const users = opts.users;
    options.authenticate = (_client, username, password, done) => {
      const ok = username !== undefined && users[username] !== undefined && password !== undefined && password.toString() === users[username];
      if (ok) done(null, true);
      else {
        const err = Object.assign(new Error("bad user name or password"), { returnCode: 4 });
        done(err as never, false);
      }
    };
  }
  let broker: Aedes;
  let server: Server;
  let sockets = new Set<Socket>();
  let port = opts.port ?? 0;

  const launch = async (): Promise<void> => {
    broker = await Aedes.createBroker(options);
    const b = broker;
    server = createServer((s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      b.handle(s);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    const a = server.address();
    port = typeof a === "object" && a ? a.port : port;
  };

  const stop = async (): Promise<void> => {
    const s = server;
    const b = broker;
    for (const sock of sockets) sock.destroy();
    sockets = new Set();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    await new Promise<void>((resolve) => b.close(() => resolve()));
  };

  await launch();
  const handle: AedesBroker = {
    get port() {
      return port;
    },
    get url() {
      return `mqtt://127.0.0.1:${port}`;
    },
    get broker() {
      return broker;
    },
    stop,
    start: launch,
    restart: async () => {
      await stop();
      await launch();
    },
    close: stop,
  };
  return handle;
}
