// Runs `test` blocks and session replays with the engine (language spec §4.5, §6).
//
// Each test starts from an empty in-memory log. `at` lines become input records (telemetry and
// operator commands) with offsets 0, 1, …; a `replay` feeds the session's records as they are.
// State expectations are observed at their time T: the engine has processed the longest prefix
// of the log whose input records all have event time ≤ T, and timers up to T have fired.
// Observing fires only timers that the next record would fire first anyway, so it never
// changes what follows. Command and dead-letter expectations are checked over all outputs.
import { dirname, resolve } from "node:path";
import type { IrCmpOp, IrCommandPattern, IrExpectation, IrExpr, IrProgram, IrRef, IrTest, Value } from "../../compiler/ir/types.js";
import { Engine, valueText, type Rejection, type TelemetryAsset } from "../engine/index.js";
import { PartitionMerge, mergeTime } from "../wire/merge.js";
import { crossDecisions, crossOutputFilter, partitionOfKey, partitionProgram } from "../wire/partitions.js";
import { operatorCommandRecord } from "../wire/operator.js";
import { ASSETS_TOPIC, DEADLETTER_TOPIC, classify, isFutureRecord, isFutureTime, isInput, isTelemetryKind, telemetryValue } from "../wire/records.js";
import type { CommandEnvelope, LogRecord, NewRecord, WireEvent } from "../wire/types.js";
import { crossStageProgram, decisionProgram } from "./prune.js";
import { NULL_KEY, VALUE_IS_STAMP, type Batch, type RecordBuilder } from "./columns.js";
import { openSession, type FastRows, type SessionOptions } from "./session.js";
import { unitText } from "./stateAt.js";

export interface Failure {
  /** the expectation as written */
  expectation: string;
  expected: string;
  actual: string;
  /** 1-based line of the expectation */
  line: number;
}

export interface TestResult {
  name: string;
  file: string;
  /** 1-based line of the test */
  line: number;
  status: "passed" | "failed";
  failures: Failure[];
  durationMs: number;
  /** e.g. malformed session lines skipped with `--skip-bad-lines` (wire.md: a counted warning) */
  warnings?: string[];
}

/** A command as issued in a run: by a rule (engine output) or an operator (`send`). */
export interface IssuedCommand {
  assetUuid: string;
  command: string;
  args: Record<string, string>;
  time: number;
  shadow: boolean;
  rule: string;
  correlationId: string;
  verdict: "accepted" | "rejected";
  reason?: string;
  /** the offset of the input record that caused it (the envelope's cause_offset; null: a timer at a test's end) */
  cause?: number | null;
}

export interface RunOptions {
  session?: SessionOptions;
  /** clock for reporting durations only (never used by the engine) */
  now?: () => number;
}

/** Runs every test of a program. */
export function runTests(ir: IrProgram, opts: RunOptions = {}): TestResult[] {
  return ir.tests.map((t) => runTest(ir, t, opts));
}

// ---------------------------------------------------------------- one test

