// The OFL parser (spec §4, §5): a chevrotain EmbeddedActionsParser that builds the AST of
// compiler/ast/nodes.ts directly. See CONTEXT.md for the recovery strategy.
import {
  EmbeddedActionsParser,
  EOF,
  type IParserErrorMessageProvider,
  type IRecognitionException,
  type IToken,
  type TokenType,
} from "chevrotain";
import type * as A from "../ast/nodes.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/registry.js";
import {
  allTokenTypes,
  AnyName,
  Caret,
  Colon,
  Comma,
  decodeString,
  Dot,
  DotDot,
  Duration,
  durationMs,
  Eq,
  EqEq,
  Gt,
  GtEq,
  Ident,
  isIntText,
  kw,
  LArrow,
  LBrace,
  LBracket,
  LParen,
  Lt,
  LtEq,
  Minus,
  NotEq,
  NumberTok,
  numberValue,
  Percent,
  Plus,
  RArrow,
  RBrace,
  RBracket,
  RParen,
  Slash,
  splitNumber,
  Star,
  StringLit,
  TimestampLit,
  timestampMs,
} from "./lexer.js";

// keyword tokens
const K = {
  model: kw("model"),
  extends: kw("extends"),
  attribute: kw("attribute"),
  telemetry: kw("telemetry"),
  state: kw("state"),
  alarm: kw("alarm"),
  severity: kw("severity"),
  clear: kw("clear"),
  command: kw("command"),
  requires: kw("requires"),
  asset: kw("asset"),
  uuid: kw("uuid"),
  source: kw("source"),
  view: kw("view"),
  from: kw("from"),
  where: kw("where"),
  by: kw("by"),
  over: kw("over"),
  tumbling: kw("tumbling"),
  hopping: kw("hopping"),
  every: kw("every"),
  session: kw("session"),
  gap: kw("gap"),
  grace: kw("grace"),
  final: kw("final"),
  rule: kw("rule"),
  on: kw("on"),
  when: kw("when"),
  then: kw("then"),
  cooldown: kw("cooldown"),
  repeat: kw("repeat"),
  shadow: kw("shadow"),
  self: kw("self"),
  test: kw("test"),
  at: kw("at"),
  send: kw("send"),
  between: kw("between"),
  expect: kw("expect"),
  no: kw("no"),
  match: kw("match"),
  recorded: kw("recorded"),
  replay: kw("replay"),
  commands: kw("commands"),
  accepted: kw("accepted"),
  rejected: kw("rejected"),
  unavailable: kw("unavailable"),
  and: kw("and"),
  or: kw("or"),
  not: kw("not"),
  if: kw("if"),
  else: kw("else"),
  true: kw("true"),
  false: kw("false"),
  unit: kw("unit"),
  enum: kw("enum"),
  use: kw("use"),
  in: kw("in"),
  for: kw("for"),
};

/** Tokens that start a top-level declaration. */
export const DECL_START: ReadonlySet<TokenType> = new Set([K.use, K.unit, K.enum, K.model, K.asset, K.view, K.rule, K.test]);

const PRIMITIVES = new Set(["bool", "int", "float", "string", "timestamp", "duration"]);
const EXPR_RULES = new Set([
  "expr", "forExpr", "orExpr", "andExpr", "notExpr", "cmpExpr", "addExpr", "mulExpr", "unaryExpr", "postfixExpr", "primary", "action",
]);
const SEP = "\u0001";

function describe(t: IToken): string {
  if (t.tokenType === EOF) return "end of file";
  const img = t.image.length > 24 ? t.image.slice(0, 21) + "…" : t.image;
  return "`" + img.replace(/[\r\n]+/g, " ") + "`";
}
function label(t: TokenType): string {
  if (t === EOF) return "end of file";
  return t.LABEL ?? t.name;
}
function joinOr(items: string[]): string {
  const uniq = [...new Set(items)];
  if (uniq.length <= 1) return uniq[0] ?? "something else";
  if (uniq.length > 6) return uniq.slice(0, 5).join(", ") + " or another token";
  return uniq.slice(0, -1).join(", ") + " or " + uniq[uniq.length - 1];
}
function ruleExpectation(ruleName: string): string | undefined {
  if (EXPR_RULES.has(ruleName)) return "an expression";
  switch (ruleName) {
    case "decl":
      return "a declaration";
    case "member":
      return "a model member (attribute, telemetry, state, alarm or command)";
    case "assetItem":
      return "an asset item (uuid, attribute = value or source)";
    case "testItem":
      return "a test item (at, replay or expect)";
    case "timeLit":
      return "a time (duration, timestamp or quantity)";
    case "window":
      return "a window (tumbling, hopping or session)";
    case "mapKey":
      return "a number, string or boolean";
  }
  return undefined;
}

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return (expected === EOF ? "a declaration" : label(expected)) + SEP + describe(actual);
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return "a declaration" + SEP + describe(firstRedundant);
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const r = ruleExpectation(ruleName);
    const firsts = expectedPathsPerAlt.flatMap((alt) => alt.map((p) => (p[0] ? label(p[0]) : "")).filter((x) => x));
    return (r ?? joinOr(firsts)) + SEP + describe(actual[0]!);
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const r = ruleExpectation(ruleName);
    const firsts = expectedIterationPaths.map((p) => (p[0] ? label(p[0]) : "")).filter((x) => x);
    return (r ?? joinOr(firsts)) + SEP + describe(actual[0]!);
  },
};

type Nullable<T> = T | null;

export class OflParser extends EmbeddedActionsParser {
  text = "";
  path = "";
  /** Diagnostics the grammar actions report (not chevrotain's own errors). */
  extra: Diagnostic[] = [];
  /** Doc comment text by the offset of the token it documents. */
  docs: Map<number, string> = new Map();
  /** `over` after a call is not taken inside a view's `where` (it belongs to the view). */
  allowOver = true;

  constructor(skipValidations: boolean) {
    super(allTokenTypes, { recoveryEnabled: true, maxLookahead: 3, skipValidations, errorMessageProvider: messages });
    this.performSelfAnalysis();
  }

  // ------------------------------------------------------------ helpers

  /** Index of the last consumed token (chevrotain's lexer-adapter state, not in its typings). */
  position(): number {
    return (this as unknown as { exportLexerState(): number }).exportLexerState();
  }
  seek(lastConsumed: number): void {
    (this as unknown as { importLexerState(i: number): void }).importLexerState(lastConsumed);
  }

