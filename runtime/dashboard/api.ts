// The server side of the dashboard: what the plant's HTTP server (runtime/run/server.ts) sends
// the page. Records are classified and parsed here once (runtime/wire/records.ts and the engine's
// own value parser), so the page never interprets wire formats; values shown live are the
// engine's (its snapshot) plus the records appended after it; values shown in the past are the
// engine's replay of the log up to T (runtime/replay/stateAt.ts), never a cache.
import type { IrExpr, IrModel, IrProgram, IrType, Value } from "../../compiler/ir/types.js";
import { describeExpr, parseTelemetryValue, Rejection } from "../engine/index.js";
import type { Engine, EngineSnapshot } from "../engine/index.js";
import type { Log } from "../log/types.js";
import type { CheckpointStore } from "../log/checkpoints.js";
import { stateAt, unitText, type StateAtStart } from "../replay/stateAt.js";
import { ASSETS_TOPIC, classify, DEFAULT_FUTURE_TOLERANCE_MS, isFutureTime, parseTime } from "../wire/records.js";
import type { LogRecord, WireEvent } from "../wire/types.js";
import type {
  AlarmState,
  AssetState,
  CommandEntry,
  FeedEvent,
  HistoryInfo,
  ProgramInfo,
  RangeInfo,
  SignalView,
  StateInfo,
  Val,
  ValKind,
} from "./protocol.js";

export function valKind(t: IrType): ValKind {
  switch (t.t) {
    case "int":
    case "float":
    case "duration":
      return "number";
    case "bool":
      return "bool";
    case "enum":
      return "enum";
    case "timestamp":
      return "time";
    default:
      return "string";
  }
}

const describe = (e: IrExpr): string => {
  try {
    return describeExpr(e);
  } catch {
    return "…";
  }
};

/** The program as the page sees it: no sources, no binding arguments (they may hold secrets). */
export function programInfo(ir: IrProgram, instance: string, canCommand: boolean): ProgramInfo {
  const enums = new Map(ir.enums.map((e) => [e.name, e.members]));
  const signal = (name: string, type: IrType, range?: [number, number]): SignalView => {
    const s: SignalView = { name, kind: valKind(type), unit: unitText(type) };
    if (range) s.range = [range[0], range[1]];
    if (type.t === "enum" && enums.has(type.name)) s.members = [...enums.get(type.name)!];
    return s;
  };
  return {
    program: ir.program,
    instance,
    canCommand,
    models: ir.models.map((m) => ({
      name: m.name,
      lineage: [...m.lineage],
      telemetry: m.telemetry.map((t) => signal(t.name, t.type, t.range)),
      states: m.states.filter((s) => !s.hidden).map((s) => signal(s.name, s.type)),
      alarms: m.alarms.map((a) => ({ name: a.name, severity: a.severity, when: describe(a.when), ...(a.clear ? { clear: describe(a.clear) } : {}) })),
      commands: m.commands.map((c) => ({
        name: c.name,
        params: c.params.map((p) => signal(p.name, p.type, p.range)),
        ...(c.requires ? { requires: describe(c.requires) } : {}),
        ...(c.doc ? { doc: c.doc } : {}),
      })),
      ...(m.doc ? { doc: m.doc } : {}),
    })),
    assets: ir.assets.map((a) => ({ name: a.name, uuid: a.uuid, model: a.model, attributes: { ...a.attributes }, ...(a.doc ? { doc: a.doc } : {}) })),
    views: ir.views.map((v) => ({ name: v.name, fn: v.fn, from: v.from, ...(v.by ? { by: v.by } : {}), unit: unitText(v.type), kind: valKind(v.type), windowed: v.window !== undefined })),
    rules: ir.rules.map((r) => ({ name: r.name, ...(r.on ? { on: r.on } : {}), shadow: r.shadow, when: describe(r.when) })),
  };
}

interface SignalInfo {
  type: IrType;
  range: [number, number] | undefined;
  members: ReadonlySet<string> | undefined;
  map: Map<string, string> | undefined;
}

