// Raw HTTP/1.1 over a TCP socket, for what fetch() will not do: a forged Host header, a body
// announced but never sent, an upload that the server must stop reading. Real sockets, no mock.
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** body bytes the client managed to hand to the socket before the server closed it */
  sent: number;
}

/**
 * Sends `head` (request line and headers, without the blank line) and then `bodyBytes` of body
 * (in 64 kB chunks, as fast as the socket takes them) unless `sendBody` is false; resolves with
 * the response once the server has answered and closed (or after the whole body was sent and the
 * response read).
 */
export function rawRequest(port: number, head: string, opts: { bodyBytes?: number; sendBody?: boolean; body?: string; bodyPrefix?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      sock.destroy();
      reject(new Error(`no complete response within 20 s (sent ${sent} body bytes)`));
    }, 20_000);
    sock.on("close", () => clearTimeout(timer));
    const chunks: Buffer[] = [];
    let sent = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      const text = Buffer.concat(chunks).toString("utf8");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        done = true;
        sock.destroy();
        return reject(new Error(`no response (sent ${sent} body bytes): ${JSON.stringify(text.slice(0, 200))}`));
      }
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(":");
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let body = text.slice(end + 4);
      const len = headers["content-length"];
      if (len !== undefined && Buffer.byteLength(body) < Number(len)) return; // more to come
      if (len !== undefined) body = Buffer.from(body).subarray(0, Number(len)).toString("utf8");
      if (headers["transfer-encoding"] === "chunked") {
        if (!body.endsWith("0\r\n\r\n") && !sock.destroyed) return; // more to come
        body = dechunk(body);
      }
      done = true;
      sock.destroy();
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body, sent });
    };
    sock.on("data", (d: Buffer) => {
      chunks.push(d);
      finish();
    });
    sock.on("error", () => finish()); // reset by the server once it answered: read what came
    sock.on("close", () => finish());
    sock.on("connect", () => {
      sock.write(`${head}\r\n\r\n${opts.bodyPrefix ?? ""}`);
      if (opts.body !== undefined) {
        sock.write(opts.body);
        sent = Buffer.byteLength(opts.body);
        return;
      }
      if (opts.sendBody === false || !opts.bodyBytes) return;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = (): void => {
        while (!done && !sock.destroyed && sent < opts.bodyBytes!) {
          const n = Math.min(chunk.length, opts.bodyBytes! - sent);
          sent += n;
          if (!sock.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void sock.once("drain", pump);
        }
      };
      pump();
    });
  });
}

function dechunk(s: string): string {
  let out = "";
  let i = 0;
  for (;;) {
    const eol = s.indexOf("\r\n", i);
    if (eol < 0) return out;
    const n = parseInt(s.slice(i, eol), 16);
    if (!(n > 0)) return out;
    out += s.slice(eol + 2, eol + 2 + n);
    i = eol + 2 + n + 2;
  }
}
