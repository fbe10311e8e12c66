// Generates a large OFL program for the performance test (200 models, 2,000 assets, ~30,000 lines).
export function generateLargeProgram(models = 200, assets = 2000): string {
  const out: string[] = ["enum Execution { READY, ACTIVE, STOPPED }", ""];
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
      `  alarm overtemp severity high`,
      `    when temperature > 95 degC`,
      `    clear when temperature < 85 degC`,
      `  command stop()`,
      `  command set_feed(override: float<percent> in 0..150)`,
      `    requires execution != STOPPED and override <= 120 percent`,
      `}`,
      ``,
      `rule stop_hot_${i} on M${i} {`,
      `  when hot and temperature > 9.81 m/s^2 * 2`,
      `  then stop()`,
      `  cooldown 1m`,
      `}`,
      ``,
    );
  }
  for (let i = 0; i < assets; i++) {
    const m = i % models;
    out.push(
      `asset a${i}: M${m} {`,
      `  uuid "A-${i}"`,
      `  hall = "south"`,
      `  source opcua("opc.tcp://127.0.0.1:4840", security: "Sign") {`,
      `    temperature <- node("ns=1;s=T${i}", sampling: 100ms)`,
      `    execution <- node("ns=1;s=E${i}") map { 0: READY, 1: ACTIVE, 2: STOPPED }`,
      `    speed <- node("ns=1;s=S${i}", deadband: 0.5)`,
      `    flow <- node("ns=1;s=F${i}")`,
      `    stop -> method("ns=1;s=M", "ns=1;s=Stop")`,
      `  }`,
      `}`,
      ``,
    );
  }
  out.push(`test "big" {`, `  at 0s a0.temperature = 85 degC, a1.temperature = 90 degC`, `  expect a0.stop() at 15s`, `}`);
  return out.join("\n");
}
