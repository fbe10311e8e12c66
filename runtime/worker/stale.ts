// The age bound on commands (docs/deploy.md, "Connector workers"): a command decided on an input
// received longer ago than `maxAgeMs` (OFL_COMMAND_MAX_AGE_MS) is never carried to a machine.
// Connector workers answer such a command `failed` instead of dispatching it; the rule worker and
// the cross stage do not route it to an `openfactory(command_topic: …)` topic. The input's time is
// its Kafka time, which a connector stamps with its receive time (the rule worker's header
// `ofl-input-time` on the commands it writes): a device clock that runs behind does not matter.
import { distanceText, durationText } from "../wire/records.js";

/** OFL_COMMAND_MAX_AGE_MS's default: a minute */
export const COMMAND_MAX_AGE_MS = 60_000;
/** stale commands are reported at most this often (a rebuild over history can decide thousands) */
const REPORT_MS = 10_000;

export class StaleCommands {
  /** stale commands seen */
  count = 0;
  private unreported = 0;
  private lastAge = 0;
  private reportedAt = -Infinity;

  /** the bound, ms (0: none) */
  readonly maxAgeMs: number;

  constructor(
    /** the worker's `commandMaxAgeMs` (default COMMAND_MAX_AGE_MS) */
    maxAgeMs: number | undefined,
    private readonly now: () => number,
    /** what happens to a stale one (`not dispatched (each answered failed)`), for the warning */
    private readonly what: string,
    private readonly warn: (m: string) => void,
  ) {
    this.maxAgeMs = maxAgeMs ?? COMMAND_MAX_AGE_MS;
  }

  /** The age (ms) of a command whose input was received at `receivedMs` when it is stale (counted, reported at most every 10 s); undefined when it is not. */
  check(receivedMs: number): number | undefined {
    const t = this.now();
    const age = t - receivedMs;
    if (this.maxAgeMs <= 0 || age <= this.maxAgeMs) return undefined;
    this.count++;
    this.unreported++;
    this.lastAge = age;
    if (t - this.reportedAt >= REPORT_MS) {
      this.warn(`${this.unreported} command(s) ${this.what}: stale (the last decided on an input received ${distanceText(this.lastAge)} earlier; OFL_COMMAND_MAX_AGE_MS is ${durationText(this.maxAgeMs)})`);
      this.unreported = 0;
      this.reportedAt = t;
    }
    return age;
  }

  /** The reason a stale command's result gives. */
  reason(age: number): string {
    return `stale: decided on an input received ${distanceText(age)} before it reached the connector (more than OFL_COMMAND_MAX_AGE_MS: ${durationText(this.maxAgeMs)}); not dispatched`;
  }
}
