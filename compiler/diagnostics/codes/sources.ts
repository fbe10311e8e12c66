import type { CodeEntry } from "../types.js";

/** OFL4xxx: sources and bindings. */
export const sourceCodes: CodeEntry[] = [];