export function runTest(ir: IrProgram, test: IrTest, opts: RunOptions = {}): TestResult {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const failures: Failure[] = [];
  const result = (): TestResult => ({
    name: test.name,
    file: test.file,
    line: test.line + 1,
    status: failures.length === 0 ? "passed" : "failed",
    failures,
    durationMs: Math.round((now() - started) * 10) / 10,
    ...(warnings.length > 0 ? { warnings } : {}),
  });
  const warnings: string[] = [];
  let run: Run;
  try {
    run = new Run(ir);
    const session = test.replay !== undefined ? openSession(resolve(dirname(test.file), test.replay), opts.session) : undefined;
    const records = session ? sessionRecords(session) : atRecords(ir, test);
    const observations = test.expectations
      .map((x, i) => ({ x, i }))
      .filter((o): o is { x: Extract<IrExpectation, { k: "state" }>; i: number } => o.x.k === "state" && o.x.atMs !== undefined)
      .sort((a, b) => a.x.atMs! - b.x.atMs! || a.i - b.i);
    let next = 0;
    // for each state expectation, the input record after which it stopped holding (null: it
    // holds, or has never been evaluated): named in the failure (issue 13, item 13)
    const stateXs = test.expectations.filter((x): x is Extract<IrExpectation, { k: "state" }> => x.k === "state");
    const since = new Map<IrExpectation, string | null>();
    const track = (ev: Exclude<WireEvent, { kind: "bad" }>): void => {
      for (const x of stateXs) {
        if (x.atMs !== undefined && ev.time > x.atMs) continue;
        if (run.engine.evaluate(x.expr) === true) since.set(x, null);
        else if (!since.get(x)) since.set(x, recordText(ir, ev));
      }
    };
    const withSince = (f: Failure | undefined, x: IrExpectation): Failure | undefined => {
      const r = since.get(x);
      return f && r ? { ...f, actual: `${f.actual}; not true since ${r}` } : f;
    };
    const observe = (o: (typeof observations)[number]): void => {
      run.engine.advanceTo(o.x.atMs!);
      const f = withSince(checkState(run, o.x, o.x.atMs!), o.x);
      if (f) failures.push(f);
    };
    for (const rec of records) {
      const ev = classify(rec);
      run.feed(ev);
      if (isInput(ev) && ev.kind !== "bad" && !isFutureRecord(ev, ir.futureToleranceMs)) {
        while (next < observations.length && ev.time > observations[next]!.x.atMs!) observe(observations[next++]!);
      }
      run.process(ev);
      if (isInput(ev) && ev.kind !== "bad" && stateXs.length > 0) track(ev);
    }
    while (next < observations.length) observe(observations[next++]!);
    const end = Math.max(test.endMs, run.lastInputTime);
    run.engine.advanceTo(end);
    for (const x of test.expectations) {
      if (x.k === "state" && x.atMs !== undefined) continue;
      const f = x.k === "state" ? withSince(checkState(run, x, end), x) : checkOther(run, x);
      if (f) failures.push(f);
    }
    failures.sort((a, b) => a.line - b.line);
    if (session && session.skipped.length > 0) {
      warnings.push(`replay "${test.replay}": ${session.skipped.length} bad line${session.skipped.length === 1 ? "" : "s"} skipped (--skip-bad-lines)`);
      for (const k of session.skipped.slice(0, 10)) warnings.push(k.message);
    }
  } catch (e) {
    failures.push({ expectation: test.replay !== undefined ? `replay "${test.replay}"` : "test", expected: "the test to run", actual: (e as Error).message, line: test.line + 1 });
  }
  return result();
}

/** The engine plus everything a test checks afterwards. */
class Run {
  readonly engine: Engine;
  /** the decisions among the engine's outputs: commands, their results, alarm transitions */
  readonly outputs: NewRecord[] = [];
  /** dead letters by reason (derived values are not kept: a long replay stays small) */
  readonly deadLetterCounts = new Map<string, number>();
  /** commands recorded in a replayed session (rule-issued), in file order */
  readonly recorded: IssuedCommand[] = [];
  /** alarm transitions recorded in a replayed session */
  readonly recordedAlarms: { key: string; id: string; value: string; time: number }[] = [];
  /** operator commands fed as inputs (they are issued commands too) */
  readonly operator: IssuedCommand[] = [];
  lastInputTime = 0;

  constructor(readonly ir: IrProgram) {
    this.engine = new Engine({ program: ir, onOutput: (r) => this.keep(r), derivedOutputs: false });
  }

  private keep(r: NewRecord): void {
    if (r.topic === DEADLETTER_TOPIC) {
      const reason = (r.value as { reason: string }).reason;
      this.deadLetterCounts.set(reason, (this.deadLetterCounts.get(reason) ?? 0) + 1);
      return;
    }
    const tag = (r.value as { TAG?: string } | null)?.TAG;
    if (tag === "Method.Command" || tag === "Method.Result" || tag === "Alarm") this.outputs.push(r);
  }

  /** Notes what a record is before the engine sees it. */
  feed(ev: WireEvent): void {
    if (ev.kind === "command") this.recorded.push(fromEnvelope(ev.key, ev.command, ev.envelope));
    if (ev.kind === "alarm") this.recordedAlarms.push({ key: ev.key, id: ev.id, value: ev.value, time: ev.time });
    if (isInput(ev) && ev.kind !== "bad") this.input(ev.time, isFutureRecord(ev, this.ir.futureToleranceMs));
  }

  /** An input at event time `time` (`future`: dead-lettered future_time): the run ends at the last accepted one. */
  input(time: number, future: boolean): void {
    if (!future && time > this.lastInputTime) this.lastInputTime = time;
  }

  process(ev: WireEvent): void {
    const before = this.outputs.length;
    this.engine.process(ev);
    if (ev.kind === "operator_command") {
      const cmd = fromEnvelope(ev.key, ev.command, ev.envelope);
      cmd.rule = "operator";
      // a rejection of this command is among the outputs just produced
      for (const o of this.outputs.slice(before)) {
        const r = resultOf(o);
        if (r && r.correlation_id === cmd.correlationId && r.status === "rejected") {
          cmd.verdict = "rejected";
          if (r.reason) cmd.reason = r.reason;
        }
      }
      this.operator.push(cmd);
    }
  }

