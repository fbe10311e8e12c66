// Finds and reads the files of a program (language spec §1): a project is every `.ofl` file
// under the folder holding `ofl.json` (found upward from a folder); a single file is a program
// by itself. Errors are user errors (`ProgramError`), never stack traces.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { InputFile } from "../../compiler/index.js";

export class ProgramError extends Error {}

export interface LoadedProgram {
  name: string;
  /** the project folder (holding ofl.json), or the single file's folder */
  root: string;
  /** whether `root` holds an ofl.json */
  isProject: boolean;
  files: InputFile[];
  /** files that could not be decoded: reported as diagnostics by the caller */
  unreadable: { path: string; message: string }[];
  config: ProjectConfig;
  /**
   * ofl.json `future_tolerance` in ms (language spec §7.6): how far a telemetry record's event
   * time may be ahead of its receive time; undefined: the default (5 min).
   */
  futureToleranceMs?: number;
}

export interface ProjectConfig {
  name?: string;
  [key: string]: unknown;
}

const SKIP_DIRS = new Set(["node_modules", "build", "dist"]);

/** Resolves the programs named by command-line paths (none = the working directory). */
export function loadPrograms(paths: string[], cwd = process.cwd()): LoadedProgram[] {
  const targets = paths.length > 0 ? paths : [cwd];
  return targets.map((p) => loadProgram(resolve(cwd, p)));
}

export function loadProgram(path: string): LoadedProgram {
  if (!existsSync(path)) throw new ProgramError(`no such file or folder: ${path}`);
  const st = statSync(path);
  if (st.isFile()) {
    if (!path.endsWith(".ofl")) throw new ProgramError(`${path} is not an .ofl file`);
    const { text, error } = readText(path);
    return {
      name: basename(path, ".ofl"),
      root: dirname(path),
      isProject: false,
      files: error ? [] : [{ path, text: text! }],
      unreadable: error ? [{ path, message: error }] : [],
      config: {},
    };
  }
  const projectRoot = findProjectRoot(path);
  const root = projectRoot ?? path;
  const config = projectRoot ? readConfig(join(projectRoot, "ofl.json")) : {};
  const paths = listOflFiles(root);
  if (paths.length === 0) throw new ProgramError(`no .ofl files in ${root}${projectRoot ? "" : " (and no ofl.json above it)"}`);
  const files: InputFile[] = [];
  const unreadable: { path: string; message: string }[] = [];
  for (const p of paths) {
    const { text, error } = readText(p);
    if (error) unreadable.push({ path: p, message: error });
    else files.push({ path: p, text: text! });
  }
  const futureToleranceMs = projectRoot ? readFutureTolerance(config, join(projectRoot, "ofl.json")) : undefined;
  return { name: config.name ?? basename(root), root, isProject: !!projectRoot, files, unreadable, config, futureToleranceMs };
}

/** The nearest folder at or above `from` holding an ofl.json. */
export function findProjectRoot(from: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "ofl.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readConfig(path: string): ProjectConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ProgramError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ProgramError(`${path}: expected a JSON object like {"name": "plant"}`);
  const cfg = raw as ProjectConfig;
  if (cfg.name !== undefined && (typeof cfg.name !== "string" || !/^[A-Za-z0-9_-]+$/.test(cfg.name)))
    throw new ProgramError(`${path}: "name" must be a string of letters, digits, "_" and "-"`);
  return cfg;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** ofl.json `future_tolerance`: a duration text (`30s`, `5m`, `2h`), in whole ms. */
function readFutureTolerance(cfg: ProjectConfig, path: string): number | undefined {
  const raw = cfg["future_tolerance"];
  if (raw === undefined) return undefined;
  const d = typeof raw === "string" ? DURATION.exec(raw.trim()) : null;
  const ms = d ? Number(d[1]) * UNIT_MS[d[2]!]! : NaN;
  if (!Number.isFinite(ms) || !Number.isInteger(ms)) {
    throw new ProgramError(
      `${path}: "future_tolerance" must be a duration text in whole milliseconds, like "30s", "5m" or "2h" (got ${JSON.stringify(raw)})`,
    );
  }
  return ms;
}

/** Every .ofl file under a folder, sorted, skipping hidden folders, node_modules and build output. */
export function listOflFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith(".")) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(p);
      } else if (e.isFile() && e.name.endsWith(".ofl")) out.push(p);
    }
  };
  walk(root);
  return out;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function readText(path: string): { text?: string; error?: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    return { error: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  try {
    let text = decoder.decode(bytes);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { text };
  } catch {
    const lenient = new TextDecoder("utf-8").decode(bytes);
    const bad = lenient.indexOf("\uFFFD");
    const line = bad < 0 ? 1 : lenient.slice(0, bad).split("\n").length;
    return { error: `the file is not valid UTF-8 (first invalid byte on line ${line})` };
  }
}
