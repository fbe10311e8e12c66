// A KafkaLog that dies between two produce requests: the records up to the `allow`-th one that
// carries `header` (a worker's output) are produced, the rest of that append and every later one
// are refused. The rebuild tests cut a worker's run with it.
import { KafkaLog, type KafkaNewRecord } from "../../../runtime/log/kafka.js";
import type { LogRecord } from "../../../runtime/wire/types.js";

export class CutLog extends KafkaLog {
  constructor(
    brokers: string[],
    /** outputs still let through (may be lowered while it runs) */
    public allow: number,
    private readonly header: string,
  ) {
    super({ brokers });
  }
  override async append(records: KafkaNewRecord[]): Promise<LogRecord[]> {
    const outputs = records.filter((x) => x.headers?.[this.header] !== undefined).length;
    if (outputs <= this.allow) return (this.allow -= outputs), super.append(records);
    let k = 0;
    for (let n = 0; k < records.length; k++) if (records[k]!.headers?.[this.header] !== undefined && n++ === this.allow) break;
    if (k > 0) await super.append(records.slice(0, k));
    this.allow = 0;
    throw new Error("simulated death between two produce requests");
  }
}