  /** Every command the program issued (rules and `send`), in order of issue. */
  issued(): IssuedCommand[] {
    const rejected = new Map<string, string | undefined>();
    for (const o of this.outputs) {
      const r = resultOf(o);
      if (r && r.status === "rejected") rejected.set(r.correlation_id, r.reason);
    }
    const out: IssuedCommand[] = [...this.operator];
    for (const o of this.outputs) {
      const v = o.value as { ID?: string; TAG?: string; VALUE?: string } | null;
      if (o.topic !== ASSETS_TOPIC || !v || v.TAG !== "Method.Command" || typeof v.VALUE !== "string" || !v.ID?.endsWith("_CMD")) continue;
      const env = JSON.parse(v.VALUE) as CommandEnvelope;
      const cmd = fromEnvelope(o.key ?? "", v.ID.slice(0, -4), env);
      if (rejected.has(cmd.correlationId)) {
        cmd.verdict = "rejected";
        const reason = rejected.get(cmd.correlationId);
        if (reason) cmd.reason = reason;
      }
      out.push(cmd);
    }
    return out.sort((a, b) => a.time - b.time);
  }

  deadLetterCount(reason?: string): number {
    if (reason !== undefined) return this.deadLetterCounts.get(reason) ?? 0;
    let n = 0;
    for (const c of this.deadLetterCounts.values()) n += c;
    return n;
  }
}

function resultOf(o: NewRecord): { correlation_id: string; status: string; reason?: string } | undefined {
  const v = o.value as { TAG?: string; VALUE?: string } | null;
  if (o.topic !== ASSETS_TOPIC || !v || v.TAG !== "Method.Result" || typeof v.VALUE !== "string") return undefined;
  try {
    return JSON.parse(v.VALUE) as { correlation_id: string; status: string; reason?: string };
  } catch {
    return undefined;
  }
}

function fromEnvelope(key: string, command: string, env: CommandEnvelope): IssuedCommand {
  const h = env.header;
  const time = Date.parse(h.timestamp);
  return {
    assetUuid: key,
    command,
    args: { ...(env.arguments ?? {}) },
    time: Number.isFinite(time) ? time : 0,
    shadow: h.shadow === true,
    rule: h.rule ?? "operator",
    correlationId: h.correlation_id,
    verdict: h.verdict === "rejected" ? "rejected" : "accepted",
    cause: h.cause_offset,
  };
}

// ---------------------------------------------------------------- inputs

/** The input records of a test's `at` lines: telemetry and operator commands, offsets from 0. */
export function atRecords(ir: IrProgram, test: IrTest): LogRecord[] {
  const assets = new Map(ir.assets.map((a) => [a.name, a]));
  const models = new Map(ir.models.map((m) => [m.name, m]));
  const out: LogRecord[] = [];
  for (const line of test.at) {
    for (const step of line.steps) {
      const asset = assets.get(step.asset)!;
      const offset = out.length;
      if (step.k === "set") {
        const tel = models.get(asset.model)?.telemetry.find((t) => t.name === step.signal);
        const type = tel?.type;
        const numeric = type?.t === "int" || type?.t === "float" || type?.t === "duration";
        const tag = numeric ? (type && "unit" in type && type.unit ? type.unit : step.signal) : step.signal;
        const value = telemetryValue(step.signal, step.value === null ? "UNAVAILABLE" : valueText(step.value), tag, numeric ? "Samples" : "Events", line.atMs);
        out.push({ topic: ASSETS_TOPIC, partition: 0, offset, ts: line.atMs, key: asset.uuid, value });
      } else {
        out.push(operatorCommandRecord(ir, asset, step.command, step.args, line.atMs, offset));
      }
    }
  }
  return out;
}

function* sessionRecords(session: ReturnType<typeof openSession>): Generator<LogRecord> {
  for (const { record } of session.records()) yield record;
}

// ---------------------------------------------------------------- expectations

function checkState(run: Run, x: Extract<IrExpectation, { k: "state" }>, at: number): Failure | undefined {
  const v = run.engine.evaluate(x.expr);
  if (v === true) return undefined;
  return {
    expectation: x.text,
    // "expected: `not a.b` to hold at 30s / actual: it did not: a.b = true" (the condition, then what was seen)
    expected: `\`${/^expect\s+(.*?)\s+at\s+\S+$/s.exec(x.text)?.[1] ?? x.text}\` to hold at ${fmtTime(at)}`,
    actual: `${v === null ? "unknown (a value it needs was unknown)" : "it did not"}${explain(run, x.expr).replace(/^ \((.*)\)$/, ": $1")}`,
    line: x.line + 1,
  };
}

