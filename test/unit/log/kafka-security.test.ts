// The TLS and SASL settings of a secured Kafka cluster, read from the environment
// (runtime/log/kafkaSecurity.ts); the real broker's SASL_SSL listener is in
// test/integration/kafka/security.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { kafkaSecurityFromEnv } from "../../../runtime/log/kafkaSecurity.js";

const dir = mkdtempSync(join(tmpdir(), "ofl-kafka-security-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

test("none set: plaintext, no SASL; TLS on its own uses the system's CAs", () => {
  expect(kafkaSecurityFromEnv({})).toEqual({});
  expect(kafkaSecurityFromEnv({ OFL_KAFKA_TLS: "1" })).toEqual({ ssl: true });
  expect(kafkaSecurityFromEnv({ OFL_KAFKA_TLS: "0", OFL_KAFKA_PASSWORD: "" })).toEqual({});
});

test("the CA as PEM text or as a file; SASL with a password or a password file (its trailing newline dropped)", () => {
  const ca = join(dir, "ca.pem");
  writeFileSync(ca, PEM);
  const secret = join(dir, "kafka_password");
  writeFileSync(secret, "s3 cret\n");
  expect(kafkaSecurityFromEnv({ OFL_KAFKA_CA: PEM })).toEqual({ ssl: { ca: [PEM] } });
  expect(kafkaSecurityFromEnv({ OFL_KAFKA_CA: ca, OFL_KAFKA_SASL_MECHANISM: "SCRAM-SHA-512", OFL_KAFKA_USERNAME: "ofl", OFL_KAFKA_PASSWORD: "pw" })).toEqual({
    ssl: { ca: [PEM] },
    sasl: { mechanism: "scram-sha-512", username: "ofl", password: "pw" },
  });
  expect(kafkaSecurityFromEnv({ OFL_KAFKA_SASL_MECHANISM: "plain", OFL_KAFKA_USERNAME: "ofl", OFL_KAFKA_PASSWORD_FILE: secret })).toEqual({ sasl: { mechanism: "plain", username: "ofl", password: "s3 cret" } });
});

test("settings that cannot be used are named, and no password is repeated", () => {
  const notPem = join(dir, "not.pem");
  writeFileSync(notPem, "hello");
  const cases: [NodeJS.ProcessEnv, string][] = [
    [{ OFL_KAFKA_TLS: "yes" }, 'OFL_KAFKA_TLS must be 1 or 0 (got "yes")'],
    [{ OFL_KAFKA_CA: notPem }, `OFL_KAFKA_CA: ${notPem} holds no PEM certificate`],
    [{ OFL_KAFKA_CA: join(dir, "none.pem") }, `OFL_KAFKA_CA: cannot read ${join(dir, "none.pem")}: ENOENT (give a PEM file, or the PEM text itself)`],
    [{ OFL_KAFKA_USERNAME: "ofl", OFL_KAFKA_PASSWORD: "pw-1" }, "OFL_KAFKA_USERNAME and OFL_KAFKA_PASSWORD need OFL_KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512)"],
    [{ OFL_KAFKA_SASL_MECHANISM: "oauthbearer", OFL_KAFKA_USERNAME: "ofl", OFL_KAFKA_PASSWORD: "pw-2" }, 'OFL_KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512 (got "oauthbearer")'],
    [{ OFL_KAFKA_SASL_MECHANISM: "plain", OFL_KAFKA_PASSWORD: "pw-3" }, "OFL_KAFKA_SASL_MECHANISM=plain needs OFL_KAFKA_USERNAME and OFL_KAFKA_PASSWORD (or OFL_KAFKA_PASSWORD_FILE)"],
    [{ OFL_KAFKA_SASL_MECHANISM: "plain", OFL_KAFKA_USERNAME: "ofl", OFL_KAFKA_PASSWORD: "pw-4", OFL_KAFKA_PASSWORD_FILE: notPem }, "give OFL_KAFKA_PASSWORD or OFL_KAFKA_PASSWORD_FILE, not both"],
    [{ OFL_KAFKA_SASL_MECHANISM: "plain", OFL_KAFKA_USERNAME: "ofl", OFL_KAFKA_PASSWORD_FILE: join(dir, "none") }, `OFL_KAFKA_PASSWORD_FILE: cannot read ${join(dir, "none")}: ENOENT`],
  ];
  for (const [env, message] of cases) {
    let thrown: Error | undefined;
    try {
      kafkaSecurityFromEnv(env);
    } catch (e) {
      thrown = e as Error;
    }
    expect(thrown?.message, JSON.stringify(env)).toBe(message);
    expect(thrown!.message).not.toMatch(/pw-\d/);
  }
});
