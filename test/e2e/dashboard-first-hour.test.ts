// The dashboard for a new user (issue 17 item 11), against `ofl run` on the example plant: the
// program name is in the page as served (before any script runs), and the OPC UA source's
// connection is announced once at start-up, and a chart's y labels are whole (read from its canvas).
// Screenshots: test-results/dashboard/no-script.png, chart-axis.png.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildDashboard, CHROMIUM, killAll, requireChromium, root, runPlant, screenshotsDir, until, type Running } from "./helpers.js";

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
