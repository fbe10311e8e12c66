// Generates a realistic OFL project for benchmarks: `models` models and `assets` assets
// (about 15 lines per model and 12 per asset), which checks without errors.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function plantSource({ models = 200, assets = 2000 } = {}) {
  const out = ["enum Execution { READY, ACTIVE, STOPPED }", ""];
  for (let i = 0; i < models; i++) {
    out.push(
      `/// Model number ${i}.`,
      `model M${i} {`,
      `  attribute hall: string = "north"`,
      `  telemetry temperature: float<degC> in -50..500`,
      `  telemetry speed: float<rpm> in 0..24000`,
      `  telemetry flow: float<l/min>`,
      `  telemetry execution: Execution`,
      `  state hot = temperature > 90 degC for 5s`,
      `  state avg1m = avg(temperature) over tumbling 1m`,
      `  state util = ratio(execution == ACTIVE) over hopping 10m every 1m`,
      `  state silent = age(temperature) > 30s`,
      `  state fast = speed > 12000 rpm and flow > 2 l/min`,
      `  alarm overtemp severity high`,
      `    when temperature > 95 degC`,
      `    clear when temperature < 85 degC`,
      `  command stop()`,
      `  command set_feed(override: float<percent> in 0..150)`,
      `    requires execution != STOPPED and override <= 120 percent`,
      `}`,
      ``,
      `rule stop_hot_${i} on M${i} {`,
      `  when hot and avg1m > 80 degC`,
      `  then stop()`,
      `  cooldown 1m`,
      `}`,
      ``,
    );
  }
  for (let i = 0; i < assets; i++) {
    out.push(
      `asset a${i}: M${i % models} {`,
      `  uuid "A-${i}"`,
      `  hall = "${i % 2 ? "south" : "north"}"`,
      `  source opcua("opc.tcp://127.0.0.1:4840", security: "Sign") {`,
      `    temperature <- node("ns=1;s=T${i}", sampling: 100ms)`,
      `    execution <- node("ns=1;s=E${i}") map { 0: READY, 1: ACTIVE, 2: STOPPED }`,
      `    speed <- node("ns=1;s=S${i}", deadband: 0.5)`,
      `    flow <- node("ns=1;s=F${i}")`,
      `    stop -> method("ns=1;s=M", "ns=1;s=Stop")`,
      `    set_feed -> write("ns=1;s=Feed${i}")`,
      `  }`,
      `}`,
      ``,
    );
  }
  out.push(`test "big" {`, `  at 0s a0.temperature = 85 degC, a1.temperature = 90 degC`, `  expect not a0.hot at 1s`, `}`, ``);
  return out.join("\n");
}

/** Writes the plant as a project folder (ofl.json + plant.ofl); returns the line count. */
export function writePlant(dir, opts) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: "bench" }) + "\n");
  const text = plantSource(opts);
  writeFileSync(join(dir, "plant.ofl"), text);
  return text.split("\n").length;
}
