// The OFL abstract syntax tree: plain data, every node with its source span.
// Produced by compiler/syntax (CST → AST), read by check/, lower/, format/ and lsp/.
// Spans are UTF-16 offsets into the file's text, end exclusive.

export interface Span {
  start: number;
  end: number;
}

export interface Ident {
  kind: "Ident";
  name: string;
  span: Span;
}

// ---------------------------------------------------------------- units, types

/** One factor of a unit expression: `m`, `s^-2`. `power` is negative after `/`. */
export interface UnitFactor {
  name: Ident;
  power: number;
}

/** `degC`, `l/min`, `m/s^2`, `N*m`: read left to right, `/` negates the next factor only. */
export interface UnitExpr {
  kind: "UnitExpr";
  factors: UnitFactor[];
  span: Span;
}

export type PrimitiveName = "bool" | "int" | "float" | "string" | "timestamp" | "duration";

export interface PrimitiveType {
  kind: "PrimitiveType";
  name: PrimitiveName;
  /** `float<degC>`, `int<mm>`: only on int and float (the checker reports others). */
  unit?: UnitExpr;
  span: Span;
}

/** An enum (or, wrongly, any other name) used as a type. */
export interface NamedType {
  kind: "NamedType";
  name: Ident;
  /** a unit written after it (only int and float carry one: the checker says so, OFL3011) */
  unit?: UnitExpr;
  span: Span;
}

export type TypeRef = PrimitiveType | NamedType;

/** `in -50..500`: bounds are plain numbers in the declared unit. */
export interface RangeSpec {
  kind: "Range";
  min: number;
  max: number;
  span: Span;
}

// ---------------------------------------------------------------- expressions

export interface NumberLit {
  kind: "Number";
  value: number;
  /** Written without fraction or exponent. */
  isInt: boolean;
  text: string;
  span: Span;
}
export interface StringLit {
  kind: "String";
  value: string;
  span: Span;
}
export interface BoolLit {
  kind: "Bool";
  value: boolean;
  span: Span;
}
/** `250ms`, `5s`, `1.5m` (minutes), `2h`, `1d`: value in milliseconds. */
export interface DurationLit {
  kind: "Duration";
  ms: number;
  text: string;
  span: Span;
}
/** `@2026-11-20T08:05:00Z`: Unix milliseconds. */
export interface TimestampLit {
  kind: "Timestamp";
  ms: number;
  text: string;
  span: Span;
}
/** `90 degC`, `8 l/min`: a number in a unit expression. */
export interface QuantityLit {
  kind: "Quantity";
  value: number;
  isInt: boolean;
  text: string;
  unit: UnitExpr;
  span: Span;
}
/** `unavailable`, only meaningful as the value of a test's `at` assignment. */
export interface UnavailableLit {
  kind: "Unavailable";
  span: Span;
}
export interface NameRef {
  kind: "Name";
  name: Ident;
  span: Span;
}
export interface SelfRef {
  kind: "Self";
  span: Span;
}
/** `a.b` */
export interface MemberExpr {
  kind: "Member";
  object: Expr;
  member: Ident;
  span: Span;
}
/** `a[b]` */
export interface IndexExpr {
  kind: "Index";
  object: Expr;
  index: Expr;
  span: Span;
}
/** A call argument, positional or named (`override: 50 percent`). */
export interface Arg {
  name?: Ident;
  value: Expr;
  span: Span;
}
export type WindowKind = "tumbling" | "hopping" | "session";
/** `tumbling 1m`, `hopping 10m every 1m`, `session gap 30s`, each optionally `grace D`. */
export interface WindowSpec {
  kind: "Window";
  window: WindowKind;
  /** size for tumbling/hopping, gap for session */
  size: Expr;
  every?: Expr;
  grace?: Expr;
  span: Span;
}
/** `f(args)`, `a.cmd(args)`, `avg(x) over tumbling 1m [final]`. */
export interface CallExpr {
  kind: "Call";
  callee: Expr;
  args: Arg[];
  over?: WindowSpec;
  final: boolean;
  span: Span;
}
export type UnaryOp = "-" | "not";
export interface UnaryExpr {
  kind: "Unary";
  op: UnaryOp;
  operand: Expr;
  span: Span;
}
export type BinaryOp = "or" | "and" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%";
export interface BinaryExpr {
  kind: "Binary";
  op: BinaryOp;
  left: Expr;
  right: Expr;
  /** span of the operator token */
  opSpan: Span;
  span: Span;
}
/** `C for D`, the TON timer. */
export interface ForExpr {
  kind: "For";
  cond: Expr;
  duration: Expr;
  span: Span;
}
export interface IfExpr {
  kind: "If";
  cond: Expr;
  then: Expr;
  else: Expr;
  span: Span;
}
/** `( e )`: kept so ranges and the formatter see what was written. */
export interface ParenExpr {
  kind: "Paren";
  inner: Expr;
  span: Span;
}
/** Produced by error recovery where an expression was expected and none could be read. */
export interface ErrorExpr {
  kind: "ErrorExpr";
  span: Span;
}

