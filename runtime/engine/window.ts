// Windowed aggregates (language.md §5): accumulators, tumbling/hopping/session window sets,
// acceptance with grace, late events, the running value shown and the final value.
// Pure data structures: the engine arms the close timers these ask for and calls close().

import type { IrAggFn, IrWindow, Value } from "../../compiler/ir/types.js";

/** The running aggregate of one window. `n` counts events, `k` known (non-null) values. */
export class Acc {
  n = 0;
  k = 0;
  sum = 0;
  mean = 0;
  m2 = 0;
  min: Value = null;
  max: Value = null;
  first: Value = null;
  last: Value = null;
  /** global event sequence of `first`/`last` (to merge sessions in log order) */
  firstSeq = Infinity;
  lastSeq = -Infinity;
  trues = 0;

  add(v: Value, seq: number): void {
    this.n++;
    if (v === null) return;
    this.k++;
    if (typeof v === "number") {
      this.sum += v;
      const d = v - this.mean;
      this.mean += d / this.k;
      this.m2 += d * (v - this.mean);
    } else if (v === true) this.trues++;
    if (this.min === null || (v as number) < (this.min as number)) this.min = v;
    if (this.max === null || (v as number) > (this.max as number)) this.max = v;
    if (this.k === 1) {
      this.first = v;
      this.firstSeq = seq;
    }
    this.last = v;
    this.lastSeq = seq;
  }

  /** Folds `o` into this (session merge); Chan et al. for mean/M2. */
  merge(o: Acc): void {
    this.n += o.n;
    if (o.k === 0) return;
    if (this.k === 0) {
      this.k = o.k;
      this.sum = o.sum;
      this.mean = o.mean;
      this.m2 = o.m2;
      this.min = o.min;
      this.max = o.max;
      this.first = o.first;
      this.firstSeq = o.firstSeq;
      this.last = o.last;
      this.lastSeq = o.lastSeq;
      this.trues = o.trues;
      return;
    }
    const k = this.k + o.k;
    const d = o.mean - this.mean;
    this.m2 = this.m2 + o.m2 + (d * d * this.k * o.k) / k;
    this.mean = this.mean + (d * o.k) / k;
    this.k = k;
    this.sum += o.sum;
    this.trues += o.trues;
    if ((o.min as number) < (this.min as number)) this.min = o.min;
    if ((o.max as number) > (this.max as number)) this.max = o.max;
    if (o.firstSeq < this.firstSeq) {
      this.first = o.first;
      this.firstSeq = o.firstSeq;
    }
    if (o.lastSeq > this.lastSeq) {
      this.last = o.last;
      this.lastSeq = o.lastSeq;
    }
  }
}

/**
 * The value of an aggregate. `countEvents`: `count()` without an argument counts events, not
 * known values. Sum and count of nothing are 0, the others unknown.
 */
export function accValue(fn: IrAggFn, acc: Acc, countEvents: boolean): Value {
  switch (fn) {
    case "count":
      return countEvents ? acc.n : acc.k;
    case "sum":
      return acc.sum;
    case "avg":
      return acc.k === 0 ? null : acc.sum / acc.k;
    case "stddev":
      return acc.k < 2 ? null : Math.sqrt(Math.max(0, acc.m2) / (acc.k - 1));
    case "min":
      return acc.min;
    case "max":
      return acc.max;
    case "first":
      return acc.first;
    case "last":
      return acc.last;
    case "delta":
      return acc.k === 0 || typeof acc.last !== "number" ? null : (acc.last as number) - (acc.first as number);
    case "ratio":
      return acc.k === 0 ? null : acc.trues / acc.k;
  }
}

/** One open window: [start, end) for tumbling/hopping; a session's first and last event. */
export class Win {
  acc = new Acc();
  closed = false;
  constructor(
    public start: number,
    /** tumbling/hopping: exclusive end; session: the last event's time */
    public end: number,
    /** stream time at which it closes (end + grace; session: last + gap + grace + 1 ms, i.e. once passed) */
    public closeAt: number,
  ) {}
}

/** Asks the owner to arm a close timer for `w` at `w.closeAt`. */
export type ArmClose = (w: Win) => void;

/**
 * The windows of one aggregate (one asset's state, or one group of a view). Open windows only,
 * sorted by start; closed ones are dropped once their final value is taken.
 */
export class WindowSet {
  /** open windows, by start */
  wins: Win[] = [];
  /** the running value shown (of the earliest window holding the latest accepted event) */
  shown: Value = null;
  /** the value of the most recently closed window that had events */
  finalValue: Value = null;
  /** whether any window has closed with events (else finalValue is unknown) */
  hasFinal = false;

