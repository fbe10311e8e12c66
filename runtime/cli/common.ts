// Shared pieces of the CLI commands.
import { relative, isAbsolute } from "node:path";
import { compile, renderDiagnostics, type CompileResult, type Diagnostic, type IrProgram } from "../../compiler/index.js";
import { loadPrograms, type LoadedProgram } from "../project/load.js";
import { closest } from "../../compiler/index.js";
import type { KafkaConfig } from "kafkajs";
import { kafkaSecurityFromEnv } from "../log/kafkaSecurity.js";

/** Where a command writes: injectable so tests can run commands in-process. */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  cwd: string;
  color: boolean;
  /** progress lines on standard error: on a terminal only, never in CI */
  progress?: boolean;
}

/** A progress line (`\r`-rewritten on standard error) when io.progress; silent otherwise. */
export function progressLine(io: Io, label: string): { show(text: string): void; done(): void } {
  if (!io.progress) return { show() {}, done() {} };
  let shown = false;
  return {
    show(text) {
      shown = true;
      io.err(`\r\x1b[2K${label}: ${text}`);
    },
    done() {
      if (shown) io.err("\r\x1b[2K");
    },
  };
}

/** Records passed through, counted on a progress line. */
export function* counted<T>(items: Iterable<T>, line: { show(text: string): void }, what: string): Generator<T> {
  let n = 0;
  let last = 0;
  for (const x of items) {
    if (++n % 10_000 === 0 && Date.now() - last >= 200) {
      last = Date.now();
      line.show(`${n.toLocaleString("en-US")} ${what}`);
    }
    yield x;
  }
}

export interface Command {
  name: string;
  summary: string;
  help: string;
  run(args: string[], io: Io): Promise<number>;
}

/** Bad command-line usage: exit code 2. */
export class UsageError extends Error {}

/** A secured Kafka cluster's TLS and SASL settings from the environment (runtime/log/kafkaSecurity.ts); one that cannot be used is a usage error (exit 2). */
export function kafkaSecurity(): Pick<KafkaConfig, "ssl" | "sasl"> {
  try {
    return kafkaSecurityFromEnv(process.env);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A Kafka error's message, with what to check when no broker answered at all (nothing listens there, or the address is wrong). */
export function kafkaErrorText(e: Error): string {
  const unreachable = e.name === "KafkaJSConnectionError" || /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection (error|timeout)/.test(e.message);
  return unreachable ? `${e.message} (no broker answered: is Kafka running there? --kafka HOST:PORT names another)` : e.message;
}

/** What follows an internal error's message: its stack with OFL_DEBUG set, else how to get it (and a request to report it). */
export function internalErrorDetail(e: Error): string {
  return process.env["OFL_DEBUG"] ? (e.stack ?? "") + "\n" : "(set OFL_DEBUG=1 for details, and please report it)\n";
}

export function displayPath(io: Io, path: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(io.cwd, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

export interface CompiledProgram {
  loaded: LoadedProgram;
  result: CompileResult;
  /** diagnostics including unreadable files */
  diagnostics: Diagnostic[];
  texts: Map<string, string>;
}

/** Loads and compiles the programs named by paths. */
export function compilePrograms(paths: string[], io: Io): CompiledProgram[] {
  return loadPrograms(paths, io.cwd).map((loaded) => {
    const result = compile(loaded.files, { name: loaded.name });
    // ofl.json settings the runtime needs travel with the program (the Kafka workers get the IR)
    if (result.ir && loaded.futureToleranceMs !== undefined) result.ir.futureToleranceMs = loaded.futureToleranceMs;
    const unreadable: Diagnostic[] = loaded.unreadable.map((u) => ({
      code: "OFL1100",
      severity: "error",
      message: u.message,
      file: u.path,
      span: { start: 0, end: 0 },
    }));
    const texts = new Map(loaded.files.map((f) => [f.path, f.text]));
    return { loaded, result, diagnostics: [...unreadable, ...result.diagnostics], texts };
  });
}

export function printDiagnostics(io: Io, ds: Diagnostic[], texts: Map<string, string>): void {
  if (ds.length === 0) return;
  io.out(renderDiagnostics(ds, texts, { color: io.color, displayPath: (p) => displayPath(io, p) }) + "\n\n");
}

export function countSummary(ds: Diagnostic[]): { errors: number; warnings: number; text: string } {
  const errors = ds.filter((d) => d.severity === "error").length;
  const warnings = ds.length - errors;
  return { errors, warnings, text: `${plural(errors, "error")}, ${plural(warnings, "warning")}` };
}

/** Compiles the one program named by PATH (or the working directory); prints diagnostics on error. */
export function compileOne(paths: string[], io: Io): IrProgram | undefined {
  if (paths.length > 1) throw new UsageError("give one program (a project folder or an .ofl file)");
  const [p] = compilePrograms(paths, io);
  if (!p || !p.result.ir || p.diagnostics.some((d) => d.severity === "error")) {
    const errors = p ? p.diagnostics.filter((d) => d.severity === "error") : [];
    if (p) printDiagnostics(io, errors, p.texts);
    // the errors are printed above: no need to send the user to `ofl check` for them
    io.err(`ofl: ${plural(errors.length, "error")} in the program; nothing was done\n`);
    return undefined;
  }
  return p.result.ir;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A command-line duration (`100ms`, `5s`, `2m`, `1h`, `1d`) in ms, or undefined. */
export function durationMs(s: string): number | undefined {
  const d = DURATION.exec(s);
  return d ? Number(d[1]) * UNIT_MS[d[2]!]! : undefined;
}

/** `1 error`, `2 errors` */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** parseArgs's message, reworded for a user, with the closest option of the command's help. */
export function argErrorText(help: string, e: Error): string {
  const code = (e as { code?: string }).code;
  const flag = /'(-[^']*)'/.exec(e.message)?.[1];
  const options = [...new Set([...help.matchAll(/(?<![\w-])(--[a-z][\w-]*)/g)].map((m) => m[1]!))];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) {
    const near = closest(flag.replace(/=.*$/, ""), options);
    return `unknown option ${flag.replace(/=.*$/, "")}${near ? `; did you mean ${near}?` : options.length > 0 ? ` (options: ${options.join(", ")})` : " (this command takes no options)"}`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) {
    return /argument missing/.test(e.message) ? `option ${flag.split(" ")[0]} needs a value` : `option ${flag.split(" ")[0]} takes no value`;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `unexpected argument ${/'([^']*)'/.exec(e.message)?.[1] ?? ""}`.trim();
  return e.message;
}