interface AssetInfo {
  name: string;
  model: IrModel;
  tel: Map<string, SignalInfo>;
  states: Map<string, IrType>;
}

const MAX_COMMANDS = 100;

/** Projector.save(): freshness, alarm records and the latest commands (format 1). */
export interface ProjectorState {
  v: 1;
  seen: [string, [string, number][]][];
  alarms: [string, string][];
  commands: CommandEntry[];
}

function isProjectorState(s: unknown): s is ProjectorState {
  if (typeof s !== "object" || s === null) return false;
  const o = s as Partial<ProjectorState>;
  const pairs = (x: unknown, ok: (v: unknown) => boolean): boolean => Array.isArray(x) && x.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && ok(e[1]));
  return (
    o.v === 1 &&
    pairs(o.seen, (m) => pairs(m, (t) => typeof t === "number")) &&
    pairs(o.alarms, (v) => typeof v === "string") &&
    Array.isArray(o.commands) &&
    o.commands.every((c) => typeof c === "object" && c !== null && typeof c.corr === "string" && typeof c.args === "object" && c.args !== null)
  );
}

/**
 * Turns log records into FeedEvents and follows what the engine's snapshot does not hold: each
 * signal's last report time, alarm acknowledgements, and the latest commands with their results.
 */
export class Projector {
  private readonly byUuid = new Map<string, AssetInfo>();
  /** asset name → signal → last report (event time) */
  readonly seen = new Map<string, Map<string, number>>();
  /** `asset\u0000alarm` → the last alarm record's VALUE */
  readonly alarms = new Map<string, string>();
  readonly commands = new Map<string, CommandEntry>();

  constructor(
    readonly ir: IrProgram,
    private readonly log: Log | undefined,
  ) {
    const models = new Map(ir.models.map((m) => [m.name, m]));
    const enums = new Map(ir.enums.map((e) => [e.name, new Set(e.members)]));
    for (const a of ir.assets) {
      const model = models.get(a.model)!;
      const tel = new Map<string, SignalInfo>();
      for (const t of model.telemetry) {
        const binding = a.sources.flatMap((s) => s.bindings).find((b) => b.direction === "telemetry" && b.target === t.name);
        tel.set(t.name, {
          type: t.type,
          range: t.range,
          members: t.type.t === "enum" ? enums.get(t.type.name) : undefined,
          map: binding?.map ? new Map(binding.map) : undefined,
        });
      }
      const states = new Map(model.states.filter((s) => !s.hidden).map((s) => [s.name, s.type]));
      this.byUuid.set(a.uuid, { name: a.name, model, tel, states });
    }
  }

  /** Follows records (the log from the start, or from the checkpoint `load` restored). */
  scan(records: Iterable<LogRecord>): void {
    for (const r of records) this.event(r);
  }

  /**
   * What this projector learned from the log, as JSON: stored with the embedded runtime's
   * checkpoints (Plant.checkpointExtra), so a restart or a time-travel request projects only the
   * tail after a checkpoint instead of the whole log.
   */
  save(): ProjectorState {
    return {
      v: 1,
      seen: [...this.seen].map(([a, m]) => [a, [...m]]),
      alarms: [...this.alarms],
      commands: [...this.commands.values()].map((c) => ({ ...c, args: { ...c.args } })),
    };
  }

  /** Restores `save()`'s output into an empty projector; false (and nothing restored) when it is not one. */
  load(s: unknown): boolean {
    if (!isProjectorState(s)) return false;
    for (const [a, sigs] of s.seen) this.seen.set(a, new Map(sigs));
    for (const [k, v] of s.alarms) this.alarms.set(k, v);
    for (const c of s.commands) this.commands.set(c.corr, { ...c, args: { ...c.args } });
    return true;
  }

