// The one wait helper of the integration suites. Tests never "sleep, then check that nothing
// happened": they wait for a sentinel, an observation that must come after anything that would
// have happened (a later record, a later command's answer, a session the server has closed), and
// then assert exactly. `waitFor` polls a probe until it returns a value (anything but
// undefined, null or false), and fails with what it waited for and the caller's context.

export interface WaitOptions {
  /** default 15 s: generous, the machine is shared; a passing wait returns as soon as it can */
  timeoutMs?: number;
  /** default 20 ms */
  intervalMs?: number;
  /** appended to the timeout error: the state that explains the failure (logs, records) */
  detail?: () => string | Promise<string>;
}

export type Probe<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

/** Polls `probe` until it yields a value and returns it; throws `timed out waiting for WHAT` past the timeout. */
export async function waitFor<T>(what: string, probe: Probe<T>, opts: WaitOptions | number = {}): Promise<T> {
  const o = typeof opts === "number" ? { timeoutMs: opts } : opts;
  const timeoutMs = o.timeoutMs ?? 15_000;
  const intervalMs = o.intervalMs ?? 20;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) {
      const detail = o.detail ? `\n${await o.detail()}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
