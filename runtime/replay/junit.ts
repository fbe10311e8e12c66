// JUnit XML for CI systems (the common Surefire/Ant dialect Jenkins, GitLab and GitHub read).
import type { TestResult } from "./runner.js";

function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** One <testsuite> per file, one <testcase> per test, a <failure> per failed test. */
export function junitXml(results: TestResult[], suiteName = "ofl"): string {
  const byFile = new Map<string, TestResult[]>();
  for (const r of results) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  const failed = results.filter((r) => r.status === "failed").length;
  const total = results.reduce((s, r) => s + r.durationMs, 0) / 1000;
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="${esc(suiteName)}" tests="${results.length}" failures="${failed}" errors="0" time="${total.toFixed(3)}">`];
  for (const [file, rs] of byFile) {
    const f = rs.filter((r) => r.status === "failed").length;
    const t = rs.reduce((s, r) => s + r.durationMs, 0) / 1000;
    out.push(`  <testsuite name="${esc(file)}" tests="${rs.length}" failures="${f}" errors="0" skipped="0" time="${t.toFixed(3)}">`);
    for (const r of rs) {
      const open = `    <testcase name="${esc(r.name)}" classname="${esc(file)}" file="${esc(file)}" line="${r.line}" time="${(r.durationMs / 1000).toFixed(3)}"`;
      if (r.status === "passed") {
        out.push(`${open}/>`);
        continue;
      }
      out.push(`${open}>`);
      const first = r.failures[0]!;
      const body = r.failures.map((x) => `line ${x.line}: ${x.expectation}\n  expected: ${x.expected}\n  actual:   ${x.actual}`).join("\n");
      out.push(`      <failure message="${esc(`line ${first.line}: ${first.expectation}`)}" type="expectation">${esc(body)}</failure>`);
      out.push(`    </testcase>`);
    }
    out.push(`  </testsuite>`);
  }
  out.push(`</testsuites>`);
  return out.join("\n") + "\n";
}
