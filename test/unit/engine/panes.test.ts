// Panes (window.ts PaneSet) against the window objects they replace (WindowSet with its close
// timers): the same acceptance (late or not) and the same running value shown, event by event,
// over seeded out-of-order event streams, for tumbling and hopping windows with and without grace.

import { describe, expect, it } from "vitest";
import type { IrAggFn, IrWindow, Value } from "../../../compiler/ir/types.js";
import { PaneSet, WindowSet, type Win } from "../../../runtime/engine/window.js";
import { loadPaneSet, savePaneSet } from "../../../runtime/engine/state.js";

function lcg(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 4294967296) * n);
  };
}

/** WindowSet driven as the engine drives it: close timers fire (deadline order) before stream time passes them. */
class Reference {
  timers: Win[] = [];
  set: WindowSet;
  constructor(fn: IrAggFn, countEvents: boolean, w: IrWindow) {
    this.set = new WindowSet(fn, countEvents, w, (win) => this.timers.push(win));
  }
  add(t: number, v: Value, stream: number, seq: number): boolean {
    this.timers.sort((a, b) => a.closeAt - b.closeAt);
    while (this.timers.length > 0 && this.timers[0]!.closeAt <= stream) {
      const w = this.timers.shift()!;
      this.set.close(w, w.closeAt);
    }
    return this.set.add(t, v, stream, seq);
  }
}

const cases: [IrAggFn, boolean, IrWindow][] = [
  ["avg", false, { kind: "tumbling", sizeMs: 1000, graceMs: 0 }],
  ["stddev", false, { kind: "tumbling", sizeMs: 1000, graceMs: 700 }],
  ["first", false, { kind: "tumbling", sizeMs: 500, graceMs: 1200 }],
  ["ratio", false, { kind: "hopping", sizeMs: 3000, hopMs: 1000, graceMs: 0 }],
  ["ratio", false, { kind: "hopping", sizeMs: 4000, hopMs: 500, graceMs: 900 }],
  ["count", true, { kind: "hopping", sizeMs: 2000, hopMs: 1000, graceMs: 400 }],
  ["count", false, { kind: "hopping", sizeMs: 6000, hopMs: 1000, graceMs: 2500 }],
  ["sum", false, { kind: "hopping", sizeMs: 1000, hopMs: 1000, graceMs: 0 }],
  ["min", false, { kind: "tumbling", sizeMs: 800, graceMs: 300 }],
  ["max", false, { kind: "tumbling", sizeMs: 1000, graceMs: 0 }],
  ["last", false, { kind: "tumbling", sizeMs: 700, graceMs: 500 }],
  ["delta", false, { kind: "tumbling", sizeMs: 1000, graceMs: 200 }],
  ["count", false, { kind: "tumbling", sizeMs: 900, graceMs: 0 }],
];

describe("window panes", () => {
  it("take only what they reproduce exactly: non-final, whole hops, one pane or integer counts", () => {
    expect(PaneSet.fits("avg", { kind: "tumbling", sizeMs: 1000, graceMs: 0 }, false)).toBe(true);
    expect(PaneSet.fits("avg", { kind: "tumbling", sizeMs: 1000, graceMs: 0 }, true)).toBe(false);
    expect(PaneSet.fits("avg", { kind: "hopping", sizeMs: 3000, hopMs: 1000, graceMs: 0 }, false)).toBe(false);
    expect(PaneSet.fits("ratio", { kind: "hopping", sizeMs: 3000, hopMs: 1000, graceMs: 0 }, false)).toBe(true);
    expect(PaneSet.fits("ratio", { kind: "hopping", sizeMs: 2500, hopMs: 1000, graceMs: 0 }, false)).toBe(false);
    expect(PaneSet.fits("count", { kind: "session", sizeMs: 1000, graceMs: 0 }, false)).toBe(false);
  });

  for (const [fn, countEvents, w] of cases) {
    it(`${fn} over ${w.kind} ${w.sizeMs}/${w.hopMs ?? w.sizeMs} grace ${w.graceMs}: same acceptance and value as window objects, and a saved/loaded copy continues the same (seeded)`, () => {
      expect(PaneSet.fits(fn, w, false)).toBe(true);
      let late = 0;
      for (let seed = 1; seed <= 20; seed++) {
        const rnd = lcg(seed);
        const ref = new Reference(fn, countEvents, w);
        let panes = new PaneSet(fn, countEvents, w);
        let stream = -Infinity;
        let t = rnd(3000);
        for (let i = 0; i < 600; i++) {
          t += rnd(400);
          // now and then an event behind stream time (late or within grace)
          const et = rnd(5) === 0 ? t - rnd(w.sizeMs + w.graceMs + 2000) : t;
          if (et > stream) stream = et;
          const v: Value = fn === "ratio" ? (rnd(4) === 0 ? null : rnd(2) === 0) : rnd(5) === 0 ? null : rnd(100) / 10;
          const a = ref.add(et, v, stream, i);
          const b = panes.add(et, v, stream, i);
          expect(b).toBe(a);
          if (!a) late++;
          expect(panes.value(false)).toBe(ref.set.value(false));
          if (i % 97 === 0) {
            const copy = new PaneSet(fn, countEvents, w);
            loadPaneSet(copy, JSON.parse(JSON.stringify(savePaneSet(panes))));
            panes = copy;
          }
        }
      }
      expect(late).toBeGreaterThan(20); // the streams do exercise late events
    });
  }
});
