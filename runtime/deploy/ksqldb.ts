// A thin typed client for ksqlDB's REST API on Node's fetch: /info, /healthcheck, /ksql and
// /query-stream. Why not the `ksqldb-client` package: unmaintained since 2021, it never sends
// basic auth, fixes the scheme to http and does not frame /query-stream rows by newline. This
// one: http and https, basic auth on every request, 503 + Retry-After honoured, every documented
// response shape typed (currentStatus, warning_entity — what IF NOT EXISTS returns when the
// object exists —, statement_error, generic_error), errors that name the statement.
// ksqlDB cannot run on the dev machines: test/unit/deploy/ksqldb-stub.ts stands in for it.

export interface KsqlDbOptions {
  username?: string;
  password?: string;
  /** retries of a 503 (ksqlDB starting, or a command still being applied); default 5 */
  retries?: number;
  /** upper bound of one Retry-After wait, ms (default 30 000) */
  maxRetryAfterMs?: number;
  /** per-request timeout, ms (default 60 000) */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface ServerInfo {
  version: string;
  kafkaClusterId: string;
  ksqlServiceId: string;
  serverStatus?: string;
}

export interface CurrentStatus {
  "@type": "currentStatus";
  statementText: string;
  commandId: string;
  commandStatus: { status: "QUEUED" | "PARSING" | "EXECUTING" | "SUCCESS" | "ERROR" | "TERMINATED"; message: string; queryId?: string | null };
  commandSequenceNumber: number;
  warnings: { message: string }[];
}

export interface WarningEntity {
  "@type": "warning_entity";
  statementText: string;
  message: string;
  warnings: { message: string }[];
}

/** Any other entity (SHOW/LIST/DESCRIBE results): kept as returned. */
export interface OtherEntity {
  "@type": string;
  statementText?: string;
  [k: string]: unknown;
}

export type KsqlEntity = CurrentStatus | WarningEntity | OtherEntity;

export class KsqlDbError extends Error {
  constructor(
    message: string,
    /** HTTP status (0: no answer) */
    readonly status: number,
    /** ksqlDB's error_code (40001 bad statement, 50000 server error…), when it gave one */
    readonly errorCode?: number,
    /** the statement ksqlDB refused, when the request carried one */
    readonly statement?: string,
    /** `statement_error`, `generic_error`, or `unreachable` */
    readonly type?: string,
  ) {
    super(message);
  }
}

export class KsqlDbClient {
  readonly url: string;
  private readonly opts: KsqlDbOptions;

  constructor(url: string, opts: KsqlDbOptions = {}) {
    const u = new URL(url);
    // (said without the URL: it may carry a password)
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`ksqlDB URL must be http or https, not ${u.protocol.replace(/:$/, "")}`);
    if (u.username && opts.username === undefined) opts = { ...opts, username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
    u.username = "";
    u.password = "";
    this.url = u.toString().replace(/\/$/, "");
    this.opts = opts;
  }

  /** GET /info: the server's version and ids. */
  async info(): Promise<ServerInfo> {
    const body = (await this.json("GET", "/info")) as { KsqlServerInfo?: ServerInfo };
    if (!body?.KsqlServerInfo) throw new KsqlDbError(`${this.url}/info: not a ksqlDB server (no KsqlServerInfo)`, 200);
    return body.KsqlServerInfo;
  }

  /** GET /healthcheck. */
  async healthcheck(): Promise<{ isHealthy: boolean; details: Record<string, { isHealthy: boolean }> }> {
    return (await this.json("GET", "/healthcheck", undefined, true)) as { isHealthy: boolean; details: Record<string, { isHealthy: boolean }> };
  }

