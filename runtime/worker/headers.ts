// Kafka record headers the workers write and read (UTF-8 text).

/** On every output of the rule worker: the offset of the `ofa_assets` record that caused it. */
export const CAUSE_HEADER = "ofl-cause";

/**
 * On the rule worker's clock records: the offset of the last `ofa_assets` record it processed.
 * Every output of an earlier record (a rejection among them) is on the topic before this clock
 * record, so a connector worker that sees it knows the verdict on an operator command up to
 * that offset: rejected (a result is there), else accepted.
 */
export const PROCESSED_HEADER = "ofl-processed";

/**
 * On every output of the cross stage (runtime/worker/cross.ts): `<partition>:<offset>` of the
 * `ofa_assets` input that caused it. The rule worker's matching reads only `ofl-cause`, so the
 * two never confuse each other's outputs on a partition.
 */
export const CROSS_CAUSE_HEADER = "ofl-cross-cause";
