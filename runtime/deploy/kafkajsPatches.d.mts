import type { Plugin } from "esbuild";
/** a kafkajs module's path; group 1 is its path inside the package */
export const KAFKAJS_MODULE: RegExp;
/** The patch file that replaces the kafkajs module at `path`, or undefined. `root`: the ofl package root. */
export function kafkajsPatchFor(root: string, path: string): string | undefined;
/** The esbuild plugin that loads the patched modules. */
export function kafkajsPatches(root: string): Plugin;