  constructor(
    readonly fn: IrAggFn,
    readonly countEvents: boolean,
    readonly w: IrWindow,
    readonly arm: ArmClose,
  ) {}

  /**
   * Offers an event at time `t` with value `v` (null = unknown, skipped by the aggregate) at
   * stream time `stream` (which already includes the event). Returns false when no window
   * accepts it (late).
   */
  add(t: number, v: Value, stream: number, seq: number): boolean {
    if (this.w.kind === "session") return this.addSession(t, v, stream, seq);
    const size = this.w.sizeMs;
    const hop = this.w.kind === "hopping" ? (this.w.hopMs ?? size) : size;
    const grace = this.w.graceMs;
    if (!(t >= 0)) return false; // windows never start before the epoch
    let earliest: Win | null = null;
    // starts s = k*hop with s <= t < s + size, s >= 0, ascending
    const sMax = Math.floor(t / hop) * hop;
    let s = sMax;
    while (s - hop > t - size && s - hop >= 0) s -= hop;
    // skip the windows that would be closed already: acceptance needs stream < end + grace
    while (s <= sMax && !(stream < s + size + grace)) s += hop;
    if (s > sMax) return false;
    const ws = this.wins;
    // one forward walk over the open windows (sorted by start), from the first start >= s
    let j = ws.length;
    while (j > 0 && ws[j - 1]!.start >= s) j--;
    for (; s <= sMax; s += hop) {
      while (j < ws.length && ws[j]!.start < s) j++;
      let win = j < ws.length ? ws[j]! : undefined;
      if (win === undefined || win.start !== s) {
        win = new Win(s, s + size, s + size + grace);
        ws.splice(j, 0, win);
        this.arm(win);
      }
      j++;
      win.acc.add(v, seq);
      if (earliest === null) earliest = win;
    }
    this.shown = accValue(this.fn, earliest!.acc, this.countEvents);
    return true;
  }

  private addSession(t: number, v: Value, stream: number, seq: number): boolean {
    const gap = this.w.sizeMs;
    const grace = this.w.graceMs;
    const ws = this.wins;
    // open sessions within `gap` of t: contiguous in start order
    let lo = -1;
    let hi = -1;
    let start = t;
    let last = t;
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      if (w.start - gap <= t && t <= w.end + gap) {
        if (lo < 0) lo = i;
        hi = i;
        if (w.start < start) start = w.start;
        if (w.end > last) last = w.end;
      }
    }
    // language.md §5: a session closes when stream time *passes* last + gap + grace (so an event
    // exactly `gap` after the last still joins it, as in Kafka Streams); times are integer ms
    const closeAt = last + gap + grace + 1;
    if (!(stream < closeAt)) return false;
    let win: Win;
    if (lo < 0) {
      win = new Win(start, last, closeAt);
      let i = ws.length;
      while (i > 0 && ws[i - 1]!.start > start) i--;
      ws.splice(i, 0, win);
    } else {
      win = ws[lo]!;
      for (let i = lo + 1; i <= hi; i++) {
        const o = ws[i]!;
        win.acc.merge(o.acc);
        o.closed = true; // its pending close timer is now stale
      }
      if (hi > lo) ws.splice(lo + 1, hi - lo);
      win.start = start;
      win.end = last;
    }
    win.acc.add(v, seq);
    if (win.closeAt !== closeAt || lo < 0) {
      win.closeAt = closeAt;
      this.arm(win);
    }
    this.shown = accValue(this.fn, win.acc, this.countEvents);
    return true;
  }

  /**
   * The close timer of `w` fired at `deadline`. Returns true when it closed a window with events
   * (the final value may have changed). Stale timers (merged sessions, moved deadlines) do nothing.
   */
  close(w: Win, deadline: number): boolean {
    if (w.closed || w.closeAt !== deadline) return false;
    w.closed = true;
    const i = this.wins.indexOf(w);
    if (i >= 0) this.wins.splice(i, 1);
    if (w.acc.n === 0) return false;
    this.finalValue = accValue(this.fn, w.acc, this.countEvents);
    this.hasFinal = true;
    return true;
  }

  /** The value shown: final (EMIT FINAL) or running (EMIT CHANGES). */
  value(final: boolean): Value {
    return final ? (this.hasFinal ? this.finalValue : null) : this.shown;
  }
}

