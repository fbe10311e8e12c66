// How OFL reaches a secured Kafka cluster: TLS and SASL settings from the environment, the same
// for the bundled workers (runtime/worker/main.ts) and the commands that talk to Kafka (`ofl
// deploy`, `ofl record --kafka`). Secrets come from the environment only and are never written
// to a build, a plan or a log line.
//
//   OFL_KAFKA_TLS=1              connect with TLS (the system's CAs, or OFL_KAFKA_CA's)
//   OFL_KAFKA_CA                 the CA certificate(s) to trust, PEM: a file path or the PEM text
//                                itself (a container's environment); implies TLS
//   OFL_KAFKA_SASL_MECHANISM     plain, scram-sha-256 or scram-sha-512
//   OFL_KAFKA_USERNAME, OFL_KAFKA_PASSWORD   its credentials (both required with a mechanism)
//   OFL_KAFKA_PASSWORD_FILE      instead of OFL_KAFKA_PASSWORD: a file holding it (a Docker secret,
//                                /run/secrets/…; a trailing newline is not part of it)
import { readFileSync } from "node:fs";
import type { KafkaConfig, SASLOptions } from "kafkajs";

const MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;

/** The kafkajs `ssl` and `sasl` settings the environment asks for ({} when none); an Error naming the setting when one cannot be used. */
export function kafkaSecurityFromEnv(env: NodeJS.ProcessEnv): Pick<KafkaConfig, "ssl" | "sasl"> {
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const out: Pick<KafkaConfig, "ssl" | "sasl"> = {};
  const tls = get("OFL_KAFKA_TLS");
  if (tls !== undefined && tls !== "1" && tls !== "0") throw new Error(`OFL_KAFKA_TLS must be 1 or 0 (got ${JSON.stringify(tls)})`);
  const ca = get("OFL_KAFKA_CA");
  if (ca !== undefined) {
    let pem = env["OFL_KAFKA_CA"]!;
    if (!ca.startsWith("-----BEGIN")) {
      try {
        pem = readFileSync(ca, "utf8");
      } catch (e) {
        throw new Error(`OFL_KAFKA_CA: cannot read ${ca}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (give a PEM file, or the PEM text itself)`);
      }
      if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`OFL_KAFKA_CA: ${ca} holds no PEM certificate`);
    }
    out.ssl = { ca: [pem] };
  } else if (tls === "1") out.ssl = true;
  const mechanism = get("OFL_KAFKA_SASL_MECHANISM")?.toLowerCase();
  const username = get("OFL_KAFKA_USERNAME");
  const passwordFile = get("OFL_KAFKA_PASSWORD_FILE");
  if (passwordFile !== undefined && env["OFL_KAFKA_PASSWORD"]) throw new Error("give OFL_KAFKA_PASSWORD or OFL_KAFKA_PASSWORD_FILE, not both");
  let password = env["OFL_KAFKA_PASSWORD"] ?? "";
  if (passwordFile !== undefined)
    try {
      password = readFileSync(passwordFile, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw new Error(`OFL_KAFKA_PASSWORD_FILE: cannot read ${passwordFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  if (mechanism === undefined) {
    if (username !== undefined || password !== "") throw new Error("OFL_KAFKA_USERNAME and OFL_KAFKA_PASSWORD need OFL_KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512)");
    return out;
  }
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) throw new Error(`OFL_KAFKA_SASL_MECHANISM must be one of ${MECHANISMS.join(", ")} (got ${JSON.stringify(mechanism)})`);
  if (username === undefined || password === "") throw new Error(`OFL_KAFKA_SASL_MECHANISM=${mechanism} needs OFL_KAFKA_USERNAME and OFL_KAFKA_PASSWORD (or OFL_KAFKA_PASSWORD_FILE)`);
  out.sasl = { mechanism, username, password } as SASLOptions;
  return out;
}
