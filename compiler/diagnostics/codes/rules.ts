import type { CodeEntry } from "../types.js";

/** OFL5xxx: rules and tests. */
export const ruleCodes: CodeEntry[] = [];
