import type { CodeEntry } from "../types.js";

/** OFL1xxx: lexical and syntax errors. */
export const syntaxCodes: CodeEntry[] = [
  {
    code: "OFL1001",
    severity: "error",
    title: "unexpected token",
    template: "expected {expected}, found {found}",
    explanation:
      "The parser met a token that cannot stand here. It reports what it expected, skips to a point where it can continue, and goes on, so every syntax error of a file is reported in one run.",
    example: "model A {\n  telemetry y float\n}",
  },
  {
    code: "OFL1002",
    severity: "error",
    title: "unterminated string",
    template: "this string is not closed before the end of the line",
    explanation: 'A string literal starts with `"` and must end with `"` on the same line. Use `\\n` for a line break inside a string.',
    example: "model M {}\nasset a: M {\n  uuid \"A-1\n}",
  },
  {
    code: "OFL1003",
    severity: "error",
    title: "unterminated block comment",
    template: "this `/*` comment is never closed with `*/`",
    explanation: "Block comments run from `/*` to the next `*/` and do not nest.",
    example: "model A {}\n/* never closed",
  },
  {
    code: "OFL1004",
    severity: "error",
    title: "invalid character",
    template: "the character {char} cannot appear here",
    explanation: "OFL source text is made of identifiers, literals, operators and punctuation; this character is none of them.",
    example: "model A { telemetry x: int $ }",
  },
  {
    code: "OFL1005",
    severity: "error",
    title: "invalid escape",
    template: "unknown escape sequence {escape} in a string",
    explanation: 'Strings accept the escapes `\\"`, `\\\\`, `\\n`, `\\t` and `\\u{HEX}` (a Unicode code point).',
    example: "model M {}\nasset a: M { uuid \"A\\q\" }",
  },
  {
    code: "OFL1006",
    severity: "error",
    title: "invalid timestamp",
    template: "{text} is not a valid ISO-8601 UTC timestamp",
    explanation: "Timestamps are written `@YYYY-MM-DDThh:mm[:ss[.mmm]]Z`, in UTC, with a real calendar date and time.",
    example: "model M { telemetry x: int }\nasset a: M {}\ntest \"t\" { expect known(a.x) at @2026-13-01T00:00:00Z }",
  },
  {
    code: "OFL1007",
    severity: "error",
    title: "malformed unit expression",
    template: "{detail}",
    explanation: "A unit expression joins unit names with `*`, `/` and `^INT`, with no spaces: `l/min`, `m/s^2`, `N*m`.",
    example: "model M { telemetry v: float<m / s> }",
  },
  {
    code: "OFL1008",
    severity: "error",
    title: "invalid number",
    template: "{text} is not a valid number",
    explanation: "Numbers are integers (`42`), decimals (`3.5`) or in exponent form (`1e-3`), and must be finite.",
    example: "model M { state s = 1e999 }",
  },
  {
    code: "OFL1009",
    severity: "error",
    title: "duplicate rule clause",
    template: "this rule already has a `{clause}` clause",
    explanation:
      "A rule has at most one `when`, `then`, `cooldown`, `repeat every` and `shadow` clause. List several actions in one `then`, separated by commas.",
    example: "model M { command stop() }\nrule r on M {\n  when true\n  when false\n  then stop()\n}",
  },
  {
    code: "OFL1010",
    severity: "error",
    title: "internal compiler error",
    template: "the compiler failed on this file: {detail}",
    explanation: "The parser or the checker met a case it does not handle. Please report it with the file that triggers it.",
  },
  {
    code: "OFL1011",
    severity: "error",
    title: "nesting too deep",
    template: "this file nests expressions too deeply to be parsed",
    explanation: "Parentheses, prefix operators and calls can nest a few hundred levels deep; this file goes beyond what the parser can follow. Split the expression into states.",
  },
  {
    code: "OFL1013",
    severity: "error",
    title: "misspelled keyword",
    template: "unknown keyword {found}; did you mean {keyword}?",
    explanation:
      "A line starts with a word that is not a keyword but is one letter or two away from a keyword that starts a declaration (`model`, `telemetry`, `state`, …), and a name follows it. The compiler reads the line as if the keyword were spelled right, so this is the only error the typo causes.",
    example: "modle A {\n  telemetry t: float\n}",
  },
];
