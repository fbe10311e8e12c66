// The OFL engine: the one deterministic interpreter of a compiled program (IrProgram) over a log
// of classified records (WireEvent). See CONTEXT.md for the design; language.md §3-§7 for the
// semantics. No wall clock, no randomness: outputs are a pure function of the inputs.

import type {
  IrAction,
  IrAggFn,
  IrAggregate,
  IrCommand,
  IrExpr,
  IrModel,
  IrProgram,
  IrRule,
  IrState,
  IrStatefulDef,
  IrType,
  IrView,
  IrWindow,
  Value,
} from "../../compiler/ir/types.js";
import { correlationId, offsetCause, timerCause } from "../wire/correlation.js";
import { commandValue, deadLetterValue, DEFAULT_FUTURE_TOLERANCE_MS, futureTimeDetail, isFutureTime, IsoTimes, resultValue } from "../wire/records.js";
import { boundedCopy } from "../wire/excerpt.js";
import {
  ASSETS_TOPIC,
  DEADLETTER_TOPIC,
  type AssetValue,
  type CommandEnvelope,
  type CommandHeader,
  type DeadLetterReason,
  type LogRecord,
  type NewRecord,
  type WireEvent,
} from "../wire/types.js";
import { compileExpr, compileParts, type Code, type Parts } from "./codegen.js";
import { Cell, newDeps, type AssetCells, type Deps, type Fn, type Resolver, type Rt, type Scope, type ViewCells } from "./cells.js";
import { describeExpr } from "./describe.js";
import { RankHeap, TimerHeap, type Timer } from "./heap.js";
import { isSampleType, parseTelemetryValue, Rejection, valueText, type EnumMap } from "./values.js";
import { Acc, accValue, PaneSet, WindowSet, type Win } from "./window.js";
import { loadCell, loadPaneSet, loadWindowSet, saveCell, savePaneSet, saveWindowSet, type CellState, type PaneSetState, type WindowSetState } from "./state.js";

export { parseTelemetryValue, Rejection, isJsonNumber, valueText } from "./values.js";
export { describeExpr } from "./describe.js";
export type { Value };

export interface EngineOptions {
  program: IrProgram;
  /** the runtime's own uuid, sender of commands and key of its clock records; default `OFL-${program.program}` */
  senderUuid?: string;
  /** every record the engine writes, in order: derived values, alarm transitions, commands, rejected results, dead letters */
  onOutput: (rec: NewRecord) => void;
  /**
   * false: do not write derived-value records (replays and time travel that only look at
   * decisions and state). Nothing else changes: states, timers and decisions are the same.
   */
  derivedOutputs?: boolean;
}

export interface AssetSnapshot {
  uuid: string;
  model: string;
  telemetry: Record<string, Value>;
  /** visible (non-hidden) states */
  states: Record<string, Value>;
  /** `NAME.active` */
  alarms: Record<string, boolean>;
}

export interface EngineSnapshot {
  /** null before any input */
  streamTime: number | null;
  /** by asset name, in program order */
  assets: Record<string, AssetSnapshot>;
  /** ungrouped: the value; grouped: by group, groups sorted */
  views: Record<string, Value | Record<string, Value>>;
  /** late events per windowed aggregate (`asset.state` or `view`) */
  late: Record<string, number>;
}

/**
 * The engine's complete mutable state between two passes (checkpoints): cells, node state
 * (timers' generations, `for` runs, windows, rule edges and cooldowns), views, pending timers,
 * stream time and pass counters. Positional: valid only for an engine of the same program
 * (checkpoint.ts guards that with the program hash). Numbers may be -0, ±Infinity or NaN.
 */
export interface EngineState {
  st: number;
  /** see inputHorizon */
  horizon: number;
  clock: number;
  now: number;
  pass: number;
  eventSeq: number;
  started: boolean;
  causePartition: number;
  /** lastPass per asset */
  assets: number[];
  /** telemetry cells of every asset, then the cells of state and alarm nodes in node order */
  cells: CellState[];
  /** per node: [flipAt, flipGen, ...kind-specific] */
  nodes: unknown[][];
  tables: { inc: boolean[]; val: Value[]; groups: [string, Value][] }[];
  windowViews: { late: number; sets: [string, WindowSetState | PaneSetState][] }[];
  /** [deadline, seq, kind, node index, gen, view group key or null, open window index] */
  timers: [number, number, number, number, number, string | null, number][];
  nextTimerSeq: number;
}

// ---------------------------------------------------------------- runtime structures

interface TelInfo {
  name: string;
  type: IrType;
  range: [number, number] | undefined;
  members: ReadonlySet<string> | undefined;
}

interface ModelRt {
  ir: IrModel;
  tel: TelInfo[];
  telIdx: Map<string, number>;
  commands: Map<string, IrCommand>;
}

interface CmdRt {
  ir: IrCommand;
  asset: AssetRt;
  names: string[];
  box: Value[];
  requires: Fn | null;
  requiresText: string;
  members: (ReadonlySet<string> | undefined)[];
}

/** The parts of an `and` chain, left to right. */
function conjuncts(e: IrExpr): IrExpr[] {
  return e.k === "binary" && e.op === "and" ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

/** The source text of each part of `a and b and c` (split at top-level `and`), or undefined. */
function conjunctTexts(text: string, n: number): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (depth === 0 && text.startsWith(" and ", i)) {
      parts.push(text.slice(from, i).trim());
      from = i + 5;
    }
  }
  parts.push(text.slice(from).trim());
  return parts.length === n ? parts : undefined;
}

const interlockParts = new WeakMap<CmdRt, { fn: Fn; text: string; left?: { fn: Fn; text: string; unit: string } }[]>();

/**
 * The reason of a failed `requires`: the first part of its `and` chain that is false (or unknown),
 * with the value its left side had: `interlock: requires override <= 120 percent (override =
 * 150 percent)`. The parts are compiled on the first rejection of the command (rejections are rare).
 */
function interlockReason(cmd: CmdRt, unknown: boolean, compile: (e: IrExpr) => Fn): string {
  const req = cmd.ir.requires!;
  let parts = interlockParts.get(cmd);
  if (!parts) {
    const exprs = conjuncts(req);
    const texts = conjunctTexts(cmd.requiresText, exprs.length) ?? exprs.map((e) => describeExpr(e));
    parts = exprs.map((e, i) => {
      const text = texts[i]!;
      const side = e.k === "binary" && e.op !== "and" && e.op !== "or" && e.left.k !== "const" ? e.left : undefined;
      const unit = /\d\s*([A-Za-z%][\w/%]*)\s*$/.exec(text)?.[1] ?? "";
      return side ? { fn: compile(e), text, left: { fn: compile(side), text: describeExpr(side), unit } } : { fn: compile(e), text };
    });
    interlockParts.set(cmd, parts);
  }
  const failed = parts.find((p) => p.fn() !== true) ?? parts[0]!;
  const v = failed.left?.fn();
  const value = failed.left ? ` (${failed.left.text} = ${v === null || v === undefined ? "unknown" : `${valueText(v)}${failed.left.unit && typeof v === "number" ? ` ${failed.left.unit}` : ""}`})` : "";
  return `${unknown ? "interlock unknown (fail safe)" : "interlock"}: requires ${failed.text}${value}`;
}

/** An asset as `processTelemetry` takes it (from `telemetryAsset`); opaque to callers. */
export interface TelemetryAsset {
  readonly uuid: string;
}

class AssetRt implements AssetCells, TelemetryAsset {
  tel = new Map<string, Cell>();
  telArr: Cell[] = [];
  states = new Map<string, Cell>();
  alarms = new Map<string, Cell>();
  lastPass = -1;
  passDeps: BaseNode[] = [];
  enumMaps: (EnumMap | undefined)[] = [];
  /** `openfactory()` sources: a data item id written by another producer → telemetry index */
  dataItems: Map<string, number> | undefined;
  /** a source has `ignore_undeclared` (default on for `openfactory()`): undeclared ids are counted, not dead-lettered */
  ignoreUndeclared = false;
  /** records under undeclared data item ids ignored so far */
  ignored = 0;
  stateNodes: StateLike[] = [];
  alarmNodes: AlarmNode[] = [];
  cmds = new Map<string, CmdRt>();
  constructor(
    readonly idx: number,
    readonly name: string,
    readonly uuid: string,
    readonly model: ModelRt,
    readonly attrs: Record<string, Value>,
  ) {}
}

const NULL_CODE: Code = () => null;
const NO_CELLS: Cell[] = [];

/** the shared empty dependent list (never pushed to after construction) */
const EMPTY: never[] = [];
Object.freeze(EMPTY);

const K_FLIP = 0;
const K_FOR = 1;
const K_REPEAT = 2;
const K_CLOSE = 3;

class TimerEntry implements Timer {
  seq = 0;
  constructor(
    public deadline: number,
    public kind: number,
    public node: BaseNode,
    public gen: number,
    public set: WindowSet | null,
    public win: Win | null,
  ) {}
}

