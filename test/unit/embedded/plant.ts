// A program exercising every stateful construct, and random inputs for it (deterministic for a seed).
import fc from "fast-check";
import { compile } from "../../../compiler/index.js";
import type { IrProgram } from "../../../compiler/ir/types.js";
import { availValue, clockValue, telemetryValue } from "../../../runtime/wire/records.js";
import type { NewRecord } from "../../../runtime/wire/types.js";

export const PLANT = `
enum Execution { READY, ACTIVE, INTERRUPTED }
model Mill {
  attribute hall: string
  telemetry temperature: float<degC> in -50..500
  telemetry execution: Execution
  telemetry parts: int
  state hot = temperature > 90 degC for 5s
  state silent = age(temperature) > 30s
  state avg1m = avg(temperature) over tumbling 1m grace 10s
  state max2m = max(temperature) over hopping 2m every 1m
  state burst = count(temperature) over session gap 20s
  state avg_final = avg(temperature) over tumbling 1m final
  state rose = changed(execution)
  state before = previous(temperature)
  alarm overtemp severity high when temperature > 95 degC clear when temperature < 85 degC
  command stop()
  command feed(pct: float<percent> in 0..150) requires execution != INTERRUPTED
}
asset m1: Mill { uuid "M-1" hall = "north" }
asset m2: Mill { uuid "M-2" hall = "north" }
asset m3: Mill { uuid "M-3" hall = "south" }
view busy = count() from Mill where execution == ACTIVE
view parts_by_hall = sum(parts) from Mill by hall
view hall_avg = avg(temperature) from Mill by hall over tumbling 1m
rule stop_hot on Mill { when hot then stop() }
rule slow on Mill { when avg1m > 80 degC then feed(pct: 50 percent) cooldown 1m }
rule ping on Mill { when silent then stop() repeat every 10s }
rule hall { when hall_avg["north"] > 70 degC then m3.feed(pct: 120 percent) }
`;

export function plantIr(): IrProgram {
  const r = compile([{ path: "/plant.ofl", text: PLANT }], { name: "plant" });
  if (!r.ir) throw new Error(JSON.stringify(r.diagnostics));
  return r.ir;
}

const T0 = Date.parse("2026-11-20T08:00:00Z");
const UUIDS = ["M-1", "M-2", "M-3", "X-9"];

/** One input: telemetry (sometimes bad or unavailable), availability, a clock tick or an operator command. */
const step = fc.record({
  dt: fc.integer({ min: -15_000, max: 20_000 }),
  kind: fc.integer({ min: 0, max: 19 }),
  asset: fc.integer({ min: 0, max: 3 }),
  temp: fc.integer({ min: 50, max: 110 }),
  exec: fc.integer({ min: 0, max: 2 }),
});

export const inputs = fc.array(step, { minLength: 1, maxLength: 150 }).map((steps) => {
  const out: NewRecord[] = [];
  let t = T0;
  let max = T0;
  for (const s of steps) {
    t = Math.max(T0, t + s.dt);
    const key = UUIDS[s.asset]!;
    let value;
    if (s.kind < 9) value = telemetryValue("temperature", String(s.temp + 0.5), "degC", "Samples", t);
    else if (s.kind < 12) value = telemetryValue("execution", ["READY", "ACTIVE", "INTERRUPTED"][s.exec]!, "execution", "Events", t);
    else if (s.kind < 14) value = telemetryValue("parts", String(s.temp), "parts", "Samples", t);
    else if (s.kind === 14) value = telemetryValue("temperature", ["NaN", "abc", "900", "UNAVAILABLE"][s.exec % 4]!, "degC", "Samples", t);
    else if (s.kind === 15) value = availValue(s.exec !== 0, t);
    else {
      max = Math.max(max, t);
      out.push({ topic: "ofa_assets", key: "OFL-plant", ts: max, value: clockValue(max) });
      continue;
    }
    max = Math.max(max, t);
    out.push({ topic: "ofa_assets", key, ts: t, value });
  }
  return out;
});
