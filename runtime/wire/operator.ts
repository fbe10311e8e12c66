// Operator commands (language spec §7.1): issued by a person (`ofl send`, the dashboard, a
// test's `send`), they enter the log as input records whose envelope's rule is "operator".
import type { IrAsset, IrProgram, Value } from "../../compiler/ir/types.js";
import { valueText } from "../engine/index.js";
import { correlationId, offsetCause } from "./correlation.js";
import { ASSETS_TOPIC, commandValue } from "./records.js";
import type { CommandEnvelope, LogRecord } from "./types.js";

/** An operator command as an input record (`send` in tests, `ofl send`). */
export function operatorCommandRecord(
  ir: IrProgram,
  asset: IrAsset,
  command: string,
  args: { name: string; value: Value }[],
  timeMs: number,
  offset: number,
): LogRecord {
  const envelope: CommandEnvelope = {
    header: {
      correlation_id: correlationId(ir.program, "operator", asset.uuid, offsetCause(0, offset), 0),
      sender_uuid: `OFL-${ir.program}`,
      timestamp: new Date(timeMs).toISOString(),
      signature: null,
      rule: "operator",
      cause_offset: offset,
      shadow: false,
    },
    arguments: Object.fromEntries(args.map((a) => [a.name, valueText(a.value)])),
  };
  return { topic: ASSETS_TOPIC, partition: 0, offset, ts: timeMs, key: asset.uuid, value: commandValue(command, envelope, timeMs) };
}
