import type { NewRecord } from "../../../runtime/wire/types.js";
export function inputRecords(): Generator<NewRecord, never, undefined>;
