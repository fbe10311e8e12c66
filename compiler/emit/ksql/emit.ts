// IR → ksqlDB syntax tree → printed statements. See CONTEXT.md for the object graph.
//
// The placement stage (compiler/place/place.ts) decides what runs in ksqlDB (latest values,
// pointwise states over them, per-asset windowed aggregates of one signal, views); the emitter
// builds the statements of exactly that, with the translation of translate.ts. It never builds
// SQL text itself: it builds ast.ts nodes and print.ts prints them.
import type {
  IrAsset,
  IrExpr,
  IrModel,
  IrProgram,
  IrState,
  IrTelemetry,
  IrType,
  IrView,
} from "../../ir/types.js";
import {
  and,
  bin,
  call,
  caseWhen,
  cast,
  col,
  eq,
  inList,
  isNotNull,
  isNull,
  lit,
  or,
  typedNull,
  DOUBLE,
  VARCHAR,
  type Expr,
  type Projection,
  type Select,
  type Statement,
} from "./ast.js";
import { printStatement, printType } from "./print.js";
import {
  NotKsql,
  sqlType,
  isSample,
  valueText,
  window,
  VALUE,
  ID,
  ASSET_UUID,
  UNAVAILABLE,
  isNumeric,
  validText,
  numberSyntax,
  typedText,
  ExprCtx,
  full,
  isTrue,
  tx,
  aggregate,
  textCol,
  signalCol,
  attrGroup,
} from "./translate.js";
export { JSON_NUMBER } from "./translate.js";
import { concreteModels, place, type Placement } from "../../place/place.js";


// ---------------------------------------------------------------- the plan

export interface KsqlStatement {
  /** the object created (or the property set) */
  name: string;
  sql: string;
  kind: "stream" | "table" | "set";
  /** true: `CREATE OR REPLACE` (re-run replaces in place); false: `IF NOT EXISTS` (a changed definition needs DROP + CREATE) */
  replaceable: boolean;
  /** the objects this statement reads; each comes earlier in `statements` (ASSETS_STREAM included) */
  dependsOn: string[];
  /** the OFL declaration it comes from (`CncMill.temp_avg`, `view hall_temp`), or `(program)` */
  source: string;
  /**
   * The value columns it creates, in order, with their types (CREATE statements only). ksqlDB's
   * CREATE OR REPLACE accepts a new definition only when the old columns come first, unchanged:
   * deploy compares these to decide between a replace and a recreate.
   */
  columns?: { name: string; type: string }[];
}

/** Where a declaration runs and why (compiler/place/place.ts); a ksqlDB one names its object after a colon. */
export type KsqlPlacement = Placement;

export interface KsqlPlan {
  program: string;
  /** `OFL_<PROGRAM>_`: every object OFL owns starts with it */
  prefix: string;
  statements: KsqlStatement[];
  placement: KsqlPlacement[];
  /**
   * Query properties every persistent query needs. The plan also starts with the equivalent
   * `SET` statement, which holds when the statements are sent as one script (one REST request,
   * or `RUN SCRIPT`); a deploy that sends statements one by one passes these as
   * `streamsProperties` with each request.
   */
  properties: Record<string, string>;
}

/** OpenFactory's stream over `ofa_assets` (not ours: created only when absent). */
export const ASSETS_STREAM = "ASSETS_STREAM";
export const ASSETS_TOPIC = "ofa_assets";
/**
 * `attributes.timestamp` as ksqlDB reads it (a java.time pattern: StringToTimestampParser, 0.29):
 * the widest it accepts of what the engine accepts. `T`, space or `t` before the time; seconds
 * optional; a fraction of 1 to 9 digits (one optional section per length: `S…S` is a fixed
 * width); a zone `Z`, `+01:00`, `+0100` or `+01`, or none (ksqlDB then reads the server JVM's
 * zone, the engine UTC). Texts ksqlDB cannot parse are dropped by it (processing log) where the
 * engine accepts them: date only, a `,` fraction, more than 9 fraction digits,
 * a space before the zone. Checked with the JDK by test/unit/emit/ksql-timestamp.test.ts.
 * `[XXX][X]` are java.time's zone-offset letters, not placeholders: `XXX` reads `Z` or `+01:00`,
 * `X` reads `Z`, `+01` or `+0100`; the goldens (test/golden/ksql) carry the same text.
 */