  /**
   * POST /ksql: one or more statements. `commandSequenceNumber` makes the server wait until the
   * earlier command (of a previous call) is applied. Throws KsqlDbError on statement_error and
   * generic_error.
   */
  async ksql(statements: string, opts: { streamsProperties?: Record<string, string>; commandSequenceNumber?: number } = {}): Promise<KsqlEntity[]> {
    const body: Record<string, unknown> = { ksql: statements.trim().endsWith(";") ? statements : `${statements};`, streamsProperties: opts.streamsProperties ?? {} };
    if (opts.commandSequenceNumber !== undefined) body["commandSequenceNumber"] = opts.commandSequenceNumber;
    const r = await this.json("POST", "/ksql", body, false, statements);
    if (!Array.isArray(r)) throw new KsqlDbError(`ksqlDB answered /ksql with ${JSON.stringify(r).slice(0, 200)}`, 200, undefined, statements);
    for (const e of r as KsqlEntity[]) {
      if (e["@type"] === "currentStatus" && (e as CurrentStatus).commandStatus?.status === "ERROR")
        throw new KsqlDbError((e as CurrentStatus).commandStatus.message, 200, undefined, e.statementText ?? statements, "command_error");
    }
    return r as KsqlEntity[];
  }

  /**
   * POST /query-stream (HTTP/1.1, newline-delimited): yields the header
   * `{queryId, columnNames, columnTypes}` first, then each row (an array).
   */
  async *queryStream(sql: string, properties: Record<string, string> = {}, signal?: AbortSignal): AsyncGenerator<{ header: { queryId?: string; columnNames: string[]; columnTypes: string[] } } | { row: unknown[] }> {
    const res = await this.request("POST", "/query-stream", { sql, properties }, "application/vnd.ksqlapi.delimited.v1", signal, sql);
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = "";
    let first = true;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const v = JSON.parse(line) as unknown;
        if (first) {
          first = false;
          yield { header: v as { queryId?: string; columnNames: string[]; columnTypes: string[] } };
        } else if (Array.isArray(v)) yield { row: v };
        else if (v && typeof v === "object" && (v as { "@type"?: string })["@type"]?.endsWith("error")) throw errorOf(res.status, v, sql);
      }
    }
  }

  private async json(method: string, path: string, body?: unknown, anyStatus = false, statement?: string): Promise<unknown> {
    const res = await this.request(method, path, body, "application/vnd.ksql.v1+json", undefined, statement, anyStatus);
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new KsqlDbError(`${this.url}${path}: ksqlDB answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`, res.status, undefined, statement);
    }
  }

  private async request(method: string, path: string, body: unknown, accept: string, signal?: AbortSignal, statement?: string, anyStatus = false): Promise<Response> {
    const f = this.opts.fetch ?? fetch;
    const headers: Record<string, string> = { Accept: accept };
    if (body !== undefined) headers["Content-Type"] = accept.includes("ksqlapi") ? "application/json" : "application/vnd.ksql.v1+json";
    if (this.opts.username !== undefined) headers["Authorization"] = `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password ?? ""}`).toString("base64")}`;
    const retries = this.opts.retries ?? 5;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await f(`${this.url}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: signal ?? AbortSignal.timeout(this.opts.timeoutMs ?? 60_000),
        });
      } catch (e) {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new KsqlDbError(`cannot reach ksqlDB at ${this.url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, 0, undefined, statement, "unreachable");
      }
      if (res.status === 503 && attempt < retries) {
        const ra = res.headers.get("retry-after");
        const s = ra !== null && /^\d+$/.test(ra.trim()) ? Number(ra) * 1000 : ra ? Date.parse(ra) - Date.now() : 1000 * 2 ** attempt;
        await res.body?.cancel().catch(() => {});
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(this.opts.maxRetryAfterMs ?? 30_000, Number.isFinite(s) ? s : 1000))));
        continue;
      }
      if (res.ok || anyStatus) return res;
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      throw errorOf(res.status, parsed, statement);
    }
  }
}

function errorOf(status: number, body: unknown, statement?: string): KsqlDbError {
  if (body && typeof body === "object") {
    const b = body as { "@type"?: string; error_code?: number; message?: string; statementText?: string };
    const stmt = b.statementText || statement;
    return new KsqlDbError(b.message ?? `HTTP ${status}`, status, b.error_code, stmt, b["@type"] ?? "generic_error");
  }
  return new KsqlDbError(`HTTP ${status}${typeof body === "string" && body ? `: ${body.slice(0, 200)}` : ""}`, status, undefined, statement);
}