/** For a failed comparison, the values of both sides: ` (s1.avg1m = 12.5, expected == 10)`. */
function explain(run: Run, e: IrExpr): string {
  const parts: string[] = [];
  const collect = (x: IrExpr): void => {
    if (x.k === "unary" && x.op === "not") return collect(x.arg);
    if (x.k === "known") return collect(x.arg);
    if (x.k === "scale") return collect(x.arg);
    if (x.k === "binary" && (x.op === "and" || x.op === "or")) {
      collect(x.left);
      collect(x.right);
      return;
    }
    if (x.k === "binary") {
      collect(x.left);
      collect(x.right);
      return;
    }
    if (x.k === "ref" || x.k === "view") {
      const v = run.engine.evaluate(x);
      const unit = x.k === "ref" ? refUnit(run.ir, x) : "";
      parts.push(`${refText(x)} = ${v === null ? "unknown" : valueText(v)}${unit && v !== null ? ` ${unit}` : ""}`);
    }
  };
  collect(e);
  return parts.length > 0 ? ` (${[...new Set(parts)].join(", ")})` : "";
}

/** The unit a failure prints after a signal's or state's value (`degC`), or "". */
function refUnit(ir: IrProgram, x: IrRef): string {
  if (x.asset === null || (x.kind !== "signal" && x.kind !== "state")) return "";
  const model = ir.models.find((m) => m.name === ir.assets.find((a) => a.name === x.asset)?.model);
  const decl = x.kind === "signal" ? model?.telemetry.find((t) => t.name === x.name) : model?.states.find((t) => t.name === x.name);
  return unitText(decl?.type);
}

function refText(x: IrExpr): string {
  if (x.k === "ref") return `${x.asset ?? "self"}.${x.name}${x.kind === "alarm" ? ".active" : ""}`;
  if (x.k === "view") return x.group ? `${x.name}[…]` : x.name;
  return "…";
}

function checkOther(run: Run, x: IrExpectation): Failure | undefined {
  const line = x.line + 1;
  switch (x.k) {
    case "count_deadletters": {
      const n = run.deadLetterCount(x.reason);
      if (compare(n, x.op, x.n)) return undefined;
      const detail = [...run.deadLetterCounts].map(([r, c]) => `${r}: ${c}`).join(", ");
      return { expectation: x.text, expected: `count ${opText(x.op)} ${x.n}`, actual: `${n}${detail ? ` (${detail})` : ""}`, line };
    }
    case "command":
    case "no_command":
    case "count_command": {
      const uuid = run.ir.assets.find((a) => a.name === x.pattern.asset)?.uuid ?? x.pattern.asset;
      const all = run.issued().filter((c) => c.assetUuid === uuid && c.command === x.pattern.command);
      const matching = all.filter((c) => matches(c, x.pattern));
      const when = x.pattern.between ? (x.pattern.between[0] === x.pattern.between[1] ? ` at ${fmtTime(x.pattern.between[0])}` : ` between ${fmtTime(x.pattern.between[0])} and ${fmtTime(x.pattern.between[1])}`) : "";
      const ok = x.k === "command" ? matching.length > 0 : x.k === "no_command" ? matching.length === 0 : compare(matching.length, x.op, x.n);
      if (ok) return undefined;
      const expected =
        x.k === "command" ? `${patternText(x.pattern)}${when}` : x.k === "no_command" ? `no ${patternText(x.pattern)}${when}` : `count ${opText(x.op)} ${x.n}${when}`;
      const shown = x.k === "no_command" ? matching : all;
      const actual =
        x.k === "count_command"
          ? `${matching.length}${shown.length > 0 ? `: ${listCommands(run, shown)}` : ""}`
          : shown.length === 0
            ? `no \`${x.pattern.asset}.${x.pattern.command}\` command was issued`
            : `issued ${listCommands(run, shown)}`;
      return { expectation: x.text, expected, actual, line };
    }
    case "match_recorded":
      return matchRecorded(run, x.text, line);
    case "state":
      return undefined;
  }
}

function matches(c: IssuedCommand, p: IrCommandPattern): boolean {
  if (c.shadow !== p.shadow) return false;
  if (p.verdict && c.verdict !== p.verdict) return false;
  if (p.between && (c.time < p.between[0] || c.time > p.between[1])) return false;
  for (const a of p.args) if (!sameArg(c.args[a.name], a.value)) return false;
  return true;
}

function sameArg(actual: string | undefined, expected: Value): boolean {
  if (actual === undefined) return false;
  if (typeof expected === "number") return Number(actual) === expected;
  return actual === valueText(expected);
}

function patternText(p: IrCommandPattern): string {
  const args = p.args.map((a) => `${a.name}: ${valueText(a.value)}`).join(", ");
  return `${p.shadow ? "shadow " : ""}${p.asset}.${p.command}(${args})${p.verdict ? ` ${p.verdict}` : ""}`;
}