  /** A record as a FeedEvent (and what it tells about freshness, alarms and commands). */
  event(rec: LogRecord, ev: WireEvent = classify(rec)): FeedEvent {
    const seq = rec.seq ?? -1;
    // each event an object literal of its own fields: `{ ...base, k, … }` took Node 20's V8 about 1.6 µs
    const off = rec.offset;
    const t = ev.kind === "bad" ? rec.ts : ev.time;
    const asset = ev.key !== null ? this.byUuid.get(ev.key) : undefined;
    const a = asset?.name ?? ev.key ?? "";
    switch (ev.kind) {
      case "telemetry": {
        // the hot path (most records)
        const info = asset?.tel.get(ev.id);
        const future = info !== undefined && isFutureTime(ev.time, rec.ts, this.ir.futureToleranceMs ?? DEFAULT_FUTURE_TOLERANCE_MS);
        const v = info && !future ? parseTelemetryValue(info.type, info.range, ev.value, info.members, info.map) : undefined;
        if (v === undefined || v instanceof Rejection) {
          const bad = !asset ? "unknown_asset" : !info ? "unknown_signal" : future ? "future_time" : (v as Rejection).reason;
          return { seq, off, t, k: "tel", a, id: ev.id, raw: ev.value, bad };
        }
        let m = this.seen.get(a);
        if (!m) this.seen.set(a, (m = new Map()));
        m.set(ev.id, ev.time);
        return { seq, off, t, k: "tel", a, id: ev.id, v };
      }
      case "avail":
        return { seq, off, t, k: "avail", a, v: ev.available };
      case "clock":
        return { seq, off, t, k: "clock" };
      case "derived": {
        const type = asset?.states.get(ev.id);
        const v = type ? parseTelemetryValue(type, undefined, ev.value) : ev.value;
        return { seq, off, t, k: "derived", a, id: ev.id, v: v instanceof Rejection ? ev.value : v };
      }
      case "alarm":
        this.alarms.set(`${a}\u0000${ev.id}`, ev.value);
        return { seq, off, t, k: "alarm", a, id: ev.id, v: ev.value };
      case "command":
      case "operator_command": {
        const h = ev.envelope.header;
        const rule = ev.kind === "operator_command" ? "operator" : (h.rule ?? "operator");
        const cause = this.causeText(h.cause_offset, ev.kind === "operator_command");
        const entry: CommandEntry = { corr: h.correlation_id, t: ev.time, a, cmd: ev.command, args: { ...ev.envelope.arguments }, rule, shadow: h.shadow === true, cause };
        this.commands.set(entry.corr, entry);
        if (this.commands.size > MAX_COMMANDS) this.commands.delete(this.commands.keys().next().value!);
        return { seq, off, t, k: "cmd", a, id: ev.command, corr: h.correlation_id, rule, shadow: entry.shadow, args: entry.args, cause };
      }
      case "command_result": {
        const r = ev.result;
        const entry = this.commands.get(r.correlation_id);
        if (entry) {
          entry.status = r.status;
          entry.rt = ev.time;
          if (r.reason !== undefined) entry.reason = r.reason;
          if (r.result !== undefined) entry.result = r.result;
        }
        const out: FeedEvent = { seq, off, t, k: "res", a, id: ev.command, corr: r.correlation_id, status: r.status };
        if (r.reason !== undefined) out.reason = r.reason;
        if (r.result !== undefined) out.result = r.result;
        return out;
      }
      case "command_description":
        return { seq, off, t, k: "desc", a, id: ev.command };
      case "deadletter":
        return { seq, off, t, k: "dead", a, reason: ev.reason, raw: ev.detail };
      case "bad":
        return { seq, off, t, k: "bad", a, reason: ev.detail };
    }
  }