  private end(): number {
    const t = this.LA(0);
    if (!t || !Number.isFinite(t.startOffset)) return 0;
    return t.startOffset + t.image.length;
  }
  private st(t: IToken): number {
    return Number.isFinite(t.startOffset) ? t.startOffset : this.end();
  }
  private en(t: IToken): number {
    return Number.isFinite(t.startOffset) ? t.startOffset + t.image.length : this.end();
  }
  private tspan(t: IToken): A.Span {
    return { start: this.st(t), end: this.en(t) };
  }
  private ident(t: IToken): A.Ident {
    return { kind: "Ident", name: t.image ?? "", span: this.tspan(t) };
  }
  private from(start: number): A.Span {
    const e = this.end();
    return { start, end: Math.max(start, e) };
  }
  private doc(start: number): { doc?: string } {
    const d = this.docs.get(start);
    return d === undefined ? {} : { doc: d };
  }
  private errAt(t: IToken): A.ErrorExpr {
    if (t.tokenType === EOF || !Number.isFinite(t.startOffset)) {
      const p = this.text.length;
      return { kind: "ErrorExpr", span: { start: p, end: p } };
    }
    return { kind: "ErrorExpr", span: this.tspan(t) };
  }
  private report(code: string, span: A.Span, args: Record<string, string | number> = {}): void {
    this.extra.push(diag(code, this.path, span, args));
  }
  private sameLine(a: number, b: number): boolean {
    const text = this.text;
    for (let i = a; i < b; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) return false;
    }
    return true;
  }
  private adjacent(a: IToken, b: IToken): boolean {
    return a.startOffset + a.image.length === b.startOffset;
  }
  /** After a number: does a unit expression follow (spec §2, quantities)? */
  private quantityFollows(): boolean {
    const n = this.LA(0);
    const u = this.LA(1);
    if (u.tokenType !== Ident) return false;
    if (!Number.isFinite(n.startOffset) || !this.sameLine(n.startOffset + n.image.length, u.startOffset)) return false;
    const t2 = this.LA(2).tokenType;
    return t2 !== Eq && t2 !== Colon && t2 !== LArrow && t2 !== RArrow && t2 !== Dot;
  }
  private unitContinues(strict: boolean): boolean {
    const prev = this.LA(0);
    const t1 = this.LA(1);
    const tt = t1.tokenType;
    if (tt === Star || tt === Slash) {
      const t2 = this.LA(2);
      if (t2.tokenType !== Ident) return false;
      return !strict || (this.adjacent(prev, t1) && this.adjacent(t1, t2));
    }
    if (tt === Caret) return !strict || this.adjacent(prev, t1);
    return false;
  }

  /** The declaration being built: returned by recovery when its rule fails part-way. */
  partial: A.Decl | null = null;
  /** Declarations parsed so far (kept on the parser so a failed `file` loses nothing). */
  decls: A.Decl[] = [];

  private setPartial<T extends A.Decl>(d: T): T {
    this.partial = d;
    return d;
  }
  private finish<T extends A.Decl>(d: T): T {
    d.span = this.from(d.span.start);
    this.partial = null;
    return d;
  }
  /** Recovery value of a declaration: the partial node, its span reaching the resync point. */
  takePartial(): A.Decl | null {
    const d = this.partial;
    this.partial = null;
    if (d) d.span = this.from(d.span.start);
    return d;
  }

  // ------------------------------------------------------------ file

  public file = this.RULE(
    "file",
    () => {
      this.MANY(() => {
        const d = this.SUBRULE(this.decl);
        this.ACTION(() => {
          if (d) this.decls.push(d);
        });
      });
      return this.decls;
    },
    {
      recoveryValueFunc: () => {
        const d = this.takePartial();
        if (d) this.decls.push(d);
        return this.decls;
      },
    },
  );

  public decl = this.RULE(
    "decl",
    (): Nullable<A.Decl> => {
      this.ACTION(() => {
        this.allowOver = true;
        this.partial = null;
      });
      return this.OR([
        { ALT: () => this.SUBRULE(this.useDecl) },
        { ALT: () => this.SUBRULE(this.unitDecl) },
        { ALT: () => this.SUBRULE(this.enumDecl) },
        { ALT: () => this.SUBRULE(this.modelDecl) },
        { ALT: () => this.SUBRULE(this.assetDecl) },
        { ALT: () => this.SUBRULE(this.viewDecl) },
        { ALT: () => this.SUBRULE(this.ruleDecl) },
        { ALT: () => this.SUBRULE(this.testDecl) },
      ]);
    },
    { recoveryValueFunc: () => this.takePartial() },
  );

  private useDecl = this.RULE("useDecl", (): A.UseDecl => {
    const k = this.CONSUME(K.use);
    const first = this.CONSUME(AnyName);
    const parts: IToken[] = [first];
    this.MANY(() => {
      this.CONSUME(Slash);
      parts.push(this.CONSUME2(AnyName));
    });
    return this.ACTION(() => {
      const start = this.st(k);
      const last = parts[parts.length - 1]!;
      return {
        kind: "Use",
        ...this.doc(start),
        path: parts.map((p) => p.image).join("/"),
        pathSpan: { start: this.st(first), end: Math.max(this.st(first), this.en(last)) },
        span: this.from(start),
      } as A.UseDecl;
    });
  });

  private unitDecl = this.RULE("unitDecl", (): A.UnitDecl => {
    const k = this.CONSUME(K.unit);
    const name = this.CONSUME(AnyName);
    let def: A.UnitDecl["definition"];
    this.OPTION(() => {
      this.CONSUME(Eq);
      const n = this.CONSUME(NumberTok);
      const unit = this.SUBRULE(this.unitExpr, { ARGS: [true] });
      this.ACTION(() => {
        def = { factor: numberValue(n.image), factorSpan: this.tspan(n), unit };
      });
    });
    return this.ACTION(() => {
      const start = this.st(k);
      const d: A.UnitDecl = { kind: "Unit", ...this.doc(start), name: this.ident(name), span: this.from(start) };
      if (def) d.definition = def;
      return d;
    });
  });

  private enumDecl = this.RULE("enumDecl", (): A.EnumDecl => {
    const k = this.CONSUME(K.enum);
    const name = this.CONSUME(AnyName);
    const members: IToken[] = [];
    this.CONSUME(LBrace);
    this.OPTION(() => {
      members.push(this.CONSUME2(AnyName));
      this.MANY(() => {
        this.CONSUME(Comma);
        members.push(this.CONSUME3(AnyName));
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RBrace);
    return this.ACTION(() => {
      const start = this.st(k);
      return {
        kind: "Enum",
        ...this.doc(start),
        name: this.ident(name),
        members: members.map((m) => this.ident(m)),
        span: this.from(start),
      } as A.EnumDecl;
    });
  });

  // ------------------------------------------------------------ model

  private modelDecl = this.RULE("modelDecl", (): A.ModelDecl => {
    const k = this.CONSUME(K.model);
    const name = this.CONSUME(AnyName);
    let ext: IToken | undefined;
    this.OPTION(() => {
      this.CONSUME(K.extends);
      ext = this.CONSUME2(AnyName);
    });
    const d = this.ACTION(() => {
      const start = this.st(k);
      const d: A.ModelDecl = { kind: "Model", ...this.doc(start), name: this.ident(name), members: [], span: this.from(start) };
      if (ext) d.extends = this.ident(ext);
      return this.setPartial(d);
    });
    this.CONSUME(LBrace);
    this.MANY(() => {
      const m = this.SUBRULE(this.member);
      this.ACTION(() => {
        if (m) d.members.push(m);
      });
    });
    this.CONSUME(RBrace);
    return this.ACTION(() => this.finish(d));
  });

  private member = this.RULE(
    "member",
    (): Nullable<A.ModelMember> =>
      this.OR([
        { ALT: () => this.SUBRULE(this.attributeMember) },
        { ALT: () => this.SUBRULE(this.telemetryMember) },
        { ALT: () => this.SUBRULE(this.stateMember) },
        { ALT: () => this.SUBRULE(this.alarmMember) },
        { ALT: () => this.SUBRULE(this.commandMember) },
      ]),
    { recoveryValueFunc: () => null },
  );

  private attributeMember = this.RULE("attributeMember", (): A.AttributeMember => {
    const k = this.CONSUME(K.attribute);
    const name = this.CONSUME(AnyName);
    this.CONSUME(Colon);
    const type = this.SUBRULE(this.typeRef);
    let def: A.Expr | undefined;
    this.OPTION(() => {
      this.CONSUME(Eq);
      def = this.SUBRULE(this.exprReq);
    });
    return this.ACTION(() => {
      const start = this.st(k);
      const m: A.AttributeMember = { kind: "Attribute", ...this.doc(start), name: this.ident(name), type, span: this.from(start) };
      if (def) m.default = def;
      return m;
    });
  });

  private telemetryMember = this.RULE("telemetryMember", (): A.TelemetryMember => {
    const k = this.CONSUME(K.telemetry);
    const name = this.CONSUME(AnyName);
    this.CONSUME(Colon);
    const type = this.SUBRULE(this.typeRef);
    let range: A.RangeSpec | undefined;
    this.OPTION(() => {
      range = this.SUBRULE(this.rangeSpec);
    });
    return this.ACTION(() => {
      const start = this.st(k);
      const m: A.TelemetryMember = { kind: "Telemetry", ...this.doc(start), name: this.ident(name), type, span: this.from(start) };
      if (range) m.range = range;
      return m;
    });
  });

  private stateMember = this.RULE("stateMember", (): A.StateMember => {
    const k = this.CONSUME(K.state);
    const name = this.CONSUME(AnyName);
    let type: A.TypeRef | undefined;
    this.OPTION(() => {
      this.CONSUME(Colon);
      type = this.SUBRULE(this.typeRef);
    });
    this.CONSUME(Eq);
    const expr = this.SUBRULE(this.exprReq);
    return this.ACTION(() => {
      const start = this.st(k);
      const m: A.StateMember = { kind: "State", ...this.doc(start), name: this.ident(name), expr, span: this.from(start) };
      if (type) m.type = type;
      return m;
    });
  });

  private alarmMember = this.RULE("alarmMember", (): A.AlarmMember => {
    const k = this.CONSUME(K.alarm);
    const name = this.CONSUME(AnyName);
    this.CONSUME(K.severity);
    const sev = this.CONSUME2(AnyName);
    this.CONSUME(K.when);
    const when = this.SUBRULE(this.exprReq);
    let clear: A.Expr | undefined;
    this.OPTION(() => {
      this.CONSUME(K.clear);
      this.CONSUME2(K.when);
      clear = this.SUBRULE2(this.exprReq);
    });
    return this.ACTION(() => {
      const start = this.st(k);
      const m: A.AlarmMember = {
        kind: "Alarm",
        ...this.doc(start),
        name: this.ident(name),
        severity: this.ident(sev),
        when,
        span: this.from(start),
      };
      if (clear) m.clearWhen = clear;
      return m;
    });
  });

  private commandMember = this.RULE("commandMember", (): A.CommandMember => {
    const k = this.CONSUME(K.command);
    const name = this.CONSUME(AnyName);
    const params: A.Param[] = [];
    this.CONSUME(LParen);
    this.MANY_SEP({
      SEP: Comma,
      DEF: () => {
        const p = this.SUBRULE(this.param);
        this.ACTION(() => {
          if (p) params.push(p);
        });
      },
    });
    this.CONSUME(RParen);
    let req: A.Expr | undefined;
    this.OPTION(() => {
      this.CONSUME(K.requires);
      req = this.SUBRULE(this.exprReq);
    });
    return this.ACTION(() => {
      const start = this.st(k);
      const m: A.CommandMember = { kind: "Command", ...this.doc(start), name: this.ident(name), params, span: this.from(start) };
      if (req) m.requires = req;
      return m;
    });
  });

  private param = this.RULE(
    "param",
    (): Nullable<A.Param> => {
      const name = this.CONSUME(AnyName);
      this.CONSUME(Colon);
      const type = this.SUBRULE(this.typeRef);
      let range: A.RangeSpec | undefined;
      this.OPTION(() => {
        range = this.SUBRULE(this.rangeSpec);
      });
      return this.ACTION(() => {
        const p: A.Param = { name: this.ident(name), type, span: this.from(this.st(name)) };
        if (range) p.range = range;
        return p;
      });
    },
    { recoveryValueFunc: () => null },
  );

  private typeRef = this.RULE(
    "typeRef",
    (): A.TypeRef => {
      const name = this.CONSUME(Ident);
      let unit: A.UnitExpr | undefined;
      // any type name may carry one here (a misspelt `flaot<degC>` is one error, not a parse cascade)
      this.OPTION(() => {
        this.CONSUME(Lt);
        unit = this.SUBRULE(this.unitExpr, { ARGS: [false] });
        this.CONSUME(Gt);
      });
      return this.ACTION(() => {
        const start = this.st(name);
        if (PRIMITIVES.has(name.image)) {
          const t: A.PrimitiveType = { kind: "PrimitiveType", name: name.image as A.PrimitiveName, span: this.from(start) };
          if (unit) t.unit = unit;
          return t;
        }
        const t: A.NamedType = { kind: "NamedType", name: this.ident(name), span: this.from(start) };
        if (unit) t.unit = unit;
        return t;
      });
    },
    {
      recoveryValueFunc: (e: IRecognitionException) => {
        const sp = this.errAt(e.token).span;
        return { kind: "NamedType", name: { kind: "Ident", name: "", span: sp }, span: sp } as A.NamedType;
      },
    },
  );

  /** `m`, `l/min`, `m/s^-2`; `strict`: no spaces around the operators (quantities). */
  private unitExpr = this.RULE("unitExpr", (strict: boolean): A.UnitExpr => {
    const first = this.CONSUME(Ident);
    const factors: A.UnitFactor[] = [];
    this.ACTION(() => factors.push({ name: this.ident(first), power: 1 }));
    this.MANY({
      GATE: () => this.unitContinues(strict),
      DEF: () => {
        this.OR([
          {
            ALT: () => {
              const op = this.OR2([{ ALT: () => this.CONSUME(Star) }, { ALT: () => this.CONSUME(Slash) }]);
              const id = this.CONSUME2(Ident);
              this.ACTION(() => {
                factors.push({ name: this.ident(id), power: op.tokenType === Slash ? -1 : 1 });
              });
            },
          },
          {
            ALT: () => {
              const caret = this.CONSUME(Caret);
              let neg: IToken | undefined;
              this.OPTION(() => {
                neg = this.CONSUME(Minus);
              });
              let num: IToken | undefined;
              this.OPTION2({
                GATE: () => this.LA(1).tokenType === NumberTok,
                DEF: () => {
                  num = this.CONSUME(NumberTok);
                },
              });
              this.ACTION(() => {
                const last = factors[factors.length - 1]!;
                if (!num || !isIntText(num.image)) {
                  const at = num ?? neg ?? caret;
                  this.report("OFL1007", { start: this.st(caret), end: this.en(at) }, { detail: "`^` must be followed by an integer power, as in `m/s^2`" });
                  return;
                }
                const p = Number(num.image) * (neg ? -1 : 1);
                last.power = last.power < 0 ? -p : p;
              });
            },
          },
        ]);
      },
    });
    return this.ACTION(() => {
      const start = this.st(first);
      const span = this.from(start);
      if (!strict && /\s/.test(this.text.slice(span.start, span.end))) {
        this.report("OFL1007", span, { detail: "a unit expression is written without spaces, as in `m/s^2`" });
      }
      return { kind: "UnitExpr", factors, span } as A.UnitExpr;
    });
  });

  private rangeSpec = this.RULE("rangeSpec", (): A.RangeSpec => {
    const k = this.CONSUME(K.in);
    const lo = this.SUBRULE(this.signedNumber);
    this.CONSUME(DotDot);
    const hi = this.SUBRULE2(this.signedNumber);
    return this.ACTION(() => ({ kind: "Range", min: lo, max: hi, span: this.from(this.st(k)) }) as A.RangeSpec);
  });

  private signedNumber = this.RULE(
    "signedNumber",
    (): number => {
      let neg = false;
      this.OPTION(() => {
        this.CONSUME(Minus);
        neg = true;
      });
      const n = this.CONSUME(NumberTok);
      return this.ACTION(() => (neg ? -1 : 1) * numberValue(n.image));
    },
    { recoveryValueFunc: () => 0 },
  );

  // ------------------------------------------------------------ asset

  private assetDecl = this.RULE("assetDecl", (): A.AssetDecl => {
    const k = this.CONSUME(K.asset);
    const name = this.CONSUME(AnyName);
    this.CONSUME(Colon);
    const model = this.CONSUME2(AnyName);
    const d = this.ACTION(() => {
      const start = this.st(k);
      return this.setPartial({
        kind: "Asset",
        ...this.doc(start),
        name: this.ident(name),
        model: this.ident(model),
        items: [],
        span: this.from(start),
      } as A.AssetDecl);
    });
    this.CONSUME(LBrace);
    this.MANY(() => {
      const it = this.SUBRULE(this.assetItem);
      this.ACTION(() => {
        if (it) d.items.push(it);
      });
    });
    this.CONSUME(RBrace);
    return this.ACTION(() => this.finish(d));
  });

  private assetItem = this.RULE(
    "assetItem",
    (): Nullable<A.AssetItem> =>
      this.OR([
        {
          ALT: () => {
            const k = this.CONSUME(K.uuid);
            const s = this.SUBRULE(this.stringLit);
            return this.ACTION(() => ({ kind: "Uuid", value: s, span: this.from(this.st(k)) }) as A.UuidItem);
          },
        },
        { ALT: () => this.SUBRULE(this.sourceBlock) },
        {
          ALT: () => {
            const name = this.CONSUME(AnyName);
            this.CONSUME(Eq);
            const value = this.SUBRULE(this.exprReq);
            return this.ACTION(
              () => ({ kind: "AttributeAssign", name: this.ident(name), value, span: this.from(this.st(name)) }) as A.AttributeAssign,
            );
          },
        },
      ]),
    { recoveryValueFunc: () => null },
  );

  private sourceBlock = this.RULE("sourceBlock", (): A.SourceBlock => {
    const k = this.CONSUME(K.source);
    const kind = this.CONSUME(AnyName);
    this.CONSUME(LParen);
    const args = this.SUBRULE(this.args);
    this.CONSUME(RParen);
    this.CONSUME(LBrace);
    const bindings: A.Binding[] = [];
    this.MANY(() => {
      const b = this.SUBRULE(this.binding);
      this.ACTION(() => {
        if (b) bindings.push(b);
      });
    });
    this.CONSUME(RBrace);
    return this.ACTION(
      () => ({ kind: "Source", sourceKind: this.ident(kind), args, bindings, span: this.from(this.st(k)) }) as A.SourceBlock,
    );
  });

  private binding = this.RULE(
    "binding",
    (): Nullable<A.Binding> => {
      const target = this.CONSUME(AnyName);
      let direction: "telemetry" | "command" = "telemetry";
      let map: A.MapEntry[] | undefined;
      let call: A.BindingCall | undefined;
      this.OR([
        {
          ALT: () => {
            this.CONSUME(LArrow);
            call = this.SUBRULE(this.bindingCall);
            this.OPTION({
              GATE: () => this.LA(1).image === "map" && this.LA(2).tokenType === LBrace,
              DEF: () => {
                this.CONSUME(Ident);
                this.CONSUME(LBrace);
                map = [];
                this.MANY(() => {
                  const e = this.SUBRULE(this.mapEntry);
                  this.ACTION(() => {
                    if (e) map!.push(e);
                  });
                  this.OPTION2(() => this.CONSUME(Comma));
                });
                this.CONSUME(RBrace);
              },
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(RArrow);
            direction = "command";
            call = this.SUBRULE2(this.bindingCall);
          },
        },
      ]);
      return this.ACTION(() => {
        const b: A.Binding = { kind: "Binding", direction, target: this.ident(target), call: call!, span: this.from(this.st(target)) };
        if (map) b.map = map;
        return b;
      });
    },
    { recoveryValueFunc: () => null },
  );

  private bindingCall = this.RULE("bindingCall", (): A.BindingCall => {
    const name = this.CONSUME(AnyName);
    this.CONSUME(LParen);
    const args = this.SUBRULE(this.args);
    this.CONSUME(RParen);
    return this.ACTION(() => ({ name: this.ident(name), args, span: this.from(this.st(name)) }) as A.BindingCall);
  });

  private mapEntry = this.RULE(
    "mapEntry",
    (): Nullable<A.MapEntry> => {
      const key = this.SUBRULE(this.mapKey);
      this.CONSUME(Colon);
      const member = this.CONSUME(AnyName);
      return this.ACTION(() => ({ key, member: this.ident(member), span: this.from(key.span.start) }) as A.MapEntry);
    },
    { recoveryValueFunc: () => null },
  );

  private mapKey = this.RULE("mapKey", (): A.MapEntry["key"] =>
    this.OR([
      { ALT: () => this.SUBRULE(this.numberLit) },
      { ALT: () => this.SUBRULE(this.stringLit) },
      {
        ALT: () => {
          const t = this.OR2([{ ALT: () => this.CONSUME(K.true) }, { ALT: () => this.CONSUME(K.false) }]);
          return this.ACTION(() => ({ kind: "Bool", value: t.tokenType === K.true, span: this.tspan(t) }) as A.BoolLit);
        },
      },
      {
        ALT: () => {
          const m = this.CONSUME(Minus);
          const n = this.SUBRULE2(this.numberLit);
          return this.ACTION(() => ({ kind: "Unary", op: "-", operand: n, span: this.from(this.st(m)) }) as A.UnaryExpr);
        },
      },
    ]),
  );

  private numberLit = this.RULE("numberLit", (): A.NumberLit => {
    const n = this.CONSUME(NumberTok);
    return this.ACTION(() => this.mkNumber(n));
  });

  private stringLit = this.RULE("stringLit", (): A.StringLit => {
    const s = this.CONSUME(StringLit);
    return this.ACTION(() => ({ kind: "String", value: decodeString(s.image ?? ""), span: this.tspan(s) }) as A.StringLit);
  });

  private mkNumber(n: IToken): A.NumberLit {
    const text = splitNumber(n.image).num;
    return { kind: "Number", value: numberValue(n.image), isInt: isIntText(text), text, span: this.tspan(n) };
  }

  /** Call arguments: positional or named (`sampling: 100ms`). */
  private args = this.RULE("args", (): A.Arg[] => {
    const out: A.Arg[] = [];
    this.MANY_SEP({
      SEP: Comma,
      DEF: () => {
        const a = this.SUBRULE(this.arg);
        this.ACTION(() => {
          if (a) out.push(a);
        });
      },
    });
    return out;
  });

  private arg = this.RULE(
    "arg",
    (): Nullable<A.Arg> => {
      let name: IToken | undefined;
      this.OPTION({
        GATE: () => this.LA(2).tokenType === Colon,
        DEF: () => {
          name = this.CONSUME(AnyName);
          this.CONSUME(Colon);
        },
      });
      const value = this.SUBRULE(this.expr);
      return this.ACTION(() => {
        const start = name ? this.st(name) : value.span.start;
        const a: A.Arg = { value, span: { start, end: Math.max(start, value.span.end) } };
        if (name) a.name = this.ident(name);
        return a;
      });
    },
    { recoveryValueFunc: () => null },
  );

  // ------------------------------------------------------------ view, rule, test

  private viewDecl = this.RULE("viewDecl", (): A.ViewDecl => {
    const k = this.CONSUME(K.view);
    const name = this.CONSUME(AnyName);
    this.CONSUME(Eq);
    const agg = this.CONSUME2(AnyName);
    this.CONSUME(LParen);
    let arg: A.Expr | undefined;
    this.OPTION(() => {
      arg = this.SUBRULE(this.expr);
    });
    this.CONSUME(RParen);
    this.CONSUME(K.from);
    const model = this.CONSUME3(AnyName);
    let where: A.Expr | undefined;
    this.OPTION2(() => {
      this.CONSUME(K.where);
      this.ACTION(() => {
        this.allowOver = false;
      });
      where = this.SUBRULE2(this.exprReq);
      this.ACTION(() => {
        this.allowOver = true;
      });
    });
    let by: IToken | undefined;
    this.OPTION3(() => {
      this.CONSUME(K.by);
      by = this.CONSUME4(AnyName);
    });
    let over: A.WindowSpec | undefined;
    let final = false;
    this.OPTION4(() => {
      this.CONSUME(K.over);
      over = this.SUBRULE(this.window);
      this.OPTION5(() => {
        this.CONSUME(K.final);
        final = true;
      });
    });
    return this.ACTION(() => {
      const start = this.st(k);
      const v: A.ViewDecl = {
        kind: "View",
        ...this.doc(start),
        name: this.ident(name),
        aggregate: this.ident(agg),
        from: this.ident(model),
        final,
        span: this.from(start),
      };
      if (arg) v.arg = arg;
      if (where) v.where = where;
      if (by) v.by = this.ident(by);
      if (over) v.over = over;
      return v;
    });
  });

  private ruleDecl = this.RULE("ruleDecl", (): A.RuleDecl => {
    const k = this.CONSUME(K.rule);
    const name = this.CONSUME(AnyName);
    let on: IToken | undefined;
    this.OPTION(() => {
      this.CONSUME(K.on);
      on = this.CONSUME2(AnyName);
    });
    const r = this.ACTION(() => {
      const start = this.st(k);
      const r: A.RuleDecl = { kind: "Rule", ...this.doc(start), name: this.ident(name), actions: [], span: this.from(start) };
      if (on) r.on = this.ident(on);
      return this.setPartial(r);
    });
    this.CONSUME(LBrace);
    const dup = (t: IToken, present: unknown) => {
      if (present !== undefined) this.report("OFL1009", this.tspan(t), { clause: t.image });
    };
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            const t = this.CONSUME(K.shadow);
            this.ACTION(() => {
              dup(t, r.shadow);
              r.shadow = this.tspan(t);
            });
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(K.when);
            const e = this.SUBRULE(this.exprReq);
            this.ACTION(() => {
              dup(t, r.when);
              r.when = e;
            });
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(K.then);
            const acts: A.Expr[] = [];
            acts.push(this.SUBRULE(this.action));
            this.MANY2(() => {
              this.CONSUME(Comma);
              acts.push(this.SUBRULE2(this.action));
            });
            this.ACTION(() => {
              if (r.actions.length > 0) dup(t, true);
              for (const a of acts) if (a.kind === "Call") r.actions.push(a);
            });
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(K.cooldown);
            const e = this.SUBRULE3(this.exprReq);
            this.ACTION(() => {
              dup(t, r.cooldown);
              r.cooldown = e;
            });
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(K.repeat);
            this.CONSUME(K.every);
            const e = this.SUBRULE4(this.exprReq);
            this.ACTION(() => {
              dup(t, r.repeatEvery);
              r.repeatEvery = e;
            });
          },
        },
      ]);
    });
    this.CONSUME(RBrace);
    return this.ACTION(() => this.finish(r));
  });

  /** A rule action or a `send`: an expression that must be a call. */
  private action = this.RULE(
    "action",
    (): A.Expr => {
      const e = this.SUBRULE(this.postfixExpr);
      return this.ACTION(() => {
        if (e.kind !== "Call" && e.kind !== "ErrorExpr") {
          this.report("OFL1001", e.span, { expected: "a command call such as `stop()`", found: "`" + this.text.slice(e.span.start, Math.min(e.span.end, e.span.start + 24)) + "`" });
          return { kind: "ErrorExpr", span: e.span } as A.ErrorExpr;
        }
        return e;
      });
    },
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private testDecl = this.RULE("testDecl", (): A.TestDecl => {
    const k = this.CONSUME(K.test);
    const name = this.SUBRULE(this.stringLit);
    const d = this.ACTION(() => {
      const start = this.st(k);
      return this.setPartial({ kind: "Test", ...this.doc(start), name, items: [], span: this.from(start) } as A.TestDecl);
    });
    this.CONSUME(LBrace);
    this.MANY(() => {
      const it = this.SUBRULE(this.testItem);
      this.ACTION(() => {
        if (it) d.items.push(it);
      });
    });
    this.CONSUME(RBrace);
    return this.ACTION(() => this.finish(d));
  });

  private testItem = this.RULE(
    "testItem",
    (): Nullable<A.TestItem> =>
      this.OR([
        { ALT: () => this.SUBRULE(this.atItem) },
        {
          ALT: () => {
            const k = this.CONSUME(K.replay);
            const s = this.SUBRULE(this.stringLit);
            return this.ACTION(() => ({ kind: "Replay", path: s, span: this.from(this.st(k)) }) as A.ReplayItem);
          },
        },
        { ALT: () => this.SUBRULE(this.expectItem) },
      ]),
    { recoveryValueFunc: () => null },
  );

  private atItem = this.RULE("atItem", (): A.AtItem => {
    const k = this.CONSUME(K.at);
    const time = this.SUBRULE(this.timeLit);
    const steps: (A.SetStep | A.SendStep)[] = [];
    this.AT_LEAST_ONE_SEP({
      SEP: Comma,
      DEF: () => {
        const s = this.SUBRULE(this.step);
        this.ACTION(() => {
          if (s) steps.push(s);
        });
      },
    });
    return this.ACTION(() => ({ kind: "At", time, steps, span: this.from(this.st(k)) }) as A.AtItem);
  });

  private step = this.RULE(
    "step",
    (): Nullable<A.SetStep | A.SendStep> =>
      this.OR([
        {
          ALT: () => {
            const k = this.CONSUME(K.send);
            const call = this.SUBRULE(this.action);
            return this.ACTION(() =>
              call.kind === "Call" ? ({ kind: "Send", call, span: this.from(this.st(k)) } as A.SendStep) : null,
            );
          },
        },
        {
          ALT: () => {
            const target = this.SUBRULE(this.postfixExpr);
            this.CONSUME(Eq);
            const value = this.SUBRULE(this.exprReq);
            return this.ACTION(() => ({ kind: "Set", target, value, span: this.from(target.span.start) }) as A.SetStep);
          },
        },
      ]),
    { recoveryValueFunc: () => null },
  );

  private expectItem = this.RULE("expectItem", (): A.TestItem => {
    const k = this.CONSUME(K.expect);
    return this.OR([
      {
        ALT: () => {
          this.CONSUME(K.commands);
          this.CONSUME(K.match);
          this.CONSUME(K.recorded);
          return this.ACTION(() => ({ kind: "ExpectMatch", span: this.from(this.st(k)) }) as A.ExpectMatchItem);
        },
      },
      {
        ALT: () => {
          let shadow: IToken | undefined;
          let no: IToken | undefined;
          let verdict: IToken | undefined;
          let at: A.Expr | undefined;
          let between: [A.Expr, A.Expr] | undefined;
          this.OPTION(() => {
            shadow = this.CONSUME(K.shadow);
          });
          this.OPTION2(() => {
            no = this.CONSUME(K.no);
          });
          const expr = this.SUBRULE(this.exprReq);
          this.OPTION3(() => {
            verdict = this.OR2([{ ALT: () => this.CONSUME(K.accepted) }, { ALT: () => this.CONSUME(K.rejected) }]);
          });
          this.OPTION4(() => {
            this.OR3([
              {
                ALT: () => {
                  this.CONSUME(K.at);
                  at = this.SUBRULE(this.timeLit);
                },
              },
              {
                ALT: () => {
                  this.CONSUME(K.between);
                  const a = this.SUBRULE2(this.timeLit);
                  this.CONSUME(K.and);
                  const b = this.SUBRULE3(this.timeLit);
                  this.ACTION(() => {
                    between = [a, b];
                  });
                },
              },
            ]);
          });
          return this.ACTION(() => {
            const item: A.ExpectItem = { kind: "Expect", expr, span: this.from(this.st(k)) };
            if (shadow) item.shadow = this.tspan(shadow);
            if (no) item.no = this.tspan(no);
            if (verdict) item.verdict = { value: verdict.tokenType === K.accepted ? "accepted" : "rejected", span: this.tspan(verdict) };
            if (at) item.at = at;
            if (between) item.between = between;
            return item;
          });
        },
      },
    ]);
  });

  /** A time in a test: duration, timestamp, number or quantity (never a compound expression). */
  private timeLit = this.RULE(
    "timeLit",
    (): A.Expr =>
      this.OR([
        { ALT: () => this.SUBRULE(this.durationLit) },
        { ALT: () => this.SUBRULE(this.timestampLit) },
        { ALT: () => this.SUBRULE(this.numberOrQuantity) },
      ]),
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  // ------------------------------------------------------------ expressions

  /** An expression where one is required: when none can start here, reports it and yields an
   *  ErrorExpr without consuming, so the enclosing member or clause survives. */
  private exprReq = this.RULE("exprReq", (): A.Expr =>
    this.OR([
      { ALT: () => this.SUBRULE(this.expr) },
      {
        ALT: () =>
          this.ACTION(() => {
            const t = this.LA(1);
            const e = this.errAt(t);
            this.report("OFL1001", e.span, { expected: "an expression", found: describe(t) });
            return e;
          }),
      },
    ]),
  );

  public expr = this.RULE(
    "expr",
    (): A.Expr => this.SUBRULE(this.forExpr),
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private forExpr = this.RULE(
    "forExpr",
    (): A.Expr => {
      const cond = this.SUBRULE(this.orExpr);
      let dur: A.Expr | undefined;
      this.OPTION(() => {
        this.CONSUME(K.for);
        dur = this.SUBRULE2(this.orExpr);
      });
      return this.ACTION(() =>
        dur ? ({ kind: "For", cond, duration: dur, span: { start: cond.span.start, end: Math.max(cond.span.start, dur.span.end) } } as A.ForExpr) : cond,
      );
    },
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private binary(op: A.BinaryOp, opTok: IToken, left: A.Expr, right: A.Expr): A.BinaryExpr {
    return {
      kind: "Binary",
      op,
      left,
      right,
      opSpan: this.tspan(opTok),
      span: { start: left.span.start, end: Math.max(left.span.start, right.span.end) },
    };
  }

  private orExpr = this.RULE(
    "orExpr",
    (): A.Expr => {
      let left = this.SUBRULE(this.andExpr);
      this.MANY(() => {
        const op = this.CONSUME(K.or);
        const right = this.SUBRULE2(this.andExpr);
        this.ACTION(() => {
          left = this.binary("or", op, left, right);
        });
      });
      return left;
    },
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private andExpr = this.RULE(
    "andExpr",
    (): A.Expr => {
      let left = this.SUBRULE(this.notExpr);
      this.MANY(() => {
        const op = this.CONSUME(K.and);
        const right = this.SUBRULE2(this.notExpr);
        this.ACTION(() => {
          left = this.binary("and", op, left, right);
        });
      });
      return left;
    },
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private notExpr = this.RULE(
    "notExpr",
    (): A.Expr =>
      this.OR([
        {
          ALT: () => {
            const k = this.CONSUME(K.not);
            const operand = this.SUBRULE(this.notExpr);
            return this.ACTION(
              () => ({ kind: "Unary", op: "not", operand, span: { start: this.st(k), end: Math.max(this.st(k), operand.span.end) } }) as A.UnaryExpr,
            );
          },
        },
        { ALT: () => this.SUBRULE(this.cmpExpr) },
      ]),
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private cmpExpr = this.RULE(
    "cmpExpr",
    (): A.Expr => {
      let left = this.SUBRULE(this.addExpr);
      this.OPTION(() => {
        const op = this.OR([
          { ALT: () => this.CONSUME(EqEq) },
          { ALT: () => this.CONSUME(NotEq) },
          { ALT: () => this.CONSUME(LtEq) },
          { ALT: () => this.CONSUME(GtEq) },
          { ALT: () => this.CONSUME(Lt) },
          { ALT: () => this.CONSUME(Gt) },
        ]);
        const right = this.SUBRULE2(this.addExpr);
        this.ACTION(() => {
          left = this.binary(op.image as A.BinaryOp, op, left, right);
        });
      });
      return left;
    },
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private addExpr = this.RULE(
    "addExpr",
    (): A.Expr => {
      let left = this.SUBRULE(this.mulExpr);
      this.MANY(() => {
        const op = this.OR([{ ALT: () => this.CONSUME(Plus) }, { ALT: () => this.CONSUME(Minus) }]);
        const right = this.SUBRULE2(this.mulExpr);
        this.ACTION(() => {
          left = this.binary(op.image as A.BinaryOp, op, left, right);
        });
      });
      return left;
    },
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private mulExpr = this.RULE(
    "mulExpr",
    (): A.Expr => {
      let left = this.SUBRULE(this.unaryExpr);
      this.MANY(() => {
        const op = this.OR([{ ALT: () => this.CONSUME(Star) }, { ALT: () => this.CONSUME(Slash) }, { ALT: () => this.CONSUME(Percent) }]);
        const right = this.SUBRULE2(this.unaryExpr);
        this.ACTION(() => {
          left = this.binary(op.image as A.BinaryOp, op, left, right);
        });
      });
      return left;
    },
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private unaryExpr = this.RULE(
    "unaryExpr",
    (): A.Expr =>
      this.OR([
        {
          ALT: () => {
            const k = this.CONSUME(Minus);
            const operand = this.SUBRULE(this.unaryExpr);
            return this.ACTION(
              () => ({ kind: "Unary", op: "-", operand, span: { start: this.st(k), end: Math.max(this.st(k), operand.span.end) } }) as A.UnaryExpr,
            );
          },
        },
        { ALT: () => this.SUBRULE(this.postfixExpr) },
      ]),
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private postfixExpr = this.RULE(
    "postfixExpr",
    (): A.Expr => {
      let e = this.SUBRULE(this.primary);
      this.MANY(() => {
        this.OR([
          {
            ALT: () => {
              this.CONSUME(Dot);
              const m = this.CONSUME(AnyName);
              this.ACTION(() => {
                e = { kind: "Member", object: e, member: this.ident(m), span: this.from(e.span.start) };
              });
            },
          },
          {
            ALT: () => {
              this.CONSUME(LBracket);
              const index = this.SUBRULE(this.expr);
              this.CONSUME(RBracket);
              this.ACTION(() => {
                e = { kind: "Index", object: e, index, span: this.from(e.span.start) };
              });
            },
          },
          {
            ALT: () => {
              this.CONSUME(LParen);
              const args = this.SUBRULE(this.args);
              this.CONSUME(RParen);
              let over: A.WindowSpec | undefined;
              let final = false;
              this.OPTION({
                GATE: () => this.allowOver,
                DEF: () => {
                  this.CONSUME(K.over);
                  over = this.SUBRULE(this.window);
                  this.OPTION2(() => {
                    this.CONSUME(K.final);
                    final = true;
                  });
                },
              });
              this.ACTION(() => {
                const c: A.CallExpr = { kind: "Call", callee: e, args, final, span: this.from(e.span.start) };
                if (over) c.over = over;
                e = c;
              });
            },
          },
        ]);
      });
      return e;
    },
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );

  private window = this.RULE("window", (): A.WindowSpec => {
    const first = this.LA(1);
    let kind: A.WindowKind = "tumbling";
    let size: A.Expr | undefined;
    let every: A.Expr | undefined;
    let grace: A.Expr | undefined;
    this.OR([
      {
        ALT: () => {
          this.CONSUME(K.tumbling);
          size = this.SUBRULE(this.unaryExpr);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.hopping);
          kind = "hopping";
          size = this.SUBRULE2(this.unaryExpr);
          this.CONSUME(K.every);
          every = this.SUBRULE3(this.unaryExpr);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.session);
          this.CONSUME(K.gap);
          kind = "session";
          size = this.SUBRULE4(this.unaryExpr);
        },
      },
    ]);
    this.OPTION(() => {
      this.CONSUME(K.grace);
      grace = this.SUBRULE5(this.unaryExpr);
    });
    return this.ACTION(() => {
      const w: A.WindowSpec = { kind: "Window", window: kind, size: size!, span: this.from(this.st(first)) };
      if (every) w.every = every;
      if (grace) w.grace = grace;
      return w;
    });
  });

  private durationLit = this.RULE("durationLit", (): A.DurationLit => {
    const t = this.CONSUME(Duration);
    return this.ACTION(() => ({ kind: "Duration", ms: durationMs(t.image), text: t.image, span: this.tspan(t) }) as A.DurationLit);
  });

  private timestampLit = this.RULE("timestampLit", (): A.TimestampLit => {
    const t = this.CONSUME(TimestampLit);
    return this.ACTION(() => ({ kind: "Timestamp", ms: timestampMs(t.image) ?? 0, text: t.image, span: this.tspan(t) }) as A.TimestampLit);
  });

  private numberOrQuantity = this.RULE("numberOrQuantity", (): A.NumberLit | A.QuantityLit => {
    const n = this.CONSUME(NumberTok);
    let unit: A.UnitExpr | undefined;
    this.OPTION({
      GATE: () => this.quantityFollows(),
      DEF: () => {
        unit = this.SUBRULE(this.unitExpr, { ARGS: [true] });
      },
    });
    return this.ACTION(() => {
      const num = this.mkNumber(n);
      if (!unit) return num;
      return { kind: "Quantity", value: num.value, isInt: num.isInt, text: num.text, unit, span: this.from(num.span.start) } as A.QuantityLit;
    });
  });

  private primary = this.RULE(
    "primary",
    (): A.Expr =>
      this.OR([
        { ALT: () => this.SUBRULE(this.numberOrQuantity) },
        { ALT: () => this.SUBRULE(this.durationLit) },
        { ALT: () => this.SUBRULE(this.timestampLit) },
        { ALT: () => this.SUBRULE(this.stringLit) },
        {
          ALT: () => {
            const t = this.OR2([{ ALT: () => this.CONSUME(K.true) }, { ALT: () => this.CONSUME(K.false) }]);
            return this.ACTION(() => ({ kind: "Bool", value: t.tokenType === K.true, span: this.tspan(t) }) as A.BoolLit);
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(K.unavailable);
            return this.ACTION(() => ({ kind: "Unavailable", span: this.tspan(t) }) as A.UnavailableLit);
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(K.self);
            return this.ACTION(() => ({ kind: "Self", span: this.tspan(t) }) as A.SelfRef);
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(AnyName);
            return this.ACTION(() => ({ kind: "Name", name: this.ident(t), span: this.tspan(t) }) as A.NameRef);
          },
        },
        {
          ALT: () => {
            const l = this.CONSUME(LParen);
            const inner = this.SUBRULE(this.expr);
            this.CONSUME(RParen);
            return this.ACTION(() => ({ kind: "Paren", inner, span: this.from(this.st(l)) }) as A.ParenExpr);
          },
        },
        {
          ALT: () => {
            const k = this.CONSUME(K.if);
            const cond = this.SUBRULE2(this.expr);
            this.CONSUME(K.then);
            const then = this.SUBRULE3(this.expr);
            this.CONSUME(K.else);
            const els = this.SUBRULE4(this.expr);
            return this.ACTION(() => ({ kind: "If", cond, then, else: els, span: this.from(this.st(k)) }) as A.IfExpr);
          },
        },
      ]),
    { recoveryValueFunc: (e: IRecognitionException) => this.errAt(e.token) },
  );
}
