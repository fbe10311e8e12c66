// The dashboard for a new user (issue 17 item 11), against `ofl run` on the example plant: the
// program name is in the page as served (before any script runs), and the OPC UA source's
// connection is announced once at start-up, and a chart's y labels are whole (read from its canvas);
// a chart leaves a gap where the log has none of a signal's records (the plant was stopped).
// Screenshots: test-results/dashboard/no-script.png, chart-axis.png, chart-gap.png.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildDashboard, CHROMIUM, killAll, ofl, requireChromium, root, runPlant, screenshotsDir, until, type Running } from "./helpers.js";

let browser: Browser;
let plant: Running;

beforeAll(async () => {
  requireChromium();
  buildDashboard();
  // a copy of the example inside the repository (its OPC UA demo server loads node-opcua from the
  // repository's node_modules), with that server on a free port of its own (4841 may be taken)
  mkdirSync(join(root, "test-results"), { recursive: true });
  const dir = mkdtempSync(join(root, "test-results", "cnc-cell-"));
  cpSync(join(root, "examples/cnc-cell"), dir, { recursive: true, filter: (p) => !/[/\\]\.ofl([/\\]|$)/.test(p) });
  const port = await new Promise<number>((done) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => done(p));
    });
  });
  for (const f of ["ofl.json", "plant.ofl"]) writeFileSync(join(dir, f), readFileSync(join(dir, f), "utf8").replaceAll("4841", String(port)));
  plant = await runPlant(dir, join(dir, "data"));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  killAll();
});

describe("the dashboard as served", () => {
  test("the program name is rendered by the server: a page without scripts shows it, never the placeholder", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1000, height: 400 } });
    const page = await context.newPage();
    await page.goto(plant.url + "/");
    expect(await page.textContent("#program")).toBe("cnc-cell");
    expect(await page.title()).toBe("cnc-cell · OFL plant");
    expect(await page.content()).not.toContain("__OFL_PROGRAM__");
    await page.screenshot({ path: join(screenshotsDir(), "no-script.png") });
    await context.close();
  });

  test("the OPC UA source's connection is printed once at start-up", { timeout: 45_000 }, async () => {
    // sentinel: a status line (every 5 s) printed after the connection was announced
    const connectedThenStatus = /mill3 \(opcua\)[^\n]* connected \(security [^\n]*, \d+ monitored items[\s\S]*\n\[\d\d:\d\d:\d\d\] /;
    await until(() => connectedThenStatus.test(plant.output()), 30_000, "the OPC UA connection, then a status line").catch((e: Error) => {
      throw new Error(`${e.message}; ofl run printed:\n${plant.output()}`);
    });
    const lines = plant.output().split("\n").filter((l) => /mill3 \(opcua\).* connected\b/.test(l) && !/not connected/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/mill3 \(opcua\): (opcua )?opc\.tcp:\/\/127\.0\.0\.1:\d+ connected/);
  });

  test("a chart's y axis shows whole labels: 12,000 rpm is not cut at the left edge", { timeout: 45_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(plant.url + "/");
    const card = page.locator('.card[data-asset="mill1"]');
    await card.locator(".chart select").selectOption("spindle_speed");
    // the sentinel: the chart of that signal has points (its label says how many)
    await page.waitForFunction(
      () => {
        const m = /spindle_speed, (\d+) points/.exec(document.querySelector('.card[data-asset="mill1"] .chart .uplot')?.getAttribute("aria-label") ?? "");
        return m !== null && Number(m[1]) >= 3;
      },
      null,
      { timeout: 30_000 },
    );
    // the y labels are drawn on the chart's canvas, left of the plot: a label wider than its axis
    // is cut at the canvas's left edge, leaving ink in the first columns of pixels
    const ink = await page.evaluate(() => {
      const canvas = document.querySelector('.card[data-asset="mill1"] .chart .uplot canvas') as HTMLCanvasElement;
      const ctx = canvas.getContext("2d")!;
      const { width, height } = canvas;
      const data = ctx.getImageData(0, 0, Math.min(width, 200), height).data;
      const w = Math.min(width, 200);
      const column = (x: number): number => {
        let n = 0;
        for (let y = 0; y < height; y++) if (data[(y * w + x) * 4 + 3]! > 0) n++;
        return n;
      };
      let first = -1;
      for (let x = 0; x < w && first < 0; x++) if (column(x) > 0) first = x;
      return { first, edge: column(0) + column(1), dpr: devicePixelRatio };
    });
    await card.screenshot({ path: join(screenshotsDir(), "chart-axis.png") });
    await page.close();
    // labels are there (ink left of the plot), and none touches the left edge
    expect(ink.first).toBeGreaterThanOrEqual(0);
    expect(ink.edge).toBe(0);
  });
});