export const TIMESTAMP_FORMAT =
  "yyyy-MM-dd['T'][' ']HH:mm[:ss][.SSSSSSSSS][.SSSSSSSS][.SSSSSSS][.SSSSSS][.SSSSS][.SSSS][.SSS][.SS][.S][XXX][X]";

export function programPrefix(program: string): string {
  return `OFL_${program.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}_`;
}

// ---------------------------------------------------------------- the emitter

interface Pending {
  name: string;
  ast: Statement;
  kind: "stream" | "table" | "set";
  replaceable: boolean;
  dependsOn: string[];
  source: string;
}

class Emitter {
  readonly prefix: string;
  readonly topicPrefix: string;
  readonly out: Pending[] = [];
  /** the ksqlDB object of each declaration placed there */
  readonly objects = new Map<string, string>();
  private readonly placed: ReadonlyMap<string, Placement>;
  private readonly names = new Set<string>();
  private readonly enums = new Map<string, string[]>();
  private readonly models = new Map<string, IrModel>();
  /** concrete model → objects */
  private readonly telemetryStream = new Map<string, string>();
  private readonly latestTable = new Map<string, string>();
  /** models whose telemetry stream and latest table carry the constant ALL_KEY (ungrouped views) */
  private readonly needsAllKey = new Set<string>();

  constructor(
    private readonly ir: IrProgram,
    placement: readonly Placement[],
  ) {
    this.placed = new Map(placement.map((p) => [p.declaration, p]));
    this.prefix = programPrefix(ir.program);
    this.topicPrefix = this.prefix.toLowerCase();
    for (const e of ir.enums) this.enums.set(e.name, e.members);
    for (const m of ir.models) this.models.set(m.name, m);
  }

