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
