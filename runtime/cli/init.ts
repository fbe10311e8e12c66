// `ofl init [DIR]`: a new project that `ofl test` passes at once.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { compile } from "../../compiler/index.js";
import { EmbeddedRuntime } from "../embedded/runtime.js";
import { MemoryLog } from "../log/memory.js";
import { sessionLine } from "../replay/session.js";
import { ASSETS_TOPIC, clockValue, telemetryValue } from "../wire/records.js";
import { displayPath, UsageError, type Command } from "./common.js";

const PLANT = `/// Execution states of a machine (MTConnect's Execution, abridged).
enum Execution { READY, ACTIVE, STOPPED }

/// A machine with a temperature sensor.
model Machine {
  telemetry temperature: float<degC> in -20..200
  telemetry execution: Execution

  /// Hot for ten seconds in a row.
  state overheating = temperature > 90 degC for 10s
  state temp_avg: float<degC> = avg(temperature) over tumbling 1m

  alarm overtemp severity high
    when temperature > 95 degC
    clear when temperature < 85 degC

  command stop()
}

/// A simulated machine: swap the source for opcua(...) or mqtt(...) to reach a real one.
asset machine1: Machine {
  uuid "MACHINE-1"
  source simulate(seed: 1) {
    temperature <- random_walk(80, 1.5, 40, 110, every: 1s)
    execution   <- sequence(READY: 10s, ACTIVE: 50s)
    stop        -> set(execution, STOPPED)
  }
}

/// A machine that stays hot is stopped.
rule stop_hot on Machine {
  when overheating
  then stop()
}
`;

const TESTS = `test "a machine that stays hot is stopped" {
  at 0s  machine1.execution = ACTIVE, machine1.temperature = 80 degC
  at 5s  machine1.temperature = 92 degC
  at 20s machine1.temperature = 70 degC
  expect not machine1.overheating at 14s
  expect machine1.overheating at 15s
  expect machine1.stop() at 15s
  expect count(machine1.stop()) == 1
}

test "the recorded session decides the same" {
  replay "sessions/first-shift.jsonl"
  expect commands match recorded
  expect machine1.stop() at @2026-01-05T08:00:30Z
}
`;

const README = (name: string): string => `# ${name}

An OFL project made by \`ofl init\`.

- \`plant.ofl\`: a model, a simulated asset and a rule.
- \`plant.test.ofl\`: tests, one of them replaying \`sessions/first-shift.jsonl\`.

\`\`\`sh
ofl check                                    # every diagnostic
ofl test                                     # the tests
ofl run                                      # the live plant (Ctrl-C stops it)
ofl send 'machine1.stop()'                   # while it runs
ofl record --since 1h > sessions/shift.jsonl              
ofl test --replay sessions/shift.jsonl       # new logic against recorded history
\`\`\`
`;

export const initCommand: Command = {
  name: "init",
  summary: "create a new project that `ofl test` passes at once",
  help: `Usage: ofl init [DIR]

Creates an OFL project in DIR (default: the working directory, which must not hold an
ofl.json yet): ofl.json, plant.ofl (a model, one simulated asset, one rule), plant.test.ofl
(a test, and a replay of a recorded session), sessions/first-shift.jsonl, a README.md and a
.gitignore. A file that is already there is kept, never overwritten (the command says which);
an existing .gitignore gets the line \`.ofl/\` added if it lacks it.

Exit codes: 0 created, 2 DIR already holds a project or cannot be written.`,
  async run(args, io) {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
    const dir = resolve(io.cwd, positionals[0] ?? ".");
    if (existsSync(join(dir, "ofl.json"))) throw new UsageError(`${displayPath(io, dir)} already holds a project (ofl.json)`);
    if (existsSync(dir) && readdirSync(dir).some((f) => f.endsWith(".ofl"))) throw new UsageError(`${displayPath(io, dir)} already holds .ofl files`);
    const name = basename(dir).replace(/[^A-Za-z0-9_-]/g, "-") || "plant";
    mkdirSync(join(dir, "sessions"), { recursive: true });
    // a user's own file is never overwritten: it is kept (and said so); .gitignore gets the line it needs
    const created: string[] = [];
    const kept: string[] = [];
    const write = (file: string, text: () => string): void => {
      const path = join(dir, file);
      if (existsSync(path)) kept.push(file);
      else {
        writeFileSync(path, text());
        created.push(file);
      }
    };
    write("ofl.json", () => JSON.stringify({ name }, null, 2) + "\n");
    write("plant.ofl", () => PLANT);
    write("plant.test.ofl", () => TESTS);
    write("sessions/first-shift.jsonl", () => firstShift(name));
    write("README.md", () => README(name));
    const gitignore = join(dir, ".gitignore");
    let ignoreNote = "";
    if (!existsSync(gitignore)) {
      writeFileSync(gitignore, ".ofl/\n");
      created.push(".gitignore");
    } else {
      const text = readFileSync(gitignore, "utf8");
      if (!text.split(/\r?\n/).some((l) => /^\/?\.ofl\/?$/.test(l.trim()))) {
        appendFileSync(gitignore, `${text === "" || text.endsWith("\n") ? "" : "\n"}.ofl/\n`);
        ignoreNote = "added `.ofl/` (the local log) to your .gitignore\n";
      } else kept.push(".gitignore");
    }
    const where = dir === io.cwd ? "" : `${displayPath(io, dir)}/ with `;
    io.out(`created ${where}${created.join(", ")} (project name \`${name}\`)\n`);
    if (kept.length > 0) io.out(`kept your ${kept.join(", ")} (already there, not overwritten)\n`);
    io.out(ignoreNote);
    io.out(`next: ${dir === io.cwd ? "" : `cd ${displayPath(io, dir)} && `}ofl test\n`);
    return 0;
  },
};

/**
 * A recorded first shift: inputs of a morning (the machine heats up and stays hot) with the
 * decisions the program takes on them, produced by the engine itself so they agree.
 */
function firstShift(name: string): string {
  const ir = compile([{ path: "/plant.ofl", text: PLANT }], { name }).ir!;
  const log = new MemoryLog();
  const rt = new EmbeddedRuntime({ program: ir, log });
  const t0 = Date.parse("2026-01-05T08:00:00Z");
  const temps = [78, 81, 85, 88, 91, 93, 94, 92, 91, 90.5, 86, 84, 80];
  const inputs = [{ topic: ASSETS_TOPIC, key: "MACHINE-1", ts: t0, value: telemetryValue("execution", "ACTIVE", "execution", "Events", t0) }];
  temps.forEach((v, i) => {
    const t = t0 + i * 5000;
    inputs.push({ topic: ASSETS_TOPIC, key: "MACHINE-1", ts: t, value: telemetryValue("temperature", String(v), "degC", "Samples", t) });
  });
  for (let t = t0 + 1000; t <= t0 + 70_000; t += 1000) inputs.push({ topic: ASSETS_TOPIC, key: `OFL-${name}`, ts: t, value: clockValue(t) });
  inputs.sort((a, b) => a.ts - b.ts);
  rt.ingest(inputs);
  const header = JSON.stringify({ ofl_session: 1, program: name, recorded: "2026-01-05T09:00:00Z" });
  return [header, ...[...log.read({ topic: ASSETS_TOPIC })].map(sessionLine)].join("\n") + "\n";
}