abstract class BaseNode {
  rank = 0;
  dirty = false;
  /** the pending age-flip timer's deadline (Infinity: none) */
  flipAt = Infinity;
  flipGen = 0;
  /** cells read (for ranks) */
  inputs: Cell[] = [];
  /** nodes that must be evaluated before this one (besides the owners of `inputs`) */
  after: BaseNode[] = [];
  constructor(
    public order: number,
    readonly asset: AssetRt | null,
  ) {}
  abstract eval(e: Engine): void;
}

interface StateLike {
  name: string;
  hidden: boolean;
  cell: Cell;
}

/** A pointwise state: re-evaluated when something it reads changes. */
class PointNode extends BaseNode implements StateLike {
  cell: Cell;
  code: Code = NULL_CODE;
  C: Cell[] = NO_CELLS;
  X: unknown[] = NO_CELLS;
  constructor(
    order: number,
    asset: AssetRt | null,
    readonly name: string,
    readonly hidden: boolean,
    readonly sample: boolean,
  ) {
    super(order, asset);
    this.cell = new Cell(asset, this);
  }
  eval(e: Engine): void {
    e.rt.nextFlip = Infinity;
    const v = this.code(this.C, this.X, null, e.rt);
    e.afterFlip(this);
    if (e.setCell(this.cell, v) && !this.hidden) e.derived(this);
  }
}

/** `C for D` (TON): true once C has held for D ms; false otherwise, never unknown. */
class ForNode extends BaseNode implements StateLike {
  cell: Cell;
  readonly sample = false;
  code: Code = NULL_CODE;
  C: Cell[] = NO_CELLS;
  X: unknown[] = NO_CELLS;
  running = false;
  gen = 0;
  constructor(
    order: number,
    asset: AssetRt | null,
    readonly name: string,
    readonly hidden: boolean,
    readonly ms: number,
  ) {
    super(order, asset);
    this.cell = new Cell(asset, this);
    this.cell.v = false;
  }
  eval(e: Engine): void {
    e.rt.nextFlip = Infinity;
    const c = this.code(this.C, this.X, null, e.rt);
    e.afterFlip(this);
    if (c === true) {
      if (this.running) return;
      this.running = true;
      if (this.ms > 0) {
        this.gen++;
        e.arm(new TimerEntry(e.rt.now + this.ms, K_FOR, this, this.gen, null, null));
        return;
      }
      if (e.setCell(this.cell, true) && !this.hidden) e.derived(this);
      return;
    }
    if (this.running) {
      this.running = false;
      this.gen++;
    }
    if (e.setCell(this.cell, false) && !this.hidden) e.derived(this);
  }
  fire(e: Engine): void {
    if (e.setCell(this.cell, true) && !this.hidden) e.derived(this);
  }
}

/** A windowed aggregate over one asset's events. */
class WindowNode extends BaseNode implements StateLike {
  cell: Cell;
  arg: Parts | null = null;
  /** panes when the aggregate allows (window.ts PaneSet.fits: no window objects, no close timers) */
  set: WindowSet | PaneSet;
  late = 0;
  /** by telemetry index: whether a record of that signal is an event */
  mask: boolean[];
  constructor(
    order: number,
    asset: AssetRt,
    readonly name: string,
    readonly hidden: boolean,
    readonly sample: boolean,
    readonly agg: IrAggregate,
    readonly lateKey: string,
    e: Engine,
  ) {
    super(order, asset);
    this.cell = new Cell(asset, this);
    if (PaneSet.fits(agg.fn, agg.window, agg.final)) this.set = new PaneSet(agg.fn, agg.arg === undefined, agg.window);
    else {
      const set: WindowSet = new WindowSet(agg.fn, agg.arg === undefined, agg.window, (w) => e.arm(new TimerEntry(w.closeAt, K_CLOSE, this, 0, set, w)));
      this.set = set;
    }
    const tel = asset.model.tel;
    this.mask = tel.map((t) => agg.triggers.length === 0 || agg.triggers.includes(t.name));
  }
  eval(e: Engine): void {
    if (e.curAsset !== this.asset || !this.mask[e.curSig]) return;
    e.rt.nextFlip = Infinity;
    const a = this.arg;
    const v = a === null ? null : a.code(a.C, a.X, a.P, e.rt);
    if (!this.set.add(e.curTime, v, e.streamTime, e.eventSeq)) {
      this.late++;
      return;
    }
    if (e.setCell(this.cell, this.set.value(this.agg.final)) && !this.hidden) e.derived(this);
  }
  closed(e: Engine, set: WindowSet, w: Win, deadline: number): void {
    if (set.close(w, deadline) && this.agg.final) {
      if (e.setCell(this.cell, set.value(true)) && !this.hidden) e.derived(this);
    }
  }
}

class AlarmNode extends BaseNode {
  cell: Cell;
  code: Code = NULL_CODE;
  C: Cell[] = NO_CELLS;
  X: unknown[] = NO_CELLS;
  clear: Parts | null = null;
  constructor(
    order: number,
    asset: AssetRt,
    readonly name: string,
  ) {
    super(order, asset);
    this.cell = new Cell(asset, this);
    this.cell.v = false;
  }
  eval(e: Engine): void {
    e.rt.nextFlip = Infinity;
    const w = this.code(this.C, this.X, null, e.rt);
    const cl = this.clear;
    const c = cl === null ? null : cl.code(cl.C, cl.X, null, e.rt);
    e.afterFlip(this);
    if (this.cell.v !== true) {
      if (w === true) {
        e.setCell(this.cell, true);
        e.alarm(this, true);
      }
    } else if (this.clear === null ? w === false : c === true && w !== true) {
      e.setCell(this.cell, false);
      e.alarm(this, false);
    }
  }
}

interface ActionRt {
  index: number;
  target: AssetRt;
  cmd: CmdRt;
  /** by parameter index; null where the action gives no value */
  args: (Fn | null)[];
  extra: { name: string; fn: Fn }[];
}

/** One instance of a rule (per asset for `on MODEL`, else one). */
class RuleNode extends BaseNode {
  code: Code = NULL_CODE;
  C: Cell[] = NO_CELLS;
  X: unknown[] = NO_CELLS;
  prev: Value = null;
  lastFire = -Infinity;
  repeatGen = 0;
  actions: ActionRt[] = [];
  constructor(
    order: number,
    asset: AssetRt | null,
    readonly rule: IrRule,
  ) {
    super(order, asset);
  }
  eval(e: Engine): void {
    e.rt.nextFlip = Infinity;
    const cur = this.code(this.C, this.X, null, e.rt);
    e.afterFlip(this);
    const prev = this.prev;
    this.prev = cur;
    if (cur === true) {
      if (prev !== true) this.attempt(e);
    } else if (prev === true) this.repeatGen++;
  }
  attempt(e: Engine): void {
    const now = e.rt.now;
    const cd = this.rule.cooldownMs;
    if (cd === undefined || !(now - this.lastFire < cd)) {
      this.lastFire = now;
      e.pendingFires.push(this);
    }
    const rep = this.rule.repeatMs;
    if (rep !== undefined && rep > 0) {
      this.repeatGen++;
      e.arm(new TimerEntry(now + rep, K_REPEAT, this, this.repeatGen, null, null));
    }
  }
}

/** A table view's per-asset contribution: `where` and `arg` for that asset. */
class ContribNode extends BaseNode {
  where: Parts | null = null;
  arg: Parts | null = null;
  constructor(
    order: number,
    asset: AssetRt,
    readonly view: TableView,
    readonly pos: number,
  ) {
    super(order, asset);
  }
  eval(e: Engine): void {
    e.rt.nextFlip = Infinity;
    const w = this.where;
    const inc = w === null ? true : w.code(w.C, w.X, w.P, e.rt) === true;
    const a = this.arg;
    const v = inc && a !== null ? a.code(a.C, a.X, a.P, e.rt) : null;
    e.afterFlip(this);
    const view = this.view;
    const pos = this.pos;
    const oldInc = view.inc[pos]!;
    const oldV = view.val[pos]!;
    if (oldInc === inc && oldV === v) return;
    view.inc[pos] = inc;
    view.val[pos] = v;
    const g = view.groupOfPos[pos];
    if (g !== undefined) {
      // incremental counters (count/sum/avg): take the row's old contribution out, put the new in
      if (oldInc) removeRow(g, oldV);
      if (inc) addRow(g, v);
      if (!g.dirty) {
        g.dirty = true;
        view.dirtyGroups.push(g);
      }
    }
    e.push(view.node);
  }
}

interface TableGroup {
  key: string;
  pos: number[];
  value: Value;
  dirty: boolean;
  /** included rows (count() without an argument) */
  n: number;
  /** included rows with a known value */
  k: number;
  /** sum of the included known values (exact while `frac` is 0 and `stale` is false) */
  sum: number;
  /** included known values that are not safe integers (their sum would depend on the order) */
  frac: number;
  /** `sum` may be inexact (a non-integer or a huge value went through it): recompute over the rows */
  stale: boolean;
}

const SAFE_SUM = 2 ** 53;

function addRow(g: TableGroup, v: Value): void {
  g.n++;
  if (v === null) return;
  g.k++;
  if (typeof v !== "number") return;
  if (!Number.isSafeInteger(v)) g.frac++;
  g.sum += v;
  if (!(Math.abs(g.sum) < SAFE_SUM)) g.stale = true;
}

