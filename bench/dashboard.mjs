// Benchmark of the dashboard (issue #7): a generated plant of N simulated assets (default 1,000),
// each reporting one telemetry every 100 ms (10 updates per asset per second), run by `ofl run`;
// the page in headless Chromium (playwright-core, /usr/bin/chromium or OFL_CHROMIUM).
// Prints: time to first render, page memory (JS heap, DOM nodes), the feed's lag (event time →
// applied in the page), records missed by the feed, frame times while the feed runs, and the
// cost of time travel over the log.
//   npm run build && node bench/dashboard.mjs [assets] [seconds]
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(fileURLToPath(import.meta.url), "../..");
const N = Number(process.argv[2] ?? 1000);
const SECONDS = Number(process.argv[3] ?? 20);
const CHROMIUM = process.env.OFL_CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (.ci/run installs it; or set OFL_CHROMIUM)`);
if (!existsSync(join(root, "dist/ofl.mjs"))) execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { stdio: "inherit" });
execFileSync(process.execPath, [join(root, "runtime/dashboard/build.mjs")], { stdio: "inherit", env: process.env });

// ---------------------------------------------------------------- the plant
const dir = mkdtempSync(join(tmpdir(), "ofl-bench-dash-"));
let src = `enum Mode { RUN, IDLE }
model Sensor {
  attribute line: string
  telemetry temperature: float<degC> in -50..250
  telemetry mode: Mode
  state hot = temperature > 80 degC for 2s
  alarm overtemp severity high when temperature > 85 degC clear when temperature < 75 degC
  command reset()
  command set_target(t: float<degC> in 0..120)
}
view hot_sensors = count() from Sensor where hot
view line_temp = avg(temperature) from Sensor by line
`;
for (let i = 0; i < N; i++) {
  src += `asset s${i}: Sensor {
  uuid "S-${i}"
  line = "line${i % 10}"
  source simulate(seed: ${i + 1}) {
    temperature <- random_walk(70, 1, 40, 100, every: 100ms)
    mode <- sequence(RUN: 50s, IDLE: 10s)
    reset -> set(mode, IDLE)
    set_target -> set(temperature, t)
  }
}
`;
}
writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: `bench-${N}` }));
writeFileSync(join(dir, "plant.ofl"), src);

const child = spawn(process.execPath, [join(root, "bin/ofl.mjs"), "run", dir, "--port", "0", "--data", join(dir, "data")], { stdio: ["ignore", "pipe", "pipe"] });
let out = "";
child.stdout.on("data", (d) => (out += d));
child.stderr.on("data", (d) => (out += d));
const until = async (cond, ms, what) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
await until(() => /dashboard: (\S+)/.test(out), 60_000, "ofl run");
const url = /dashboard: (\S+)/.exec(out)[1];
const api = url.replace(/\/$/, "");
const health = async () => (await fetch(`${api}/api/health`)).json();
// warm up: every simulated source running, the log growing
await new Promise((r) => setTimeout(r, 3000));
const h0 = await health();
const t0 = Date.now();

// ---------------------------------------------------------------- the page
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--enable-precise-memory-info"] });
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
const cdp = await page.context().newCDPSession(page);
await cdp.send("Performance.enable");
await page.addInitScript(() => {
  const frames = [];
  const longTasks = [];
  window.__bench = { frames, longTasks };
  let last = 0;
  const loop = (t) => {
    if (last) frames.push(t - last);
    last = t;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  try {
    new PerformanceObserver((l) => l.getEntries().forEach((e) => longTasks.push(e.duration))).observe({ type: "longtask", buffered: true });
  } catch {}
});
const navStart = Date.now();
await page.goto(url);
await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
const wallFirst = Date.now() - navStart;
const first = await page.evaluate(() => ({
  firstRender: window.__ofl.firstRender,
  fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
  cards: document.querySelectorAll(".card").length,
  resources: performance.getEntriesByType("resource").concat(performance.getEntriesByType("navigation")).map((e) => `${e.name.replace(location.origin, "").split("?")[0] || "/"} ${Math.round(e.requestStart)}→${Math.round(e.responseStart)}→${Math.round(e.responseEnd)} ms`),
}));
console.log("  requests (sent → first byte → done, from navigation):\n    " + first.resources.join("\n    "));

// sustained: reset counters after the first render, then let the feed run
await page.evaluate(() => {
  window.__bench.frames.length = 0;
  window.__bench.longTasks.length = 0;
  window.__ofl.lagMs.length = 0;
  window.__ofl.events = 0;
  window.__ofl.messages = 0;
});
const tRun = Date.now();
const hA = await health();
if (process.env.BENCH_PROFILE === "1") {
  // where the page's main thread goes (build with OFL_DASHBOARD_DEV=1 for readable names)
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.start");
  await page.waitForTimeout(SECONDS * 1000);
  const { profile } = await cdp.send("Profiler.stop");
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const k = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").pop().split("?")[0]}:${n.callFrame.lineNumber}`;
    self.set(k, (self.get(k) ?? 0) + profile.timeDeltas[i]);
  });
  console.log("  page profile (self time):");
  for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`    ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`);
} else await page.waitForTimeout(SECONDS * 1000);
// and some scrolling through the virtualised list while the feed runs
await page.evaluate(async () => {
  const box = document.getElementById("assets");
  for (let i = 0; i < 30; i++) {
    box.scrollTop = (box.scrollHeight * i) / 30;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  }
  box.scrollTop = 0;
});
const hB = await health();
const runS = (Date.now() - tRun) / 1000;
const m = await page.evaluate(() => {
  const q = (a, p) => {
    const s = [...a].sort((x, y) => x - y);
    return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : null;
  };
  const f = window.__bench.frames;
  return {
    events: window.__ofl.events,
    messages: window.__ofl.messages,
    gaps: window.__ofl.gaps,
    resyncs: window.__ofl.resyncs,
    lagP50: q(window.__ofl.lagMs, 0.5),
    lagP95: q(window.__ofl.lagMs, 0.95),
    lagP99: q(window.__ofl.lagMs, 0.99),
    lagMax: Math.max(...window.__ofl.lagMs),
    frames: f.length,
    frameP50: q(f, 0.5),
    frameP99: q(f, 0.99),
    framesOver50ms: f.filter((x) => x > 50).length,
    longTasks: window.__bench.longTasks.length,
    longTaskMax: window.__bench.longTasks.length ? Math.max(...window.__bench.longTasks) : 0,
    heap: performance.memory ? performance.memory.usedJSHeapSize : null,
    nodes: document.getElementsByTagName("*").length,
    cards: document.querySelectorAll(".card").length,
  };
});
const metrics = Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((x) => [x.name, x.value]));