export type Expr =
  | NumberLit
  | StringLit
  | BoolLit
  | DurationLit
  | TimestampLit
  | QuantityLit
  | UnavailableLit
  | NameRef
  | SelfRef
  | MemberExpr
  | IndexExpr
  | CallExpr
  | UnaryExpr
  | BinaryExpr
  | ForExpr
  | IfExpr
  | ParenExpr
  | ErrorExpr;

// ---------------------------------------------------------------- declarations

interface DeclBase {
  /** Text of the `///` doc comments right before the declaration, joined by "\n", markers stripped. */
  doc?: string;
  span: Span;
}

/** `use std/oee` */
export interface UseDecl extends DeclBase {
  kind: "Use";
  /** "std/oee" */
  path: string;
  pathSpan: Span;
}

/** `unit degC`, `unit kW = 1000 W` */
export interface UnitDecl extends DeclBase {
  kind: "Unit";
  name: Ident;
  definition?: { factor: number; factorSpan: Span; unit: UnitExpr };
}

/** `enum Execution { READY, ACTIVE }` */
export interface EnumDecl extends DeclBase {
  kind: "Enum";
  name: Ident;
  members: Ident[];
}

export interface AttributeMember extends DeclBase {
  kind: "Attribute";
  name: Ident;
  type: TypeRef;
  default?: Expr;
}
export interface TelemetryMember extends DeclBase {
  kind: "Telemetry";
  name: Ident;
  type: TypeRef;
  range?: RangeSpec;
}
export interface StateMember extends DeclBase {
  kind: "State";
  name: Ident;
  type?: TypeRef;
  expr: Expr;
}
export type Severity = "low" | "medium" | "high" | "critical";
export interface AlarmMember extends DeclBase {
  kind: "Alarm";
  name: Ident;
  /** The word written after `severity` (the checker validates it against Severity). */
  severity: Ident;
  when: Expr;
  clearWhen?: Expr;
}
export interface Param {
  name: Ident;
  type: TypeRef;
  range?: RangeSpec;
  span: Span;
}
export interface CommandMember extends DeclBase {
  kind: "Command";
  name: Ident;
  params: Param[];
  requires?: Expr;
}
export type ModelMember = AttributeMember | TelemetryMember | StateMember | AlarmMember | CommandMember;

export interface ModelDecl extends DeclBase {
  kind: "Model";
  name: Ident;
  extends?: Ident;
  members: ModelMember[];
}

