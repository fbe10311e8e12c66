// AN HTTP STUB, NOT ksqlDB. ksqlDB cannot run on these machines (its artifacts are not on Maven
// Central), so this stands in for its documented REST endpoints (docs.ksqldb.io, "REST API"):
// GET /info ({KsqlServerInfo}), GET /healthcheck, POST /ksql (an array of currentStatus or
// warning_entity; HTTP 400 statement_error with error_code 40001; HTTP 500 generic_error),
// 503 + Retry-After while "starting", and server down (close()). It keeps the objects created
// by CREATE / CREATE OR REPLACE / DROP statements by name, enough to check what a deploy sends,
// and refuses a CREATE OR REPLACE that does not only append columns, as ksqlDB does.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface KsqlStub {
  url: string;
  /** every /ksql request body received, in order */
  requests: { ksql: string; streamsProperties: Record<string, string>; commandSequenceNumber?: number }[];
  /** Authorization headers received */
  auth: (string | undefined)[];
  /** object name → statement text */
  objects: Map<string, string>;
  /** the next /ksql requests answer 503 with Retry-After: 0 */
  unavailable: number;
  /** a statement containing this text is refused with a statement_error */
  refuse?: string;
  close(): Promise<void>;
}

export async function startKsqlStub(): Promise<KsqlStub> {
  let seq = 0;
  const stub: KsqlStub = { url: "", requests: [], auth: [], objects: new Map(), unavailable: 0, close: async () => {} };
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { "Content-Type": "application/vnd.ksql.v1+json", ...headers });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    stub.auth.push(req.headers.authorization);
    let text = "";
    req.on("data", (d: Buffer) => (text += d.toString()));
    req.on("end", () => {
      if (req.method === "GET" && req.url === "/info") return send(res, 200, { KsqlServerInfo: { version: "0.29.0", kafkaClusterId: "stub-cluster", ksqlServiceId: "default_", serverStatus: "RUNNING" } });
      if (req.method === "GET" && req.url === "/healthcheck") return send(res, 200, { isHealthy: true, details: { metastore: { isHealthy: true }, kafka: { isHealthy: true } } });
      if (req.method !== "POST" || req.url !== "/ksql") return send(res, 404, { "@type": "generic_error", error_code: 40400, message: "not found" });
      if (stub.unavailable > 0) {
        stub.unavailable--;
        return send(res, 503, { "@type": "generic_error", error_code: 50300, message: "ksqlDB is starting" }, { "Retry-After": "0" });
      }
      let body: KsqlStub["requests"][number];
      try {
        body = JSON.parse(text);
      } catch {
        return send(res, 400, { "@type": "generic_error", error_code: 40000, message: "malformed JSON" });
      }
      stub.requests.push(body);
      const sql = body.ksql.trim();
      if (stub.refuse && sql.includes(stub.refuse))
        return send(res, 400, { "@type": "statement_error", error_code: 40001, message: `line 1:1: stub refuses ${stub.refuse}`, statementText: sql, entities: [] });
      const create = /^CREATE\s+(OR\s+REPLACE\s+)?(STREAM|TABLE)\s+(IF\s+NOT\s+EXISTS\s+)?`?([A-Za-z0-9_]+)`?/i.exec(sql);
      const drop = /^DROP\s+(STREAM|TABLE)\s+(IF\s+EXISTS\s+)?`?([A-Za-z0-9_]+)`?/i.exec(sql);
      if (create) {
        const name = create[4]!.toUpperCase();
        // ksqlDB refuses a CREATE OR REPLACE whose columns do not start with the old ones, in
        // order (StructuredDataSource.canUpgradeTo in 0.29): names are compared here
        const old = stub.objects.get(name);
        if (old && create[1]) {
          const was = selectColumns(old);
          const now = selectColumns(sql);
          if (was.some((c, i) => now[i] !== c))
            return send(res, 400, { "@type": "statement_error", error_code: 40001, message: `Cannot upgrade data source: DataSource '${name}' has schema = [${was.join(", ")}] which is not upgradeable to [${now.join(", ")}]. (The following columns are changed, missing or reordered)`, statementText: sql, entities: [] });
        }
        if (stub.objects.has(name) && !create[1]) {
          if (create[3]) return send(res, 200, [{ "@type": "warning_entity", statementText: sql, message: `Cannot add ${create[2]!.toLowerCase()} '${name}': A ${create[2]!.toLowerCase()} with the same name already exists`, warnings: [] }]);
          return send(res, 400, { "@type": "statement_error", error_code: 40001, message: `Cannot add stream '${name}': already exists`, statementText: sql, entities: [] });
        }
        stub.objects.set(name, sql);
      } else if (drop) stub.objects.delete(drop[3]!.toUpperCase());
      seq++;
      send(res, 200, [{ "@type": "currentStatus", statementText: sql, commandId: `stub/${seq}`, commandStatus: { status: "SUCCESS", message: "Created query" }, commandSequenceNumber: seq, warnings: [] }]);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const a = server.address();
  stub.url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  stub.close = () => new Promise((r) => server.close(() => r()));
  return stub;
}

/** The column names of a `CREATE … AS SELECT` as OFL prints it (one projection per line). */
function selectColumns(sql: string): string[] {
  const lines = sql.split("\n");
  const from = lines.findIndex((l) => l.startsWith("FROM "));
  const sel = lines.findIndex((l) => l === "SELECT");
  if (sel < 0 || from < 0) return [];
  return lines.slice(sel + 1, from).map((l) => {
    const t = l.trim().replace(/,$/, "");
    const m = / AS (`?[A-Za-z0-9_]+`?)$/.exec(t);
    return (m ? m[1]! : t).replace(/`/g, "").toUpperCase();
  });
}