// time travel over the log: the engine's replay up to the middle of the run
const mid = new Date(Math.round((t0 + Date.now()) / 2)).toISOString();
const tt0 = performance.now();
const past = await (await fetch(`${api}/api/state?at=${encodeURIComponent(mid)}`)).json();
const travelMs = performance.now() - tt0;

await browser.close();
child.kill("SIGINT");
await new Promise((r) => child.on("exit", r));

const mb = (b) => (b === null || b === undefined ? "n/a" : `${(b / 1048576).toFixed(1)} MB`);
const result = {
  assets: N,
  plantRecordsPerS: Math.round((hB.records - hA.records) / runS),
  firstRenderMs: Math.round(first.firstRender),
  firstContentfulPaintMs: first.fcp === null ? null : Math.round(first.fcp),
  wallToReadyMs: wallFirst,
  cardsMounted: first.cards,
  feedEventsPerS: Math.round(m.events / runS),
  feedMessagesPerS: Math.round(m.messages / runS),
  feedGaps: m.gaps,
  resyncs: m.resyncs,
  lagMs: { p50: m.lagP50, p95: m.lagP95, p99: m.lagP99, max: m.lagMax },
  frameMs: { p50: m.frameP50 && +m.frameP50.toFixed(1), p99: m.frameP99 && +m.frameP99.toFixed(1) },
  framesOver50ms: m.framesOver50ms,
  frames: m.frames,
  longTasks: m.longTasks,
  longTaskMaxMs: Math.round(m.longTaskMax),
  jsHeapUsed: mb(m.heap ?? metrics.JSHeapUsedSize),
  jsHeapTotal: mb(metrics.JSHeapTotalSize),
  domNodes: m.nodes,
  timeTravelMs: Math.round(travelMs),
  timeTravelRecordsReplayed: past.replayed,
  logRecords: hB.records,
};
console.log(`dashboard bench: ${N} assets × 10 updates/s, ${SECONDS} s sustained (Chromium ${browser.version?.() ?? ""})`);
console.log(`  plant: ${result.plantRecordsPerS} records/s appended (telemetry, derived, alarms, clock)`);
console.log(`  first render: ${result.firstRenderMs} ms from navigation (first contentful paint ${result.firstContentfulPaintMs} ms), ${result.cardsMounted} cards mounted of ${N}`);
console.log(`  page memory: JS heap ${result.jsHeapUsed} used (${result.jsHeapTotal} total), ${result.domNodes} DOM nodes`);
console.log(`  feed: ${result.feedEventsPerS} records/s applied in ${result.feedMessagesPerS} messages/s; missed: ${result.feedGaps}; resyncs: ${result.resyncs}`);
console.log(`  feed lag (event time → applied): p50 ${result.lagMs.p50} ms, p95 ${result.lagMs.p95} ms, p99 ${result.lagMs.p99} ms, max ${result.lagMs.max} ms`);
console.log(`  frames: ${result.frames}, p50 ${result.frameMs.p50} ms, p99 ${result.frameMs.p99} ms, ${result.framesOver50ms} over 50 ms; long tasks ${result.longTasks} (max ${result.longTaskMaxMs} ms)`);
console.log(`  time travel: ${result.timeTravelMs} ms to replay ${result.timeTravelRecordsReplayed} of ${result.logRecords} records`);
mkdirSync(join(root, "bench/out"), { recursive: true });
writeFileSync(join(root, "bench/out/dashboard.json"), JSON.stringify(result, null, 2) + "\n");
