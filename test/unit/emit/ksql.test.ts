// The ksqlDB emitter: golden files (test/golden/ksql/<name>.sql) for every conformance pass
// program, the cnc-cell example and small programs per construct; plus structural checks.
// Regenerate after an intended change: OFL_UPDATE_GOLDEN=1 npx vitest run test/unit/emit
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, test } from "vitest";
import { compile, type IrProgram } from "../../../compiler/index.js";
import { EMIT_INTERVAL_PROPERTY, emitKsql, explainKsql, JSON_NUMBER, ksqlScript, programPrefix, type KsqlPlan } from "../../../compiler/emit/ksql/emit.js";
import { isJsonNumber } from "../../../runtime/engine/values.js";
import { ident, KSQL_RESERVED, printExpr, printStatement, str } from "../../../compiler/emit/ksql/print.js";
import { lit } from "../../../compiler/emit/ksql/ast.js";

const root = new URL("../../../", import.meta.url).pathname;
const goldenDir = join(root, "test/golden/ksql");
const update = process.env.OFL_UPDATE_GOLDEN === "1";

function irOf(files: string[], name: string): IrProgram {
  const r = compile(
    files.map((path) => ({ path, text: readFileSync(path, "utf8") })),
    { name },
  );
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.ir!;
}

function irOfText(text: string, name: string): IrProgram {
  const r = compile([{ path: `/virtual/${name}.ofl`, text }], { name });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.ir!;
}

/** The golden text: the script, then the placement as `ofl build --explain` prints it (commented). */
function goldenText(plan: KsqlPlan): string {
  const explain = explainKsql(plan)
    .trimEnd()
    .split("\n")
    .map((l) => (l === "" ? "--" : `-- ${l}`))
    .join("\n");
  return `${ksqlScript(plan)}\n${explain}\n`;
}

