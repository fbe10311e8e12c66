// Checkpoint (de)serialization of the engine's plain data structures: cells, accumulators,
// window sets. The engine's own walk over its nodes is Engine.saveState/loadState (index.ts);
// the file format (version, program hash, checksum) is checkpoint.ts.
//
// Everything here is plain JSON-able data except numbers: -0, ±Infinity and NaN occur in state
// (an empty accumulator's firstSeq, a cell's reportTime before any report) and are kept exactly
// by checkpoint.ts's number encoding.

import type { Value } from "../../compiler/ir/types.js";
import type { Cell } from "./cells.js";
import { Acc, Win, type PaneSet, type WindowSet } from "./window.js";

/** A cell: [v, prev, changedPass, reportTime] */
export type CellState = [Value, Value, number, number];

export function saveCell(c: Cell): CellState {
  return [c.v, c.prev, c.changedPass, c.reportTime];
}

export function loadCell(c: Cell, s: CellState): void {
  c.v = s[0];
  c.prev = s[1];
  c.changedPass = s[2];
  c.reportTime = s[3];
}

/** An accumulator: [n, k, sum, mean, m2, min, max, first, last, firstSeq, lastSeq, trues] */
export type AccState = [number, number, number, number, number, Value, Value, Value, Value, number, number, number];

export function saveAcc(a: Acc): AccState {
  return [a.n, a.k, a.sum, a.mean, a.m2, a.min, a.max, a.first, a.last, a.firstSeq, a.lastSeq, a.trues];
}

export function loadAcc(s: AccState): Acc {
  const a = new Acc();
  [a.n, a.k, a.sum, a.mean, a.m2, a.min, a.max, a.first, a.last, a.firstSeq, a.lastSeq, a.trues] = s;
  return a;
}

/** A window set: open windows [start, end, closeAt, acc], the running value shown, the final value */
export interface WindowSetState {
  wins: [number, number, number, AccState][];
  shown: Value;
  finalValue: Value;
  hasFinal: boolean;
}

export function saveWindowSet(s: WindowSet): WindowSetState {
  return {
    wins: s.wins.map((w) => [w.start, w.end, w.closeAt, saveAcc(w.acc)]),
    shown: s.shown,
    finalValue: s.finalValue,
    hasFinal: s.hasFinal,
  };
}

/** Restores into `s` (constructed by the engine for the same program: fn, window, arm callback). */
export function loadWindowSet(s: WindowSet, st: WindowSetState): void {
  s.wins = st.wins.map(([start, end, closeAt, acc]) => {
    const w = new Win(start, end, closeAt);
    w.acc = loadAcc(acc);
    return w;
  });
  s.shown = st.shown;
  s.finalValue = st.finalValue;
  s.hasFinal = st.hasFinal;
}

/** A pane set (window.ts PaneSet): the ring slots in use as [pane number, acc], the value shown */
export interface PaneSetState {
  panes: [number, AccState][];
  shown: Value;
}

export function savePaneSet(s: PaneSet): PaneSetState {
  return { panes: s.panes().map(([q, acc]) => [q, saveAcc(acc)]), shown: s.shown };
}

/** Restores into `s` (constructed by the engine for the same program: same fn, window, ring). */
export function loadPaneSet(s: PaneSet, st: PaneSetState): void {
  s.setPanes(st.panes.map(([q, acc]) => [q, loadAcc(acc)]));
  s.shown = st.shown;
}
