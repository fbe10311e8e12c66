// Free TCP ports on 127.0.0.1 for the services and servers the tests start. The ports of one
// call are held open together until all are known, so they are distinct (a port closed and asked
// for again can come back at once: the Kafka broker once got the same port for its listener and
// its controller and would not start).
import { createServer, type Server } from "node:net";

export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = createServer();
      s.unref();
      servers.push(s);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => {
            const a = s.address();
            resolve(typeof a === "object" && a ? a.port : 0);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((done) => (s.listening ? s.close(() => done()) : done()))));
  }
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
