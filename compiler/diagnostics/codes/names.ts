import type { CodeEntry } from "../types.js";

/** OFL2xxx: names, scopes and declarations. */
export const nameCodes: CodeEntry[] = [
  {
    code: "OFL2001",
    severity: "error",
    title: "unknown name",
    template: "unknown name `{name}`{hint}",
    explanation:
      "The name is not declared anywhere in the program: not a member of the model in scope, not an asset, view, enum or rule. The message suggests a close match when there is one.",
    example: "model M {\n  telemetry t: int\n  state s = speed > 3\n}",
  },
  {
    code: "OFL2002",
    severity: "error",
    title: "duplicate declaration",
    template: "`{name}` is already declared",
    explanation:
      "Declarations share one global namespace (models, assets, enums, views, rules). The second of two declarations with one name is an error; related information points at the first.",
    example: "model M {}\nmodel M {}",
  },
  {
    code: "OFL2003",
    severity: "error",
    title: "unknown model",
    template: "unknown model `{name}`{hint}",
    explanation:
      "An asset's model, a model's `extends`, a view's `from` and a rule's `on` must name a declared model.",
    example: "asset b: Missing { uuid \"B\" }",
  },
  {
    code: "OFL2004",
    severity: "error",
    title: "unknown member",
    template: "`{owner}` has no member `{name}`{hint}",
    explanation:
      "The name after `.` must be a telemetry, state, attribute, alarm or command of the asset's model (inherited ones included).",
    example: "model M { telemetry t: int }\nasset a: M {}\nview v = sum(a.x) from M",
  },
  {
    code: "OFL2005",
    severity: "error",
    title: "unknown enum member",
    template: "`{name}` is not a member of enum `{enum}`{hint}",
    explanation:
      "Where an enum is expected, a bare name must be one of that enum's members.",
    example: "enum E { A, B }\nmodel M {\n  telemetry e: E\n  state s = e == C\n}",
  },
  {
    code: "OFL2006",
    severity: "error",
    title: "inheritance cycle",
    template: "model `{name}` extends itself through {cycle}",
    explanation:
      "`extends` must form a tree: a model cannot be its own ancestor.",
    example: "model A extends B {}\nmodel B extends A {}",
  },
  {
    code: "OFL2007",
    severity: "error",
    title: "redeclared inherited member",
    template: "`{name}` is already declared in the base model `{base}`",
    explanation:
      "A model inherits every member of the model it extends; declaring a member with the same name again is an error.",
    example: "model A { telemetry t: int }\nmodel B extends A { telemetry t: int }",
  },
  {
    code: "OFL2008",
    severity: "error",
    title: "unknown unit",
    template: "unknown unit `{name}`{hint}",
    explanation:
      "Units live in a namespace of their own. `std/units` declares the common ones; declare others with `unit NAME` or `unit NAME = FACTOR UNIT`.",
    example: "model M { telemetry t: float<furlong> }",
  },
  {
    code: "OFL2009",
    severity: "error",
    title: "invalid unit declaration",
    template: "{detail}",
    explanation:
      "A unit is declared once, either as a base unit (`unit W`) or as a linear scale of another (`unit kW = 1000 W`); scales must be positive and must not form a cycle.",
    example: "unit a = 2 a",
  },
  {
    code: "OFL2010",
    severity: "error",
    title: "duplicate uuid",
    template: "uuid `{uuid}` is already used by asset `{other}`",
    explanation:
      "The uuid is an asset's key on the wire, so two assets cannot share one. An asset without `uuid` uses its name.",
    example: "model M {}\nasset a: M { uuid \"A\" }\nasset b: M { uuid \"A\" }",
  },
  {
    code: "OFL2011",
    severity: "error",
    title: "missing attribute",
    template: "asset `{asset}` must set attribute `{name}` (it has no default)",
    explanation:
      "Every attribute of the model without a default value must be given a value in each asset.",
    example: "model M { attribute hall: string }\nasset a: M {}",
  },
  {
    code: "OFL2012",
    severity: "error",
    title: "unknown attribute",
    template: "`{name}` is not an attribute of model `{model}`{hint}",
    explanation:
      "Inside an asset, `NAME = value` sets an attribute of the asset's model.",
    example: "model M { attribute hall: string = \"north\" }\nasset a: M { hal = \"n\" }",
  },
  {
    code: "OFL2013",
    severity: "error",
    title: "duplicate enum member",
    template: "`{name}` is already a member of enum `{enum}`",
    explanation:
      "Each member of an enum is declared once.",
    example: "enum E { A, A }",
  },
  {
    code: "OFL2014",
    severity: "error",
    title: "unknown module",
    template: "unknown standard library module `{name}`; available: {available}",
    explanation:
      "`use` makes a standard library module visible. `std/units` and `std/core` are always visible.",
    example: "use std/nothing",
  },
  {
    code: "OFL2015",
    severity: "error",
    title: "not a model",
    template: "`{name}` is a {what}, not a model",
    explanation:
      "The name after `:` in an asset, after `extends`, `from` or `on` must be a model.",
    example: "enum E { A }\nasset a: E {}",
  },
  {
    code: "OFL2016",
    severity: "error",
    title: "not a value",
    template: "`{name}` is a {what} and cannot be used as a value here",
    explanation:
      "Only telemetry, states, attributes, alarms (`NAME.active`), views, enum members, constants and parameters have values.",
    example: "model M {}\nmodel N { state s = M }",
  },
  {
    code: "OFL2017",
    severity: "error",
    title: "unknown command",
    template: "`{owner}` has no command `{name}`{hint}",
    explanation:
      "An action, a `send` or a command expectation names a command of the asset's model.",
    example: "model M { telemetry t: int }\nasset a: M {}\nrule r on M { when true then fly() }",
  },
  {
    code: "OFL2018",
    severity: "error",
    title: "no asset in scope",
    template: "{detail}",
    explanation:
      "`self` and bare member names need an asset in scope: inside a model, or in a rule `on MODEL`. Elsewhere, name the asset: `mill1.temperature`.",
    example: "model M { telemetry t: int\n command stop() }\nasset a: M { source openfactory() { stop -> method(\"stop\") } }\nrule r { when self.t > 1 then a.stop() }",
  },
  {
    code: "OFL2019",
    severity: "error",
    title: "cyclic state",
    template: "state `{name}` depends on itself through {cycle}",
    explanation:
      "A state is computed from telemetry and other states; a chain of states that leads back to itself has no value.",
    example: "model M {\n  state a = b\n  state b = a\n}",
  },
  {
    code: "OFL2020",
    severity: "error",
    title: "duplicate member",
    template: "`{name}` is already a member of model `{model}`",
    explanation:
      "Members of one model (telemetry, states, attributes, alarms, commands) share one namespace.",
    example: "model M {\n  telemetry t: int\n  state t = 1\n}",
  },
  {
    code: "OFL2021",
    severity: "error",
    title: "duplicate asset item",
    template: "{detail}",
    explanation:
      "An asset sets its uuid and each attribute at most once.",
    example: "model M {}\nasset a: M { uuid \"A\" uuid \"B\" }",
  },
  {
    code: "OFL2022",
    severity: "error",
    title: "unknown grouping attribute",
    template: "`{name}` is not an attribute of model `{model}`",
    explanation:
      "A view's `by` groups assets by one of the model's attributes.",
    example: "model M { telemetry t: int }\nview v = sum(t) from M by hall",
  },
  {
    code: "OFL2023",
    severity: "error",
    title: "duplicate parameter",
    template: "parameter `{name}` is already declared",
    explanation:
      "Each parameter of a command has a distinct name.",
    example: "model M { command c(a: int, a: int) }",
  },
  {
    code: "OFL2024",
    severity: "error",
    title: "duplicate test name",
    template: "a test named \"{name}\" already exists",
    explanation:
      "Test names identify results in reports, JUnit files and the editor; each is used once per program.",
    example: "test \"a\" {}\ntest \"a\" {}",
  },
];
