// The printer of the OFL prettier plugin: AST → prettier doc. One canonical layout per construct.
import type { AstPath, Doc, ParserOptions } from "prettier";
import { builders } from "prettier/doc";
import type * as A from "../ast/nodes.js";
import { closesBetween, commentDoc, isNextLineEmpty, isStatement } from "./comments.js";
import type { Clause, PComment, PFile } from "./parse.js";

const { group, indent, align, line, softline, hardline, join, ifBreak, lineSuffix, lineSuffixBoundary, breakParent, trim } = builders;

type Path = AstPath<any>;
type Print = (selector?: string | number | (string | number)[] | AstPath) => Doc;
type Options = ParserOptions<any>;

const BINARY_PRECEDENCE: Record<A.BinaryOp, number> = {
  or: 1,
  and: 2,
  "==": 3,
  "!=": 3,
  "<": 3,
  "<=": 3,
  ">": 3,
  ">=": 3,
  "+": 4,
  "-": 4,
  "*": 5,
  "/": 5,
  "%": 5,
};

function root(path: Path): PFile {
  return path.root as PFile;
}

/** Source text of a span without comments and whitespace (ranges and units print as written, tightened). */
function tokensText(file: PFile, span: A.Span): string {
  let out = "";
  let i = span.start;
  for (const c of file.allComments) {
    if (c.span.end <= i || c.span.start >= span.end) continue;
    out += file.text.slice(i, c.span.start);
    i = c.span.end;
  }
  out += file.text.slice(i, span.end);
  return out.replace(/\s+/g, "");
}

function unitText(file: PFile, u: A.UnitExpr): string {
  return tokensText(file, u.span);
}

function rangeText(file: PFile, r: A.RangeSpec): string {
  // `in` then the bounds: `in -50..500`
  return "in " + tokensText(file, r.span).replace(/^in/, "");
}

/** A string literal, escaped canonically: `\\ \" \n \t`, other control characters and lone surrogates as `\u{X}`. */
export function printString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || cp === 0x2028 || cp === 0x2029 || (cp >= 0xd800 && cp <= 0xdfff))
      out += "\\u{" + cp.toString(16).toUpperCase() + "}";
    else out += ch;
  }
  return out + '"';
}

/** A `// …` at the end of the output line (one space after the code, whatever came before it). */
function endOfLine(text: Doc): Doc {
  return lineSuffix([trim, " ", text]);
}

/** Comments attached to a node as dangling (neither leading nor trailing) and not yet printed. */
function danglingComments(path: Path): PComment[] {
  const node = path.node as { comments?: PComment[] };
  return (node.comments ?? []).filter((c) => !c.leading && !c.trailing && !c.printed);
}

/** Dangling comments, one per line (a blank line between two kept). */
function printDanglingLines(path: Path, options: Options): Doc {
  const cs = danglingComments(path);
  const parts: Doc[] = [];
  cs.forEach((c, i) => {
    c.printed = true;
    if (i > 0) {
      parts.push(hardline);
      if (/\n[ \t]*\n/.test(options.originalText.slice(cs[i - 1]!.span.end, c.span.start))) parts.push(hardline);
    }
    parts.push(lineSuffixBoundary, commentDoc(c));
  });
  return parts;
}

/** Dangling comments of a node without a body: after it, on the same line. */
function printDanglingAfter(path: Path): Doc {
  const cs = danglingComments(path);
  return cs.map((c, i) => {
    c.printed = true;
    const afterLine = i > 0 && cs[i - 1]!.kind !== "block";
    if (c.kind === "block") return [lineSuffixBoundary, afterLine ? "" : " ", commentDoc(c)];
    // a `// …` followed by another comment, or after one, ends its line here
    if (i < cs.length - 1 || afterLine) return [lineSuffixBoundary, afterLine ? "" : " ", commentDoc(c), hardline];
    return [lineSuffixBoundary, endOfLine(commentDoc(c))];
  });
}

