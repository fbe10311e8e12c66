// `ofl send ASSET.COMMAND(ARGS) [PATH] [--data DIR]`
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { compile, renderDiagnostics } from "../../compiler/index.js";
import { loadPrograms } from "../project/load.js";
import { defaultDataDir } from "./run.js";
import { displayPath, UsageError, type Command } from "./common.js";

export const sendCommand: Command = {
  name: "send",
  summary: "issue an operator command to a running plant, through its interlocks",
  help: `Usage: ofl send 'ASSET.COMMAND(NAME: VALUE, …)' [PATH] [--data DIR]

Issues an operator command to the plant that \`ofl run\` is running for the program PATH
(default: the working directory's project). The command is written as in OFL, with named
arguments and units: ofl send 'mill1.set_feed(override: 80 percent)'. It is checked like any
OFL (names, types, units converted to the declared unit), then appended to the plant's log as
an operator command: the interlocks and ranges decide, and an accepted command is dispatched
to the device once. Prints the verdict and the device's answer.

Options:
  --data DIR    the running plant's log folder (default: .ofl/data in the project)
  -h, --help    show this help

Exit codes: 0 completed, 1 rejected or failed (or the command does not check), 2 bad usage or
no running plant.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { data: { type: "string" } } });
    const [text, path] = positionals;
    if (!text) throw new UsageError("give the command, e.g. ofl send 'mill1.stop()'");
    if (positionals.length > 2) throw new UsageError(`unexpected argument ${positionals[2]}`);
    const [program] = loadPrograms(path ? [path] : [], io.cwd);
    // check the command as a `send` line of a test, so it gets OFL's own names, types and units
    const prefix = `test "ofl send" {\n  at 0s send `;
    const probe = { path: join(program!.root, "<ofl send>.ofl"), text: `${prefix}${text}\n}\n` };
    const r = compile([...program!.files, probe], { name: program!.name });
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0 || !r.ir) {
      // a mistake in the command is shown against the command as the user typed it
      const label = "ofl send";
      const own = errors
        .filter((d) => d.file === probe.path)
        .map((d) => ({
          ...d,
          // the `}` after the command is the wrapper's: past the end, say "the end of the command"
          message: d.span.start - prefix.length >= text.length ? d.message.replace(/found `\}`$/, "found the end of the command") : d.message,
          file: label,
          span: { start: clamp(d.span.start - prefix.length), end: clamp(d.span.end - prefix.length) },
        }));
      // after a syntax error in the command, the parser's later complaints are about the test
      // block wrapped around it (a `}` the user never typed): the first one is the one that counts
      const syntax = own.filter((d) => d.code.startsWith("OFL1"));
      const shown = syntax.length > 0 ? syntax.slice(0, 1) : own.length > 0 ? own : errors;
      const texts = new Map<string, string>([[label, text], ...program!.files.map((f) => [f.path, f.text] as [string, string])]);
      io.err(renderDiagnostics(shown, texts, { color: false, displayPath: (p) => displayPath(io, p) }) + "\n");
      const words = /^\s*([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*$/.exec(text);
      if (words) io.err(`a command is written ASSET.COMMAND(ARGS): ofl send '${words[1]}.${words[2]}()'\n`);
      return 1;
      function clamp(n: number): number {
        return Math.max(0, Math.min(text!.length, n));
      }
    }
    const step = r.ir.tests.find((t) => t.file === probe.path)!.at[0]!.steps[0]!;
    if (step.k !== "send") throw new UsageError("expected a command: ASSET.COMMAND(ARGS)");
    const dataDir = resolve(io.cwd, values.data ?? defaultDataDir(resolve(io.cwd, path ?? ".")));
    const runFile = join(dataDir, "run.json");
    if (!existsSync(runFile)) throw new UsageError(`no running plant for ${displayPath(io, dataDir)}: start one with \`ofl run\``);
    const run = JSON.parse(readFileSync(runFile, "utf8")) as { url: string; token: string };
    const body = { asset: step.asset, command: step.command, args: Object.fromEntries(step.args.map((a) => [a.name, a.value])) };
    let res: Response;
    try {
      res = await fetch(`${run.url}/api/command`, { method: "POST", headers: { authorization: `Bearer ${run.token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    } catch {
      throw new UsageError(`the plant at ${run.url} does not answer: is \`ofl run\` still running?`);
    }
    const out = (await res.json()) as { status?: string; reason?: string; result?: unknown; correlationId?: string; error?: string };
    if (!res.ok) {
      io.err(`ofl send: ${out.error ?? res.statusText}\n`);
      return 1;
    }
    const detail = out.reason ? `: ${out.reason}` : out.result !== undefined ? ` ${JSON.stringify(out.result)}` : "";
    io.out(`${step.asset}.${step.command}: ${out.status}${detail} (correlation id ${out.correlationId})\n`);
    return out.status === "completed" || out.status === "shadow" ? 0 : 1;
  },
};