  /** The record a command's cause offset points to, as text ("mill1.temperature = 92.3"). */
  private causeText(offset: number | null | undefined, operator: boolean): string {
    if (operator) return "operator";
    if (offset === null || offset === undefined) return "timer";
    if (!this.log) return `offset ${offset}`;
    for (const r of this.log.read({ topic: ASSETS_TOPIC, fromOffset: offset, limit: 1 })) {
      const ev = classify(r);
      const asset = ev.key !== null ? (this.byUuid.get(ev.key)?.name ?? ev.key) : "";
      switch (ev.kind) {
        case "telemetry":
          return `${asset}.${ev.id} = ${ev.value} (offset ${offset})`;
        case "clock":
          return `clock ${new Date(ev.time).toISOString()} (offset ${offset})`;
        case "avail":
          return `${asset} ${ev.available ? "available" : "unavailable"} (offset ${offset})`;
        case "operator_command":
          return `operator ${asset}.${ev.command} (offset ${offset})`;
        default:
          return `offset ${offset}`;
      }
    }
    return `offset ${offset}`;
  }

  /** Alarm display state: the engine says whether it is active, the log whether it was acknowledged since. */
  alarmState(asset: string, alarm: string, active: boolean): AlarmState {
    if (!active) return "NORMAL";
    return this.alarms.get(`${asset}\u0000${alarm}`) === "ACKNOWLEDGED" ? "ACKNOWLEDGED" : "ACTIVE";
  }

  /** The engine's snapshot with freshness, acknowledgements and the latest commands. */
  state(snap: EngineSnapshot, seq: number): StateInfo {
    const assets: Record<string, AssetState> = {};
    for (const [name, s] of Object.entries(snap.assets)) {
      const alarms: Record<string, AlarmState> = {};
      for (const [n, on] of Object.entries(s.alarms)) alarms[n] = this.alarmState(name, n, on);
      const seen: Record<string, number> = {};
      for (const [n, t] of this.seen.get(name) ?? []) seen[n] = t;
      assets[name] = { telemetry: s.telemetry as Record<string, Val>, states: s.states as Record<string, Val>, alarms, seen };
    }
    return { seq, streamTime: snap.streamTime, assets, views: snap.views as StateInfo["views"], commands: [...this.commands.values()] };
  }
}

/**
 * The projection of a whole log: from the projection a checkpoint stored (`saved`, at ofa_assets
 * offset `from`) and the records after it, else from the first record. What `ofl run`'s server and
 * `ofl import` keep up to date and store with each checkpoint, under DASHBOARD_EXTRA.
 */
export function resumeProjector(ir: IrProgram, log: Log, from: number | undefined, saved: unknown): Projector {
  const p = new Projector(ir, log);
  const resumed = from !== undefined && p.load(saved);
  p.scan(log.read({ topic: ASSETS_TOPIC, fromOffset: resumed ? from : 0 }));
  return p;
}

/** The name the projection is stored under in a checkpoint's extra (CheckpointOptions.extra). */
export const DASHBOARD_EXTRA = "dashboard";

const AROUND = 10;

/** Where time travel may start: the embedded runtime's checkpoints (with the dashboard's projection stored beside the engine's state). */
export interface TimeTravelStart {
  checkpoints: CheckpointStore;
  /** checkpoints past this offset of ofa_assets are not used (the log as it was when asked) */
  maxOffset: number;
  warn?: (m: string) => void;
}

/**
 * Time travel: the engine's replay of the log up to `atMs` (stateAt), with what the page shows
 * beside it (freshness, acknowledgements, commands up to T) and the records around T. With
 * `from`, the replay starts at the newest checkpoint usable at `atMs` that holds the dashboard's
 * projection too (ofl run stores it), so its cost is the records since that checkpoint.
 * `fresh`: an unused engine of timeTravelEngine(ir), built ahead (runtime/replay/stateAt.ts).
 */
