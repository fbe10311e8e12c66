// KafkaLogs that misbehave on purpose, on the real broker: the Kafka tests cut a worker's run
// with them, or hold its reading still to look at it.
import { KafkaLog, type KafkaNewRecord, type Tail, type TailOptions } from "../../../runtime/log/kafka.js";
import type { LogRecord } from "../../../runtime/wire/types.js";

/**
 * Dies between two produce requests: the records up to the `allow`-th one that carries `header`
 * (a worker's output) are produced, the rest of that append and every later one are refused.
 */
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

/** Its reads of `topic` (`partition`: of that one alone) hold their first batch back until `release()`. */
export class GatedReadLog extends KafkaLog {
  holding = false;
  release!: () => void;
  private readonly gate = new Promise<void>((r) => (this.release = r));
  constructor(
    brokers: string[],
    private readonly topic: string,
    private readonly partition?: number,
  ) {
    super({ brokers });
  }
  override tail(opts: TailOptions): Promise<Tail> {
    if (opts.topic !== this.topic || (this.partition !== undefined && (opts.partition ?? 0) !== this.partition)) return super.tail(opts);
    return super.tail({ ...opts, onBatch: async (recs, info) => {
        this.holding = true;
        await this.gate;
        return opts.onBatch(recs, info);
      } });
  }
}
