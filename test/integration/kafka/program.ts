// The program the Kafka tests run: a simulated tank whose level climbs every 20 ms; the rule
// worker drains it (a `reset` command) when it reaches 20, and the simulated device obeys.
import { compile, type IrProgram } from "../../../compiler/index.js";

export const TANK = `
model Tank {
  telemetry level: int in 0..1000
  state high = level > 10 for 100ms
  state doubled = level * 2
  alarm full severity high
    when level >= 15
    clear when level < 5
  command reset()
}

asset t1: Tank {
  uuid "TANK-1"
  source simulate(seed: 1) {
    level <- counter(0, 1, every: 20ms)
    reset -> set(level, 0)
  }
}

rule drain on Tank {
  when level >= 20
  then reset()
}
`;

export function tankProgram(name = "tank"): IrProgram {
  const r = compile([{ path: "tank.ofl", text: TANK }], { name });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return r.ir;
}
