import type { CodeEntry } from "../types.js";

/** OFL2xxx: names, scopes and declarations. */
export const nameCodes: CodeEntry[] = [];