function removeRow(g: TableGroup, v: Value): void {
  g.n--;
  if (v === null) return;
  g.k--;
  if (typeof v !== "number") return;
  if (!Number.isSafeInteger(v)) {
    g.frac--;
    g.stale = true; // (sum + x) - x need not be the sum again
  }
  g.sum -= v;
  if (!(Math.abs(g.sum) < SAFE_SUM)) g.stale = true;
}

function newTableGroup(key: string): TableGroup {
  return { key, pos: [], value: null, dirty: false, n: 0, k: 0, sum: 0, frac: 0, stale: false };
}

class TableView implements ViewCells {
  cell: Cell;
  node: TableViewNode;
  grouped: boolean;
  inc: boolean[] = [];
  val: Value[] = [];
  groupOfPos: (TableGroup | undefined)[] = [];
  groups = new Map<string, TableGroup>();
  dirtyGroups: TableGroup[] = [];
  constructor(
    readonly ir: IrView,
    order: number,
  ) {
    this.grouped = ir.by !== undefined;
    this.node = new TableViewNode(order, this);
    this.cell = new Cell(null, this.node);
  }
  get(group: string | null): Value {
    const g = this.groups.get(group ?? "");
    return g === undefined ? null : g.value;
  }
  /**
   * The group's value after its rows changed. count, and sum/avg of integers, come from the
   * counters the contributions keep (O(1)); the rest (and sums of non-integers, whose rounding
   * depends on the order of addition) fold over the group's rows in row order, as before.
   */
  update(g: TableGroup): boolean {
    const fn = this.ir.fn;
    let v: Value;
    if (fn === "count") v = this.ir.arg === undefined ? g.n : g.k;
    else if ((fn === "sum" || fn === "avg") && g.frac === 0 && !g.stale) v = fn === "sum" ? g.sum : g.k === 0 ? null : g.sum / g.k;
    else return this.recompute(g);
    if (v === g.value) return false;
    g.value = v;
    return true;
  }
  /** Folds over the group's rows (row order); resets the counters from the rows. */
  recompute(g: TableGroup): boolean {
    const acc = new Acc();
    let frac = 0;
    for (const p of g.pos) {
      if (!this.inc[p]) continue;
      const x = this.val[p]!;
      acc.add(x, p);
      if (typeof x === "number" && !Number.isSafeInteger(x)) frac++;
    }
    g.n = acc.n;
    g.k = acc.k;
    g.sum = acc.sum;
    g.frac = frac;
    g.stale = !(Math.abs(acc.sum) < SAFE_SUM);
    const v = accValue(this.ir.fn, acc, this.ir.arg === undefined);
    if (v === g.value) return false;
    g.value = v;
    return true;
  }
}

class TableViewNode extends BaseNode {
  constructor(
    order: number,
    readonly view: TableView,
  ) {
    super(order, null);
  }
  eval(e: Engine): void {
    const v = this.view;
    let changed = false;
    for (const g of v.dirtyGroups) {
      g.dirty = false;
      if (v.update(g)) changed = true;
    }
    v.dirtyGroups.length = 0;
    if (changed) e.pushChange(v.cell);
  }
}

class WindowView implements ViewCells {
  cell: Cell;
  node: WindowViewNode;
  grouped: boolean;
  posByAsset: Int32Array;
  where: (Parts | null)[] = [];
  arg: (Parts | null)[] = [];
  groupKey: (string | null)[] = [];
  mask: boolean[][] = [];
  /** per group: panes where the aggregate allows (as a WindowNode's: no window objects, no close timers) */
  sets = new Map<string, WindowSet | PaneSet>();
  readonly panes: boolean;
  late = 0;
  constructor(
    readonly ir: IrView,
    readonly window: IrWindow,
    order: number,
    nAssets: number,
  ) {
    this.grouped = ir.by !== undefined;
    this.panes = PaneSet.fits(ir.fn, window, ir.final);
    this.node = new WindowViewNode(order, this);
    this.cell = new Cell(null, this.node);
    this.posByAsset = new Int32Array(nAssets).fill(-1);
  }
  get(group: string | null): Value {
    const s = this.sets.get(group ?? "");
    return s === undefined ? null : s.value(this.ir.final);
  }
}

class WindowViewNode extends BaseNode {
  constructor(
    order: number,
    readonly view: WindowView,
  ) {
    super(order, null);
  }
  eval(e: Engine): void {
    const a = e.curAsset;
    if (a === null) return;
    const v = this.view;
    const pos = v.posByAsset[a.idx]!;
    if (pos < 0 || !v.mask[pos]![e.curSig]) return;
    e.rt.nextFlip = Infinity;
    const w = v.where[pos]!;
    if (w !== null && w.code(w.C, w.X, w.P, e.rt) !== true) return;
    const key = v.groupKey[pos]!;
    if (key === null) return;
    const arg = v.arg[pos]!;
    const x = arg === null ? null : arg.code(arg.C, arg.X, arg.P, e.rt);
    let set = v.sets.get(key);
    if (set === undefined) {
      set = this.newSet(e);
      v.sets.set(key, set);
    }
    const before = set.value(v.ir.final);
    if (!set.add(e.curTime, x, e.streamTime, e.eventSeq)) {
      v.late++;
      return;
    }
    if (set.value(v.ir.final) !== before) e.pushChange(v.cell);
  }
  /** a group's window set */
  newSet(e: Engine): WindowSet | PaneSet {
    const v = this.view;
    if (v.panes) return new PaneSet(v.ir.fn, v.ir.arg === undefined, v.window);
    const s: WindowSet = new WindowSet(v.ir.fn, v.ir.arg === undefined, v.window, (win) => e.arm(new TimerEntry(win.closeAt, K_CLOSE, this, 0, s, win)));
    return s;
  }
  closed(e: Engine, set: WindowSet, w: Win, deadline: number): void {
    const before = set.value(this.view.ir.final);
    if (set.close(w, deadline) && this.view.ir.final && set.value(true) !== before) e.pushChange(this.view.cell);
  }
}

/**
 * Interns read-only arrays by content: extras (codegen.ts: an instance's constants, attribute
 * values, views) and signal masks, never written after construction. `temperature > 90` on
 * 1,000 assets reads one array, which stays in cache, instead of 1,000.
 */
function sharedExtras(): (xs: unknown[]) => unknown[] {
  const byKey = new Map<string, unknown[]>();
  const ids = new Map<unknown, number>();
  return (xs) => {
    if (xs.length === 0) return NO_CELLS;
    let key = "";
    for (const x of xs) {
      if (x === null) key += "n|";
      else if (typeof x === "number") key += `d${Object.is(x, -0) ? "-0" : String(x)}|`;
      else if (typeof x === "string") key += `s${x.length}:${x}|`;
      else if (typeof x === "boolean") key += x ? "T|" : "F|";
      else {
        let id = ids.get(x);
        if (id === undefined) ids.set(x, (id = ids.size));
        key += `o${id}|`;
      }
    }
    let shared = byKey.get(key);
    if (shared === undefined) byKey.set(key, (shared = xs.slice()));
    return shared;
  };
}

function setParts(n: { code: Code; C: Cell[]; X: unknown[] }, p: Parts): void {
  n.code = p.code;
  n.C = p.C;
  n.X = p.X;
}

function isStateful(d: IrExpr | IrStatefulDef): d is IrStatefulDef {
  return d.k === "for" || d.k === "window";
}

function article(s: string): string {
  return /^[aeiouAEIOU]/.test(s) ? `an ${s}` : `a ${s}`;
}

function typeText(t: IrType): string {
  switch (t.t) {
    case "enum":
      return t.name;
    case "int":
    case "float":
      return t.unit ? `${t.t}<${t.unit}>` : t.t;
    default:
      return t.t;
  }
}

// ---------------------------------------------------------------- the engine

export class Engine {
  readonly program: IrProgram;
  /** @internal */ readonly rt: Rt = { now: -Infinity, nextFlip: Infinity, pass: 0 };
  /** @internal the asset of the record being processed (null in timer passes) */ curAsset: AssetRt | null = null;
  /** @internal its telemetry index (-1: not telemetry) */ curSig = -1;
  /** @internal its event time */ curTime = 0;
  /** @internal global event sequence (log order of aggregate events) */ eventSeq = 0;
  /** @internal rule instances that fired in the current pass */ pendingFires: RuleNode[] = [];

