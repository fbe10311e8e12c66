// The `ofl` command: parses the command line and dispatches to one module per command.
// Exit codes: 0 success, 1 the command ran and found problems (errors, failed tests), 2 bad usage,
// 3 the data folder is in use, 70 internal error or an unwritable log (docs/cli.md).
import { checkCommand } from "./check.js";
import { testCommand } from "./test.js";
import { stateCommand } from "./state.js";
import { importCommand } from "./import.js";
import { recordCommand } from "./record.js";
import { runCommand } from "./run.js";
import { sendCommand } from "./send.js";
import { initCommand } from "./init.js";
import { fmtCommand } from "./fmt.js";
import { buildCommand } from "./build.js";
import { deployCommand } from "./deploy.js";
import { argErrorText, internalErrorDetail, UsageError, type Command, type Io } from "./common.js";
import { ProgramError } from "../project/load.js";
import { SessionError } from "../replay/session.js";
import { closest } from "../../compiler/index.js";

const VERSION = "0.1.0";

const COMMANDS: Command[] = [initCommand, runCommand, checkCommand, testCommand, stateCommand, importCommand, recordCommand, sendCommand, fmtCommand, buildCommand, deployCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "ofl — the OpenFactory Language: a factory as an event-sourced control system",
    "",
    "Usage: ofl <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${"lsp".padEnd(width)}  the language server for editors (\`ofl lsp --stdio\`)`,
    "",
    "Options:",
    "  -h, --help     show help (also `ofl <command> --help`)",
    "  -v, --version  show the version",
    "",
    "Exit codes: 0 success, 1 errors found or tests failed, 2 bad usage, 3 the data folder is in use by another `ofl run`, 70 internal error or an unwritable log.",
    "Documentation: docs/cli.md and docs/language.md in the ofl package.",
  ].join("\n");
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    if (name === "help" && rest[0]) return main([rest[0], "--help"], io);
    io.out(mainHelp() + "\n");
    return name === undefined ? 2 : 0;
  }
  if (name === "-v" || name === "--version") {
    io.out(`ofl ${VERSION}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    const near = closest(name, [...COMMANDS.map((c) => c.name), "lsp"]);
    io.err(`ofl: unknown command \`${name}\`${near ? `; did you mean \`${near}\`?` : "."} Run \`ofl --help\` for the list of commands.\n`);
    return 2;
  }
  if (rest.includes("-h") || rest.includes("--help")) {
    io.out(cmd.help + "\n");
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`ofl ${cmd.name}: ${e.message}\nRun \`ofl ${cmd.name} --help\` for usage.\n`);
      return 2;
    }
    if (e instanceof ProgramError || e instanceof SessionError) {
      io.err(`ofl ${cmd.name}: ${e.message}\n`);
      return e instanceof ProgramError ? 2 : 1;
    }
    if ((e as NodeJS.ErrnoException | null)?.code === "EPIPE") return 0; // the reader closed the pipe (`ofl record | head -1`): end quietly
    if (isArgError(e)) {
      io.err(`ofl ${cmd.name}: ${argErrorText(cmd.help, e as Error)}\nRun \`ofl ${cmd.name} --help\` for usage.\n`);
      return 2;
    }
    const err = e as Error;
    io.err(`ofl ${cmd.name}: internal error: ${err.message}\n${internalErrorDetail(err)}`);
    return 70;
  }
}

function isArgError(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}

export function processIo(): Io {
  return {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    cwd: process.cwd(),
    color: !!process.stdout.isTTY && !process.env["NO_COLOR"],
    progress: !!process.stderr.isTTY && !process.env["CI"],
  };
}