function listCommands(run: Run, cs: IssuedCommand[]): string {
  const names = new Map(run.ir.assets.map((a) => [a.uuid, a.name]));
  const shown = cs.slice(0, 5).map((c) => {
    const args = Object.entries(c.args)
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ");
    return `${c.shadow ? "shadow " : ""}${names.get(c.assetUuid) ?? c.assetUuid}.${c.command}(${args}) ${c.verdict}${c.reason ? ` (${c.reason})` : ""} at ${fmtTime(c.time)}`;
  });
  return shown.join("; ") + (cs.length > 5 ? `; … ${cs.length - 5} more` : "");
}

/** Rule-issued commands of the replay against those recorded in the session. */
function matchRecorded(run: Run, text: string, line: number): Failure | undefined {
  const actual = run.issued().filter((c) => c.rule !== "operator");
  const expected = run.recorded.filter((c) => c.rule !== "operator");
  const d = firstDivergence(expected, actual);
  if (!d) return undefined;
  return { expectation: text, expected: d.expected, actual: d.actual, line };
}

export function firstDivergence(expected: IssuedCommand[], actual: IssuedCommand[]): { index: number; expected: string; actual: string } | undefined {
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    const e = expected[i];
    const a = actual[i];
    if (e && a && sameDecision(e, a)) continue;
    return {
      index: i,
      expected: e ? `recorded command #${i + 1}: ${decisionText(e)}` : `no more commands (${expected.length} recorded)`,
      actual: a ? `replayed command #${i + 1}: ${decisionText(a)}` : `no command #${i + 1} (${actual.length} replayed)`,
    };
  }
  return undefined;
}

/** Same asset, command, arguments (numbers as numbers), shadow flag and event time. */
export function sameDecision(a: IssuedCommand, b: IssuedCommand): boolean {
  if (a.assetUuid !== b.assetUuid || a.command !== b.command || a.shadow !== b.shadow || a.time !== b.time) return false;
  const ka = Object.keys(a.args).sort();
  const kb = Object.keys(b.args).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => {
    const x = a.args[k]!;
    const y = b.args[k]!;
    if (x === y) return true;
    const nx = Number(x);
    const ny = Number(y);
    return x.trim() !== "" && y.trim() !== "" && Number.isFinite(nx) && nx === ny;
  });
}

export function decisionText(c: IssuedCommand): string {
  const args = Object.entries(c.args)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
  return `${c.shadow ? "shadow " : ""}${c.assetUuid} ${c.command}(${args}) at ${new Date(c.time).toISOString()}${c.rule !== "operator" ? ` by rule ${c.rule}` : ""}`;
}

function compare(a: number, op: IrCmpOp, b: number): boolean {
  switch (op) {
    case "eq":
      return a === b;
    case "ne":
      return a !== b;
    case "lt":
      return a < b;
    case "le":
      return a <= b;
    case "gt":
      return a > b;
    case "ge":
      return a >= b;
  }
}