/** `{ … }` with one item per line (blank lines between items kept, at most one), or `{}`. */
function printBlock(path: Path, options: Options, print: Print, key: string, printItem?: (p: Path) => Doc): Doc {
  const items = (path.node as Record<string, unknown[]>)[key] ?? [];
  const dangling = printDanglingLines(path, options);
  if (items.length === 0) {
    return (dangling as Doc[]).length === 0 ? "{}" : ["{", indent([hardline, dangling]), hardline, "}"];
  }
  const parts: Doc[] = [];
  path.each((p, i) => {
    parts.push(printItem ? printItem(p) : print());
    if (i < items.length - 1) {
      parts.push(hardline);
      if (isNextLineEmpty(root(path), (p.node as { span: A.Span }).span.end)) parts.push(hardline);
    }
  }, key);
  return ["{", indent([hardline, parts]), (dangling as Doc[]).length ? indent([hardline, dangling]) : "", hardline, "}"];
}

/** `(a, name: b)`: on one line, or one argument per line. */
function printArgs(path: Path, print: Print, key = "args"): Doc {
  const args = (path.node as Record<string, A.Arg[]>)[key] ?? [];
  if (args.length === 0) {
    // the comments inside `()`: for a source, those before its `)` (the others are in its `{}`)
    const node = path.node as { kind?: string; sourceKind?: A.Ident };
    const file = root(path);
    const inside = node.kind === "Source" ? (c: PComment) => !closesBetween(file, node.sourceKind!.span.end, c.span.start) : () => true;
    return ["(", printDanglingAfterInside(path, inside), ")"];
  }
  const printed = path.map((ap: Path) => {
    const a = ap.node as A.Arg;
    return a.name ? [ap.call(print, "name"), ": ", ap.call(print, "value")] : ap.call(print, "value");
  }, key);
  return group(["(", indent([softline, join([",", line], printed)]), softline, ")"]);
}

/** Dangling comments inside empty parentheses: `stop(/* none *\/)`. */
function printDanglingAfterInside(path: Path, inside: (c: PComment) => boolean = () => true): Doc {
  const cs = danglingComments(path).filter(inside);
  return cs.map((c, i) => {
    c.printed = true;
    const sep = i > 0 ? " " : "";
    return c.kind === "block" ? [lineSuffixBoundary, sep, commentDoc(c)] : [lineSuffixBoundary, sep, commentDoc(c), hardline];
  });
}

function printBinary(path: Path, print: Print): Doc {
  const parts = binaryParts(path, print);
  return group([parts[0]!, indent(parts.slice(1))]);
}

/** Flattens a left-nested chain of one precedence: `a and b and c` → [a, " and" line b, " and" line c]. */
function binaryParts(path: Path, print: Print): Doc[] {
  const node = path.node as A.BinaryExpr;
  const left = node.left;
  const parts: Doc[] =
    left.kind === "Binary" && BINARY_PRECEDENCE[left.op] === BINARY_PRECEDENCE[node.op] && BINARY_PRECEDENCE[node.op] !== 3 && !(left as { comments?: unknown[] }).comments?.length
      ? path.call((lp: Path) => binaryParts(lp, print), "left")
      : [print("left")];
  parts.push([" ", node.op, line, print("right")]);
  return parts;
}

function printWindow(path: Path, print: Print): Doc {
  const w = path.node as A.WindowSpec;
  const parts: Doc[] = [];
  if (w.window === "tumbling") parts.push("tumbling ", print("size"));
  else if (w.window === "hopping") parts.push("hopping ", print("size"), " every ", print("every"));
  else parts.push("session gap ", print("size"));
  if (w.grace) parts.push(" grace ", print("grace"));
  return parts;
}

