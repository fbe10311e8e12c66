import type { CodeEntry } from "../types.js";

/** OFL11xx: source files that cannot be read as text (reported before parsing). */
export const fileCodes: CodeEntry[] = [
  {
    code: "OFL1100",
    severity: "error",
    title: "unreadable source file",
    template: "{detail}",
    explanation: "OFL source files are UTF-8 text. A file that cannot be read, or is not valid UTF-8, is reported and left out of the program.",
  },
  {
    code: "OFL1012",
    severity: "error",
    title: "too many diagnostics",
    template: "{count} more diagnostics in this file are not shown (at most {max} per file)",
    explanation: "A file that is not OFL at all (a binary, a log pasted by mistake) would produce a diagnostic for nearly every character; past the limit they are counted, not listed. The count is an error when an error was left out, and a warning when only warnings were: the cap never changes whether a program checks.",
  },
];
