// Deterministic input records for the crash test: the child ingests them, the parent
// regenerates them to check the log. Plain JS so the child needs no TypeScript loader.
const T0 = Date.parse("2026-11-20T08:00:00Z");
const iso = (ms) => new Date(ms).toISOString();

export function* inputRecords() {
  let rnd = 4242;
  const next = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648);
  let t = T0;
  for (let i = 0; ; i++) {
    t += next() % 700;
    const n = next();
    const key = ["M-1", "M-2", "M-3"][n % 3];
    if (i % 25 === 24) {
      yield { topic: "ofa_assets", key: "OFL-plant", ts: t, value: { ID: "clock", VALUE: iso(t), TAG: "Clock", TYPE: "OpenFactory", attributes: { timestamp: iso(t) } } };
    } else if (i % 7 === 3) {
      const v = ["READY", "ACTIVE", "INTERRUPTED"][(n >> 4) % 3];
      yield { topic: "ofa_assets", key, ts: t, value: { ID: "execution", VALUE: v, TAG: "execution", TYPE: "Events", attributes: { timestamp: iso(t) } } };
    } else {
      const v = (60 + ((n >> 3) % 50) + 0.25).toString();
      yield { topic: "ofa_assets", key, ts: t, value: { ID: "temperature", VALUE: v, TAG: "degC", TYPE: "Samples", attributes: { timestamp: iso(t) } } };
    }
  }
}