// a pane's numbers, at slot * FIELDS in PaneSet.num (the Acc fields, unboxed, side by side)
const N = 0;
const K = 1;
const SUM = 2;
const MEAN = 3;
const M2 = 4;
const TRUES = 5;
const FIRST_SEQ = 6;
const LAST_SEQ = 7;
const FIELDS = 8;
// a pane's values, at slot * 4 in PaneSet.vals (kept only by the functions that read them)
const MIN = 0;
const MAX = 1;
const FIRST = 2;
const LAST = 3;
/** paneValue's accumulator (filled from a slot, read at once) */
const SCRATCH = new Acc();

/**
 * The windows of one asset's aggregate that is neither `final` nor graced-away into a close
 * timer, as panes (issue 15): one running accumulator per hop, combined on read. No window
 * objects, no close timers: a window's acceptance (stream < end + grace) and the value shown
 * (the earliest window holding the latest event) follow from the stream time.
 *
 * Equivalence with WindowSet: window [s, s+size) is still open now, so it was open when any
 * event in its range was accepted; the events it holds are exactly the accepted events of its
 * panes. Combining panes adds integer counts only (count, ratio), or takes one pane whole
 * (tumbling, size = hop): the same numbers as one accumulator fed in event order.
 *
 * Panes live in a ring indexed by pane number; `tag[slot]` says which pane a slot holds. The
 * panes any open window can read span at most (size + grace) / hop + 2 pane numbers, fewer
 * than the ring's length, so a slot holding another pane is one no open window reads.
 */
export class PaneSet {
  /** the running value shown (of the earliest window holding the latest accepted event) */
  shown: Value = null;
  /** per ring slot: the pane number it holds (-1: none) */
  readonly tag: Float64Array;
  /** per ring slot: n, k, sum, mean, m2, trues, firstSeq, lastSeq (one allocation: no Acc objects, no boxed numbers) */
  readonly num: Float64Array;
  /** per ring slot: min, max, first, last; only for the functions that read them (min, max, first, last, delta) */
  readonly vals: Value[] | null;
  readonly hop: number;
  readonly per: number;
  private readonly stddev: boolean;

  constructor(
    readonly fn: IrAggFn,
    readonly countEvents: boolean,
    readonly w: IrWindow,
  ) {
    this.hop = w.kind === "hopping" ? (w.hopMs ?? w.sizeMs) : w.sizeMs;
    this.per = w.sizeMs / this.hop;
    const ring = PaneSet.ring(w);
    this.tag = new Float64Array(ring).fill(-1);
    this.num = new Float64Array(ring * FIELDS);
    this.vals = fn === "min" || fn === "max" || fn === "first" || fn === "last" || fn === "delta" ? new Array<Value>(ring * 4).fill(null) : null;
    this.stddev = fn === "stddev";
  }

  static ring(w: IrWindow): number {
    const hop = w.kind === "hopping" ? (w.hopMs ?? w.sizeMs) : w.sizeMs;
    return Math.ceil((w.sizeMs + w.graceMs) / hop) + 3;
  }

  /** Whether an aggregate can use panes: tumbling or hopping by whole hops, and (more than one pane per window) an integer-count aggregate. */
  static fits(fn: IrAggFn, w: IrWindow, final: boolean): boolean {
    if (final || w.kind === "session") return false;
    const hop = w.kind === "hopping" ? (w.hopMs ?? w.sizeMs) : w.sizeMs;
    if (!(hop > 0) || !Number.isSafeInteger(hop) || !Number.isSafeInteger(w.sizeMs) || !Number.isSafeInteger(w.graceMs) || w.sizeMs % hop !== 0) return false;
    if (PaneSet.ring(w) > 64) return false;
    return hop === w.sizeMs || fn === "count" || fn === "ratio";
  }

  /** As WindowSet.add: false when no window accepts the event (late). */
  add(t: number, v: Value, stream: number, seq: number): boolean {
    if (!(t >= 0)) return false;
    const hop = this.hop;
    const size = this.w.sizeMs;
    const q = Math.floor(t / hop);
    const sMax = q * hop;
    // the earliest window start holding t (>= 0), then the earliest still open (stream < s + size + grace)
    let s = Math.max(0, sMax - size + hop);
    const open = (Math.floor((stream - size - this.w.graceMs) / hop) + 1) * hop;
    if (open > s) s = open;
    if (s > sMax) return false;
    const tag = this.tag;
    const ring = tag.length;
    const slot = q % ring;
    if (tag[slot] !== q) {
      tag[slot] = q;
      this.clear(slot);
    }
    this.accumulate(slot, v, seq);
    if (this.per === 1) {
      this.shown = this.paneValue(slot);
      return true;
    }
    // count/ratio of window [s, s + size): the panes' integer counts added
    const num = this.num;
    let n = 0;
    let k = 0;
    let trues = 0;
    const q0 = s / hop;
    for (let p = q0; p < q0 + this.per; p++) {
      const i = p % ring;
      if (tag[i] !== p) continue;
      const o = i * FIELDS;
      n += num[o + N]!;
      k += num[o + K]!;
      trues += num[o + TRUES]!;
    }
    this.shown = this.fn === "count" ? (this.countEvents ? n : k) : k === 0 ? null : trues / k;
    return true;
  }