export function printOfl(path: Path, options: Options, print: Print): Doc {
  const node = path.node as { kind: string; comments?: PComment[] };
  const printed = printNode(path, options, print);
  if (!node.comments || node.kind === "File") return printed;
  const file = root(path);
  const statement = isStatement(node);
  const leading: Doc[] = [];
  const trailing: Doc[] = [];
  for (const c of node.comments) {
    if (c.printed || !(c.leading || c.trailing)) continue;
    c.printed = true;
    const text = commentDoc(c);
    const isLine = c.kind !== "block";
    if (statement && c.leading) {
      // on lines of their own above the node (a blank line after one kept)
      leading.push(lineSuffixBoundary, text, hardline, isNextLineEmpty(file, c.span.end) ? hardline : "");
    } else if (statement && c.placement === "ownLine") {
      // a note on its own line after the last member of a block
      trailing.push(hardline, /\n[ \t]*\n[ \t]*$/.test(file.text.slice(0, c.span.start)) ? hardline : "", text);
    } else if (statement && isLine) {
      // `// error` after a member: a hardline always follows a statement
      trailing.push(lineSuffixBoundary, endOfLine(text));
    } else if (c.leading) {
      leading.push(lineSuffixBoundary, text, isLine ? hardline : " ");
    } else if (isLine && c.breakHere) {
      trailing.push(lineSuffixBoundary, " ", text, hardline);
    } else if (isLine) {
      // after glue (`a, // c`, `a and // c`) or before a closing bracket the line breaks right there
      trailing.push(lineSuffixBoundary, endOfLine(text), breakParent);
    } else {
      trailing.push(lineSuffixBoundary, " ", text);
    }
  }
  // a comment inside a node that has no place of its own for it: above a statement
  // (`expect /*c*/ commands match recorded`), after anything else (`5 /*c*/ degC`)
  if (statement) {
    for (const c of danglingComments(path)) {
      c.printed = true;
      leading.push(lineSuffixBoundary, commentDoc(c), hardline);
    }
  }
  return [leading, printed, printDanglingAfter(path), trailing];
}

