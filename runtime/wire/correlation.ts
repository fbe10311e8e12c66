// Deterministic correlation ids (wire.md §2): a version-5 UUID of
// `PROGRAM/RULE/ASSET_UUID/CAUSE/ACTION_INDEX` in the OFL namespace, so a replay issues the
// same ids and connectors can skip repeats after a restart.

import { createHash } from "node:crypto";

export const OFL_NAMESPACE = "6f393b6d-0f1a-5e4b-9c2d-0a1b2c3d4e5f";

const nsCache = new Map<string, Buffer>();

function namespaceBytes(ns: string): Buffer {
  let b = nsCache.get(ns);
  if (b === undefined) {
    const hex = ns.replace(/-/g, "");
    if (!/^[0-9a-fA-F]{32}$/.test(hex) || ns.length !== 36) throw new Error(`not a UUID: ${JSON.stringify(ns)}`);
    b = Buffer.from(hex, "hex");
    nsCache.set(ns, b);
  }
  return b;
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i + 0x100).toString(16).slice(1));

/** RFC 4122 §4.3 name-based UUID, SHA-1 (version 5). `name` is hashed as UTF-8. */
export function uuidV5(name: string, namespace: string): string {
  const h = createHash("sha1").update(namespaceBytes(namespace)).update(name, "utf8").digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  return (
    HEX[h[0]!]! + HEX[h[1]!]! + HEX[h[2]!]! + HEX[h[3]!]! + "-" +
    HEX[h[4]!]! + HEX[h[5]!]! + "-" +
    HEX[h[6]!]! + HEX[h[7]!]! + "-" +
    HEX[h[8]!]! + HEX[h[9]!]! + "-" +
    HEX[h[10]!]! + HEX[h[11]!]! + HEX[h[12]!]! + HEX[h[13]!]! + HEX[h[14]!]! + HEX[h[15]!]!
  );
}

/**
 * The correlation id of a command: RULE is `operator` for operator commands; CAUSE is
 * `offsetCause(p, o)` or `timerCause(deadlineMs)`; ACTION_INDEX the action's index in its rule.
 */
export function correlationId(program: string, rule: string, assetUuid: string, cause: string, actionIndex: number): string {
  return uuidV5(`${program}/${rule}/${assetUuid}/${cause}/${actionIndex}`, OFL_NAMESPACE);
}

/** `offset:PARTITION:OFFSET`, the cause of a command issued while processing that input record. */
export function offsetCause(partition: number, offset: number): string {
  return `offset:${partition}:${offset}`;
}

/** `timer:DEADLINE_MS`, the cause of a command issued by a timer. */
export function timerCause(deadlineMs: number): string {
  return `timer:${deadlineMs}`;
}