/** `uuid "CNC-001"` */
export interface UuidItem {
  kind: "Uuid";
  value: StringLit;
  span: Span;
}
/** `hall = "north"` */
export interface AttributeAssign {
  kind: "AttributeAssign";
  name: Ident;
  value: Expr;
  span: Span;
}
/** `node("ns=1;s=X", sampling: 100ms)` inside a source */
export interface BindingCall {
  name: Ident;
  args: Arg[];
  span: Span;
}
/** `0: READY` in a `map { … }` */
export interface MapEntry {
  key: NumberLit | StringLit | BoolLit | UnaryExpr;
  member: Ident;
  span: Span;
}
/** `x <- node(...) [map {...}]` (telemetry) or `c -> method(...)` (command). */
export interface Binding {
  kind: "Binding";
  direction: "telemetry" | "command";
  target: Ident;
  call: BindingCall;
  map?: MapEntry[];
  span: Span;
}
/** `source opcua("opc.tcp://…", security: "Sign") { bindings }` */
export interface SourceBlock {
  kind: "Source";
  sourceKind: Ident;
  args: Arg[];
  bindings: Binding[];
  span: Span;
}
export type AssetItem = UuidItem | AttributeAssign | SourceBlock;

export interface AssetDecl extends DeclBase {
  kind: "Asset";
  name: Ident;
  model: Ident;
  items: AssetItem[];
}

/** `view NAME = AGG(expr?) from MODEL [where C] [by ATTR] [over WINDOW [final]]` */
export interface ViewDecl extends DeclBase {
  kind: "View";
  name: Ident;
  aggregate: Ident;
  /** The aggregate's argument; absent for `count()`. */
  arg?: Expr;
  from: Ident;
  where?: Expr;
  by?: Ident;
  over?: WindowSpec;
  final: boolean;
}

/** `then a(), b.c(x: 1)`: each action a call, the callee a command name or `asset.command`. */
export interface RuleDecl extends DeclBase {
  kind: "Rule";
  name: Ident;
  on?: Ident;
  shadow?: Span;
  when?: Expr;
  actions: CallExpr[];
  cooldown?: Expr;
  repeatEvery?: Expr;
}

/** `a.x = v` in an `at` line */
export interface SetStep {
  kind: "Set";
  target: Expr;
  value: Expr;
  span: Span;
}
/** `send a.cmd(args)` in an `at` line */
export interface SendStep {
  kind: "Send";
  call: CallExpr;
  span: Span;
}
/** `at T item, item, …` */
export interface AtItem {
  kind: "At";
  time: Expr;
  steps: (SetStep | SendStep)[];
  span: Span;
}
/** `replay "file"` */
export interface ReplayItem {
  kind: "Replay";
  path: StringLit;
  span: Span;
}
/**
 * `expect [shadow] [no] EXPR [accepted|rejected] [at T | between T1 and T2]`.
 * Whether EXPR is a command expectation (`a.cmd()`, `count(a.cmd()) == 1`) or a boolean
 * over state is decided by the checker.
 */
export interface ExpectItem {
  kind: "Expect";
  shadow?: Span;
  no?: Span;
  expr: Expr;
  verdict?: { value: "accepted" | "rejected"; span: Span };
  at?: Expr;
  between?: [Expr, Expr];
  span: Span;
}
/** `expect commands match recorded` */
export interface ExpectMatchItem {
  kind: "ExpectMatch";
  span: Span;
}
export type TestItem = AtItem | ReplayItem | ExpectItem | ExpectMatchItem;

export interface TestDecl extends DeclBase {
  kind: "Test";
  name: StringLit;
  items: TestItem[];
}

export type Decl = UseDecl | UnitDecl | EnumDecl | ModelDecl | AssetDecl | ViewDecl | RuleDecl | TestDecl;

export interface Comment {
  /** "line" `// …`, "block" `/* … *\/`, "doc" `/// …` */
  kind: "line" | "block" | "doc";
  text: string;
  span: Span;
}

/** One parsed file. `path` is as the caller named it (absolute for project files). */
export interface SourceFile {
  kind: "File";
  path: string;
  text: string;
  decls: Decl[];
  comments: Comment[];
}
