// Runtime cells: the value holders of the engine and what compiled expressions read
// (the current time, the age-flip collector, assets, views, scopes, dependency lists).
// Shared by the code generator (codegen.ts) and the engine (index.ts).

import type { Value } from "../../compiler/ir/types.js";
/** The shared evaluation context: the current time and the age-flip collector. */
export interface Rt {
  /** the time of the current pass: stream time, or the firing timer's deadline */
  now: number;
  /** the earliest future instant at which an `age` comparison evaluated in this node flips */
  nextFlip: number;
  /** the current pass number (a record or a timer firing) */
  pass: number;
}

/** Something re-evaluated when its inputs change; ranks follow a topological order. */
export interface NodeLike {
  rank: number;
  dirty: boolean;
}

/** A value holder: a telemetry signal, a state, an alarm's `.active`, or a view (dependents only). */
export class Cell {
  v: Value = null;
  /** the value before the latest change */
  prev: Value = null;
  /** the pass in which it last changed */
  changedPass = -1;
  /** signals: event time of the last report; states: time of the last change */
  reportTime = -Infinity;
  /** nodes to re-evaluate when the value changes (construction; then the head of `deps`) */
  onChange: NodeLike[] = [];
  /** nodes to re-evaluate on every report, changed or not (age, window events; construction; then the tail of `deps`) */
  onReport: NodeLike[] = [];
  /** after construction: onChange then onReport in one array (one object to read per event) */
  deps: NodeLike[] = [];
  /** where onReport starts in `deps` */
  nChange = 0;
  constructor(
    readonly asset: AssetCells | null,
    /** the node computing it (for ranks); null for telemetry and views */
    readonly owner: NodeLike | null,
  ) {}
}

/** What expressions need to know about an asset. */
export interface AssetCells {
  name: string;
  uuid: string;
  attrs: Record<string, Value>;
  /** telemetry cell by name */
  tel: Map<string, Cell>;
  /** state cell by name */
  states: Map<string, Cell>;
  /** alarm `.active` cell by name */
  alarms: Map<string, Cell>;
  /** the last pass that touched the asset (`changed` is true while it equals a cell's changedPass) */
  lastPass: number;
  /** nodes re-evaluated on every pass touching the asset (users of `changed`) */
  passDeps: NodeLike[];
}

/** A view as expressions read it. */
export interface ViewCells {
  cell: Cell;
  grouped: boolean;
  /** the current value of a group (`null` key: the ungrouped view) */
  get(group: string | null): Value;
}

export interface Resolver {
  asset(name: string): AssetCells | undefined;
  view(name: string): ViewCells | undefined;
}

export interface Scope {
  self: AssetCells | null;
  /** rule-local hidden states, visible for `self` refs */
  locals: Map<string, Cell> | null;
  /** command parameters (for `requires`) */
  params: { names: string[]; box: Value[] } | null;
}

/** The inputs an expression reads, collected while compiling. */
export interface Deps {
  change: Cell[];
  report: Cell[];
  pass: AssetCells[];
}

export function newDeps(): Deps {
  return { change: [], report: [], pass: [] };
}

export type Fn = () => Value;