export function stateInfoAt(ir: IrProgram, log: Log, atMs: number, from?: TimeTravelStart, fresh?: Engine): StateInfo {
  const p = new Projector(ir, log);
  let start: StateAtStart | undefined;
  if (from !== undefined) {
    const cp = from.checkpoints.newest(ir, { atMs, maxOffset: from.maxOffset, minOffset: log.firstOffset?.(ASSETS_TOPIC) ?? 0, warn: from.warn, usable: (c) => p.load((c.extra as Record<string, unknown> | undefined)?.[DASHBOARD_EXTRA]) });
    if (cp !== undefined) start = { state: cp.state, offset: cp.header.offset };
  }
  const before: FeedEvent[] = [];
  let n = 0;
  let pendingRec: LogRecord | undefined;
  const project = (r: LogRecord, q: Projector = p): void => {
    const ev = q.event(r);
    if (ev.k === "clock") return;
    before.push(ev);
    if (before.length > AROUND) before.shift();
  };
  // the records just before the checkpoint, for the list around T (projected apart: the
  // checkpoint's projection already holds what they told)
  if (start !== undefined && start.offset > 0) {
    const q = new Projector(ir, log);
    for (const r of log.read({ topic: ASSETS_TOPIC, fromOffset: Math.max(0, start.offset - 5 * AROUND), limit: Math.min(start.offset, 5 * AROUND) })) project(r, q);
  }
  // stateAt pulls records one by one; the record it stops at is not part of the prefix, so each
  // record is projected only when the next one is pulled (or when stateAt says it was replayed)
  const tap = function* (): Generator<LogRecord> {
    for (const r of log.read({ topic: ASSETS_TOPIC, fromOffset: start?.offset ?? 0 })) {
      if (pendingRec) project(pendingRec);
      pendingRec = r;
      n++;
      yield r;
    }
  };
  const s = stateAt(ir, tap(), atMs, start, fresh);
  if (pendingRec && s.replayed === n) project(pendingRec);
  const after: FeedEvent[] = [];
  if (s.next?.seq !== undefined) {
    let scanned = 0;
    const q = new Projector(ir, log);
    for (const r of log.read({ fromSeq: s.next.seq })) {
      if (++scanned > 5000 || after.length >= AROUND) break;
      if (r.topic !== ASSETS_TOPIC) continue;
      const ev = q.event(r);
      if (ev.k !== "clock") after.push(ev);
    }
  }
  const info = p.state(s.snapshot, -1);
  info.at = atMs;
  info.replayed = s.replayed;
  if (s.fromOffset !== undefined) info.fromOffset = s.fromOffset;
  info.around = { before, after };
  return info;
}

/** The first and last event times on the log (the slider's bounds). */
export function rangeInfo(log: Log): RangeInfo {
  const records = log.endSeq();
  let first: number | null = null;
  for (const r of log.read({ topic: ASSETS_TOPIC, limit: 50 })) {
    const ev = classify(r);
    if (ev.kind !== "bad") {
      first = ev.time;
      break;
    }
  }
  return { first, last: null, records };
}

/** Numeric series of an asset over the last minutes, from the log (bounded scan). */
export function historyInfo(ir: IrProgram, log: Log, asset: string, fromMs: number, toMs: number, maxScan = 200_000): HistoryInfo | undefined {
  const a = ir.assets.find((x) => x.name === asset);
  if (!a) return undefined;
  const p = new Projector(ir, undefined);
  const series: HistoryInfo["series"] = {};
  let scanned = 0;
  let truncated = false;
  // newest first would be better for a bounded scan; the log reads forward, so the window is cut
  // from the end: scan at most maxScan records of the window
  for (const r of log.readByTime({ topic: ASSETS_TOPIC, fromMs, toMs })) {
    if (++scanned > maxScan) {
      truncated = true;
      break;
    }
    if (r.key !== a.uuid) continue;
    const ev = p.event(r);
    if ((ev.k === "tel" || ev.k === "derived") && typeof ev.v === "number") {
      const s = (series[ev.id!] ??= [[], []]);
      s[0].push(ev.t);
      s[1].push(ev.v);
    }
  }
  return { asset, series, truncated };
}

export function parseAt(s: string): number | null {
  return parseTime(s.replace(/^@/, ""));
}

export type { Value };
