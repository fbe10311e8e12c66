// The program the Kafka tests run: a simulated tank whose level climbs every 20 ms; the rule
// worker drains it (a `reset` command) when it reaches 20, and the simulated device obeys.
import { compile, type IrProgram } from "../../../compiler/index.js";

/** The tank model of the Kafka tests. */
export const TANK_MODEL = `
model Tank {
  telemetry level: int in 0..1000
  state high = level > 10 for 100ms
  state doubled = level * 2
  alarm full severity high
    when level >= 15
    clear when level < 5
  command reset()
  command hold() requires level > 5000
}
`;

/** The rule that drains a tank at level 20 (once per rise: an edge). */
export const DRAIN_RULE = `
rule drain on Tank {
  when level >= 20
  then reset()
}
`;

export const TANK = `${TANK_MODEL}
asset t1: Tank {
  uuid "TANK-1"
  source simulate(seed: 1) {
    level <- counter(0, 1, every: 20ms)
    reset -> set(level, 0)
    hold  -> set(level, 0)
  }
}
${DRAIN_RULE}`;

export function tankProgram(name = "tank"): IrProgram {
  const r = compile([{ path: "tank.ofl", text: TANK }], { name });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return r.ir;
}

/**
 * The OPC UA cell (test/integration/kafka/opcua.test.ts): a mill on a real OPC UA server at
 * `endpoint` (SignAndEncrypt) and a simulated mill that heats up; the same rule stops either
 * once it is hot (an edge: once).
 */
export function millCell(endpoint: string): string {
  return `
enum Execution { READY, ACTIVE, INTERRUPTED, STOPPED }

model Mill {
  telemetry temperature: float<degC>
  telemetry execution: Execution
  state hot = temperature > 80 degC
  alarm overtemp severity high
    when temperature > 90 degC
    clear when temperature < 85 degC
  command stop()
}

asset mill: Mill {
  uuid "MILL-1"
  source opcua("${endpoint}", security: "SignAndEncrypt", policy: "Basic256Sha256") {
    temperature <- node("ns=1;s=Temperature", sampling: 0ms)
    execution   <- node("ns=1;s=Execution") map { 0: READY, 1: ACTIVE, 2: INTERRUPTED, 3: STOPPED }
    stop        -> method("ns=1;s=Machine", "ns=1;s=Stop")
  }
}

asset sim: Mill {
  uuid "MILL-SIM"
  source simulate(seed: 1) {
    temperature <- counter(75, 1, every: 100ms)
    execution   <- constant(ACTIVE, every: 1s)
    stop        -> set(execution, STOPPED)
  }
}

rule stop_hot on Mill {
  when temperature > 80 degC
  then stop()
}
`;
}

export function millCellProgram(endpoint: string): IrProgram {
  const r = compile([{ path: "cell.ofl", text: millCell(endpoint) }], { name: "cell" });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return r.ir;
}

/**
 * A tank whose simulated source reports only a `pulse` once an hour and answers `reset` (it sets
 * `pulse`): its commands are the test's to write (the connector tests, bench/connector-start).
 * `telemetry` adds lines to the model, `rest` declarations after the asset.
 */
export function pulseTank(uuid: string, telemetry = "", rest = ""): string {
  return `
model Tank {
  telemetry pulse: int${telemetry}
  command reset()
}
asset t: Tank {
  uuid "${uuid}"
  source simulate(seed: 1) {
    pulse <- constant(1, every: 1h)
    reset -> set(pulse, 0)
  }
}
${rest}`;
}