  private readonly sender: string;
  private readonly out: (rec: NewRecord) => void;
  private st = -Infinity;
  /** the largest event time of any input record seen (accepted or dead-lettered; not `bad`, not `future_time`: see inputHorizon) */
  private horizon = -Infinity;
  /** the largest time observed (stream time, advanceTo, fired deadlines) */
  private clock = -Infinity;
  private readonly assets: AssetRt[] = [];
  private readonly byUuid = new Map<string, AssetRt>();
  private readonly byName = new Map<string, AssetRt>();
  private readonly models = new Map<string, ModelRt>();
  private readonly enumMembers = new Map<string, ReadonlySet<string>>();
  private readonly tableViews: TableView[] = [];
  private readonly windowViews: WindowView[] = [];
  private readonly viewByName = new Map<string, TableView | WindowView>();
  private readonly nodes: BaseNode[] = [];
  private readonly windowNodes: WindowNode[] = [];
  private readonly dirtyHeap = new RankHeap<BaseNode>();
  private readonly timers = new TimerHeap<TimerEntry>();
  private started = false;
  private silent = false;
  private readonly derivedOutputs: boolean;
  /** cause of commands in the current pass: a timer deadline, or NaN for the record below */
  private causeTimer = NaN;
  private causePartition = 0;
  /** offset of the input record being processed (also while its timers fire); null: none */
  private causeOffset: number | null = null;
  private readonly evalCache = new WeakMap<IrExpr, Fn>();
  private readonly isoTimes = new IsoTimes();
  private readonly resolver: Resolver;
  /** language spec §7.6: telemetry further ahead of its receive time is dead-lettered future_time */
  private readonly futureToleranceMs: number;

  constructor(opts: EngineOptions) {
    const p = opts.program;
    this.program = p;
    this.futureToleranceMs = p.futureToleranceMs ?? DEFAULT_FUTURE_TOLERANCE_MS;
    this.sender = opts.senderUuid ?? `OFL-${p.program}`;
    this.out = opts.onOutput;
    this.derivedOutputs = opts.derivedOutputs !== false;
    this.resolver = {
      asset: (n) => this.byName.get(n),
      view: (n) => this.viewByName.get(n),
    };
    for (const en of p.enums) this.enumMembers.set(en.name, new Set(en.members));
    for (const m of p.models) {
      const tel: TelInfo[] = m.telemetry.map((t) => ({
        name: t.name,
        type: t.type,
        range: t.range,
        members: t.type.t === "enum" ? this.enumMembers.get(t.type.name) : undefined,
      }));
      this.models.set(m.name, {
        ir: m,
        tel,
        telIdx: new Map(tel.map((t, i) => [t.name, i])),
        commands: new Map(m.commands.map((c) => [c.name, c])),
      });
    }
    this.build();
  }

  // ------------------------------------------------------------ construction

  private build(): void {
    const p = this.program;
    let order = 0;
    // assets and their cells first (expressions may reference any asset)
    p.assets.forEach((ia, i) => {
      const model = this.models.get(ia.model);
      if (model === undefined) throw new Error(`engine: asset ${ia.name} has unknown model ${ia.model}`);
      const a = new AssetRt(i, ia.name, ia.uuid, model, { ...ia.attributes });
      a.ignoreUndeclared = ia.sources.some((s) => (s.named["ignore_undeclared"] ?? s.kind === "openfactory") === true);
      model.tel.forEach((t, ti) => {
        for (const s of ia.sources)
          for (const b of s.bindings)
            if (s.kind === "openfactory" && b.direction === "telemetry" && b.target === t.name && typeof b.named["data_item_id"] === "string")
              (a.dataItems ??= new Map()).set(b.named["data_item_id"], ti);
      });
      for (const t of model.tel) {
        const c = new Cell(a, null);
        a.tel.set(t.name, c);
        a.telArr.push(c);
        let map: EnumMap | undefined;
        for (const s of ia.sources)
          for (const b of s.bindings)
            if (b.direction === "telemetry" && b.target === t.name && b.map !== undefined) map = new Map(b.map);
        a.enumMaps.push(map);
      }
      this.assets.push(a);
      this.byUuid.set(a.uuid, a);
      this.byName.set(a.name, a);
    });
    // state, alarm and view nodes (cells exist before any expression is compiled)
    const pending: (() => void)[] = [];
    for (const a of this.assets) {
      for (const s of a.model.ir.states) {
        const n = this.stateNode(order++, a, s, `${a.name}.${s.name}`, pending, null);
        a.states.set(s.name, n.cell);
        a.stateNodes.push(n);
      }
      for (const al of a.model.ir.alarms) {
        const n = new AlarmNode(order++, a, al.name);
        a.alarms.set(al.name, n.cell);
        a.alarmNodes.push(n);
        this.nodes.push(n);
        pending.push(() => {
          const d = newDeps();
          const sc: Scope = { self: a, locals: null, params: null };
          setParts(n, compileParts(al.when, sc, d, this.resolver));
          if (al.clear !== undefined) n.clear = compileParts(al.clear, sc, d, this.resolver);
          this.register(n, d);
        });
      }
    }
    for (const v of p.views) {
      const members = this.assets.filter((a) => a.model.ir.lineage.includes(v.from));
      if (v.window === undefined) {
        const tv = new TableView(v, 0);
        this.viewByName.set(v.name, tv);
        this.tableViews.push(tv);
        members.forEach((a, pos) => {
          const cn = new ContribNode(order++, a, tv, pos);
          this.nodes.push(cn);
          tv.inc.push(v.where === undefined);
          tv.val.push(null);
          let key: string | null = "";
          if (v.by !== undefined) {
            const g = a.attrs[v.by];
            key = g === undefined || g === null ? null : String(g);
          }
          let grp: TableGroup | undefined;
          if (key !== null) {
            grp = tv.groups.get(key);
            if (grp === undefined) {
              grp = newTableGroup(key);
              tv.groups.set(key, grp);
            }
            grp.pos.push(pos);
          }
          tv.groupOfPos.push(grp);
          pending.push(() => {
            const d = newDeps();
            const sc: Scope = { self: a, locals: null, params: null };
            if (v.where !== undefined) cn.where = compileParts(v.where, sc, d, this.resolver);
            if (v.arg !== undefined) cn.arg = compileParts(v.arg, sc, d, this.resolver);
            this.register(cn, d);
          });
          tv.node.after.push(cn);
        });
        if (v.by === undefined && !tv.groups.has("")) tv.groups.set("", newTableGroup(""));
        for (const g of tv.groups.values()) tv.recompute(g);
        tv.node.order = order++;
        this.nodes.push(tv.node);
      } else {
        const wv = new WindowView(v, v.window, order++, this.assets.length);
        this.viewByName.set(v.name, wv);
        this.windowViews.push(wv);
        this.nodes.push(wv.node);
        members.forEach((a, pos) => {
          wv.posByAsset[a.idx] = pos;
          let key: string | null = "";
          if (v.by !== undefined) {
            const g = a.attrs[v.by];
            key = g === undefined || g === null ? null : String(g);
          }
          wv.groupKey.push(key);
          wv.mask.push(a.model.tel.map((t) => v.triggers.length === 0 || v.triggers.includes(t.name)));
          wv.where.push(null);
          wv.arg.push(null);
          pending.push(() => {
            const d = newDeps();
            const sc: Scope = { self: a, locals: null, params: null };
            if (v.where !== undefined) wv.where[pos] = compileParts(v.where, sc, d, this.resolver);
            if (v.arg !== undefined) wv.arg[pos] = compileParts(v.arg, sc, d, this.resolver);
            this.rankOnly(wv.node, d);
            for (let i = 0; i < a.telArr.length; i++) if (wv.mask[pos]![i]) a.telArr[i]!.onReport.push(wv.node);
          });
        });
      }
    }
    // commands (interlocks compiled per asset)
    for (const a of this.assets) {
      for (const c of a.model.ir.commands) {
        const names = c.params.map((x) => x.name);
        const cr: CmdRt = {
          ir: c,
          asset: a,
          names,
          box: names.map(() => null),
          requires: null,
          requiresText: c.requires === undefined ? "" : (c.requiresText ?? describeExpr(c.requires)),
          members: c.params.map((x) => (x.type.t === "enum" ? this.enumMembers.get(x.type.name) : undefined)),
        };
        a.cmds.set(c.name, cr);
        if (c.requires !== undefined) {
          const req = c.requires;
          pending.push(() => {
            cr.requires = compileExpr(req, { self: a, locals: null, params: { names, box: cr.box } }, newDeps(), this.rt, this.resolver);
          });
        }
      }
    }
    // rules
    for (const r of p.rules) {
      const insts: (AssetRt | null)[] = r.on === undefined ? [null] : this.assets.filter((a) => a.model.ir.lineage.includes(r.on!));
      for (const a of insts) {
        const locals = new Map<string, Cell>();
        for (const s of r.locals) {
          const key = a === null ? `${r.name}.${s.name}` : `${a.name}.${s.name}`;
          const n = this.stateNode(order++, a, s, key, pending, locals);
          locals.set(s.name, n.cell);
        }
        const rn = new RuleNode(order++, a, r);
        this.nodes.push(rn);
        pending.push(() => {
          const d = newDeps();
          const sc: Scope = { self: a, locals, params: null };
          setParts(rn, compileParts(r.when, sc, d, this.resolver));
          this.register(rn, d);
          r.actions.forEach((act, i) => {
            const ar = this.action(act, i, sc, a);
            if (ar !== null) rn.actions.push(ar);
          });
        });
      }
    }
    for (const f of pending) f();
    this.rank();
    this.compact();
    // initial values of pointwise states and table views, silently (no outputs, no timers)
    this.silent = true;
    for (const n of this.nodes) if (n instanceof PointNode || n instanceof ContribNode || n instanceof TableViewNode) this.push(n);
    this.drain();
    this.silent = false;
  }

