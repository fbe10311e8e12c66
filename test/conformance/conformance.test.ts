// The shared conformance cases (mirrored here; the project never reads ../shared at test time):
// every pass/ program checks without error and passes `ofl test`; every errors/ program
// reports an error on each line marked `// error`, and on no other line, in one run.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { compile, LineMap } from "../../compiler/index.js";
import { runTests } from "../../runtime/replay/runner.js";

const here = new URL(".", import.meta.url).pathname;
const files = (dir: string): string[] =>
  readdirSync(join(here, dir))
    .filter((f) => f.endsWith(".ofl"))
    .sort()
    .map((f) => join(here, dir, f));

describe("pass/: checks without error and every test passes", () => {
  for (const path of files("pass")) {
    test(path.slice(here.length), () => {
      const text = readFileSync(path, "utf8");
      const r = compile([{ path, text }], { name: "conformance" });
      expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      const results = runTests(r.ir!);
      expect(results.length).toBeGreaterThan(0);
      for (const t of results) expect({ name: t.name, failures: t.failures }).toEqual({ name: t.name, failures: [] });
    });
  }
});

describe("errors/: an error on every marked line and on no other", () => {
  for (const path of files("errors")) {
    test(path.slice(here.length), () => {
      const text = readFileSync(path, "utf8");
      const lines = text.split("\n");
      const marked = new Set(lines.flatMap((l, i) => (/\/\/\s*error\b/.test(l) ? [i] : [])));
      expect(marked.size).toBeGreaterThan(0);
      const r = compile([{ path, text }], { name: "conformance" });
      const map = new LineMap(text);
      const errorLines = new Set(r.diagnostics.filter((d) => d.severity === "error").map((d) => map.position(d.span.start).line));
      expect([...marked].filter((l) => !errorLines.has(l)).map((l) => `missing on line ${l + 1}: ${lines[l]}`)).toEqual([]);
      expect([...errorLines].filter((l) => !marked.has(l)).map((l) => `unexpected on line ${l + 1}: ${lines[l]}`)).toEqual([]);
      expect(r.ir).toBeUndefined();
    });
  }
});
