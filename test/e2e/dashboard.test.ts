// The dashboard's acceptance (issue #7), in headless Chromium against `ofl run` on the example
// plant: values update live, an alarm appears and is acknowledged, commands are sent and their
// results shown, the slider shows a past state equal to `ofl state --at`, the page stays correct
// across a restart of the server. Screenshots of each step: test-results/dashboard/.
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SqliteLog } from "../../runtime/log/sqlite.js";
import { classify } from "../../runtime/wire/records.js";
import { buildDashboard, CHROMIUM, examplePlant, killAll, oflStateAt, requireChromium, runPlant, screenshotsDir, type Running } from "./helpers.js";

let browser: Browser;
let page: Page;
let plant: Running;
let dir: string;
let data: string;
let shots: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  requireChromium();
  buildDashboard();
  shots = screenshotsDir();
  dir = examplePlant();
  data = join(dir, "data");
  plant = await runPlant(dir, data, { extra: ["--clock", "100ms"] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on("pageerror", (e) => pageErrors.push(e.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  killAll();
});

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });

/** What a card shows: data-value of every telemetry and state cell, and each alarm's state. */
async function cardValues(asset: string): Promise<{ telemetry: Record<string, unknown>; states: Record<string, unknown>; alarms: Record<string, string> }> {
  return page.evaluate((name) => {
    const card = document.querySelector(`.card[data-asset="${name}"]`)!;
    const telemetry: Record<string, unknown> = {};
    const states: Record<string, unknown> = {};
    for (const td of card.querySelectorAll<HTMLElement>("td.v")) {
      const v = JSON.parse(td.dataset["value"] ?? "null");
      (td.dataset["kind"] === "telemetry" ? telemetry : states)[td.dataset["name"]!] = v;
    }
    const alarms: Record<string, string> = {};
    for (const row of card.querySelectorAll<HTMLElement>(".alarm-row")) alarms[row.dataset["alarm"]!] = row.querySelector<HTMLElement>(".astate")!.dataset["state"]!;
    return { telemetry, states, alarms };
  }, asset);
}

function logRecords() {
  const log = SqliteLog.open(data, { readonly: true });
  try {
    return [...log.read({ topic: "ofa_assets" })].map((r) => classify(r));
  } finally {
    log.close();
  }
}