function checkGolden(name: string, plan: KsqlPlan): void {
  const file = join(goldenDir, `${name}.sql`);
  const text = goldenText(plan);
  // on CI a missing golden file is a failure (it would otherwise be written and pass unseen)
  if (!update && !existsSync(file) && process.env.CI === "true")
    expect.fail(`test/golden/ksql/${name}.sql is missing. Generate it locally with OFL_UPDATE_GOLDEN=1 npx vitest run test/unit/emit, read it, and commit it.`);
  if (update || !existsSync(file)) {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  const want = readFileSync(file, "utf8");
  if (want !== text) {
    const hint = `\n\nThe emitted ksqlDB differs from test/golden/ksql/${name}.sql. If the change is intended, regenerate with:\n  OFL_UPDATE_GOLDEN=1 npx vitest run test/unit/emit\n`;
    expect(text, hint).toBe(want);
  }
}

const passDir = join(root, "test/conformance/pass");
const passPrograms = readdirSync(passDir)
  .filter((f) => f.endsWith(".ofl"))
  .sort()
  .map((f) => ({ name: basename(f, ".ofl"), files: [join(passDir, f)] }));
const cnc = {
  name: "cnc-cell",
  // the project's .ofl files (its test files included: they do not change the emitted SQL)
  files: readdirSync(join(root, "examples/cnc-cell"))
    .filter((f) => f.endsWith(".ofl") && statSync(join(root, "examples/cnc-cell", f)).isFile())
    .sort()
    .map((f) => join(root, "examples/cnc-cell", f)),
};
const focusedDir = join(root, "test/unit/emit/programs");
const focused = readdirSync(focusedDir)
  .filter((f) => f.endsWith(".ofl"))
  .sort()
  .map((f) => ({ name: `focused_${basename(f, ".ofl")}`, files: [join(focusedDir, f)] }));
const all = [...passPrograms, cnc, ...focused];

describe("golden files", () => {
  for (const p of all) test(p.name, () => checkGolden(p.name, emitKsql(irOf(p.files, p.name))));
});

/** Object names a statement's SQL mentions after FROM. */
function fromOf(sql: string): string[] {
  return [...sql.matchAll(/\bFROM ([A-Z0-9_`]+)/g)].map((m) => m[1]!);
}

describe("plan structure", () => {
  for (const p of all) {
    test(`${p.name}: dependency order, prefixes, idempotence`, () => {
      const plan = emitKsql(irOf(p.files, p.name));
      const prefix = programPrefix(p.name);
      expect(plan.prefix).toBe(prefix);
      const seen = new Set<string>();
      expect(plan.statements[0]!.sql).toBe("SET 'auto.offset.reset'='earliest';");
      const final = plan.statements.some((s) => s.sql.includes("\nEMIT FINAL;"));
      // EMIT FINAL needs the wall-clock throttle of closed windows off (issue 13, item 7)
      expect(plan.properties).toEqual(final ? { "auto.offset.reset": "earliest", [EMIT_INTERVAL_PROPERTY]: "0" } : { "auto.offset.reset": "earliest" });
      if (final) expect(plan.statements[1]!.sql).toBe(`SET '${EMIT_INTERVAL_PROPERTY}'='0';`);
      for (const s of plan.statements) {
        for (const d of s.dependsOn) expect(seen.has(d), `${s.name} reads ${d} before it exists`).toBe(true);
        for (const f of fromOf(s.sql)) expect(s.dependsOn).toContain(f);
        if (s.kind !== "set") {
          if (s.name !== "ASSETS_STREAM") expect(s.name.startsWith(prefix), s.name).toBe(true);
          expect(seen.has(s.name), `${s.name} created twice`).toBe(false);
          // idempotent: every CREATE is either IF NOT EXISTS or OR REPLACE, never both
          const replace = s.sql.startsWith(`CREATE OR REPLACE ${s.kind.toUpperCase()} ${s.name} `);
          const ifNot = s.sql.startsWith(`CREATE ${s.kind.toUpperCase()} IF NOT EXISTS ${s.name} `);
          expect(replace !== ifNot, s.sql.slice(0, 80)).toBe(true);
          expect(replace).toBe(s.replaceable);
          // ksqlDB cannot replace aggregates or joins in place
          if (/GROUP BY|JOIN/.test(s.sql)) expect(s.replaceable).toBe(false);
          // every windowed aggregate has an explicit grace period and an EMIT
          if (s.sql.includes("\nWINDOW ")) expect(s.sql).toMatch(/GRACE PERIOD \d+ [A-Z]+\)/);
          if (s.sql.includes(" AS\nSELECT")) expect(s.sql).toMatch(/\nEMIT (CHANGES|FINAL);$/);
          // topics are the program's own too (ofa_assets excepted)
          const topic = /KAFKA_TOPIC='([^']*)'/.exec(s.sql)?.[1];
          if (s.name !== "ASSETS_STREAM") expect(topic?.startsWith(prefix.toLowerCase()), topic).toBe(true);
        }
        seen.add(s.name);
      }
      // windows run on event time: every windowed query reads a stream declared with TIMESTAMP
      for (const s of plan.statements.filter((x) => x.sql.includes("\nWINDOW "))) {
        const src = plan.statements.find((x) => x.name === s.dependsOn[0]);
        expect(src?.sql).toContain("TIMESTAMP='EVENT_TS'");
      }
    });
  }

  test("clause order is SELECT FROM WINDOW WHERE GROUP BY HAVING EMIT", () => {
    const plan = emitKsql(irOf(focused.find((f) => f.name === "focused_views")!.files, "views"));
    for (const s of plan.statements) {
      const order = ["\nSELECT", "\nFROM ", "\nWINDOW ", "\nWHERE ", "\nGROUP BY ", "\nHAVING ", "\nEMIT "].map((k) => s.sql.indexOf(k)).filter((i) => i >= 0);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  test("every declaration is placed, with a reason", () => {
    const ir = irOf(focused.find((f) => f.name === "focused_functions")!.files, "functions");
    const plan = emitKsql(ir);
    const placed = new Map(plan.placement.map((p) => [p.declaration, p]));
    for (const m of ir.models) {
      for (const s of m.states.filter((x) => !x.hidden)) expect(placed.has(`${m.name}.${s.name}`), s.name).toBe(true);
      for (const a of m.alarms) expect(placed.get(`${m.name}.${a.name}`)?.runsOn).toBe("worker");
      for (const c of m.commands) expect(placed.get(`${m.name}.${c.name}`)?.runsOn).toBe("worker");
    }
    for (const p of plan.placement) expect(p.reason.length).toBeGreaterThan(10);
    const on = (d: string): string => placed.get(`Tank.${d}`)!.runsOn;
    for (const d of ["fill", "net", "magnitude", "lo", "hi", "r", "f", "c", "s", "p", "bounded", "label", "has_level", "ratio_io", "rem", "neg", "hot_avg"])
      expect(on(d), d).toBe("ksqldb");
    for (const d of ["jumped", "before", "filling_long", "stale", "above_avg", "mixed_avg"]) expect(on(d), d).toBe("worker");
    expect(placed.get("Tank.filling_long")!.reason).toBe("`for` needs a timer: runs in the rule worker");
  });
});

describe("names and escaping", () => {
  test("a program name with odd characters is sanitized", () => {
    const ir = irOfText(`model M { telemetry x: float }\nasset a: M { uuid "A" }\n`, "my plant-1.v2 ü");
    const plan = emitKsql(ir);
    expect(plan.prefix).toBe("OFL_MY_PLANT_1_V2___");
    for (const s of plan.statements.filter((x) => x.kind !== "set" && x.name !== "ASSETS_STREAM")) {
      expect(s.name).toMatch(/^OFL_MY_PLANT_1_V2___[A-Z0-9_]+$/);
      expect(s.sql).toMatch(/KAFKA_TOPIC='ofl_my_plant_1_v2___[a-z0-9_]+'/);
    }
  });

  test("user strings with quotes are escaped by doubling", () => {
    const ir = irOfText(
      [
        `model M {`,
        `  attribute owner: string`,
        `  telemetry label: string`,
        `  state mine = label == "it's 'quoted'"`,
        `}`,
        `asset a: M { uuid "O'Brien-1" owner = "O'Brien" }`,
        `view by_owner = count() from M by owner`,
      ].join("\n"),
      "quotes",
    );
    const sql = emitKsql(ir)
      .statements.map((s) => s.sql)
      .join("\n");
    expect(sql).toContain("'O''Brien-1'");
    expect(sql).toContain("THEN 'O''Brien'");
    expect(sql).toContain("'it''s ''quoted'''");
    // no quote is left unpaired: every literal closes
    for (const line of sql.split("\n")) expect((line.match(/'/g) ?? []).length % 2, line).toBe(0);
  });

  test("the printer quotes keywords and odd identifiers, escapes literals", () => {
    expect(ident("temperature")).toBe("TEMPERATURE");
    expect(ident("window")).toBe("`WINDOW`");
    expect(ident("a`b")).toBe("`A``B`");
    expect(str("it's")).toBe("'it''s'");
    expect(printExpr(lit("'; DROP STREAM X; --"))).toBe("'''; DROP STREAM X; --'");
    expect(printExpr(lit(1.5))).toBe("1.5E0");
    expect(printExpr(lit(-3))).toBe("-3");
    expect(printStatement({ k: "drop", what: "TABLE", name: "x y", ifExists: true, deleteTopic: true })).toBe("DROP TABLE IF EXISTS `X Y` DELETE TOPIC;");
  });

  // Issue 13, item 3: every ksqlDB reserved word (from its 0.29 grammar) used as a signal and
  // state name never appears bare in the emitted SQL: the SQL of a program naming things KW has
  // exactly as many bare KW tokens (outside literals and backticks) as the same program naming
  // them `zq`. Names OFL itself does not allow are skipped (and counted: most must compile).
  test("a ksqlDB keyword used as a signal or state name is never printed bare", () => {
    const bareTokens = (sql: string, word: string): number =>
      sql
        .replace(/'(?:[^']|'')*'/g, "''")
        .replace(/`(?:[^`]|``)*`/g, "``")
        .split(/[^A-Za-z0-9_]+/)
        .filter((t) => t === word).length;
    const program = (n: string): string =>
      [
        `model M {`,
        `  telemetry ${n}: float`,
        `  telemetry flag: bool`,
        `  state ${n}_s = ${n} > 3`,
        `  state ${n}x = ${n} * 2`,
        `  state w = avg(${n}) over tumbling 1m`,
        `}`,
        `asset a: M { uuid "A" }`,
        `view v = avg(${n}) from M`,
      ].join("\n");
    const sqlOf = (n: string): string | null => {
      const r = compile([{ path: `/virtual/${n}.ofl`, text: program(n) }], { name: "kw" });
      if (r.diagnostics.some((d) => d.severity === "error")) return null;
      return emitKsql(r.ir!)
        .statements.map((x) => x.sql)
        .join("\n");
    };
    const neutral = sqlOf("zq")!;
    let compiled = 0;
    for (const kw of KSQL_RESERVED) {
      expect(ident(kw), kw).toBe("`" + kw + "`");
      expect(ident(kw.toLowerCase()), kw).toBe("`" + kw + "`");
      const sql = sqlOf(kw.toLowerCase());
      if (sql === null) continue;
      compiled++;
      expect(bareTokens(sql, kw), `${kw} printed bare`).toBe(bareTokens(neutral, kw));
      expect(sql).toContain(`S_${kw}`);
    }
    expect(KSQL_RESERVED.length).toBe(88);
    expect(compiled).toBeGreaterThan(60);
  });

  // Issue 13, item 4: a signal named like an emitted or system column gets its own column.
  test("signals named like emitted or pseudo columns do not clash", () => {
    const names = ["id", "event_ts", "asset_uuid", "all_key", "rowtime", "rowkey", "windowstart", "windowend", "rowpartition", "rowoffset", "value", "tag", "type", "attributes", "view_group"];
    const ir = irOfText(
      [`model M {`, ...names.map((n) => `  telemetry ${n}: float`), `  state total = id + rowtime`, `}`, `asset a: M { uuid "A" }`, `view v = avg(windowstart) from M`].join("\n"),
      "clash",
    );
    const plan = emitKsql(ir);
    const tel = plan.statements.find((s) => s.name.endsWith("_M_TELEMETRY"))!.sql;
    const latest = plan.statements.find((s) => s.name.endsWith("_M_LATEST"))!.sql;
    // every projected column name is distinct, and none is a ksqlDB pseudo/window column
    for (const sql of [tel, latest]) {
      const cols = sql
        .split("\n")
        .filter((l) => /^  \S/.test(l))
        .map((l) => / AS ([A-Z0-9_`]+),?$/.exec(l)?.[1] ?? l.trim().replace(/,$/, ""));
      expect(new Set(cols).size, cols.join(" ")).toBe(cols.length);
      for (const c of cols) expect(["ROWTIME", "ROWKEY", "WINDOWSTART", "WINDOWEND", "ROWPARTITION", "ROWOFFSET"]).not.toContain(c);
    }
    for (const n of names) {
      expect(tel).toContain(`AS S_${n.toUpperCase()},`);
      expect(tel).toContain(`AS T_${n.toUpperCase()}`);
    }
    expect(plan.statements.find((s) => s.name.endsWith("_M_TOTAL"))!.sql).toContain("S_ID + S_ROWTIME");
  });

  // ksqlDB folds unquoted names to upper case and refuses a schema with two columns of one name
  // ("Duplicate value columns found in schema", LogicalSchema): OFL names are case-sensitive
  test("signals whose names differ only in case get distinct columns, and each reader reads its own", () => {
    const ir = irOfText(
      [`model M {`, `  telemetry Temp: float`, `  telemetry temp: float`, `  telemetry TEMP_2: float`, `  state hot = temp > 100`, `  state cold = Temp < 0`, `}`, `asset a: M { uuid "A" }`].join("\n"),
      "folded",
    );
    const plan = emitKsql(ir);
    const sql = (suffix: string): string => plan.statements.find((s) => s.name.endsWith(suffix))!.sql;
    const aliases = (text: string): string[] => [...text.matchAll(/ AS ([A-Z0-9_`]+)(?=,?\n)/g)].map((m) => m[1]!);
    // in declaration order: Temp keeps S_TEMP, temp is numbered, and TEMP_2 (taken) moves on
    expect(aliases(sql("_M_TELEMETRY"))).toEqual(["S_TEMP", "T_TEMP", "S_TEMP_2", "T_TEMP_2", "S_TEMP_2_2", "T_TEMP_2_2"]);
    expect(aliases(sql("_M_LATEST_TEXT"))).toEqual(["EVENT_TS", "T_TEMP", "T_TEMP_2", "T_TEMP_2_2"]);
    expect(aliases(sql("_M_LATEST"))).toEqual(["S_TEMP", "S_TEMP_2", "S_TEMP_2_2"]);
    // `hot` reads `temp` (the second column), `cold` reads `Temp` (the first)
    expect(sql("_M_HOT")).toMatch(/\bS_TEMP_2 > 100\b/);
    expect(sql("_M_COLD")).toMatch(/\bS_TEMP < 0\b/);
  });
});

describe("telemetry validation (issue 13, items 5 and 9)", () => {
  const program = [
    "enum Exec { READY, ACTIVE }",
    "model M {",
    "  telemetry exec: Exec",
    "  telemetry t: float in -50..500",
    "  telemetry n: int",
    "  telemetry ok: bool",
    "}",
    'asset a: M { uuid "A"',
    '  source opcua("opc.tcp://127.0.0.1:4841") { exec <- node("ns=1;s=Exec") map { 0: READY, 1: ACTIVE } } }',
    'asset b: M { uuid "B" }',
  ].join("\n");

  test("a binding's enum map is accepted only from its own asset", () => {
    const r = compile([{ path: "/virtual/maps.ofl", text: program }], { name: "maps" });
    if (r.diagnostics.some((d) => d.severity === "error")) throw new Error(JSON.stringify(r.diagnostics));
    const tel = emitKsql(r.ir!).statements.find((s) => s.name.endsWith("_M_TELEMETRY"))!.sql;
    const where = tel.slice(tel.indexOf("\nWHERE "));
    expect(where).toContain("(ID = 'exec' AND (VALUE = 'UNAVAILABLE' OR VALUE IN ('READY', 'ACTIVE') OR (ASSET_UUID = 'A' AND VALUE IN ('0', '1'))))");
    // the raw values appear nowhere else in the filter (asset B cannot send them)
    expect(where.match(/'0'/g)!.length).toBe(1);
    // and only asset A's rows are mapped
    expect(tel).toContain("WHEN ASSET_UUID = 'A' AND VALUE = '0' THEN 'READY'");
  });

  test("the number syntax is checked once per row, anchored on the whole text, before any CAST", () => {
    const r = compile([{ path: "/virtual/maps.ofl", text: program }], { name: "maps" });
    const tel = emitKsql(r.ir!).statements.find((s) => s.name.endsWith("_M_TELEMETRY"))!.sql;
    expect(tel.match(/REGEXP_EXTRACT\(/g)!.length).toBe(1);
    const where = tel.slice(tel.indexOf("\nWHERE "));
    expect(where).toContain("NOT (ID IN ('t', 'n')) OR VALUE = 'UNAVAILABLE' OR REGEXP_EXTRACT(");
    expect(where.indexOf("REGEXP_EXTRACT(")).toBeLessThan(where.indexOf("CAST("));
    // Java's `$` also matches before a final newline: the pattern must end with \z
    expect(JSON_NUMBER.endsWith("\\z")).toBe(true);
    expect(JSON_NUMBER).not.toContain("$");
    expect(tel).toContain(`'${JSON_NUMBER}'`);
    // the same pattern (JS `$` without the m flag is Java's \z) accepts exactly what the engine does
    const js = new RegExp(JSON_NUMBER.replace(/\\z$/, "$"));
    for (const s of ["0", "-0", "12", "1.5", "-2.25e-3", "1E5", "12\n", " 1", "1 ", "01", "1.", ".5", "+1", "0x10", "NaN", "Infinity", "1e", ""])
      expect(js.test(s), JSON.stringify(s)).toBe(isJsonNumber(s));
  });
});

describe("openfactory() data item ids (issue 13, item 14)", () => {
  test("EVENTS maps a bound data item id to its telemetry, for its own asset only", () => {
    const ir = irOfText(
      [
        "model Mill {",
        "  telemetry temperature: float<degC>",
        "  telemetry load: float",
        "  state hot = temperature > 90 degC",
        "}",
        'asset m1: Mill { uuid "CNC-7"',
        '  source openfactory() { temperature <- id("Tspindle_01")  load <- id("load") } }',
        'asset m2: Mill { uuid "CNC-8" }',
      ].join("\n"),
      "ofa",
    );
    const plan = emitKsql(ir);
    const events = plan.statements.find((s) => s.name.endsWith("_EVENTS"))!.sql;
    // an id equal to the telemetry's own name needs no mapping (the name wins, as in the engine)
    expect(events).toContain("  CASE WHEN ASSET_UUID = 'CNC-7' AND ID = 'Tspindle_01' THEN 'temperature' ELSE ID END AS ID,\n");
    expect(events.match(/THEN /g)!.length).toBe(1);
    // downstream filters compare the mapped ID with the telemetry name
    const tel = plan.statements.find((s) => s.name.endsWith("_MILL_TELEMETRY"))!.sql;
    expect(tel).toContain("ID = 'temperature'");
    expect(tel).not.toContain("Tspindle_01");
  });
});