  /** A unique object name `OFL_<PROGRAM>_<PARTS>`. */
  private objectName(...parts: string[]): string {
    const base = this.prefix + parts.map((p) => p.toUpperCase().replace(/[^A-Z0-9_]/g, "_")).join("_");
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  private topic(name: string): string {
    return name.toLowerCase();
  }

  private push(p: Pending): void {
    this.out.push(p);
  }

  private assetsOf(model: string): IrAsset[] {
    return this.ir.assets.filter((a) => a.model === model);
  }

  run(): void {
    this.push({
      name: "auto.offset.reset",
      ast: { k: "set", property: "auto.offset.reset", value: "earliest" },
      kind: "set",
      replaceable: true,
      dependsOn: [],
      source: "(program)",
    });
    this.push({
      name: ASSETS_STREAM,
      ast: {
        k: "createSource",
        what: "STREAM",
        name: ASSETS_STREAM,
        orReplace: false,
        ifNotExists: true,
        columns: [
          { name: "ASSET_UUID", type: VARCHAR, key: "KEY" },
          { name: "ID", type: VARCHAR },
          { name: "VALUE", type: VARCHAR },
          { name: "TAG", type: VARCHAR },
          { name: "TYPE", type: VARCHAR },
          // OpenFactory declares attributes as a map; IF NOT EXISTS keeps whichever came first
          { name: "ATTRIBUTES", type: { t: "MAP", key: VARCHAR, value: VARCHAR } },
        ],
        with: [
          { key: "KAFKA_TOPIC", value: ASSETS_TOPIC },
          { key: "VALUE_FORMAT", value: "JSON" },
        ],
      },
      kind: "stream",
      replaceable: false,
      dependsOn: [],
      source: "(OpenFactory)",
    });

    // which models need a constant group key (ungrouped views)
    for (const v of this.ir.views) if (v.by === undefined) for (const m of concreteModels(this.ir, v.from)) this.needsAllKey.add(m);

    const events = this.ir.assets.length > 0 ? this.eventsStream() : undefined;
    for (const m of this.ir.models) {
      const assets = this.assetsOf(m.name);
      if (events && assets.length > 0 && m.telemetry.length > 0) this.modelObjects(m, assets, events);
    }
    for (const v of this.ir.views) this.view(v);
  }

  // ---- the event-time stream of the program's assets

  private eventsStream(): string {
    const name = this.objectName("EVENTS");
    const ts = { k: "subscript", base: col("ATTRIBUTES"), index: lit("timestamp") } as Expr;
    // `openfactory()` bindings: records under a bound data item id are that telemetry, for that
    // asset only; the telemetry's own name still works and wins, as in the engine (issue 13, item 14)
    const aliases: { when: Expr; then: Expr }[] = [];
    for (const a of this.ir.assets) {
      const m = this.models.get(a.model);
      const names = new Set(m?.telemetry.map((t) => t.name) ?? []);
      for (const src of a.sources)
        for (const b of src.bindings) {
          const item = b.named["data_item_id"];
          if (src.kind !== "openfactory" || b.direction !== "telemetry" || typeof item !== "string" || names.has(item)) continue;
          aliases.push({ when: and(eq(ASSET_UUID, lit(a.uuid)), eq(ID, lit(item))), then: lit(b.target) });
        }
    }
    const id: Projection = aliases.length === 0 ? { expr: ID } : { expr: caseWhen(aliases, ID), alias: "ID" };
    const select: Select = {
      projections: [{ expr: ASSET_UUID }, id, { expr: VALUE }, { expr: col("TAG") }, { expr: col("TYPE") }, { expr: ts, alias: "EVENT_TS" }],
      from: ASSETS_STREAM,
      where: and(inList(ASSET_UUID, this.ir.assets.map((a) => lit(a.uuid))), isNotNull(ts)),
      emit: "CHANGES",
    };
    this.push({
      name,
      ast: { k: "createAs", what: "STREAM", name, orReplace: true, ifNotExists: false, with: this.eventTimeProps(name), select },
      kind: "stream",
      replaceable: true,
      dependsOn: [ASSETS_STREAM],
      source: "(program)",
    });
    return name;
  }

  private eventTimeProps(name: string): { key: string; value: string }[] {
    return [
      { key: "KAFKA_TOPIC", value: this.topic(name) },
      { key: "VALUE_FORMAT", value: "JSON" },
      { key: "TIMESTAMP", value: "EVENT_TS" },
      { key: "TIMESTAMP_FORMAT", value: TIMESTAMP_FORMAT },
    ];
  }

  // ---- per model: typed telemetry, latest values, states

  private modelObjects(m: IrModel, assets: IrAsset[], events: string): void {
    const telName = this.objectName(m.name, "TELEMETRY");
    const allKey = this.needsAllKey.has(m.name);
    const members = (t: IrTelemetry): string[] | undefined => (t.type.t === "enum" ? this.enums.get(t.type.name) : undefined);
    const mapsOf = (t: IrTelemetry): { uuid: string; map: [string, string][] }[] =>
      assets.flatMap((a) =>
        a.sources.flatMap((s) => s.bindings.filter((b) => b.direction === "telemetry" && b.target === t.name && b.map).map((b) => ({ uuid: a.uuid, map: b.map! }))),
      );

    // a row per accepted telemetry record (and per `avail` UNAVAILABLE, which makes every signal unknown)
    const accepted: Expr[] = [and(eq(ID, lit("avail")), eq(VALUE, UNAVAILABLE))];
    // Column order (issue 13, item 10): ksqlDB's CREATE OR REPLACE accepts only appended
    // columns, so each signal's two columns sit together and ALL_KEY comes last: a signal added
    // at the end of a model appends columns (a replace); anything else is planned as a recreate.
    const proj: Projection[] = [{ expr: ASSET_UUID }, { expr: ID }, { expr: col("EVENT_TS") }];
    for (const t of m.telemetry) {
      const maps = mapsOf(t);
      const valid = validText(t, VALUE, members(t), maps);
      accepted.push(valid === null ? eq(ID, lit(t.name)) : and(eq(ID, lit(t.name)), or(eq(VALUE, UNAVAILABLE), valid)));
      proj.push({
        expr: caseWhen([{ when: and(eq(ID, lit(t.name)), bin("<>", VALUE, UNAVAILABLE)), then: typedText(t, VALUE, members(t), maps) }]),
        alias: signalCol(m, t.name),
      });
      // the value text for latest values: UNAVAILABLE is a value here (a non-NULL sentinel), so
      // LATEST_BY_OFFSET(…, true) skips only the rows of other signals
      const text = t.type.t === "enum" && maps.length > 0 ? typedText(t, VALUE, members(t), maps) : VALUE;
      proj.push({
        expr: caseWhen([
          { when: and(eq(ID, lit(t.name)), eq(VALUE, UNAVAILABLE)), then: UNAVAILABLE },
          { when: eq(ID, lit(t.name)), then: text },
          { when: eq(ID, lit("avail")), then: UNAVAILABLE },
        ]),
        alias: textCol(m, t.name),
      });
    }
    if (allKey) proj.push({ expr: lit("all"), alias: "ALL_KEY" });
    this.push({
      name: telName,
      ast: {
        k: "createAs",
        what: "STREAM",
        name: telName,
        orReplace: true,
        ifNotExists: false,
        with: this.eventTimeProps(telName),
        select: {
          projections: proj,
          from: events,
          // Java && evaluates left to right: the number syntax (one REGEXP_EXTRACT per row of a
          // numeric signal) comes before any CAST of the text
          where: and(
            ...[inList(ASSET_UUID, assets.map((a) => lit(a.uuid))), numberSyntax(m.telemetry.filter(isNumeric).map((t) => t.name)), or(...accepted)].filter(
              (x): x is Expr => x !== null,
            ),
          ),
          emit: "CHANGES",
        },
      },
      kind: "stream",
      replaceable: true,
      dependsOn: [events],
      source: `model ${m.name}`,
    });
    this.telemetryStream.set(m.name, telName);

    // latest values: text per signal, then typed
    const rawName = this.objectName(m.name, "LATEST_TEXT");
    this.push({
      name: rawName,
      ast: {
        k: "createAs",
        what: "TABLE",
        name: rawName,
        orReplace: false,
        ifNotExists: true,
        with: this.plainProps(rawName),
        select: {
          projections: [
            { expr: ASSET_UUID },
            { expr: call("LATEST_BY_OFFSET", col("EVENT_TS"), lit(true)), alias: "EVENT_TS" },
            ...m.telemetry.map((t) => ({ expr: call("LATEST_BY_OFFSET", col(textCol(m, t.name)), lit(true)), alias: textCol(m, t.name) })),
          ],
          from: telName,
          groupBy: [ASSET_UUID],
          emit: "CHANGES",
        },
      },
      kind: "table",
      replaceable: false,
      dependsOn: [telName],
      source: `model ${m.name}`,
    });
    const latestName = this.objectName(m.name, "LATEST");
    const lproj: Projection[] = [{ expr: ASSET_UUID }, { expr: col("EVENT_TS") }];
    for (const t of m.telemetry) {
      const text = col(textCol(m, t.name));
      // the text is already validated and mapped: only the type conversion is left
      const typed = t.type.t === "bool" ? eq(text, lit("true")) : t.type.t === "string" || t.type.t === "enum" ? text : cast(text, DOUBLE);
      // never reported (NULL) is unknown too: without the IS NULL test a bool would read `false`
      lproj.push({ expr: caseWhen([{ when: or(isNull(text), eq(text, UNAVAILABLE)), then: typedNull(sqlType(t.type)) }], typed), alias: signalCol(m, t.name) });
    }
    if (allKey) lproj.push({ expr: lit("all"), alias: "ALL_KEY" });
    this.push({
      name: latestName,
      ast: { k: "createAs", what: "TABLE", name: latestName, orReplace: true, ifNotExists: false, with: this.plainProps(latestName), select: { projections: lproj, from: rawName, emit: "CHANGES" } },
      kind: "table",
      replaceable: true,
      dependsOn: [rawName],
      source: `model ${m.name}`,
    });
    this.latestTable.set(m.name, latestName);

    for (const s of m.states) if (!s.hidden) this.state(m, assets, s);
  }

  private plainProps(name: string): { key: string; value: string }[] {
    return [
      { key: "KAFKA_TOPIC", value: this.topic(name) },
      { key: "VALUE_FORMAT", value: "JSON" },
    ];
  }

  private derivedProps(name: string): { key: string; value: string }[] {
    // derived records go to a topic of their own, `ofl_<program>_derived_<model>_<state>`
    return [
      { key: "KAFKA_TOPIC", value: this.topicPrefix + "derived_" + this.topic(name).slice(this.topicPrefix.length) },
      { key: "VALUE_FORMAT", value: "JSON" },
    ];
  }

  /** the ofa_assets value layout: ID, VALUE (text), TAG 'Derived', TYPE, ATTRIBUTES */
  private wireLayout(key: Expr, keyAlias: string | undefined, id: string, value: Expr, type: IrType, timestamp: Expr | undefined): Projection[] {
    const p: Projection[] = [
      keyAlias === undefined ? { expr: key } : { expr: key, alias: keyAlias },
      { expr: lit(id), alias: "ID" },
      { expr: valueText(value, type), alias: "VALUE" },
      { expr: lit("Derived"), alias: "TAG" },
      { expr: lit(isSample(type) ? "Samples" : "Events"), alias: "TYPE" },
    ];
    if (timestamp) p.push({ expr: { k: "map", entries: [{ key: lit("timestamp"), value: timestamp }] }, alias: "ATTRIBUTES" });
    return p;
  }

  private state(m: IrModel, assets: IrAsset[], s: IrState): void {
    const decl = `${m.name}.${s.name}`;
    const ctx: ExprCtx = { model: m, assets, signals: new Set(), inlining: new Set([s.name]) };
    const def = s.def;
    if (this.placed.get(decl)?.runsOn !== "ksqldb") return; // the rule worker's (compiler/place)
    this.translating(decl, () => {
      if ("k" in def && def.k === "window") {
        const agg = def.agg;
        const arg = agg.arg ? tx(agg.arg, ctx) : undefined;
        const triggers = agg.triggers.length > 0 ? agg.triggers : m.telemetry.map((t) => t.name);
        const from = this.telemetryStream.get(m.name)!;
        const name = this.objectName(m.name, s.name);
        const value = aggregate(agg.fn, arg, false);
        this.push({
          name,
          ast: {
            k: "createAs",
            what: "TABLE",
            name,
            orReplace: false,
            ifNotExists: true,
            with: this.derivedProps(name),
            select: {
              projections: this.wireLayout(ASSET_UUID, undefined, s.name, value, s.type, call("LATEST_BY_OFFSET", col("EVENT_TS"), lit(true))),
              from,
              window: window(agg.window),
              where: triggers.length === 1 ? eq(ID, lit(triggers[0]!)) : inList(ID, triggers.map(lit)),
              groupBy: [ASSET_UUID],
              emit: agg.final ? "FINAL" : "CHANGES",
            },
          },
          kind: "table",
          replaceable: false,
          dependsOn: [from],
          source: decl,
        });
        this.objects.set(decl, name);
        return;
      }
      const x = full(tx(def as IrExpr, ctx));
      const from = this.latestTable.get(m.name)!;
      const name = this.objectName(m.name, s.name);
      this.push({
        name,
        ast: {
          k: "createAs",
          what: "TABLE",
          name,
          orReplace: true,
          ifNotExists: false,
          with: this.derivedProps(name),
          select: { projections: this.wireLayout(ASSET_UUID, undefined, s.name, x, s.type, col("EVENT_TS")), from, emit: "CHANGES" },
        },
        kind: "table",
        replaceable: true,
        dependsOn: [from],
        source: decl,
      });
      this.objects.set(decl, name);
    });
  }

  /** Builds what placement put on ksqlDB; a construct the translation then refuses is a bug of this compiler. */
  private translating(decl: string, build: () => void): void {
    try {
      build();
    } catch (err) {
      if (err instanceof NotKsql) throw new Error(`internal error: ${decl} was placed on ksqlDB, but its translation says: ${err.message}`);
      throw err;
    }
  }


  // ---- views

  private view(v: IrView): void {
    const decl = `view ${v.name}`;
    if (this.placed.get(decl)?.runsOn !== "ksqldb") return;
    this.translating(decl, () => {
      const m = this.models.get(concreteModels(this.ir, v.from)[0]!)!;
      const assets = this.assetsOf(m.name);
      const ctx: ExprCtx = { model: m, assets, signals: new Set(), inlining: new Set() };
      const arg = v.arg ? tx(v.arg, ctx) : undefined;
      const whereTe = v.where ? tx(v.where, ctx) : undefined;
      // a row is in the view when the condition is known and true (the engine: `=== true`)
      const where = whereTe ? isTrue(whereTe) : undefined;
      const group: Expr = v.by === undefined ? col("ALL_KEY") : attrGroup(assets, v.by);
      const name = this.objectName("VIEW", v.name);
      const value = aggregate(v.fn, arg, v.window === undefined);
      if (v.window) {
        const triggers = v.triggers.length > 0 ? v.triggers : m.telemetry.map((t) => t.name);
        const from = this.telemetryStream.get(m.name)!;
        const byTrigger = triggers.length === 1 ? eq(ID, lit(triggers[0]!)) : inList(ID, triggers.map(lit));
        this.push({
          name,
          ast: {
            k: "createAs",
            what: "TABLE",
            name,
            orReplace: false,
            ifNotExists: true,
            with: this.derivedProps(name),
            select: {
              projections: this.wireLayout(group, "VIEW_GROUP", v.name, value, v.type, call("LATEST_BY_OFFSET", col("EVENT_TS"), lit(true))),
              from,
              window: window(v.window),
              where: where ? and(byTrigger, where) : byTrigger,
              groupBy: [group],
              emit: v.final ? "FINAL" : "CHANGES",
            },
          },
          kind: "table",
          replaceable: false,
          dependsOn: [from],
          source: decl,
        });
        this.objects.set(decl, name);
        return;
      }
      const from = this.latestTable.get(m.name)!;
      this.push({
        name,
        ast: {
          k: "createAs",
          what: "TABLE",
          name,
          orReplace: false,
          ifNotExists: true,
          with: this.derivedProps(name),
          select: {
            projections: this.wireLayout(group, "VIEW_GROUP", v.name, value, v.type, undefined),
            from,
            ...(where ? { where } : {}),
            groupBy: [group],
            emit: "CHANGES",
          },
        },
        kind: "table",
        replaceable: false,
        dependsOn: [from],
        source: decl,
      });
      this.objects.set(decl, name);
    });
  }
}


// ---------------------------------------------------------------- public API

/** Compiles a program's IR to ksqlDB statements (in dependency order) and a placement list. */
/**
 * Kafka Streams checks for closed windows of an `EMIT FINAL` aggregate at most once per
 * `__emit.interval.ms.kstreams.windowed.aggregation__` of *wall-clock* time (default 1 s), so a
 * closed window would be emitted late or, in a burst, with a later record than the engine's.
 * 0 checks on every record. ksqlDB passes this internal Streams property through
 * (KsqlConfigResolver.isInternalStreamsConfig, 0.29) and its own query-validation tests of
 * EMIT FINAL set it to 0 (ksqldb-functional-tests/.../query-validation-tests/suppress.json).
 */
export const EMIT_INTERVAL_PROPERTY = "ksql.streams.__emit.interval.ms.kstreams.windowed.aggregation__";

export function emitKsql(ir: IrProgram): KsqlPlan {
  const placement = place(ir);
  const e = new Emitter(ir, placement);
  e.run();
  const properties: Record<string, string> = { "auto.offset.reset": "earliest" };
  const known = new Map<string, Map<string, string>>();
  if (e.out.some((p) => p.ast.k === "createAs" && p.ast.select.emit === "FINAL")) {
    properties[EMIT_INTERVAL_PROPERTY] = "0";
    e.out.splice(1, 0, { name: EMIT_INTERVAL_PROPERTY, ast: { k: "set", property: EMIT_INTERVAL_PROPERTY, value: "0" }, kind: "set", replaceable: true, dependsOn: [], source: "(program)" });
  }
  return {
    program: ir.program,
    prefix: e.prefix,
    statements: e.out.map((p) => {
      const columns = columnsOf(p.ast, known);
      if (columns) known.set(p.name, new Map(columns.map((c) => [c.name, c.type])));
      return { name: p.name, sql: printStatement(p.ast), kind: p.kind, replaceable: p.replaceable, dependsOn: p.dependsOn, source: p.source, ...(columns ? { columns } : {}) };
    }),
    placement: placement.map((p) => (p.runsOn === "ksqldb" ? { ...p, reason: `${p.reason}: ${e.objects.get(p.declaration)}` } : p)),
    properties,
  };
}

/** The SQL type of a projected expression, given the column types of its source. */
function exprType(e: Expr, src: Map<string, string>): string {
  switch (e.k) {
    case "col":
      return src.get(e.name.toUpperCase()) ?? "?";
    case "lit":
      if (typeof e.value === "string") return "VARCHAR";
      if (typeof e.value === "boolean") return "BOOLEAN";
      if (typeof e.value === "number") return e.double || !Number.isInteger(e.value) ? "DOUBLE" : "INTEGER";
      return "?";
    case "cast":
      return printType(e.type);
    case "case": {
      for (const b of [...e.whens.map((w) => w.then), ...(e.else ? [e.else] : [])]) {
        const t = exprType(b, src);
        if (t !== "?") return t;
      }
      return "?";
    }
    case "binary":
      return ["+", "-", "*", "/", "%"].includes(e.op) ? "DOUBLE" : "BOOLEAN";
    case "unary":
      return e.op === "NOT" ? "BOOLEAN" : exprType(e.arg, src);
    case "isNull":
    case "in":
      return "BOOLEAN";
    case "call":
      if (e.fn === "COUNT") return "BIGINT";
      if (["COALESCE", "LATEST_BY_OFFSET", "EARLIEST_BY_OFFSET", "MIN", "MAX", "SUM"].includes(e.fn)) return exprType(e.args[0]!, src);
      return "DOUBLE";
    case "map":
      return `MAP<VARCHAR, ${exprType(e.entries[0]!.value, src)}>`;
    case "subscript":
      return exprType(e.base, src).replace(/^MAP<[^,]+, (.*)>$/, "$1");
    case "field":
      return "?";
  }
}

/** The value columns each CREATE makes (key columns included: their order matters too). */
function columnsOf(st: Statement, known: Map<string, Map<string, string>>): { name: string; type: string }[] | undefined {
  if (st.k === "createSource") return st.columns.map((c) => ({ name: c.name.toUpperCase(), type: printType(c.type) }));
  if (st.k !== "createAs") return undefined;
  const src = known.get(st.select.from) ?? new Map<string, string>();
  return st.select.projections.map((p) => ({
    name: (p.alias ?? (p.expr.k === "col" ? p.expr.name : "?")).toUpperCase(),
    type: exprType(p.expr, src),
  }));
}

/** The statements as one script (what `ofl build` writes), each headed by where it comes from. */
export function ksqlScript(plan: KsqlPlan): string {
  const head = [
    `-- ksqlDB statements of the OFL program ${JSON.stringify(plan.program)}, generated by ofl build: do not edit.`,
    `-- Objects are prefixed ${plan.prefix}; ASSETS_STREAM is OpenFactory's (created only when absent).`,
  ];
  const body = plan.statements.map((s) => `-- ${s.source}${s.kind === "set" ? "" : `: ${s.kind} ${s.name}${s.replaceable ? " (replaceable)" : ""}`}\n${s.sql}`);
  return [...head, "", body.join("\n\n"), ""].join("\n");
}

/** What `ofl build --explain` prints: where each declaration runs, and the ksqlDB objects. */
export function explainKsql(plan: KsqlPlan): string {
  const lines: string[] = [];
  const width = Math.max(0, ...plan.placement.map((p) => p.declaration.length));
  const section = (title: string, runsOn: "ksqldb" | "worker"): void => {
    const ps = plan.placement.filter((p) => p.runsOn === runsOn);
    lines.push(`${title} (${ps.length}):`);
    if (ps.length === 0) lines.push("  (none)");
    for (const p of ps) lines.push(`  ${p.declaration.padEnd(width)}  ${p.reason}`);
  };
  lines.push(`Program ${JSON.stringify(plan.program)}: ksqlDB objects are prefixed ${plan.prefix}`);
  lines.push("");
  section("Runs in ksqlDB", "ksqldb");
  lines.push("");
  section("Runs in the rule worker", "worker");
  lines.push("");
  lines.push(`ksqlDB statements, in order (${plan.statements.length}):`);
  plan.statements.forEach((s, i) => {
    const what = s.kind === "set" ? `SET ${s.name}` : `${s.kind} ${s.name}`;
    const how = s.kind === "set" ? "" : s.replaceable ? " [CREATE OR REPLACE]" : " [IF NOT EXISTS]";
    const deps = s.dependsOn.length > 0 ? ` <- ${s.dependsOn.join(", ")}` : "";
    lines.push(`  ${String(i + 1).padStart(2)}. ${what}${how}${deps}`);
  });
  return lines.join("\n") + "\n";
}

/**
 * The NULL-safe ksqlDB expression of a pointwise state, as the emitter puts it in the state's
 * table (before the text conversion). For tests that evaluate it under ksqlDB's semantics.
 */
export function ksqlStateExpr(ir: IrProgram, model: string, state: string): Expr {
  const m = ir.models.find((x) => x.name === model)!;
  const s = m.states.find((x) => x.name === state)!;
  const ctx: ExprCtx = { model: m, assets: ir.assets.filter((a) => a.model === model), signals: new Set(), inlining: new Set([s.name]) };
  return full(tx(s.def as IrExpr, ctx));
}