describe("the dashboard of ofl run (headless Chromium)", () => {
  test("one card per asset, with units, freshness and views; values update live", async () => {
    await page.goto(`${plant.url}/`);
    await page.waitForSelector("body[data-ready=true]", { timeout: 10_000 });
    await expect.poll(() => page.locator(".card").count()).toBe(3);
    // the feed connects just after the first render
    await expect.poll(() => page.locator("#conn").getAttribute("data-state"), { timeout: 10_000 }).toBe("live");
    // units and freshness
    await expect.poll(() => page.locator('.card[data-asset="mill2"] td.v[data-name="spindle_speed"]').textContent()).toMatch(/\d rpm$/);
    await expect.poll(() => page.locator('.card[data-asset="mill2"] td.age[data-name="spindle_speed"]').getAttribute("data-fresh")).toBe("fresh");
    await expect.poll(() => page.locator('#views dd[data-view="active_mills"]').textContent()).toMatch(/^\d$/);
    // live: the value changes without reloading (the simulated sine moves every second)
    const cell = page.locator('.card[data-asset="mill2"] td.v[data-name="spindle_speed"]');
    const before = await cell.getAttribute("data-value");
    await expect.poll(() => cell.getAttribute("data-value"), { timeout: 5000 }).not.toBe(before);
    await expect.poll(() => page.locator("#feed li").count()).toBeGreaterThan(3);
    // a chart per card (uPlot), fed by the live records
    expect(await page.locator('.card[data-asset="mill1"] .chart .uplot').count()).toBe(1);
    await shot("01-live");
  });

  test("an alarm appears, is acknowledged from the page, and the acknowledgement is a record", async () => {
    const item = page.locator('#alarms li[data-asset="mill1"][data-alarm="overtemp"]');
    await expect.poll(() => item.getAttribute("data-state"), { timeout: 30_000 }).toBe("ACTIVE");
    expect(await page.locator('.card[data-asset="mill1"]').getAttribute("data-alarm")).toBe("ACTIVE");
    await shot("02-alarm-active");
    await item.getByRole("button", { name: "Acknowledge mill1.overtemp" }).click();
    await expect.poll(() => page.locator('#alarms li[data-asset="mill1"][data-alarm="overtemp"]').getAttribute("data-state")).toBe("ACKNOWLEDGED");
    await expect.poll(() => page.locator('.card[data-asset="mill1"] .alarm-row[data-alarm="overtemp"] .astate').getAttribute("data-state")).toBe("ACKNOWLEDGED");
    await shot("03-alarm-acknowledged");
    const acks = logRecords().filter((e) => e.kind === "alarm" && e.key === "CNC-001" && e.id === "overtemp" && e.value === "ACKNOWLEDGED");
    expect(acks.length).toBe(1);
    // a reload shows it acknowledged still (from the log, not from the page's memory)
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    await expect.poll(() => page.locator('.card[data-asset="mill1"] .alarm-row[data-alarm="overtemp"] .astate').getAttribute("data-state")).toMatch(/ACKNOWLEDGED|NORMAL/);
  }, 60_000);

  test("commands with arguments go through the interlocks; accepted or rejected with the reason; rules' commands with their cause", async () => {
    const feed = page.locator('.card[data-asset="mill1"] form[data-command="set_feed"]');
    await feed.getByLabel("override (percent)").fill("130");
    await feed.getByRole("button", { name: "set_feed()" }).click();
    await expect.poll(() => feed.locator("output").textContent()).toMatch(/^rejected: .*interlock/);
    expect(await feed.locator("output").getAttribute("data-status")).toBe("rejected");
    await shot("04-command-rejected");

    const stop = page.locator('.card[data-asset="mill2"] form[data-command="stop"]');
    await stop.getByRole("button", { name: "stop()" }).click();
    await expect.poll(() => stop.locator("output").textContent()).toBe('completed {"execution":"STOPPED"}');
    await expect.poll(() => page.locator('.card[data-asset="mill2"] td.v[data-name="execution"]').getAttribute("data-value")).toBe('"STOPPED"');
    // the command log: rule (operator), result
    const entry = page.locator('#commands li[data-asset="mill2"][data-command="stop"]').first();
    await expect.poll(() => entry.getAttribute("data-status")).toBe("completed");
    expect(await entry.textContent()).toMatch(/rule operator/);
    // a rule's command: stop_hot_mill fires on mill1 (over 90 °C for 5 s), with the record that caused it
    const ruled = page.locator('#commands li[data-asset="mill1"][data-command="stop"]').first();
    await expect.poll(() => ruled.count(), { timeout: 30_000 }).toBe(1);
    expect(await ruled.textContent()).toMatch(/rule stop_hot_mill · cause .*offset \d+/);
    await shot("05-commands");
    // both operator commands are records, with their results
    const evs = logRecords();
    const ops = evs.filter((e) => e.kind === "operator_command");
    expect(ops.map((e) => (e.kind === "operator_command" ? e.command : "")).sort()).toEqual(["set_feed", "stop"]);
    const results = new Map(evs.flatMap((e) => (e.kind === "command_result" ? [[e.result.correlation_id, e.result.status] as const] : [])));
    for (const o of ops) if (o.kind === "operator_command") expect(results.get(o.envelope.header.correlation_id)).toBe(o.command === "stop" ? "completed" : "rejected");
  }, 60_000);

  test("time travel: the slider and the date-time field show the state at T, equal to `ofl state --at`, with the records around T; back to live", async () => {
    const slider = page.locator("#tt-slider");
    const [min, max] = [Number(await slider.getAttribute("min")), Number(await slider.getAttribute("max"))];
    expect(max).toBeGreaterThan(min);
    const target = Math.round(min + (max - min) * 0.6);
    await slider.evaluate((s: HTMLInputElement, v) => {
      s.value = String(v);
      s.dispatchEvent(new Event("change"));
    }, target);
    await expect.poll(() => page.locator("#tt-at").getAttribute("data-at")).toBe(new Date(target).toISOString());
    expect(await page.locator("#conn").getAttribute("data-state")).toBe("past");
    await compareWithOflState(new Date(target).toISOString());
    // the records around T
    expect(await page.locator("#feed li.mark").count()).toBe(1);
    expect(await page.locator("#feed li:not(.mark):not(.after)").count()).toBeGreaterThan(0);
    await shot("06-time-travel-slider");
    // commands cannot be sent from the past
    expect(await page.locator('.card[data-asset="mill2"] form[data-command="stop"] button').isDisabled()).toBe(true);

    // the date-time field (UTC)
    const t2 = new Date(Math.round(min + (max - min) * 0.3));
    await page.locator("#tt-date").fill(t2.toISOString().slice(0, 23));
    await page.locator("#tt-go").click();
    await expect.poll(() => page.locator("#tt-at").getAttribute("data-at")).toBe(t2.toISOString());
    await compareWithOflState(t2.toISOString());
    await shot("07-time-travel-date");

    await page.locator("#tt-live").click();
    await expect.poll(() => page.locator("#tt-at").textContent()).toBe("live");
    await expect.poll(() => page.locator("#conn").getAttribute("data-state")).toBe("live");
    const cell = page.locator('.card[data-asset="mill1"] td.v[data-name="spindle_speed"]');
    const v = await cell.getAttribute("data-value");
    await expect.poll(() => cell.getAttribute("data-value"), { timeout: 5000 }).not.toBe(v);
  }, 60_000);

  test("commands and acknowledgements from the page without the token are rejected; no secret in what the page gets", async () => {
    const r = await page.evaluate(async () => {
      const c = await fetch("/api/command", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ asset: "mill2", command: "stop", args: {} }) });
      const a = await fetch("/api/ack", { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer wrong" }, body: JSON.stringify({ asset: "mill1", alarm: "overtemp" }) });
      const p = await (await fetch("/api/program")).text();
      return { command: c.status, ack: a.status, program: p };
    });
    expect(r.command).toBe(401);
    expect(r.ack).toBe(401);
    expect(r.program).not.toMatch(/sources|bindings|random_walk|sine|seed/);
  });

  test("the page stays correct after the server restarts", async () => {
    const port = Number(new URL(plant.url).port);
    const commandsBefore = await page.locator("#commands li[data-corr]").count();
    expect(await plant.stop("SIGINT"), plant.output()).toBe(0);
    await expect.poll(() => page.locator("#conn").getAttribute("data-state"), { timeout: 10_000 }).toBe("down");
    await shot("08-server-stopped");
    plant = await runPlant(dir, data, { port, extra: ["--clock", "100ms"] });
    await expect.poll(() => page.locator("#conn").getAttribute("data-state"), { timeout: 15_000 }).toBe("live");
    // the same state as a fresh page, and it moves on
    const cell = page.locator('.card[data-asset="mill2"] td.v[data-name="spindle_speed"]');
    const v = await cell.getAttribute("data-value");
    await expect.poll(() => cell.getAttribute("data-value"), { timeout: 5000 }).not.toBe(v);
    expect(await page.locator("#commands li[data-corr]").count()).toBeGreaterThanOrEqual(commandsBefore);
    const fresh = await browser.newPage();
    await fresh.goto(`${plant.url}/`);
    await fresh.waitForSelector("body[data-ready=true]");
    // the live page knows every command a fresh page shows (new ones may arrive in between,
    // so the live page is read after the fresh one, until it has caught up)
    const fromFresh = await fresh.locator("#commands li[data-corr]").evaluateAll((els) => els.map((e) => e.getAttribute("data-corr")));
    await expect
      .poll(async () => {
        const fromOld = await page.locator("#commands li[data-corr]").evaluateAll((els) => els.map((e) => e.getAttribute("data-corr")));
        return fromFresh.slice(0, 5).filter((id) => !fromOld.includes(id));
      }, { timeout: 5000 })
      .toEqual([]);
    await fresh.close();
    await shot("09-after-restart");
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

/** The page's past state (every card and view) equals what `ofl state --at T --json` prints. */
async function compareWithOflState(at: string): Promise<void> {
  const cli = oflStateAt(dir, data, at);
  for (const [name, a] of Object.entries(cli.assets)) {
    const shown = await cardValues(name);
    expect(shown.telemetry, `${name} telemetry at ${at}`).toEqual(a.telemetry);
    expect(shown.states, `${name} states at ${at}`).toEqual(a.states);
    expect(
      Object.fromEntries(Object.entries(shown.alarms).map(([n, s]) => [n, s !== "NORMAL"])),
      `${name} alarms at ${at}`,
    ).toEqual(a.alarms);
  }
  const views = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll<HTMLElement>("#views dd[data-view]")].map((d) => [d.dataset["view"], JSON.parse(d.dataset["value"]!)])));
  expect(views).toEqual(cli.views);
}
