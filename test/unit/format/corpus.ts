// The formatter's corpus: conformance files, examples, and the ```ofl blocks of docs/language.md.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export interface CorpusFile {
  path: string;
  text: string;
}

/** One program: its files are compiled together (a project, or a single file). */
export interface CorpusProgram {
  name: string;
  files: CorpusFile[];
  /** the program is expected to have errors: compare diagnostic codes, not IR */
  errors: boolean;
}

function read(path: string): CorpusFile {
  return { path, text: readFileSync(path, "utf8") };
}

function oflFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...oflFilesUnder(p));
    else if (e.endsWith(".ofl")) out.push(p);
  }
  return out;
}

export function conformancePrograms(): CorpusProgram[] {
  const pass = join(repoRoot, "test/conformance/pass");
  const errors = join(repoRoot, "test/conformance/errors");
  return [
    ...readdirSync(pass)
      .filter((f) => f.endsWith(".ofl"))
      .sort()
      .map((f) => ({ name: basename(f, ".ofl"), files: [read(join(pass, f))], errors: false })),
    // the errors files that parse (02 is the syntax-recovery case: never formatted)
    ...["01_names_and_types.ofl", "03_sources_and_windows.ofl"].map((f) => ({ name: basename(f, ".ofl"), files: [read(join(errors, f))], errors: true })),
  ];
}

/** Every examples/<project>/ (all its .ofl files compiled together). */
export function examplePrograms(): CorpusProgram[] {
  const dir = join(repoRoot, "examples");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => statSync(join(dir, d)).isDirectory())
    .sort()
    .map((d) => {
      const root = join(dir, d);
      let name = d;
      const cfg = join(root, "ofl.json");
      if (existsSync(cfg)) name = (JSON.parse(readFileSync(cfg, "utf8")) as { name?: string }).name ?? d;
      return { name, files: oflFilesUnder(root).map(read), errors: false };
    })
    .filter((p) => p.files.length > 0);
}

export interface DocBlock {
  line: number;
  text: string;
  expectCode?: string;
}

/** The ```ofl blocks of docs/language.md (same reading as test/docs/docs.test.ts). */
export function docBlocks(): DocBlock[] {
  const path = join(repoRoot, "docs/language.md");
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, "utf8").split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})([\w-]*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    let j = i + 1;
    while (j < lines.length && !(lines[j]!.startsWith(fence) && /^`+\s*$/.test(lines[j]!))) j++;
    if (open[2] === "ofl") {
      let k = i - 1;
      while (k >= 0 && lines[k]!.trim() === "") k--;
      const marker = k >= 0 ? /^<!--\s*error\s+(OFL\d{4})\s*-->\s*$/.exec(lines[k]!.trim()) : null;
      const b: DocBlock = { line: i + 1, text: lines.slice(i + 1, j).join("\n") + "\n" };
      if (marker) b.expectCode = marker[1]!;
      blocks.push(b);
    }
    i = j;
  }
  return blocks;
}

export function docBlockPath(b: DocBlock): string {
  return join(repoRoot, "docs", `language-line${b.line}.ofl`);
}
