// The cross stage's order (issue 14; docs/deploy.md "Partitions"): the inputs of every partition
// of `ofa_assets` merged into one stream, the way Kafka Streams' PartitionGroup picks its next
// record. Only the engine's inputs take part (telemetry, availability, clock records, operator
// commands: what moves stream time); outputs on the same partitions do not, so the order of the
// inputs never depends on when a worker wrote its outputs. The next input is the head with the
// smallest event time (the partition's number breaks a tie), taken only when every partition has
// a head: the order is a function of the partitions' contents alone, and the same in the live
// cross stage (runtime/worker/cross.ts) and in `ofl test --replay` of a session of every
// partition. A partition with nothing new holds the merge back until its worker's next clock
// record: that is the latency the stage adds (one clock period, 100 ms by default).
import type { WireEvent } from "./types.js";

/** The event time the merge orders an engine input by (telemetry, availability, clock, operator command); undefined for anything else. */
export function mergeTime(ev: WireEvent): number | undefined {
  const k = ev.kind;
  return k === "telemetry" || k === "avail" || k === "clock" || k === "operator_command" ? ev.time : undefined;
}

/** A k-way merge of the partitions' inputs; `push` them in offset order per partition. */
export class PartitionMerge<T extends { time: number }> {
  private readonly queues: T[][];
  /** index of each queue's head (queues are compacted as they drain) */
  private readonly heads: number[];
  /** partitions that will have no more input (a session read to its end): the merge goes on without them */
  private readonly ended: boolean[];

  constructor(readonly partitions: number) {
    this.queues = Array.from({ length: partitions }, () => []);
    this.heads = new Array<number>(partitions).fill(0);
    this.ended = new Array<boolean>(partitions).fill(false);
  }

  /** No more input will come for this partition: once its queue is empty the others go on. */
  end(partition: number): void {
    this.ended[partition] = true;
  }

  push(partition: number, item: T): void {
    this.queues[partition]!.push(item);
  }

  /** Inputs waiting in a partition (not merged yet). */
  waiting(partition: number): number {
    return this.queues[partition]!.length - this.heads[partition]!;
  }

  /** The next input of a partition, not merged yet (undefined: none waiting). */
  peek(partition: number): T | undefined {
    return this.queues[partition]![this.heads[partition]!];
  }

  /** The next input in merge order and its partition, or undefined while some partition has none. */
  next(): { partition: number; item: T } | undefined {
    let best = -1;
    let bestTime = Infinity;
    for (let p = 0; p < this.partitions; p++) {
      const q = this.queues[p]!;
      const h = this.heads[p]!;
      if (h >= q.length) {
        if (this.ended[p]) continue;
        return undefined;
      }
      const t = q[h]!.time;
      if (best < 0 || t < bestTime) (best = p), (bestTime = t);
    }
    if (best < 0) return undefined; // every partition ended and empty
    const q = this.queues[best]!;
    const item = q[this.heads[best]!++]!;
    if (this.heads[best]! === q.length) {
      q.length = 0;
      this.heads[best] = 0;
    } else if (this.heads[best]! > 4096 && this.heads[best]! * 2 > q.length) {
      q.splice(0, this.heads[best]!);
      this.heads[best] = 0;
    }
    return { partition: best, item };
  }
}

/**
 * Records of several partitions (each partition's in offset order, the partitions one after the
 * other or interleaved) in the merge's order: each input as the merge takes it, followed by the
 * records after it on its partition; records before a partition's first input are passed on as
 * they are read; once every record is read, a partition with no input left no longer holds the
 * others back. Streams: it holds only what the merge waits on (an input's group is complete when
 * its partition's next input is read): for a session in merged order, as `ofl record --kafka`
 * writes it, at most about twice what lies between two inputs of one partition (rule workers
 * write a clock record to each partition every 100 ms); for partitions one after the other,
 * all but the last.
 */
export function* mergedOrder<T>(items: Iterable<T>, partitions: number, read: (x: T) => { partition: number; ev: WireEvent }): Generator<T> {
  const merge = new PartitionMerge<{ time: number; recs: T[] }>(partitions);
  /** per partition, the group of its latest input (records after it join it); pushed to the merge once complete */
  const last: ({ time: number; recs: T[] } | undefined)[] = new Array(partitions).fill(undefined);
  for (const x of items) {
    const { partition, ev } = read(x);
    const p = Math.min(Math.max(partition, 0), partitions - 1);
    const time = mergeTime(ev);
    const open = last[p];
    if (time !== undefined) {
      last[p] = { time, recs: [x] };
      if (open !== undefined) {
        merge.push(p, open);
        for (let g = merge.next(); g !== undefined; g = merge.next()) yield* g.item.recs;
      }
    } else if (open === undefined) yield x;
    else open.recs.push(x);
  }
  for (let p = 0; p < partitions; p++) {
    const open = last[p];
    if (open !== undefined) merge.push(p, open);
    merge.end(p);
  }
  for (let g = merge.next(); g !== undefined; g = merge.next()) yield* g.item.recs;
}