  /**
   * Re-allocates the hot-path arrays asset by asset (each array with its elements in one
   * allocation, an asset's arrays side by side), shares empty dependent lists, and drops what
   * only construction needed: fewer cache misses per event with many assets.
   */
  private compact(): void {
    const list = <T>(xs: T[]): T[] => (xs.length === 0 ? (EMPTY as T[]) : xs.slice());
    const cell = (c: Cell): void => {
      c.deps = list([...c.onChange, ...c.onReport]);
      c.nChange = c.onChange.length;
      c.onChange = EMPTY;
      c.onReport = EMPTY;
    };
    const byAsset = new Map<AssetRt | null, BaseNode[]>();
    for (const n of this.nodes) {
      n.inputs = NO_CELLS;
      n.after = EMPTY;
      let l = byAsset.get(n.asset);
      if (l === undefined) byAsset.set(n.asset, (l = []));
      l.push(n);
    }
    const extras = sharedExtras();
    const parts = (p: Parts | null): Parts | null => (p === null ? null : { code: p.code, C: p.C.slice(), X: extras(p.X), P: p.P });
    const mask = (m: boolean[]): boolean[] => extras(m) as boolean[];
    const node = (n: BaseNode): void => {
      const x = n as unknown as { C?: Cell[]; X?: unknown[]; clear?: Parts | null };
      if (x.C !== undefined && x.C !== NO_CELLS) x.C = x.C.slice();
      if (x.X !== undefined && x.X !== NO_CELLS) x.X = extras(x.X);
      if (x.clear) x.clear = parts(x.clear);
      if (n instanceof WindowNode) {
        n.arg = parts(n.arg);
        n.mask = mask(n.mask);
      } else if (n instanceof ContribNode) {
        n.where = parts(n.where);
        n.arg = parts(n.arg);
      }
    };
    for (const a of this.assets) {
      a.telArr = a.telArr.slice();
      a.passDeps = list(a.passDeps);
      for (const c of a.telArr) cell(c);
      for (const n of byAsset.get(a) ?? []) {
        const c = (n as unknown as { cell?: Cell }).cell;
        if (c !== undefined) cell(c);
        node(n);
      }
    }
    for (const n of byAsset.get(null) ?? []) {
      const c = (n as unknown as { cell?: Cell }).cell;
      if (c !== undefined) cell(c);
      node(n);
    }
    for (const v of this.tableViews) cell(v.cell);
    for (const v of this.windowViews) {
      cell(v.cell);
      v.where = v.where.map(parts);
      v.arg = v.arg.map(parts);
      v.mask = v.mask.map(mask);
    }
  }

  private stateNode(
    order: number,
    a: AssetRt | null,
    s: IrState,
    lateKey: string,
    pending: (() => void)[],
    locals: Map<string, Cell> | null,
  ): PointNode | ForNode | WindowNode {
    const sc = (): Scope => ({ self: a, locals, params: null });
    const def = s.def;
    if (isStateful(def)) {
      if (def.k === "for") {
        const n = new ForNode(order, a, s.name, s.hidden, def.ms);
        this.nodes.push(n);
        pending.push(() => {
          const d = newDeps();
          setParts(n, compileParts(def.cond, sc(), d, this.resolver));
          this.register(n, d);
        });
        return n;
      }
      if (a === null) {
        // a window in a rule without `on` has no asset whose events it could aggregate
        const n = new PointNode(order, a, s.name, true, false);
        this.nodes.push(n);
        return n;
      }
      const n = new WindowNode(order, a, s.name, s.hidden, isSampleType(s.type), def.agg, lateKey, this);
      this.nodes.push(n);
      this.windowNodes.push(n);
      pending.push(() => {
        const d = newDeps();
        if (def.agg.arg !== undefined) n.arg = compileParts(def.agg.arg, sc(), d, this.resolver);
        this.rankOnly(n, d);
        for (let i = 0; i < a.telArr.length; i++) if (n.mask[i]) a.telArr[i]!.onReport.push(n);
      });
      return n;
    }
    const n = new PointNode(order, a, s.name, s.hidden, isSampleType(s.type));
    this.nodes.push(n);
    pending.push(() => {
      const d = newDeps();
      setParts(n, compileParts(def, sc(), d, this.resolver));
      this.register(n, d);
    });
    return n;
  }

  private action(act: IrAction, index: number, sc: Scope, self: AssetRt | null): ActionRt | null {
    const target = act.asset === null ? self : (this.byName.get(act.asset) ?? null);
    if (target === null) return null;
    const cmd = target.cmds.get(act.command);
    if (cmd === undefined) return null;
    const args: (Fn | null)[] = cmd.names.map(() => null);
    const extra: { name: string; fn: Fn }[] = [];
    for (const g of act.args) {
      const fn = compileExpr(g.value, sc, newDeps(), this.rt, this.resolver);
      const i = cmd.names.indexOf(g.name);
      if (i >= 0) args[i] = fn;
      else extra.push({ name: g.name, fn });
    }
    return { index, target, cmd, args, extra };
  }

  /** Registers `n` as a dependent of what it reads. */
  private register(n: BaseNode, d: Deps): void {
    const seen = new Set<unknown>();
    for (const c of d.change) {
      n.inputs.push(c);
      if (!seen.has(c)) {
        seen.add(c);
        c.onChange.push(n);
      }
    }
    const seenR = new Set<Cell>();
    for (const c of d.report) {
      n.inputs.push(c);
      if (!seenR.has(c)) {
        seenR.add(c);
        c.onReport.push(n);
      }
    }
    for (const a of d.pass) {
      if (!seen.has(a)) {
        seen.add(a);
        (a as AssetRt).passDeps.push(n);
      }
    }
  }

  /** Records what `n` reads for ordering only (window arguments are evaluated at their events). */
  private rankOnly(n: BaseNode, d: Deps): void {
    for (const c of d.change) n.inputs.push(c);
    for (const c of d.report) n.inputs.push(c);
  }

  /** Ranks: a topological order of the node graph, ties (and cycles) by creation order. */
  private rank(): void {
    const nodes = this.nodes.slice().sort((a, b) => a.order - b.order);
    const idx = new Map<BaseNode, number>();
    nodes.forEach((n, i) => idx.set(n, i));
    const succ: number[][] = nodes.map(() => []);
    const indeg = new Int32Array(nodes.length);
    nodes.forEach((n, i) => {
      const preds = new Set<number>();
      for (const c of n.inputs) {
        const o = c.owner as BaseNode | null;
        if (o !== null) {
          const j = idx.get(o);
          if (j !== undefined && j !== i) preds.add(j);
        }
      }
      for (const o of n.after) {
        const j = idx.get(o);
        if (j !== undefined && j !== i) preds.add(j);
      }
      for (const j of preds) {
        succ[j]!.push(i);
        indeg[i]!++;
      }
    });
    // Kahn with a min-heap on creation index
    const heap = new RankHeap<{ rank: number }>();
    nodes.forEach((_, i) => {
      if (indeg[i] === 0) heap.push({ rank: i });
    });
    let r = 0;
    const done = new Uint8Array(nodes.length);
    for (;;) {
      let x = heap.pop();
      if (x === undefined) {
        // a cycle (rejected by the checker): break it at the earliest remaining node
        const k = done.indexOf(0);
        if (k < 0) break;
        x = { rank: k };
        indeg[k] = 0;
      }
      const i = x.rank;
      if (done[i]) continue;
      done[i] = 1;
      nodes[i]!.rank = r++;
      for (const j of succ[i]!) {
        if (--indeg[j]! === 0 && !done[j]) heap.push({ rank: j });
      }
    }
  }

  // ------------------------------------------------------------ passes (internal)

  /** @internal */
  push(n: BaseNode): void {
    if (!n.dirty) {
      n.dirty = true;
      this.dirtyHeap.push(n);
    }
  }

