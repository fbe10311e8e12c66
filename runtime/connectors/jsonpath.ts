// A tiny JSON path evaluator for connector bindings (language spec §4.2: "JSON paths are
// `$.a.b[0]`"). Supported: `$` (the whole document), `.name`, `['name']` / `["name"]` (any key,
// with `\\` and `\'`/`\"` escapes), `[N]` (array index, N >= 0) and `[-N]` (from the end).
// No wildcards, filters or recursive descent: a binding reads one value.
//
// Paths are compiled once (`compileJsonPath`, which throws a readable error on bad syntax) and
// evaluated per message without allocation beyond the result.

export type PathSegment = { key: string } | { index: number };

export interface JsonPath {
  /** the path as written */
  text: string;
  segments: PathSegment[];
}

export type PathResult = { found: true; value: unknown } | { found: false; /** why, e.g. `$.a.b: no key "b"` */ why: string };

export class JsonPathError extends Error {}

function isIdentChar(c: string): boolean {
  // a dotted name ends at `.`, `[` or whitespace; anything else (letters, digits, `_`, `-`, `$`,
  // non-ASCII…) is part of it, like most JSON path dialects
  return c !== "." && c !== "[" && c !== "]" && c !== " " && c !== "\t" && c !== "'" && c !== '"';
}

/** Parses a path such as `$.a.b[0]`, `$['odd key'][-1]` or `$`. Throws JsonPathError. */
export function compileJsonPath(text: string): JsonPath {
  const fail = (at: number, what: string): never => {
    throw new JsonPathError(`invalid JSON path ${JSON.stringify(text)}: ${what} at character ${at + 1}`);
  };
  const s = text.trim();
  if (s[0] !== "$") fail(0, "a path starts with `$`");
  const segments: PathSegment[] = [];
  let i = 1;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ".") {
      i++;
      const start = i;
      while (i < s.length && isIdentChar(s[i]!)) i++;
      if (i === start) fail(start, "expected a name after `.`");
      segments.push({ key: s.slice(start, i) });
    } else if (c === "[") {
      i++;
      const q = s[i];
      if (q === "'" || q === '"') {
        i++;
        let key = "";
        while (i < s.length && s[i] !== q) {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          key += s[i]!;
          i++;
        }
        if (i >= s.length) fail(i, `unterminated quoted name`);
        i++; // closing quote
        if (s[i] !== "]") fail(i, "expected `]`");
        i++;
        segments.push({ key });
      } else {
        const start = i;
        if (s[i] === "-") i++;
        const digitsAt = i;
        while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
        if (i === digitsAt) fail(digitsAt, "expected an array index or a quoted name");
        if (s[i] !== "]") fail(i, "expected `]`");
        const index = Number(s.slice(start, i));
        if (!Number.isSafeInteger(index)) fail(start, "array index too large");
        i++;
        segments.push({ index });
      }
    } else {
      fail(i, `unexpected ${JSON.stringify(c)}`);
    }
  }
  return { text: s, segments };
}

function prefix(path: JsonPath, n: number): string {
  let out = "$";
  for (let k = 0; k < n; k++) {
    const g = path.segments[k]!;
    if ("index" in g) out += `[${g.index}]`;
    else out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(g.key) ? `.${g.key}` : `[${JSON.stringify(g.key)}]`;
  }
  return out;
}

function kind(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (typeof x === "object") return "an object";
  return `a ${typeof x}`;
}

/** The value at `path` in a parsed JSON document. */
export function evalJsonPath(path: JsonPath, doc: unknown): PathResult {
  let cur = doc;
  const segs = path.segments;
  for (let k = 0; k < segs.length; k++) {
    const g = segs[k]!;
    if ("index" in g) {
      if (!Array.isArray(cur)) return { found: false, why: `${prefix(path, k)} is ${kind(cur)}, not an array` };
      const i = g.index < 0 ? cur.length + g.index : g.index;
      if (i < 0 || i >= cur.length) return { found: false, why: `${prefix(path, k)} has no index ${g.index} (length ${cur.length})` };
      cur = cur[i];
    } else {
      if (typeof cur !== "object" || cur === null || Array.isArray(cur)) {
        return { found: false, why: `${prefix(path, k)} is ${kind(cur)}, not an object` };
      }
      const o = cur as Record<string, unknown>;
      if (!Object.prototype.hasOwnProperty.call(o, g.key)) return { found: false, why: `${prefix(path, k)} has no key ${JSON.stringify(g.key)}` };
      cur = o[g.key];
    }
  }
  return { found: true, value: cur };
}

/**
 * A value found at a path as telemetry text (VALUE on the wire): strings as they are, numbers and
 * bools as their JSON text, `null`, objects and arrays as their JSON text (the engine
 * dead-letters those that do not parse as the declared type).
 */
export function valueAsText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  const j = JSON.stringify(v);
  return j === undefined ? String(v) : j;
}
