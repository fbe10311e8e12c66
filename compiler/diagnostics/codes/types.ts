import type { CodeEntry } from "../types.js";

/** OFL3xxx: types, units and ranges. */
export const typeCodes: CodeEntry[] = [];