describe("a stopped period on a chart", () => {
  test("no line is drawn across a time without records: the chart has a gap there", { timeout: 60_000 }, async () => {
    // a log with a tank's level every second for 20 s, nothing for 40 s (the plant was stopped),
    // then 20 s more; served by `ofl run` without a clock, so stream time (the end of the charts'
    // five minutes) is the last record's and the page's chart starts with exactly that history
    const dir = mkdtempSync(join(root, "test-results", "gap-"));
    writeFileSync(join(dir, "plant.ofl"), 'model Tank {\n  telemetry level: float<mm>\n}\n\nasset t1: Tank {\n  uuid "T-1"\n}\n');
    const t0 = Date.parse("2026-11-20T08:00:00Z");
    const lines = [JSON.stringify({ ofl_session: 1, program: "plant", recorded: "2026-11-20T09:00:00Z" })];
    let offset = 0;
    for (const s of [...Array.from({ length: 21 }, (_, i) => i), ...Array.from({ length: 21 }, (_, i) => 60 + i)]) {
      const ts = t0 + s * 1000;
      const value = { ID: "level", VALUE: String(100 + 50 * Math.sin(s / 3)), TAG: "mm", TYPE: "Samples", attributes: { timestamp: new Date(ts).toISOString() } };
      lines.push(JSON.stringify({ topic: "ofa_assets", partition: 0, offset: offset++, ts, key: "T-1", value }));
    }
    writeFileSync(join(dir, "gap.jsonl"), lines.join("\n") + "\n");
    const imported = spawnSync(process.execPath, [ofl, "import", dir, "--data", join(dir, "data"), join(dir, "gap.jsonl")], { encoding: "utf8" });
    expect(imported.status, imported.stderr).toBe(0);
    const gapPlant = await runPlant(dir, join(dir, "data"), { extra: ["--clock", "0s"] });
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    try {
      await page.goto(gapPlant.url + "/");
      // the sentinel: the chart holds all 42 points of the log
      await page.waitForFunction(() => /level, 42 points/.test(document.querySelector('.card[data-asset="t1"] .chart .uplot')?.getAttribute("aria-label") ?? ""), null, {
        timeout: 30_000,
      });
      // the line's columns of pixels (its blue, #0b5cad, antialiased): between the first and the
      // last, the widest run without it is the gap, 40 s of the 80 s shown
      const line = await page.evaluate(() => {
        const canvas = document.querySelector('.card[data-asset="t1"] .chart .uplot canvas') as HTMLCanvasElement;
        const { width, height } = canvas;
        const data = canvas.getContext("2d")!.getImageData(0, 0, width, height).data;
        const inked: boolean[] = [];
        for (let x = 0; x < width; x++) {
          let blue = false;
          for (let y = 0; y < height && !blue; y++) {
            const i = (y * width + x) * 4;
            blue = data[i + 3]! > 60 && data[i + 2]! > data[i]! + 60 && data[i + 2]! > data[i + 1]! + 30;
          }
          inked.push(blue);
        }
        const first = inked.indexOf(true);
        const last = inked.lastIndexOf(true);
        let widest = 0;
        let run = 0;
        for (let x = first; x <= last; x++) {
          run = inked[x] ? 0 : run + 1;
          widest = Math.max(widest, run);
        }
        return { first, last, widest };
      });
      await page.locator('.card[data-asset="t1"]').screenshot({ path: join(screenshotsDir(), "chart-gap.png") });
      expect(line.first).toBeGreaterThanOrEqual(0);
      const span = line.last - line.first;
      // 40 of 80 seconds: half the drawn width (a few pixels less for the line's width)
      expect(line.widest).toBeGreaterThan(span * 0.4);
      expect(line.widest).toBeLessThan(span * 0.55);
    } finally {
      await page.close();
      await gapPlant.stop();
    }
  });
});
