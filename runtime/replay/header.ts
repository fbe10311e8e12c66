// The header line of a session file (wire.md: `{"ofl_session": 1, …}`), for both forms.
export interface SessionHeader {
  ofl_session: number;
  program?: string;
  recorded?: string;
  /** a session of one partition of a partitioned `ofa_assets`: which, and of how many (docs/deploy.md, Partitions) */
  partition?: number;
  partitions?: number;
  [k: string]: unknown;
}

/** What a session writer puts in the header line. */
export interface SessionHeaderFields {
  program: string;
  recorded: string;
  partition?: number;
  partitions?: number;
}

/** The header line's object: `ofl_session`, then the fields given. */
export function headerObject(header: SessionHeaderFields): SessionHeader {
  return { ofl_session: 1, program: header.program, recorded: header.recorded, ...(header.partitions !== undefined ? { partition: header.partition, partitions: header.partitions } : {}) };
}
