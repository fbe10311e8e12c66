// `ofl check [PATH...] [--json] [--dump-ir]`
import { parseArgs } from "node:util";
import { LineMap } from "../../compiler/index.js";
import { compilePrograms, countSummary, displayPath, printDiagnostics, type Command } from "./common.js";

export const checkCommand: Command = {
  name: "check",
  summary: "check programs and report every diagnostic",
  help: `Usage: ofl check [PATH...] [--json] [--dump-ir]

Parses and checks OFL programs and reports every error and warning, with its code,
its place and the source line.

PATH is a project folder (every .ofl file under the folder holding ofl.json, found
upward) or a single .ofl file (a program by itself, with the standard library).
Without PATH: the project of the working directory.

Options:
  --json      print {"diagnostics":[{"file","code","severity","message","range"}]}
              (ranges are 0-based lines and UTF-16 characters, as in LSP)
  --dump-ir   print the compiled IR (JSON) of each program that has no error
  -h, --help  show this help

Exit codes: 0 no error (warnings allowed), 1 errors, 2 bad usage.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: "boolean" }, "dump-ir": { type: "boolean" } },
    });
    const programs = compilePrograms(positionals, io);
    const all = programs.flatMap((p) => p.diagnostics);
    const { errors, text } = countSummary(all);
    if (values.json) {
      const texts = new Map(programs.flatMap((p) => [...p.texts]));
      const maps = new Map<string, LineMap>();
      const diagnostics = all.map((d) => {
        let map = maps.get(d.file);
        if (!map) maps.set(d.file, (map = new LineMap(texts.get(d.file) ?? "")));
        return { file: displayPath(io, d.file), code: d.code, severity: d.severity, message: d.message, range: map.range(d.span) };
      });
      io.out(JSON.stringify({ diagnostics }) + "\n");
      return errors > 0 ? 1 : 0;
    }
    if (values["dump-ir"]) {
      // stdout is the IR alone (JSON a tool can parse); diagnostics, warnings included, go to stderr
      const toErr = { ...io, out: io.err };
      for (const p of programs) {
        printDiagnostics(toErr, p.diagnostics, p.texts);
        if (p.result.ir) io.out(JSON.stringify(p.result.ir, null, 2) + "\n");
      }
      return errors > 0 ? 1 : 0;
    }
    for (const p of programs) printDiagnostics(io, p.diagnostics, p.texts);
    const files = programs.reduce((n, p) => n + p.loaded.files.length + p.loaded.unreadable.length, 0);
    const names = programs.map((p) => p.loaded.name).join(", ");
    io.out(`${errors > 0 ? "✗" : "✓"} ${names}: ${files} file${files === 1 ? "" : "s"} checked, ${text}\n`);
    return errors > 0 ? 1 : 0;
  },
};
