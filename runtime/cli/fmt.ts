// `ofl fmt [PATH...] [--check]`
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatOfl, LineMap, parse } from "../../compiler/index.js";
import { loadPrograms } from "../project/load.js";
import { argErrorText, displayPath, UsageError, type Command } from "./common.js";

export const fmtCommand: Command = {
  name: "fmt",
  summary: "format .ofl files in place (or check that they are formatted)",
  help: `Usage: ofl fmt [PATH...] [--check]

Rewrites OFL source files in the one canonical layout (two-space indent, one member
per line, blank lines between declarations kept as at most one). Comments are kept.
A file with a syntax error is reported and left untouched.

PATH is a project folder (every .ofl file under the folder holding ofl.json, found
upward) or a single .ofl file. Without PATH: the project of the working directory.

Options:
  --check     write nothing; list the files that are not formatted
  -h, --help  show this help

Exit codes: 0 every file formatted (with --check: already formatted), 1 a file has a
syntax error or (with --check) is not formatted, 2 bad usage.`,
  async run(args, io) {
    let parsed;
    try {
      parsed = parseArgs({ args, allowPositionals: true, options: { check: { type: "boolean" } } });
    } catch (e) {
      throw new UsageError(argErrorText(fmtCommand.help, e as Error));
    }
    const { values, positionals } = parsed;
    const check = !!values.check;
    const seen = new Set<string>();
    const files: string[] = [];
    let problems = 0;
    for (const program of loadPrograms(positionals, io.cwd)) {
      for (const u of program.unreadable) {
        if (seen.has(u.path)) continue;
        seen.add(u.path);
        io.err(`${displayPath(io, u.path)}: ${u.message}\n`);
        problems++;
      }
      for (const f of program.files) {
        if (seen.has(f.path)) continue;
        seen.add(f.path);
        files.push(f.path);
      }
    }
    let changed = 0;
    for (const path of files) {
      const shown = displayPath(io, path);
      const raw = readFileSync(path, "utf8");
      const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      const { diagnostics } = parse(text, path);
      const first = diagnostics.find((d) => d.severity === "error");
      if (first) {
        const at = new LineMap(text).position(first.span.start);
        io.err(`${shown}:${at.line + 1}:${at.character + 1}: ${first.code} ${first.message} (not formatted)\n`);
        problems++;
        continue;
      }
      const formatted = await formatOfl(text, { filepath: path });
      if (formatted === raw) continue;
      changed++;
      if (check) {
        io.out(`${shown}\n`);
      } else {
        writeFileSync(path, formatted);
        io.out(`formatted ${shown}\n`);
      }
    }
    const plural = (n: number): string => `${n} file${n === 1 ? "" : "s"}`;
    if (check) {
      if (changed > 0) io.out(`✗ ${plural(changed)} of ${files.length} not formatted; run \`ofl fmt\`\n`);
      else if (problems === 0) io.out(`✓ ${plural(files.length)} formatted\n`);
      return changed > 0 || problems > 0 ? 1 : 0;
    }
    io.out(`${problems > 0 ? "✗" : "✓"} ${plural(files.length)} checked, ${changed} reformatted${problems > 0 ? `, ${problems} with errors` : ""}\n`);
    return problems > 0 ? 1 : 0;
  },
};
