import type { CodeEntry } from "../types.js";

/** OFL5xxx: rules and tests. */
export const ruleCodes: CodeEntry[] = [
  {
    code: "OFL5001",
    severity: "error",
    title: "missing clause",
    template: "rule `{name}` has no `{clause}` clause",
    explanation:
      "A rule needs `when CONDITION` and `then ACTION, …`.",
    example: "model M { command c() }\nrule r on M { then c() }",
  },
  {
    code: "OFL5003",
    severity: "error",
    title: "invalid command arguments",
    template: "{detail}",
    explanation:
      "Command arguments are named (`set_feed(override: 50 percent)`), each parameter given exactly once, with its declared type.",
    example: "model M { command go(level: int) }\nrule r on M { when true then go(level: 7, level: 8) }",
  },
  {
    code: "OFL5004",
    severity: "error",
    title: "invalid duration",
    template: "{what} must be a constant duration greater than zero",
    explanation:
      "`cooldown` and `repeat every` take positive constant durations.",
    example: "model M { command c() }\nrule r on M { when true then c() cooldown 0s }",
  },
  {
    code: "OFL5005",
    severity: "error",
    title: "time goes backwards",
    template: "`at {time}` comes after `at {previous}`: `at` lines go in non-decreasing time",
    explanation:
      "A test appends records in time order; late data is tested with `replay` of a recorded session.",
    example: "model M { telemetry x: int }\nasset a: M {}\ntest \"t\" {\n  at 10s a.x = 1\n  at 5s a.x = 2\n}",
  },
  {
    code: "OFL5006",
    severity: "error",
    title: "not a telemetry",
    template: "`{target}` is not a telemetry of an asset: `at` lines set telemetry as `asset.signal = value`",
    explanation:
      "Tests drive a program through its inputs: telemetry values (or `unavailable`) and `send` commands.",
    example: "model M { state s = 1 }\nasset a: M {}\ntest \"t\" { at 0s a.s = 2 }",
  },
  {
    code: "OFL5007",
    severity: "error",
    title: "invalid expectation",
    template: "{detail}",
    explanation:
      "`expect` takes a command (`expect a.stop() at 5s`), `no` or `count(...)` of one, `count(deadletters())`, `commands match recorded`, or a boolean over state (`expect a.hot at 5s`).",
    example: "model M { telemetry t: int }\nasset a: M {}\ntest \"t\" { expect shadow a.t > 1 at 1s }",
  },
  {
    code: "OFL5008",
    severity: "error",
    title: "invalid test time",
    template: "{what} must be a constant time: a duration from the test's start (`90s`) or a timestamp (`@2026-11-20T08:05:00Z`)",
    explanation:
      "Test times are fixed: durations count from the Unix epoch, where every test starts.",
    example: "model M { telemetry t: int }\nasset a: M {}\ntest \"t\" { at 5 degC a.t = 1 }",
  },
  {
    code: "OFL5009",
    severity: "error",
    title: "nothing recorded",
    template: "`expect commands match recorded` needs a `replay` in the same test",
    explanation:
      "The recorded commands come from the replayed session.",
    example: "test \"t\" { expect commands match recorded }",
  },
  {
    code: "OFL5010",
    severity: "error",
    title: "replay and at lines",
    template: "a test either replays a session or appends `at` lines, not both",
    explanation:
      "A replayed session carries its own times; mixing in hand-written records would interleave two clocks.",
    example: "model M { telemetry t: int }\nasset a: M {}\ntest \"t\" {\n  replay \"s.jsonl\"\n  at 0s a.t = 1\n}",
  },
  {
    code: "OFL5011",
    severity: "error",
    title: "no asset for the action",
    template: "{detail}",
    explanation:
      "An action names a command of the rule's asset (`stop()` in a rule `on MODEL`) or of a named asset (`mill1.stop()`).",
    example: "model M { command c() }\nrule r { when true then c() }",
  },
  {
    code: "OFL5012",
    severity: "error",
    title: "unknown dead-letter reason",
    template: "`{name}` is not a dead-letter reason; reasons are {allowed}",
    explanation:
      "`deadletters(\"REASON\")` counts quarantined records with one reason; without an argument it counts them all.",
    example: "test \"t\" { expect count(deadletters(\"late\")) == 0 }",
  },
  {
    code: "OFL5013",
    severity: "error",
    title: "not allowed here",
    template: "{detail}",
    explanation:
      "Durations (`for`) and windowed aggregates keep history, so they live in states (and rule conditions); expectations, interlocks and views read states instead.",
    example: "model M { telemetry t: int }\nasset a: M {}\ntest \"t\" { expect a.t > 1 for 5s }",
  },
  {
    code: "OFL5014",
    severity: "error",
    title: "more than one replay",
    template: "a test replays at most one session",
    explanation:
      "Each test starts from an empty log and replays one session file.",
    example: "test \"t\" {\n  replay \"a.jsonl\"\n  replay \"b.jsonl\"\n}",
  },
];
