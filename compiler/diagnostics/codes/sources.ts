import type { CodeEntry } from "../types.js";

/** OFL4xxx: sources and bindings. */
export const sourceCodes: CodeEntry[] = [
  {
    code: "OFL4001",
    severity: "error",
    title: "unknown source kind",
    template: "unknown source kind `{name}`; sources are opcua, mqtt, simulate and openfactory",
    explanation:
      "A source connects an asset to a device or producer: `opcua(…)`, `mqtt(…)`, `simulate(…)` or `openfactory()`.",
    example: "model M {}\nasset a: M { source modbus(\"x\") {} }",
  },
  {
    code: "OFL4002",
    severity: "error",
    title: "unknown binding",
    template: "`{name}` is not a {direction} binding of a {source} source; use {allowed}",
    explanation:
      "Each source kind has its own telemetry (`<-`) and command (`->`) bindings (language reference, §4.2).",
    example: "model M { telemetry t: int }\nasset a: M { source mqtt(\"mqtt://127.0.0.1\") { t <- node(\"x\") } }",
  },
  {
    code: "OFL4003",
    severity: "error",
    title: "unknown binding target",
    template: "`{name}` is not a {what} of model `{model}`{hint}",
    explanation:
      "The left side of `<-` is a telemetry of the asset's model; the left side of `->` is one of its commands.",
    example: "model M { telemetry p: int }\nasset a: M { source simulate() { r <- constant(1, every: 1s) } }",
  },
  {
    code: "OFL4004",
    severity: "error",
    title: "bound twice",
    template: "{what} `{name}` is already bound{where}",
    explanation:
      "Each telemetry and each command has at most one binding across all of an asset's sources.",
    example: "model M { telemetry p: int }\nasset a: M { source simulate() {\n  p <- constant(1, every: 1s)\n  p <- constant(2, every: 1s)\n} }",
  },
  {
    code: "OFL4005",
    severity: "error",
    title: "invalid binding argument",
    template: "{detail}",
    explanation:
      "Binding and source arguments are type-checked: endpoints, node ids, topics and JSON paths are strings, sampling intervals durations, deadbands numbers.",
    example: "model M { telemetry q: int }\nasset a: M { source mqtt(\"mqtt://127.0.0.1\") { q <- topic(\"a/b\", json: 5) } }",
  },
  {
    code: "OFL4006",
    severity: "error",
    title: "missing argument",
    template: "{fn}() needs its `{name}` argument",
    explanation:
      "A required argument of a source or binding is missing.",
    example: "model M { telemetry q: int }\nasset a: M { source mqtt(\"mqtt://127.0.0.1\") { q <- topic() } }",
  },
  {
    code: "OFL4007",
    severity: "error",
    title: "unknown argument",
    template: "{fn}() has no argument `{name}`; it takes {allowed}",
    explanation:
      "Named arguments must be among those the source or binding declares.",
    example: "model M { telemetry q: int }\nasset a: M { source mqtt(\"mqtt://127.0.0.1\") { q <- topic(\"a\", jsn: \"$.v\") } }",
  },
  {
    code: "OFL4008",
    severity: "error",
    title: "wrong direction",
    template: "`{name}` is a {what}: use `{arrow}`",
    explanation:
      "Telemetry is read with `<-`; commands are carried with `->`.",
    example: "model M { telemetry t: int }\nasset a: M { source simulate() { t -> constant(1, every: 1s) } }",
  },
  {
    code: "OFL4009",
    severity: "error",
    title: "secret as a literal",
    template: "`{name}` must come from the environment: write `{name}: env(\"VARIABLE\")`",
    explanation:
      "Passwords never appear as literals in source files, build output or logs; `env(\"NAME\")` is read when the connector starts.",
    example: "model M {}\nasset a: M { source opcua(\"opc.tcp://127.0.0.1:4840\", password: \"hunter2\") {} }",
  },
  {
    code: "OFL4010",
    severity: "warning",
    title: "unbound command",
    template: "command `{name}` of asset `{asset}` has no binding in its sources: it is issued and logged but reaches no device",
    explanation:
      "An asset connected to devices usually binds every command; an unbound one only leaves records on the log.",
    example: "model M {\n  telemetry t: int\n  command stop()\n}\nasset a: M { source simulate() { t <- constant(1, every: 1s) } }",
  },
  {
    code: "OFL4011",
    severity: "error",
    title: "invalid map",
    template: "{detail}",
    explanation:
      "`map { raw: MEMBER }` translates raw device values into members of the telemetry's enum; keys are literals, each used once.",
    example: "enum E { A }\nmodel M { telemetry e: E }\nasset a: M { source simulate() { e <- constant(A, every: 1s) map { 0: A, 0: A } } }",
  },
  {
    code: "OFL4012",
    severity: "error",
    title: "write needs one parameter",
    template: "`write()` carries a command's one argument, but `{name}` has {count} parameters; use `method()`",
    explanation:
      "An OPC UA write sets one variable to the command's single argument.",
    example: "model M { command go(a: int, b: int) }\nasset a: M { source opcua(\"opc.tcp://127.0.0.1:4840\") { go -> write(\"ns=1;s=X\") } }",
  },
];
