// Binary min-heaps: timers by (deadline, arming order), dirty nodes by rank.

/** A timer: fires at `deadline`; ties fire in arming order (`seq`). */
export interface Timer {
  deadline: number;
  seq: number;
}

export class TimerHeap<T extends Timer> {
  private a: T[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.a.length;
  }

  /** Arms `t` (assigns its arming order). */
  push(t: T): void {
    t.seq = this.nextSeq++;
    const a = this.a;
    let i = a.length;
    a.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = a[p]!;
      if (q.deadline < t.deadline || (q.deadline === t.deadline && q.seq < t.seq)) break;
      a[i] = q;
      i = p;
    }
    a[i] = t;
  }

  /** Checkpoints: the armed timers (heap order, not firing order) and the next arming order. */
  dump(): { items: readonly T[]; nextSeq: number } {
    return { items: this.a, nextSeq: this.nextSeq };
  }

  /** Checkpoints: replaces the contents; each timer keeps its `seq` (its arming order). */
  load(items: T[], nextSeq: number): void {
    this.a = [];
    const sorted = items.slice().sort((x, y) => x.deadline - y.deadline || x.seq - y.seq);
    // a sorted array is a valid min-heap
    this.a = sorted;
    this.nextSeq = nextSeq;
  }

  peekDeadline(): number {
    return this.a.length === 0 ? Infinity : this.a[0]!.deadline;
  }

  pop(): T | undefined {
    const a = this.a;
    const n = a.length;
    if (n === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (n > 1) {
      const m = n - 1;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= m) break;
        let c = l;
        let cv = a[l]!;
        const r = l + 1;
        if (r < m) {
          const rv = a[r]!;
          if (rv.deadline < cv.deadline || (rv.deadline === cv.deadline && rv.seq < cv.seq)) {
            c = r;
            cv = rv;
          }
        }
        if (last.deadline < cv.deadline || (last.deadline === cv.deadline && last.seq < cv.seq)) break;
        a[i] = cv;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

export interface Ranked {
  rank: number;
}

/** Min-heap of nodes by rank (distinct ranks). */
export class RankHeap<T extends Ranked> {
  private a: T[] = [];

  get size(): number {
    return this.a.length;
  }

  push(t: T): void {
    const a = this.a;
    let i = a.length;
    a.push(t);
    const r = t.rank;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = a[p]!;
      if (q.rank < r) break;
      a[i] = q;
      i = p;
    }
    a[i] = t;
  }

  pop(): T | undefined {
    const a = this.a;
    const n = a.length;
    if (n === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (n > 1) {
      const m = n - 1;
      const r = last.rank;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= m) break;
        let c = l;
        let cv = a[l]!;
        if (l + 1 < m && a[l + 1]!.rank < cv.rank) {
          c = l + 1;
          cv = a[c]!;
        }
        if (r < cv.rank) break;
        a[i] = cv;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