function printNode(path: Path, options: Options, print: Print): Doc {
  const node = path.node;
  const file = root(path);
  switch (node.kind as string) {
    // ------------------------------------------------------------ file and declarations
    case "File": {
      const f = node as PFile;
      const dangling = printDanglingLines(path, options);
      if (f.decls.length === 0) return (dangling as Doc[]).length ? [dangling, hardline] : "";
      const parts: Doc[] = [];
      path.each((p, i) => {
        parts.push(print());
        if (i < f.decls.length - 1) {
          parts.push(hardline);
          if (isNextLineEmpty(root(path), (p.node as A.Decl).span.end)) parts.push(hardline);
        }
      }, "decls");
      return [parts, (dangling as Doc[]).length ? [hardline, dangling] : "", hardline];
    }
    case "Use":
      return ["use ", (node as A.UseDecl).path];
    case "Unit": {
      const u = node as A.UnitDecl;
      if (!u.definition) return ["unit ", print("name")];
      const d = u.definition;
      return ["unit ", print("name"), " = ", tokensText(file, d.factorSpan), " ", unitText(file, d.unit)];
    }
    case "Enum": {
      const e = node as A.EnumDecl;
      if (e.members.length === 0) return ["enum ", print("name"), " ", printBlock(path, options, print, "members")];
      return group(["enum ", print("name"), " {", indent([line, join([",", line], path.map(print, "members"))]), ifBreak(","), line, "}"]);
    }
    case "Model": {
      const m = node as A.ModelDecl;
      return ["model ", print("name"), m.extends ? [" extends ", print("extends")] : "", " ", printBlock(path, options, print, "members")];
    }
    case "Asset":
      return ["asset ", print("name"), ": ", print("model"), " ", printBlock(path, options, print, "items")];
    case "View": {
      const v = node as A.ViewDecl;
      const clauses: Doc[] = [[line, "from ", print("from")]];
      if (v.where) clauses.push([line, "where ", print("where")]);
      if (v.by) clauses.push([line, "by ", print("by")]);
      if (v.over) clauses.push([line, "over ", print("over"), v.final ? " final" : ""]);
      const arg = v.arg ? group(["(", indent([softline, print("arg")]), softline, ")"]) : ["(", printDanglingAfterInside(path, (c) => c.span.start < v.from.span.start), ")"];
      return group(["view ", print("name"), " = ", print("aggregate"), arg, indent(clauses)]);
    }
    case "Rule": {
      const r = node as A.RuleDecl & { clauses: Clause[] };
      const dangling = printDanglingLines(path, options);
      const head: Doc = ["rule ", print("name"), r.on ? [" on ", print("on")] : "", " "];
      if (r.clauses.length === 0 && (dangling as Doc[]).length === 0) return [head, "{}"];
      const body: Doc[] = [];
      if (r.clauses.length) body.push(hardline, join(hardline, path.map(print, "clauses")));
      if ((dangling as Doc[]).length) body.push(hardline, dangling);
      return [head, "{", indent(body), hardline, "}"];
    }
    case "Clause": {
      const c = node as Clause;
      if (c.keyword === "shadow") return "shadow";
      if (c.keyword === "then") return group(["then ", align(5, join([",", line], path.map(print, "actions")))]);
      return [c.keyword, " ", print("expr")];
    }
    case "Test":
      return ["test ", print("name"), " ", printBlock(path, options, print, "items")];

    // ------------------------------------------------------------ model members
    case "Attribute": {
      const a = node as A.AttributeMember;
      return ["attribute ", print("name"), ": ", print("type"), a.default ? [" = ", print("default")] : ""];
    }
    case "Telemetry": {
      const t = node as A.TelemetryMember;
      return ["telemetry ", print("name"), ": ", print("type"), t.range ? [" ", rangeText(file, t.range)] : ""];
    }
    case "State": {
      const s = node as A.StateMember;
      return ["state ", print("name"), s.type ? [": ", print("type")] : "", " = ", print("expr")];
    }
    case "Alarm": {
      return [
        "alarm ",
        print("name"),
        " severity ",
        print("severity"),
        indent(path.map((cp: Path) => [hardline, print(cp)], "clauses")),
      ];
    }
    case "Command": {
      const c = node as A.CommandMember;
      const params =
        c.params.length === 0
          ? ["(", printDanglingAfterInside(path), ")"]
          : group([
              "(",
              indent([
                softline,
                join(
                  [",", line],
                  path.map((pp: Path) => {
                    const p = pp.node as A.Param;
                    return [pp.call(print, "name"), ": ", pp.call(print, "type"), p.range ? [" ", rangeText(file, p.range)] : ""];
                  }, "params"),
                ),
              ]),
              softline,
              ")",
            ]);
      return ["command ", print("name"), params, indent(path.map((cp: Path) => [hardline, print(cp)], "clauses"))];
    }
    case "PrimitiveType": {
      const t = node as A.PrimitiveType;
      return t.unit ? [t.name, "<", unitText(file, t.unit), ">"] : t.name;
    }
    case "NamedType": {
      const t = node as A.NamedType;
      return t.unit ? [print("name"), "<", unitText(file, t.unit), ">"] : print("name");
    }

    // ------------------------------------------------------------ asset items
    case "Uuid":
      return ["uuid ", print("value")];
    case "AttributeAssign":
      return [print("name"), " = ", print("value")];
    case "Source":
      return ["source ", print("sourceKind"), printArgs(path, print), " ", printBlock(path, options, print, "bindings")];
    case "Binding": {
      const b = node as A.Binding;
      const siblings = ((path.parent as A.SourceBlock | undefined)?.bindings ?? [b]) as A.Binding[];
      const width = Math.max(...siblings.map((x) => x.target.name.length));
      const pad = " ".repeat(Math.max(0, width - b.target.name.length));
      const call: Doc = path.call((cp: Path) => [cp.call(print, "name"), printArgs(cp, print)], "call");
      return [print("target"), pad, b.direction === "telemetry" ? " <- " : " -> ", call, b.map ? [" map ", printMap(path, print)] : ""];
    }

    // ------------------------------------------------------------ test items
    case "At": {
      // the steps of a test's `at` lines start in one column: `at 0s  a.x = 1` / `at 10s a.x = 2`
      const at = node as A.AtItem;
      const items = ((path.parent as A.TestDecl | undefined)?.items ?? [at]).filter((x): x is A.AtItem => x.kind === "At");
      const width = Math.max(...items.map((x) => timeText(file, x.time).length));
      const pad = " ".repeat(Math.max(0, width - timeText(file, at.time).length));
      const steps = path.map(print, "steps");
      return group(["at ", print("time"), pad, " ", indent(join([",", line], steps))]);
    }
    case "Set":
      return [print("target"), " = ", print("value")];
    case "Send":
      return ["send ", print("call")];
    case "Replay":
      return ["replay ", print("path")];
    case "Expect": {
      const x = node as A.ExpectItem;
      return [
        "expect ",
        x.shadow ? "shadow " : "",
        x.no ? "no " : "",
        print("expr"),
        x.verdict ? [" ", x.verdict.value] : "",
        x.at ? [" at ", print("at")] : "",
        // `and` may be followed by a line break, as after the operator (comments.ts GLUE)
        x.between ? group([" between ", print(["between", 0]), indent([" and", line, print(["between", 1])])]) : "",
      ];
    }
    case "ExpectMatch":
      return "expect commands match recorded";

    // ------------------------------------------------------------ expressions
    case "Ident":
      return (node as A.Ident).name;
    case "Number":
      return (node as A.NumberLit).text;
    case "String":
      return printString((node as A.StringLit).value);
    case "Bool":
      return (node as A.BoolLit).value ? "true" : "false";
    case "Duration":
      return (node as A.DurationLit).text;
    case "Timestamp":
      return (node as A.TimestampLit).text;
    case "Quantity": {
      const q = node as A.QuantityLit;
      return [q.text, " ", unitText(file, q.unit)];
    }
    case "Unavailable":
      return "unavailable";
    case "Name":
      return print("name");
    case "Self":
      return "self";
    case "Member":
      return [print("object"), ".", print("member")];
    case "Index":
      return [print("object"), group(["[", indent([softline, print("index")]), softline, "]"])];
    case "Call": {
      const c = node as A.CallExpr;
      return [print("callee"), printArgs(path, print), c.over ? [" over ", print("over"), c.final ? " final" : ""] : ""];
    }
    case "Window":
      return printWindow(path, print);
    case "Unary": {
      const u = node as A.UnaryExpr;
      if (u.op === "not") return ["not ", print("operand")];
      // `- -x` must not print as `--x`
      const operandStartsWithMinus = u.operand.kind === "Unary" && u.operand.op === "-";
      return ["-", operandStartsWithMinus ? " " : "", print("operand")];
    }
    case "Binary":
      return printBinary(path, print);
    case "For":
      return group([print("cond"), indent([line, "for ", print("duration")])]);
    case "If":
      return group(["if ", print("cond"), indent([line, "then ", print("then"), line, "else ", print("else")])]);
    case "Paren":
      return group(["(", indent([softline, print("inner")]), softline, ")"]);
    case "ErrorExpr":
      // never reached: files with syntax errors are not formatted
      return options.originalText.slice((node as A.ErrorExpr).span.start, (node as A.ErrorExpr).span.end);
    default:
      throw new Error(`ofl format: no printer for node kind ${String(node.kind)}`);
  }
}

/** The printed text of a test time (`10s`, `@2026-…Z`, `90`, `1.5 min`). */
function timeText(file: PFile, e: A.Expr): string {
  switch (e.kind) {
    case "Duration":
    case "Timestamp":
    case "Number":
      return e.text;
    case "Quantity":
      return e.text + " " + unitText(file, e.unit);
    default:
      return tokensText(file, e.span);
  }
}

/** `map { 0: READY, 1: ACTIVE }`: on one line, or one entry per line. */
function printMap(path: Path, print: Print): Doc {
  const b = path.node as A.Binding;
  if (!b.map || b.map.length === 0) return "{}";
  const entries = path.map((ep: Path) => [ep.call(print, "key"), ": ", ep.call(print, "member")], "map");
  return group(["{", indent([line, join([",", line], entries)]), ifBreak(","), line, "}"]);
}