  value(_final: boolean): Value {
    return this.shown;
  }

  /** As Acc.add, into a slot (mean and m2 only for stddev). */
  private accumulate(slot: number, v: Value, seq: number): void {
    const num = this.num;
    const o = slot * FIELDS;
    num[o + N]!++;
    if (v === null) return;
    const k = ++num[o + K]!;
    if (typeof v === "number") {
      num[o + SUM]! += v;
      if (this.stddev) {
        const mean = num[o + MEAN]!;
        const d = v - mean;
        const m = mean + d / k;
        num[o + MEAN] = m;
        num[o + M2]! += d * (v - m);
      }
    } else if (v === true) num[o + TRUES]!++;
    if (k === 1) num[o + FIRST_SEQ] = seq;
    num[o + LAST_SEQ] = seq;
    const vals = this.vals;
    if (vals === null) return;
    const b = slot * 4;
    if (vals[b + MIN] === null || (v as number) < (vals[b + MIN] as number)) vals[b + MIN] = v;
    if (vals[b + MAX] === null || (v as number) > (vals[b + MAX] as number)) vals[b + MAX] = v;
    if (k === 1) vals[b + FIRST] = v;
    vals[b + LAST] = v;
  }

  private clear(slot: number): void {
    const o = slot * FIELDS;
    this.num.fill(0, o, o + FIELDS);
    this.num[o + FIRST_SEQ] = Infinity;
    this.num[o + LAST_SEQ] = -Infinity;
    if (this.vals !== null) this.vals.fill(null, slot * 4, slot * 4 + 4);
  }

  /** The aggregate of the slot's pane (accValue over it). */
  private paneValue(slot: number): Value {
    return accValue(this.fn, this.read(slot, SCRATCH), this.countEvents);
  }

  /** The slot's pane into `a` (mean and m2 are 0 unless the function is stddev; min, max, first and last null unless kept). */
  private read(slot: number, a: Acc): Acc {
    const num = this.num;
    const o = slot * FIELDS;
    a.n = num[o + N]!;
    a.k = num[o + K]!;
    a.sum = num[o + SUM]!;
    a.mean = num[o + MEAN]!;
    a.m2 = num[o + M2]!;
    a.trues = num[o + TRUES]!;
    a.firstSeq = num[o + FIRST_SEQ]!;
    a.lastSeq = num[o + LAST_SEQ]!;
    const vals = this.vals;
    const b = slot * 4;
    a.min = vals === null ? null : vals[b + MIN]!;
    a.max = vals === null ? null : vals[b + MAX]!;
    a.first = vals === null ? null : vals[b + FIRST]!;
    a.last = vals === null ? null : vals[b + LAST]!;
    return a;
  }

  /** The slots in use as [pane number, accumulator] (checkpoints; see state.ts). */
  panes(): [number, Acc][] {
    const out: [number, Acc][] = [];
    this.tag.forEach((q, slot) => {
      if (q >= 0) out.push([q, this.read(slot, new Acc())]);
    });
    return out;
  }

  /** Replaces the panes (checkpoint restore; the ring is this program's, so slots follow). */
  setPanes(panes: [number, Acc][]): void {
    this.tag.fill(-1);
    for (let slot = 0; slot < this.tag.length; slot++) this.clear(slot);
    const num = this.num;
    for (const [q, a] of panes) {
      const slot = q % this.tag.length;
      this.tag[slot] = q;
      const o = slot * FIELDS;
      num[o + N] = a.n;
      num[o + K] = a.k;
      num[o + SUM] = a.sum;
      num[o + MEAN] = a.mean;
      num[o + M2] = a.m2;
      num[o + TRUES] = a.trues;
      num[o + FIRST_SEQ] = a.firstSeq;
      num[o + LAST_SEQ] = a.lastSeq;
      if (this.vals !== null) this.vals.splice(slot * 4, 4, a.min, a.max, a.first, a.last);
    }
  }
}
