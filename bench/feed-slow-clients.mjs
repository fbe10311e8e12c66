// Benchmark (issue 11 #11): live-feed clients that never read. `ofl run` (the built command)
// runs a simulated plant of 200 assets (one reading each every 100 ms: 2,000 records/s, plus the
// clock); then 500 clients open the live feed (`GET /api/events`) on raw sockets and never read
// a byte. Measured from outside while they hang on: the plant's HTTP answer time (`/api/health`
// every 50 ms: the event loop's responsiveness), a reading client's message rate, the server's
// own counters (clients, refused, dropped) and the process's resident memory.
//
//   node bench/feed-slow-clients.mjs [clients=500] [--seconds 40]
//
// Needs dist/ (npm run build).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../scripts/bundle-modules.mjs";
import { startOflRun } from "./plant.mjs";

const args = process.argv.slice(2);
const CLIENTS = Number(args.find((a) => /^\d+$/.test(a)) ?? 500);
const SECONDS = Number(args[args.indexOf("--seconds") + 1] ?? 0) || 40;
const ASSETS = 200;
const ofl = join(root, "bin/ofl.mjs");
if (!existsSync(join(root, "dist/ofl.mjs"))) {
  console.error("dist/ is not built: run `npm run build` first");
  process.exit(2);
}

const tmp = mkdtempSync(join(tmpdir(), "ofl-bench-feed-"));
const dir = join(tmp, "plant");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "ofl.json"), JSON.stringify({ name: "feed" }));
let src = `model Probe {\n  telemetry temperature: float<degC>\n  alarm hot severity low when temperature > 59 degC\n}\n`;
for (let i = 0; i < ASSETS; i++)
  src += `asset p${i}: Probe {\n  uuid "PROBE-${i}"\n  source simulate(seed: ${i}) {\n    temperature <- sine(50, 10, ${10 + (i % 20)}s, every: 100ms)\n  }\n}\n`;
writeFileSync(join(dir, "plant.ofl"), src);

const plant = startOflRun(ofl, [dir, "--data", join(dir, "data"), "--port", "0", "--clock", "100ms"]);
const child = plant.child;
process.on("exit", () => child.exitCode === null && child.kill("SIGKILL")); // never left behind
const url = await plant.url;
const port = Number(new URL(url).port);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

/** /api/health every 50 ms for `ms`: answer times, and the server's feed counters at the end. */
async function probe(ms) {
  const times = [];
  let health;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const s = performance.now();
    health = await (await fetch(`${url}/api/health`)).json();
    times.push(performance.now() - s);
    await new Promise((r) => setTimeout(r, 50));
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)];
  return { p50: q(0.5), p99: q(0.99), max: times.at(-1), n: times.length, feed: health.feed };
}
const fmt = (r) => `answer p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms (${r.n} requests)`;

/** A client that reads: counts `records` messages. */
function reader() {
  const state = { messages: 0, closed: false };
  const sock = connect(port, "127.0.0.1", () => sock.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
  sock.setEncoding("utf8");
  sock.on("data", (d) => (state.messages += (d.match(/^event: records$/gm) ?? []).length));
  sock.on("close", () => (state.closed = true));
  sock.on("error", () => {});
  state.sock = sock;
  return state;
}

await new Promise((r) => setTimeout(r, 2000)); // the plant settles
const base = await probe(5000);
console.log(`plant: ${ASSETS} simulated assets, ~${ASSETS * 10} readings/s; ofl run RSS ${rss().toFixed(0)} MB`);
console.log(`no feed clients:           ${fmt(base)}`);

// a reading client first (it must keep its place), then the silent clients: connect, ask for
// the feed, never read (the socket is paused at once)
const live = reader();
await new Promise((r) => setTimeout(r, 300));
const m0 = live.messages;
await new Promise((r) => setTimeout(r, 3000));
console.log(`a reading client alone:    ${((live.messages - m0) / 3).toFixed(1)} messages/s`);
const silent = [];
for (let i = 0; i < CLIENTS; i++) {
  const sock = connect(port, "127.0.0.1");
  sock.pause();
  sock.on("error", () => {});
  sock.on("connect", () => sock.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
  silent.push(sock);
}
await new Promise((r) => setTimeout(r, 500));
const before = live.messages;
const loaded = await probe(SECONDS * 1000);
const rate = (live.messages - before) / (SECONDS + 0.5);

console.log(`${CLIENTS} silent feed clients:  ${fmt(loaded)}`);
console.log(`  a reading client: ${rate.toFixed(1)} messages/s${live.closed ? " (it was dropped!)" : ""}; ofl run RSS ${rss().toFixed(0)} MB`);
console.log(`  server: ${loaded.feed ? `${loaded.feed.clients} clients, ${loaded.feed.refused} refused (503), ${loaded.feed.dropped} dropped as too slow (limits: ${loaded.feed.maxClients} clients, ${Math.round(loaded.feed.maxBufferedBytes / 1024)} kB unsent or ${loaded.feed.maxStalledMs / 1000} s without draining)` : "no feed counters in /api/health"}`);

for (const s of silent) s.destroy();
live.sock.destroy();
child.kill("SIGINT");
await new Promise((r) => child.once("exit", r));
rmSync(tmp, { recursive: true, force: true });
if (loaded.p99 > 100 || rate < 5) process.exitCode = 1;