function opText(op: IrCmpOp): string {
  return { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" }[op];
}

/** Test times: durations from the epoch under a year, else ISO. */
/**
 * An input record as a failure names it, by asset name when the uuid is the program's, with the
 * signal's unit: `record #3 (m1 temperature = 30 degC at 40s)`.
 */
function recordText(ir: IrProgram, ev: Exclude<WireEvent, { kind: "bad" }>): string {
  const asset = ev.key === null ? undefined : ir.assets.find((a) => a.uuid === ev.key);
  const who = asset?.name ?? ev.key;
  let what: string;
  if (ev.kind === "telemetry") {
    const unit = asset ? refUnit(ir, { k: "ref", asset: asset.name, kind: "signal", name: ev.id }) : "";
    what = `${who} ${ev.id} = ${ev.value}${unit ? ` ${unit}` : ""}`;
  } else if (ev.kind === "avail") what = `${who} avail ${ev.available ? "AVAILABLE" : "UNAVAILABLE"}`;
  else what = ev.kind === "clock" ? "clock" : `${who} ${ev.kind}`;
  return `record #${ev.offset} (${what} at ${fmtTime(ev.time)})`;
}

export function fmtTime(ms: number): string {
  return Math.abs(ms) < 365 * 86_400_000 ? `${ms / 1000}s` : new Date(ms).toISOString();
}

// ---------------------------------------------------------------- session replay

export interface Decision {
  kind: "command" | "alarm";
  text: string;
}

export interface ReplayReport {
  session: string;
  records: number;
  skipped: { line: number; message: string }[];
  deadLetters: number;
  commands: { recorded: number; replayed: number; matched: number };
  alarms: { recorded: number; replayed: number; matched: number };
  /**
   * the first decision that differs, with the line of the session record (if recorded); `hint`:
   * why it may be the recording's fault (it ends before the program's outputs of its last inputs)
   */
  divergence?: { kind: "command" | "alarm"; index: number; expected: string; actual: string; line?: number; hint?: string };
  passed: boolean;
}

/**
 * `ofl test --replay FILE`: replays a session against the program and compares its decisions
 * (rule-issued commands, alarm transitions) with those recorded in the session.
 */
/**
 * A replay's fast path for telemetry still in a session's columns: a record classify() would
 * make a `telemetry` event of (`isTelemetryKind`, not on the dead-letter topic) whose asset and
 * data item the program declares goes to the engine without building the record, the event or a map lookup
 * per record (assets are resolved once per key string). Anything else is left to the general
 * path, which gives the same result more slowly.
 */
function telemetryFromColumns(run: Run, counted: () => void): FastRows {
  const engine = run.engine;
  const tolerance = run.ir.futureToleranceMs;
  let generation = -1;
  /** by string index: the asset of that key (null: none) */
  let assets: (TelemetryAsset | null | undefined)[] = [];
  /** by string index: a numeric value as read for one declaration (a session repeats its values: most are read once) */
  let values: ({ decl: object; v: Value | Rejection } | undefined)[] = [];
  // the row being processed, for the one record a dead letter needs
  let curB: Batch | undefined;
  let curI = 0;
  let curRb: RecordBuilder | undefined;
  const record = (): LogRecord => curRb!.record(curB!, curI);
  return (b, i, rb) => {
    if (rb.generation !== generation) {
      generation = rb.generation;
      assets = [];
      values = [];
    }
    const vi = b.value[i]!;
    const ki = b.key[i]!;
    if (vi === VALUE_IS_STAMP || ki === NULL_KEY) return false;
    const S = rb.strings;
    const id = S[b.id[i]!]!;
    if (id === "" || !isTelemetryKind(id, S[b.tag[i]!]!, S[b.type[i]!]!)) return false;
    if (S[b.topic[i]!] === DEADLETTER_TOPIC) return false;
    let a = assets[ki];
    if (a === undefined) a = assets[ki] = engine.telemetryAsset(S[ki]!) ?? null;
    if (a === null) return false;
    const si = engine.telemetrySignal(a, id);
    if (si === undefined) return false;
    counted();
    const time = b.time[i]!;
    const ts = b.ts[i]!;
    run.input(time, isFutureTime(time, ts, tolerance));
    curB = b;
    curI = i;
    curRb = rb;
    const decl = engine.numericSignal(a, si);
    let parsed: Value | Rejection | undefined;
    if (decl !== undefined) {
      const c = values[vi];
      if (c !== undefined && c.decl === decl) parsed = c.v;
      else values[vi] = { decl, v: (parsed = engine.parseTelemetry(a, si, S[vi]!)) };
    }
    engine.processTelemetry(a, si, S[vi]!, time, ts, b.partition[i]!, b.offset[i]!, record, parsed);
    return true;
  };
}

/** A record the program itself wrote: a derived value, an alarm transition, a rule's command (not a device's result or an operator's acknowledgement). */
function isProgramOutput(ev: WireEvent): boolean {
  return ev.kind === "derived" || ev.kind === "command" || (ev.kind === "alarm" && ev.value !== "ACKNOWLEDGED");
}

/** `session`: the file opened already (`ofl test --replay` opens it before compiling, so its parser reads ahead meanwhile). */
export function replaySession(ir: IrProgram, path: string, opts: SessionOptions = {}, onProgress?: (records: number) => void, session = openSession(path, opts)): ReplayReport {
  const h = session.header;
  const partitions = typeof h?.partitions === "number" && h.partitions > 1 ? h.partitions : 1;
  // a session of every partition (ofl record --kafka of a partitioned topic): as the workers decided it
  if (partitions > 1 && h?.partition === undefined) return replayPartitions(ir, path, session, partitions, onProgress);
  // a session of one partition (ofl record --kafka --partition) is decided as the rule worker decided it: by its assets alone
  const partitioned = partitions > 1 && typeof h?.partition === "number";
  // only what its decisions depend on (prune.ts: states and views nothing decided reads are left out)
  const run = new Run(decisionProgram(partitioned ? partitionProgram(ir, h!.partition as number, partitions) : ir));
  const lineOfCommand: number[] = [];
  const lineOfAlarm: number[] = [];
  let records = 0;
  /** the offset of the last output of the program in the session (derived value, alarm, rule command) */
  let lastOutput = -1;
  const counted = (): void => {
    if ((++records & 0x3fff) === 0) onProgress?.(records);
  };
  for (const { line, record, time } of session.records(telemetryFromColumns(run, counted))) {
    counted();
    const ev = classify(record, time);
    if (ev.kind === "command" && (ev.envelope.header.rule ?? "operator") !== "operator") lineOfCommand.push(line);
    if (ev.kind === "alarm") lineOfAlarm.push(line);
    if (isProgramOutput(ev)) lastOutput = Math.max(lastOutput, ev.offset);
    run.feed(ev);
    run.process(ev);
  }
  run.engine.advanceTo(run.lastInputTime);
  const recorded = run.recorded.filter((c) => c.rule !== "operator");
  const recAlarms = run.recordedAlarms.filter((a) => a.value !== "ACKNOWLEDGED");
  const replayed = run.issued().filter((c) => c.rule !== "operator");
  const c = compareDecisions(
    { commands: recorded, alarms: recAlarms, commandLines: lineOfCommand, alarmLines: lineOfAlarm },
    { commands: replayed, alarms: alarmTransitions(run.outputs) },
  );
  let divergence = c.divergence;
  // one command more than recorded, caused by a record after the program's last recorded output:
  // the session was likely recorded before the rule worker had decided its last records
  const extra = divergence?.kind === "command" && divergence.index >= recorded.length ? replayed[divergence.index] : undefined;
  if (divergence && extra && typeof extra.cause === "number" && extra.cause > lastOutput) {
    divergence = {
      ...divergence,
      hint: `the session holds no output of the program after offset ${lastOutput}, and this command comes from the record at offset ${extra.cause}: if it was recorded while the rule worker was still deciding, record it again once the worker has caught up`,
    };
  }
  return {
    session: path,
    records,
    skipped: session.skipped,
    deadLetters: run.deadLetterCount(),
    commands: c.commands,
    alarms: c.alarms,
    divergence,
    passed: divergence === undefined,
  };
}

type AlarmTransition = { key: string; id: string; value: string; time: number };

/** The alarm transitions among a run's outputs. */
function alarmTransitions(outputs: NewRecord[]): AlarmTransition[] {
  return outputs
    .filter((o) => o.topic === ASSETS_TOPIC && (o.value as { TYPE?: string }).TYPE === "Condition")
    .map((o) => {
      const v = o.value as { ID: string; VALUE: string; attributes: { timestamp: string } };
      return { key: o.key ?? "", id: v.ID, value: v.VALUE, time: Date.parse(v.attributes.timestamp) };
    });
}

interface Decisions {
  commands: IssuedCommand[];
  alarms: AlarmTransition[];
}

/** Recorded and replayed decisions, in order: counts and the first difference (commands first). */
function compareDecisions(
  rec: Decisions & { commandLines: number[]; alarmLines: number[] },
  out: Decisions,
  where = "",
): Pick<ReplayReport, "commands" | "alarms" | "divergence"> {
  const cmdDiv = firstDivergence(rec.commands, out.commands);
  let cmdMatched = 0;
  for (let i = 0; i < Math.min(rec.commands.length, out.commands.length) && sameDecision(rec.commands[i]!, out.commands[i]!); i++) cmdMatched++;
  const alarmText = (a: AlarmTransition): string => `${a.key} ${a.id} ${a.value} at ${new Date(a.time).toISOString()}`;
  let alarmDiv: ReplayReport["divergence"];
  let alarmMatched = 0;
  const nA = Math.max(rec.alarms.length, out.alarms.length);
  for (let i = 0; i < nA; i++) {
    const e = rec.alarms[i];
    const a = out.alarms[i];
    if (e && a && e.key === a.key && e.id === a.id && e.value === a.value && e.time === a.time) {
      alarmMatched++;
      continue;
    }
    alarmDiv = {
      kind: "alarm",
      index: i,
      expected: `${where}${e ? `recorded alarm transition #${i + 1}: ${alarmText(e)}` : `no more alarm transitions (${rec.alarms.length} recorded)`}`,
      actual: `${where}${a ? `replayed alarm transition #${i + 1}: ${alarmText(a)}` : `no alarm transition #${i + 1} (${out.alarms.length} replayed)`}`,
      line: rec.alarmLines[i],
    };
    break;
  }
  const divergence: ReplayReport["divergence"] = cmdDiv
    ? { kind: "command", index: cmdDiv.index, expected: where + cmdDiv.expected, actual: where + cmdDiv.actual, line: rec.commandLines[cmdDiv.index] }
    : alarmDiv;
  return {
    commands: { recorded: rec.commands.length, replayed: out.commands.length, matched: cmdMatched },
    alarms: { recorded: rec.alarms.length, replayed: out.alarms.length, matched: alarmMatched },
    divergence,
  };
}

/**
 * A session of every partition of a partitioned `ofa_assets` (header `partitions` and no
 * `partition`): decided as the deployment decides it (docs/deploy.md, Partitions). Each partition
 * by the program of its assets, over its own records; what reads across partitions by the whole
 * program over the partitions' inputs in the cross stage's order (runtime/wire/merge.ts), only as
 * far as that order goes (the live stage cannot merge further either). On each partition, its
 * own decisions and the cross stage's are compared apart with those recorded on it: their
 * interleaving on the topic depends on when two workers wrote, their order within each does not.
 */
function replayPartitions(ir: IrProgram, path: string, session: ReturnType<typeof openSession>, partitions: number, onProgress?: (records: number) => void): ReplayReport {
  const isCross = crossOutputFilter(ir, partitions);
  const locals = Array.from({ length: partitions }, (_, p) => new Run(decisionProgram(partitionProgram(ir, p, partitions))));
  const cross = new Run(crossStageProgram(ir, crossDecisions(ir, partitions)));
  const merge = new PartitionMerge<{ time: number; ev: WireEvent }>(partitions);
  /** recorded decisions by group: `p` a partition's own, `p+` the cross stage's on partition p */
  const recorded = new Map<string, Decisions & { commandLines: number[]; alarmLines: number[] }>();
  const group = (g: string): Decisions & { commandLines: number[]; alarmLines: number[] } => {
    let d = recorded.get(g);
    if (!d) recorded.set(g, (d = { commands: [], alarms: [], commandLines: [], alarmLines: [] }));
    return d;
  };
  let records = 0;
  for (const { line, record, time } of session.records()) {
    if ((++records & 0x3fff) === 0) onProgress?.(records);
    const ev = classify(record, time);
    const p = Math.min(Math.max(record.partition, 0), partitions - 1);
    if ((ev.kind === "command" && (ev.envelope.header.rule ?? "operator") !== "operator") || (ev.kind === "alarm" && ev.value !== "ACKNOWLEDGED")) {
      const g = group(`${p}${isCross([record])[0] ? "+" : ""}`);
      if (ev.kind === "command") g.commands.push(fromEnvelope(ev.key, ev.command, ev.envelope)), g.commandLines.push(line);
      else g.alarms.push({ key: ev.key, id: ev.id, value: ev.value, time: ev.time }), g.alarmLines.push(line);
    }
    const local = locals[p]!;
    local.feed(ev);
    local.process(ev);
    const at = mergeTime(ev);
    if (at === undefined) continue;
    merge.push(p, { time: at, ev });
    for (let next = merge.next(); next !== undefined; next = merge.next()) {
      const before = cross.outputs.length;
      cross.feed(next.item.ev);
      cross.process(next.item.ev);
      const added = cross.outputs.splice(before);
      const keep = isCross(added);
      for (let i = 0; i < added.length; i++) if (keep[i]) cross.outputs.push(added[i]!);
    }
  }
  for (const run of [...locals, cross]) run.engine.advanceTo(run.lastInputTime);
  const replayed = new Map<string, Decisions>();
  const out = (g: string): Decisions => {
    let d = replayed.get(g);
    if (!d) replayed.set(g, (d = { commands: [], alarms: [] }));
    return d;
  };
  locals.forEach((run, p) => {
    out(`${p}`).commands.push(...run.issued().filter((c) => c.rule !== "operator"));
    out(`${p}`).alarms.push(...alarmTransitions(run.outputs));
  });
  for (const c of cross.issued()) if (c.rule !== "operator") out(`${partitionOfKey(c.assetUuid, partitions)}+`).commands.push(c);
  for (const a of alarmTransitions(cross.outputs)) out(`${partitionOfKey(a.key, partitions)}+`).alarms.push(a);
  const report: ReplayReport = {
    session: path,
    records,
    skipped: session.skipped,
    deadLetters: locals.reduce((n, r) => n + r.deadLetterCount(), 0),
    commands: { recorded: 0, replayed: 0, matched: 0 },
    alarms: { recorded: 0, replayed: 0, matched: 0 },
    passed: true,
  };
  for (let p = 0; p < partitions; p++)
    for (const g of [`${p}`, `${p}+`]) {
      const none = { commands: [], alarms: [], commandLines: [], alarmLines: [] };
      const c = compareDecisions(recorded.get(g) ?? none, replayed.get(g) ?? none, `partition ${p}${g.endsWith("+") ? " (cross stage)" : ""}: `);
      for (const k of ["commands", "alarms"] as const) for (const n of ["recorded", "replayed", "matched"] as const) report[k][n] += c[k][n];
      if (c.divergence && !report.divergence) report.divergence = c.divergence;
    }
  report.passed = report.divergence === undefined;
  return report;
}