  /** @internal marks dirty the nodes of `deps[from..to)`: a cell's dependents are `deps`, those of its value `[0, nChange)`, of its reports `[nChange, length)` */
  pushRange(deps: readonly unknown[], from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const n = deps[i] as BaseNode;
      if (!n.dirty) {
        n.dirty = true;
        this.dirtyHeap.push(n);
      }
    }
  }

  /** @internal on a change of a cell's value (not a report): its value's dependents */
  pushChange(c: Cell): void {
    this.pushRange(c.deps, 0, c.nChange);
  }

  private drain(): void {
    const h = this.dirtyHeap;
    for (;;) {
      const n = h.pop();
      if (n === undefined) break;
      n.dirty = false;
      n.eval(this);
    }
  }

  private touch(a: AssetRt): void {
    a.lastPass = this.rt.pass;
    const d = a.passDeps;
    for (let i = 0; i < d.length; i++) this.push(d[i]!);
  }

  /** @internal Sets a state/alarm cell; propagates a change. Returns whether it changed. */
  setCell(cell: Cell, v: Value): boolean {
    if (v === cell.v) return false;
    const rt = this.rt;
    cell.prev = cell.v;
    cell.v = v;
    cell.changedPass = rt.pass;
    cell.reportTime = rt.now;
    const a = cell.asset as AssetRt | null;
    if (a !== null && a.lastPass !== rt.pass) this.touch(a);
    this.pushRange(cell.deps, 0, cell.deps.length);
    return true;
  }

  /** @internal Arms a timer (not while computing initial values). */
  arm(t: TimerEntry): void {
    if (!this.silent) this.timers.push(t);
  }

  /** @internal After a node evaluated: arms a timer at the next instant an `age` in it flips. */
  afterFlip(n: BaseNode): void {
    const f = this.rt.nextFlip;
    // Lazy: a pending earlier timer is kept (when it fires, the node is re-evaluated and arms the
    // next instant), so a signal reporting every few ms does not push a timer per report.
    if (f >= n.flipAt || this.silent) return;
    n.flipGen++;
    n.flipAt = f;
    this.timers.push(new TimerEntry(f, K_FLIP, n, n.flipGen, null, null));
  }

  private iso(ms: number): string {
    return this.isoTimes.of(ms);
  }

  private emit(key: string | null, value: unknown, topic = ASSETS_TOPIC): void {
    this.out({ topic, key, value, ts: this.rt.now });
  }

  /**
   * @internal writes a derived record for a visible state. Hot path: builds the record of
   * `derivedValue` (runtime/wire/records.ts) directly, with the ISO time cached per ms.
   */
  derived(n: PointNode | ForNode | WindowNode): void {
    if (this.silent || n.asset === null || !this.derivedOutputs) return;
    const v = n.cell.v;
    const now = this.rt.now;
    const value: AssetValue = {
      ID: n.name,
      VALUE: v === null ? "UNAVAILABLE" : typeof v === "string" ? v : String(v),
      TAG: "Derived",
      TYPE: n.sample ? "Samples" : "Events",
      attributes: { timestamp: this.iso(now) },
    };
    this.out({ topic: ASSETS_TOPIC, key: n.asset.uuid, value, ts: now });
  }

  /** @internal writes an alarm transition (the record of `alarmValue`) */
  alarm(n: AlarmNode, active: boolean): void {
    if (this.silent) return;
    const now = this.rt.now;
    const value: AssetValue = { ID: n.name, VALUE: active ? "ACTIVE" : "NORMAL", TAG: "Alarm", TYPE: "Condition", attributes: { timestamp: this.iso(now) } };
    this.out({ topic: ASSETS_TOPIC, key: n.asset!.uuid, value, ts: now });
  }

  private beginPass(): void {
    this.rt.pass++;
    // a record pass runs at stream time (an observation beyond it must not change what follows)
    this.rt.now = this.st;
    if (!this.started) {
      this.started = true;
      for (const n of this.nodes) this.push(n);
    }
  }

  private endPass(): void {
    this.drain();
    const f = this.pendingFires;
    if (f.length > 0) {
      for (let i = 0; i < f.length; i++) this.fireRule(f[i]!);
      f.length = 0;
    }
  }

  /** Fires every timer with deadline <= limit, in deadline order (ties: arming order). */
  private fireTimers(limit: number): void {
    const ts = this.timers;
    while (ts.peekDeadline() <= limit) {
      const t = ts.pop()!;
      this.runTimer(t);
    }
  }

  private runTimer(t: TimerEntry): void {
    const n = t.node;
    switch (t.kind) {
      case K_FLIP:
        if (t.gen !== n.flipGen) return;
        break;
      case K_FOR:
        if (t.gen !== (n as ForNode).gen || !(n as ForNode).running) return;
        break;
      case K_REPEAT:
        if (t.gen !== (n as RuleNode).repeatGen || (n as RuleNode).prev !== true) return;
        break;
      case K_CLOSE:
        if (t.win!.closed || t.win!.closeAt !== t.deadline) return;
        break;
    }
    const rt = this.rt;
    if (t.deadline > this.clock) this.clock = t.deadline;
    rt.pass++;
    rt.now = t.deadline;
    this.causeTimer = t.deadline;
    this.curAsset = null;
    this.curSig = -1;
    // (the asset is touched only if something of it changes: see setCell)
    switch (t.kind) {
      case K_FLIP:
        n.flipAt = Infinity;
        this.push(n);
        break;
      case K_FOR:
        (n as ForNode).fire(this);
        break;
      case K_REPEAT:
        (n as RuleNode).attempt(this);
        break;
      case K_CLOSE:
        (n as WindowNode | WindowViewNode).closed(this, t.set!, t.win!, t.deadline);
        break;
    }
    this.endPass();
    this.causeTimer = NaN;
    rt.now = this.clock;
  }

  /** Moves stream time to `e` (firing due timers first) for an accepted input record. */
  private moveTime(partition: number, offset: number, e: number): void {
    this.causePartition = partition;
    this.causeOffset = offset;
    if (e > this.st) {
      this.fireTimers(e);
      this.st = e;
      if (e > this.clock) this.clock = e;
    }
    this.causeTimer = NaN;
  }

  // ------------------------------------------------------------ commands

  private cause(): string {
    return this.causeTimer === this.causeTimer ? timerCause(this.causeTimer) : offsetCause(this.causePartition, this.causeOffset ?? 0);
  }

  /** Argument checks, then the interlock; a reason or null (accepted). `box` holds the arguments. */
  private check(cmd: CmdRt, given: boolean[], raw: string[]): string | null {
    const ps = cmd.ir.params;
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i]!;
      const v = cmd.box[i]!;
      if (!given[i]) return `missing argument ${p.name}`;
      if (v === null) return `argument ${p.name} unknown`;
      let ok: boolean;
      switch (p.type.t) {
        case "int":
          ok = typeof v === "number" && Number.isSafeInteger(v);
          break;
        case "float":
        case "duration":
        case "timestamp":
          ok = typeof v === "number" && Number.isFinite(v);
          break;
        case "bool":
          ok = typeof v === "boolean";
          break;
        case "string":
          ok = typeof v === "string";
          break;
        case "enum": {
          const m = cmd.members[i];
          ok = typeof v === "string" && (m === undefined || m.has(v));
          break;
        }
      }
      if (!ok) return `argument ${p.name}=${raw[i]} is not ${article(typeText(p.type))}`;
      if (p.range !== undefined && ((v as number) < p.range[0] || (v as number) > p.range[1])) {
        return `argument ${p.name}=${raw[i]} outside ${p.range[0]}..${p.range[1]}`;
      }
    }
    if (cmd.requires !== null) {
      this.rt.nextFlip = Infinity;
      const r = cmd.requires();
      if (r !== true) return interlockReason(cmd, r === null, (e) => compileExpr(e, { self: cmd.asset, locals: null, params: { names: cmd.names, box: cmd.box } }, newDeps(), this.rt, this.resolver));
    }
    return null;
  }

  private fireRule(rn: RuleNode): void {
    const rule = rn.rule;
    const cause = this.cause();
    for (const act of rn.actions) {
      const cmd = act.cmd;
      const n = cmd.names.length;
      const given: boolean[] = new Array(n);
      const raw: string[] = new Array(n);
      const args: Record<string, string> = {};
      for (let i = 0; i < n; i++) {
        const f = act.args[i];
        if (f === null || f === undefined) {
          given[i] = false;
          cmd.box[i] = null;
          raw[i] = "";
          continue;
        }
        this.rt.nextFlip = Infinity;
        const v = f();
        given[i] = true;
        cmd.box[i] = v;
        raw[i] = valueText(v);
        args[cmd.names[i]!] = raw[i]!;
      }
      for (const x of act.extra) args[x.name] = valueText(x.fn());
      const reason = this.check(cmd, given, raw);
      const idAsset = rn.asset !== null ? rn.asset.uuid : act.target.uuid;
      const header: CommandHeader = {
        correlation_id: correlationId(this.program.program, rule.name, idAsset, cause, act.index),
        sender_uuid: this.sender,
        timestamp: this.iso(this.rt.now),
        signature: null,
        rule: rule.name,
        cause_offset: this.causeOffset,
        shadow: rule.shadow,
        verdict: reason === null ? "accepted" : "rejected",
      };
      const env: CommandEnvelope = { header, arguments: args };
      this.emit(act.target.uuid, commandValue(cmd.ir.name, env, this.rt.now));
      if (reason !== null && !rule.shadow) {
        this.emit(act.target.uuid, resultValue(cmd.ir.name, { correlation_id: header.correlation_id, status: "rejected", reason }, this.rt.now));
      }
    }
  }

  private operatorCommand(ev: Extract<WireEvent, { kind: "operator_command" }>): void {
    const cid = ev.envelope.header.correlation_id;
    const reject = (reason: string): void =>
      this.emit(ev.key, resultValue(ev.command, { correlation_id: cid, status: "rejected", reason }, this.rt.now));
    const a = this.byUuid.get(ev.key);
    if (a === undefined) return reject(`unknown asset ${ev.key}`);
    const cmd = a.cmds.get(ev.command);
    if (cmd === undefined) return reject(`unknown command ${ev.command} for ${a.name}`);
    const given: boolean[] = [];
    const raw: string[] = [];
    const argv = ev.envelope.arguments ?? {};
    const ps = cmd.ir.params;
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i]!;
      const r = Object.prototype.hasOwnProperty.call(argv, p.name) ? argv[p.name] : undefined;
      if (r === undefined || r === null) {
        given.push(false);
        raw.push("");
        cmd.box[i] = null;
        continue;
      }
      const text = typeof r === "string" ? r : String(r);
      given.push(true);
      raw.push(text);
      const v = parseTelemetryValue(p.type, undefined, text, cmd.members[i]);
      if (v instanceof Rejection) return reject(`argument ${p.name}=${text} is not ${article(typeText(p.type))}`);
      cmd.box[i] = v;
    }
    const reason = this.check(cmd, given, raw);
    if (reason !== null) reject(reason);
  }

  // ------------------------------------------------------------ dead letters

  private deadLetter(key: string | null, reason: DeadLetterReason, detail: string, rec: LogRecord, time: number | undefined): void {
    const record = { topic: rec.topic, partition: rec.partition, offset: rec.offset, ts: rec.ts, key: rec.key, value: rec.value };
    const ts = this.st !== -Infinity ? this.st : time !== undefined && Number.isFinite(time) ? time : Number.isFinite(rec.ts) ? rec.ts : 0;
    this.out({
      topic: DEADLETTER_TOPIC,
      key,
      // a large record is stored once (at `source`); the dead letter carries an excerpt and a hash
      value: deadLetterValue(reason, detail, boundedCopy(record), `${rec.topic}:${rec.partition}:${rec.offset}`),
      ts,
    });
  }

  // ------------------------------------------------------------ public API

  /**
   * The largest event time of any input record processed so far (accepted or dead-lettered),
   * -Infinity before any: a checkpoint is a valid start for "state at T" when this is <= T.
   * Telemetry dead-lettered `future_time` is left out, as the prefix of "state at T" passes over
   * it (runtime/replay/stateAt.ts): one record stamped years ahead does not make every later
   * checkpoint unusable for time travel, nor move the end `ofl state --at 5m` counts from.
   */
  get inputHorizon(): number {
    return this.horizon;
  }

  /** The largest event time among the accepted inputs processed so far; -Infinity before any. */
  get streamTime(): number {
    return this.st;
  }

  /**
   * The target of a telemetry record, for a reader that resolves each key and data item once
   * (replays from a session's columns): the asset, or undefined when no asset has this uuid.
   */
  telemetryAsset(uuid: string): TelemetryAsset | undefined {
    return this.byUuid.get(uuid);
  }

  /** The signal index of a data item for `processTelemetry`, or undefined (an undeclared item: take `process`). */
  telemetrySignal(asset: TelemetryAsset, id: string): number | undefined {
    const a = asset as AssetRt;
    return a.model.telIdx.get(id) ?? a.dataItems?.get(id);
  }

  /**
   * Processes one telemetry record exactly as `process` does the `telemetry` event classify()
   * makes of it, without building it: for a resolved asset and signal, the value as text, its
   * event time, its record's `ts`, where it sits, and the record itself (a function: only a dead
   * letter needs it). `parsed`: what `parseTelemetry` gave for this text, when the caller kept it.
   */
  processTelemetry(asset: TelemetryAsset, si: number, value: string, time: number, ts: number, partition: number, offset: number, record: () => LogRecord, parsed?: Value | Rejection): void {
    this.telemetry(asset as AssetRt, si, value, time, ts, partition, offset, record, parsed);
  }

  /**
   * For a numeric signal (float, int, duration), the declaration its text is read by: the same
   * object for every asset of the model, and `parseTelemetry` gives the same for the same text
   * and the same declaration, so a reader may keep the result per text. Undefined for the other
   * types (an enum's reading depends on the asset's binding).
   */
  numericSignal(asset: TelemetryAsset, si: number): object | undefined {
    const info = (asset as AssetRt).model.tel[si]!;
    const t = info.type.t;
    return t === "float" || t === "int" || t === "duration" ? info : undefined;
  }

  /** What `processTelemetry` makes of a text for this signal: the value, or the Rejection it dead-letters. */
  parseTelemetry(asset: TelemetryAsset, si: number, raw: string): Value | Rejection {
    const a = asset as AssetRt;
    const info = a.model.tel[si]!;
    return parseTelemetryValue(info.type, info.range, raw, info.members, info.members === undefined ? undefined : a.enumMaps[si]);
  }

  private telemetry(a: AssetRt, si: number, raw: string, time: number, ts: number, partition: number, offset: number, rec: LogRecord | (() => LogRecord), parsed?: Value | Rejection): void {
    const info = a.model.tel[si]!;
    if (isFutureTime(time, ts, this.futureToleranceMs)) {
      this.deadLetter(a.uuid, "future_time", `${a.name}.${info.name}: ${futureTimeDetail(time, ts, this.futureToleranceMs)}`, typeof rec === "function" ? rec() : rec, time);
      return;
    }
    if (time > this.horizon) this.horizon = time;
    const v = parsed !== undefined ? parsed : this.parseTelemetry(a, si, raw);
    if (v instanceof Rejection) {
      this.deadLetter(a.uuid, v.reason, `${a.name}.${info.name}: ${v.detail}`, typeof rec === "function" ? rec() : rec, time);
      return;
    }
    this.moveTime(partition, offset, time);
    this.beginPass();
    this.curAsset = a;
    this.curSig = si;
    this.curTime = time;
    this.eventSeq++;
    this.touch(a);
    const cell = a.telArr[si]!;
    cell.reportTime = time;
    if (v !== cell.v) {
      cell.prev = cell.v;
      cell.v = v;
      cell.changedPass = this.rt.pass;
      this.pushRange(cell.deps, 0, cell.deps.length);
    } else this.pushRange(cell.deps, cell.nChange, cell.deps.length);
    this.endPass();
    this.curAsset = null;
    this.curSig = -1;
    this.causeOffset = null;
  }

  /** The input horizon of a telemetry record dead-lettered before the future_time check (unknown asset or signal): counted unless it is a future record too. */
  private telemetrySeen(time: number, ts: number): void {
    if (time > this.horizon && !isFutureTime(time, ts, this.futureToleranceMs)) this.horizon = time;
  }

  /** Processes one classified record in log order (inputs change state; recorded outputs are ignored). */
  process(ev: WireEvent): void {
    const k = ev.kind;
    // telemetry: in telemetry() once it is not future_time, or telemetrySeen() when dead-lettered before that check
    if ((k === "avail" || k === "clock" || k === "operator_command") && ev.time > this.horizon) this.horizon = ev.time;
    switch (ev.kind) {
      case "telemetry": {
        const a = this.byUuid.get(ev.key);
        if (a === undefined) {
          this.telemetrySeen(ev.time, ev.record.ts);
          this.deadLetter(ev.key, "unknown_asset", `no asset has uuid ${JSON.stringify(ev.key)}`, ev.record, ev.time);
          return;
        }
        const si = this.telemetrySignal(a, ev.id);
        if (si === undefined) {
          this.telemetrySeen(ev.time, ev.record.ts);
          if (a.ignoreUndeclared) {
            a.ignored++; // another producer's data item (an OpenFactory connector writes many): not ours
            return;
          }
          this.deadLetter(ev.key, "unknown_signal", `${a.name} (${a.model.ir.name}) has no telemetry ${JSON.stringify(ev.id)}`, ev.record, ev.time);
          return;
        }
        this.telemetry(a, si, ev.value, ev.time, ev.record.ts, ev.partition, ev.offset, ev.record);
        return;
      }
      case "avail": {
        const a = this.byUuid.get(ev.key);
        if (a === undefined) {
          this.deadLetter(ev.key, "unknown_asset", `no asset has uuid ${JSON.stringify(ev.key)}`, ev.record, ev.time);
          return;
        }
        this.moveTime(ev.partition, ev.offset, ev.time);
        this.beginPass();
        this.touch(a);
        if (!ev.available) {
          const pass = this.rt.pass;
          for (const cell of a.telArr) {
            if (cell.v !== null) {
              cell.prev = cell.v;
              cell.v = null;
              cell.changedPass = pass;
              this.pushChange(cell);
            }
          }
        }
        this.endPass();
        this.causeOffset = null;
        return;
      }
      case "clock":
        this.moveTime(ev.partition, ev.offset, ev.time);
        this.beginPass();
        this.endPass();
        this.causeOffset = null;
        return;
      case "operator_command":
        this.moveTime(ev.partition, ev.offset, ev.time);
        this.beginPass();
        this.endPass();
        this.operatorCommand(ev);
        this.causeOffset = null;
        return;
      case "bad":
        this.deadLetter(ev.key, "bad_json", ev.detail, ev.record, undefined);
        return;
      default:
        // recorded outputs (commands, results, derived, alarms, descriptions, dead letters)
        return;
    }
  }

  /** Fires every timer with deadline <= ms, in deadline order (observation for `state at T`, test end). */
  advanceTo(ms: number): void {
    this.causeOffset = null;
    this.fireTimers(ms);
    if (ms > this.clock) this.clock = ms;
    this.rt.now = this.clock;
  }

  /** Evaluates a global expression (test `expect`, `ofl state`) against current state. */
  evaluate(expr: IrExpr): Value {
    let f = this.evalCache.get(expr);
    if (f === undefined) {
      f = compileExpr(expr, { self: null, locals: null, params: null }, newDeps(), this.rt, this.resolver);
      this.evalCache.set(expr, f);
    }
    const saved = this.rt.nextFlip;
    this.rt.now = this.clock;
    const v = f();
    this.rt.nextFlip = saved;
    return v;
  }

  /** Records under data item ids an asset does not declare, ignored (`ignore_undeclared`), by asset name. */
  ignoredCounts(): Record<string, number> {
    const r: Record<string, number> = {};
    for (const a of this.assets) if (a.ignoreUndeclared) r[a.name] = a.ignored;
    return r;
  }

  /** How many events each windowed aggregate dropped as late: key `asset.state` or `view`. */
  lateCounts(): Record<string, number> {
    const r: Record<string, number> = {};
    for (const n of this.windowNodes) r[n.lateKey] = n.late;
    for (const v of this.windowViews) r[v.ir.name] = v.late;
    return r;
  }

  /**
   * The complete state for a checkpoint (between passes: call it only between `process` calls).
   * A fresh engine of the same program given this by `loadState` continues exactly as this one.
   */
  saveState(): EngineState {
    const cells: CellState[] = [];
    for (const a of this.assets) for (const c of a.telArr) cells.push(saveCell(c));
    const nodeIdx = new Map<BaseNode, number>();
    const nodes: unknown[][] = [];
    this.nodes.forEach((n, i) => {
      nodeIdx.set(n, i);
      const x: unknown[] = [n.flipAt, n.flipGen];
      if (n instanceof ForNode) x.push(n.running, n.gen);
      else if (n instanceof WindowNode) x.push(n.late, n.set instanceof PaneSet ? savePaneSet(n.set) : saveWindowSet(n.set));
      else if (n instanceof RuleNode) x.push(n.prev, n.lastFire, n.repeatGen);
      nodes.push(x);
      const c = (n as { cell?: Cell }).cell;
      if (c !== undefined) cells.push(saveCell(c));
    });
    const setKey = new Map<WindowSet | PaneSet, string>();
    for (const v of this.windowViews) for (const [k, set] of v.sets) setKey.set(set, k);
    const timers: EngineState["timers"] = [];
    const dump = this.timers.dump();
    for (const t of dump.items) {
      let key: string | null = null;
      let win = -1;
      if (t.kind === K_CLOSE) {
        // a closed window's timer is stale for good (closed never reverts): dropped
        if (t.win!.closed) continue;
        win = t.set!.wins.indexOf(t.win!);
        if (win < 0) continue;
        if (t.node instanceof WindowViewNode) key = setKey.get(t.set!) ?? null;
      }
      timers.push([t.deadline, t.seq, t.kind, nodeIdx.get(t.node)!, t.gen, key, win]);
    }
    return {
      st: this.st,
      horizon: this.horizon,
      clock: this.clock,
      now: this.rt.now,
      pass: this.rt.pass,
      eventSeq: this.eventSeq,
      started: this.started,
      causePartition: this.causePartition,
      assets: this.assets.map((a) => a.lastPass),
      cells,
      nodes,
      tables: this.tableViews.map((v) => ({ inc: v.inc.slice(), val: v.val.slice(), groups: [...v.groups].map(([k, g]) => [k, g.value] as [string, Value]) })),
      windowViews: this.windowViews.map((v) => ({ late: v.late, sets: [...v.sets].map(([k, set]) => [k, set instanceof PaneSet ? savePaneSet(set) : saveWindowSet(set)] as [string, WindowSetState | PaneSetState]) })),
      timers,
      nextTimerSeq: dump.nextSeq,
    };
  }

  /**
   * Restores a state of `saveState` into this engine, which must be freshly constructed for the
   * same program and not have processed anything. Throws (engine unusable) on a shape mismatch.
   */
  loadState(s: EngineState): void {
    if (this.started || this.rt.pass !== 0) throw new Error("engine: loadState needs a fresh engine");
    const bad = (what: string): never => {
      throw new Error(`engine state does not fit this program (${what})`);
    };
    if (s.assets.length !== this.assets.length || s.nodes.length !== this.nodes.length) bad("assets or nodes");
    if (s.tables.length !== this.tableViews.length || s.windowViews.length !== this.windowViews.length) bad("views");
    this.st = s.st;
    this.horizon = s.horizon;
    this.clock = s.clock;
    this.rt.now = s.now;
    this.rt.pass = s.pass;
    this.eventSeq = s.eventSeq;
    this.started = s.started;
    this.causePartition = s.causePartition;
    this.assets.forEach((a, i) => (a.lastPass = s.assets[i]!));
    let ci = 0;
    const nextCell = (c: Cell): void => {
      const cs = s.cells[ci++];
      if (cs === undefined) bad("cells");
      loadCell(c, cs!);
    };
    for (const a of this.assets) for (const c of a.telArr) nextCell(c);
    this.nodes.forEach((n, i) => {
      const x = s.nodes[i]!;
      n.flipAt = x[0] as number;
      n.flipGen = x[1] as number;
      if (n instanceof ForNode) {
        n.running = x[2] as boolean;
        n.gen = x[3] as number;
      } else if (n instanceof WindowNode) {
        n.late = x[2] as number;
        if (n.set instanceof PaneSet) loadPaneSet(n.set, x[3] as PaneSetState);
        else loadWindowSet(n.set, x[3] as WindowSetState);
      } else if (n instanceof RuleNode) {
        n.prev = x[2] as Value;
        n.lastFire = x[3] as number;
        n.repeatGen = x[4] as number;
      }
      const c = (n as { cell?: Cell }).cell;
      if (c !== undefined) nextCell(c);
    });
    if (ci !== s.cells.length) bad("cells");
    this.tableViews.forEach((v, i) => {
      const t = s.tables[i]!;
      if (t.inc.length !== v.inc.length) bad(`view ${v.ir.name}`);
      v.inc = t.inc.slice();
      v.val = t.val.slice();
      for (const [k, value] of t.groups) {
        const g = v.groups.get(k);
        if (g === undefined) bad(`view ${v.ir.name} group ${k}`);
        v.recompute(g!); // the incremental counters, from the restored rows
        g!.value = value;
      }
    });
    this.windowViews.forEach((v, i) => {
      const w = s.windowViews[i]!;
      v.late = w.late;
      v.sets = new Map();
      const node = v.node;
      for (const [k, st] of w.sets) {
        const set = node.newSet(this);
        if (set instanceof PaneSet) loadPaneSet(set, st as PaneSetState);
        else loadWindowSet(set, st as WindowSetState);
        v.sets.set(k, set);
      }
    });
    const items: TimerEntry[] = [];
    for (const [deadline, seq, kind, ni, gen, key, wi] of s.timers) {
      const node = this.nodes[ni];
      if (node === undefined) bad("timer node");
      let set: WindowSet | null = null;
      let win: Win | null = null;
      if (kind === K_CLOSE) {
        if (node instanceof WindowNode) set = node.set instanceof WindowSet ? node.set : null;
        else if (node instanceof WindowViewNode) {
          const s = node.view.sets.get(key ?? "");
          set = s instanceof WindowSet ? s : null;
        }
        win = set?.wins[wi] ?? null;
        if (win === null) bad("timer window");
      }
      const t = new TimerEntry(deadline, kind, node!, gen, set, win);
      t.seq = seq;
      items.push(t);
    }
    this.timers.load(items, s.nextTimerSeq);
  }

  /** The state of every asset, view (per group) and late counts; JSON, deterministic order. */
  snapshot(): EngineSnapshot {
    const assets: Record<string, AssetSnapshot> = {};
    for (const a of this.assets) {
      const telemetry: Record<string, Value> = {};
      for (const t of a.model.tel) telemetry[t.name] = a.tel.get(t.name)!.v;
      const states: Record<string, Value> = {};
      for (const s of a.stateNodes) if (!s.hidden) states[s.name] = s.cell.v;
      const alarms: Record<string, boolean> = {};
      for (const n of a.alarmNodes) alarms[n.name] = n.cell.v === true;
      assets[a.name] = { uuid: a.uuid, model: a.model.ir.name, telemetry, states, alarms };
    }
    const views: Record<string, Value | Record<string, Value>> = {};
    for (const v of this.program.views) {
      const vr = this.viewByName.get(v.name)!;
      if (!vr.grouped) views[v.name] = vr.get(null);
      else {
        const keys = vr instanceof TableView ? [...vr.groups.keys()] : [...vr.sets.keys()];
        keys.sort();
        const g: Record<string, Value> = {};
        for (const k of keys) g[k] = vr.get(k);
        views[v.name] = g;
      }
    }
    return { streamTime: this.st === -Infinity ? null : this.st, assets, views, late: this.lateCounts() };
  }
}

/** The aggregate functions, for callers that enumerate them. */
export const AGG_FNS: readonly IrAggFn[] = ["avg", "min", "max", "sum", "count", "stddev", "first", "last", "delta", "ratio"];
