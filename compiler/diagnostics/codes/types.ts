import type { CodeEntry } from "../types.js";

/** OFL3xxx: types, units and ranges. */
export const typeCodes: CodeEntry[] = [
  {
    code: "OFL3001",
    severity: "error",
    title: "type mismatch",
    template: "expected {expected}, found {found}",
    explanation:
      "The expression has a type other than the one its place requires.",
    example: "model M { attribute n: int }\nasset a: M { n = \"x\" }",
  },
  {
    code: "OFL3002",
    severity: "error",
    title: "unit mismatch",
    template: "{op} needs equal or convertible units: {left} and {right}",
    explanation:
      "`+ - == != < <= > >=` need equal units or units of one scale family (`kW` and `W`, converted). `degC` and `rpm`, or `degC` and `K`, never convert.",
    example: "model M {\n  telemetry t: float<degC>\n  telemetry r: float<rpm>\n  state s = t + r\n}",
  },
  {
    code: "OFL3003",
    severity: "error",
    title: "bare number with a quantity",
    template: "{op} mixes a bare number with a quantity in {unit}; write the unit, e.g. `{example}`",
    explanation:
      "A plain number next to a quantity is ambiguous. It is accepted only as a factor of `*` or the divisor of `/`: `2 / t` needs a unit on the 2 (`2 degC / t`, a ratio). A reciprocal unit is written with a negative power: `0.5 degC^-1`.",
    example: "model M {\n  telemetry t: float<degC>\n  state s = t > 10\n}",
  },
  {
    code: "OFL3004",
    severity: "error",
    title: "operator not applicable",
    template: "{op} cannot be applied to {types}",
    explanation:
      "Arithmetic needs numbers (or timestamps and durations), `and`/`or`/`not` need booleans, ordering needs numbers, timestamps or strings.",
    example: "model M {\n  telemetry t: float\n  state s = (t > 1) + 1\n}",
  },
  {
    code: "OFL3005",
    severity: "error",
    title: "constant outside range",
    template: "{value} is outside the range {min}..{max} of `{name}`",
    explanation:
      "A constant command argument (or test value) that lies outside the declared range can never be accepted.",
    example: "model M { command go(level: int in 1..3) }\nasset a: M { source openfactory() { go -> method(\"go\") } }\nrule r on M { when true then go(level: 7) }",
  },
  {
    code: "OFL3006",
    severity: "error",
    title: "invalid range",
    template: "{detail}",
    explanation:
      "A range `in MIN..MAX` applies to numeric types, with MIN ≤ MAX.",
    example: "model M { telemetry t: string in 0..1 }",
  },
  {
    code: "OFL3007",
    severity: "error",
    title: "condition is not a boolean",
    template: "{what} must be a boolean, found {found}",
    explanation:
      "Conditions (`when`, `where`, `requires`, `clear when`, alarm conditions, `expect`) are booleans; they hold only when true.",
    example: "model M {\n  telemetry t: int\n  alarm a severity low when t\n}",
  },
  {
    code: "OFL3008",
    severity: "error",
    title: "invalid window",
    template: "{detail}",
    explanation:
      "Window sizes, hops and gaps are constant durations greater than zero, a hop is at most its size, and grace is a constant duration of zero or more.",
    example: "model M {\n  telemetry w: float\n  state s = avg(w) over tumbling 0s\n}",
  },
  {
    code: "OFL3009",
    severity: "error",
    title: "`for` needs a boolean",
    template: "`for` needs a boolean condition, found {found}",
    explanation:
      "`C for D` is the TON timer of IEC 61131-3: it is true once the boolean `C` has been true continuously for `D`.",
    example: "model M {\n  telemetry w: float\n  state s = w for 5s\n}",
  },
  {
    code: "OFL3010",
    severity: "error",
    title: "not a constant duration",
    template: "{what} must be a constant duration, e.g. `5s` or `2 min`",
    explanation:
      "Durations that configure timers and windows are fixed when the program compiles: a duration literal or a quantity in a time unit.",
    example: "model M {\n  telemetry t: int\n  telemetry d: int\n  state s = t > 1 for d\n}",
  },
  {
    code: "OFL3011",
    severity: "error",
    title: "invalid unit on type",
    template: "only int and float carry units; {type} cannot",
    explanation:
      "Units qualify numbers: `float<degC>`, `int<mm>`.",
    example: "model M { telemetry s: string<degC> }",
  },
  {
    code: "OFL3012",
    severity: "error",
    title: "state type mismatch",
    template: "state `{name}` is declared {declared} but its expression is {found}",
    explanation:
      "A state's declared type must match its expression's type (units of one scale family are converted).",
    example: "model M {\n  telemetry t: float<degC>\n  state s: float<rpm> = t\n}",
  },
  {
    code: "OFL3013",
    severity: "error",
    title: "misuse of age",
    template: "`age(x)` can only be compared with a duration, e.g. `age(x) > 30s`",
    explanation:
      "`age(x)` is the time since `x` last reported; it is used only in a comparison with a duration, which the runtime watches with a timer.",
    example: "model M {\n  telemetry t: int\n  state s = age(t) + 1s\n}",
  },
  {
    code: "OFL3014",
    severity: "error",
    title: "needs a signal or state",
    template: "{fn}() needs a telemetry or state of an asset, found {found}",
    explanation:
      "`previous`, `changed` and `age` follow the history of one signal or state, so their argument names one.",
    example: "model M {\n  telemetry t: int\n  state s = previous(t + 1)\n}",
  },
  {
    code: "OFL3015",
    severity: "error",
    title: "invalid aggregate argument",
    template: "{fn}() {detail}",
    explanation:
      "`avg`, `sum`, `stddev` and `delta` need numbers, `ratio` a boolean; `count` takes anything or nothing.",
    example: "model M {\n  telemetry s: string\n  state a = avg(s) over tumbling 1m\n}",
  },
  {
    code: "OFL3016",
    severity: "error",
    title: "wrong arguments",
    template: "{fn} {detail}",
    explanation:
      "The built-in function is called with the wrong number or kind of arguments.",
    example: "model M {\n  telemetry t: float\n  state s = abs(t, t)\n}",
  },
  {
    code: "OFL3017",
    severity: "error",
    title: "incompatible conversion",
    template: "cannot convert {from} to {to}",
    explanation:
      "`convert(x, UNIT)` converts between units of one scale family.",
    example: "model M {\n  telemetry t: float<degC>\n  state s = convert(t, kW)\n}",
  },
  {
    code: "OFL3018",
    severity: "error",
    title: "aggregate needs a window",
    template: "{fn}() over a signal's history needs a window: `{fn}(x) over tumbling 1m`",
    explanation:
      "Aggregates in states and rules run over windows of events. Only views aggregate across assets without a window.",
    example: "model M {\n  telemetry t: float\n  state s = avg(t)\n}",
  },
  {
    code: "OFL3019",
    severity: "error",
    title: "not an enum",
    template: "`{name}` is not an enum or a primitive type",
    explanation:
      "A type is `bool`, `int`, `float`, `string`, `timestamp`, `duration`, optionally with a unit for numbers, or a declared enum.",
    example: "model M {}\nmodel N { telemetry t: M }",
  },
  {
    code: "OFL3020",
    severity: "error",
    title: "branches differ",
    template: "the branches of `if` have different types: {then} and {else}",
    explanation:
      "Both branches of `if C then A else B` must have one type (units of one scale family are converted to the first).",
    example: "model M {\n  telemetry t: float<degC>\n  state s = if t > 1 degC then t else \"hot\"\n}",
  },
  {
    code: "OFL3021",
    severity: "error",
    title: "not a constant",
    template: "{what} must be a constant value",
    explanation:
      "Attribute values, test values and source arguments are fixed when the program compiles: literals, quantities, enum members, `-` numbers.",
    example: "model M { attribute n: int }\nmodel X { telemetry t: int }\nasset x: X {}\nasset a: M { n = x.t }",
  },
  {
    code: "OFL3022",
    severity: "error",
    title: "view index",
    template: "{detail}",
    explanation:
      "A grouped view (`by ATTR`) is read with an index of the attribute's type, `hall_temp[\"north\"]`; an ungrouped view is read without one.",
    example: "model M { attribute hall: string\n telemetry t: int\n command stop() }\nview v = sum(t) from M\nrule r on M { when v[\"n\"] > 1 then stop() }",
  },
];
