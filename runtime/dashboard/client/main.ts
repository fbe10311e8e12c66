// The plant dashboard: plain DOM code, uPlot for the charts. One page over the plant's HTTP API
// (runtime/run/server.ts): the program and the state at load, then the live feed (server-sent
// events) applied to it; time travel asks the server for the engine's replay up to T.
//
// Large plants: the asset list is virtualised (only the cards in view exist), updates are applied
// to plain objects as they arrive and drawn once per animation frame, side panels at most 4×/s.
import uPlot from "uplot";
import { withGaps, yAxisSize } from "./chart.js";
import type {
  AlarmState,
  AssetState,
  AssetView,
  CommandEntry,
  FeedEvent,
  FeedMessage,
  HistoryInfo,
  ModelView,
  ProgramInfo,
  RangeInfo,
  SignalView,
  StateInfo,
  TickMessage,
  Val,
} from "../protocol.js";

// ------------------------------------------------------------------ the token and requests

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

let token = document.querySelector<HTMLMetaElement>('meta[name="ofl-token"]')?.content ?? "";
if (token.startsWith("__OFL_")) token = "";
const urlToken = new URLSearchParams(location.search).get("token");
if (urlToken) {
  token = urlToken;
  // out of the address bar and the history (the page keeps it in memory)
  history.replaceState(null, "", location.pathname);
}
const withToken = (path: string): string => (urlToken ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(urlToken)}` : path);
const authHeaders = (): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

async function getJSON<T>(path: string): Promise<T> {
  const r = await fetch(withToken(path), { headers: authHeaders(), cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${((await r.json().catch(() => ({}))) as { error?: string }).error ?? r.statusText}`);
  return (await r.json()) as T;
}

async function postJSON(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(path, { method: "POST", headers: { ...authHeaders(), "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json().catch(() => ({}))) as Record<string, unknown> };
}

// ------------------------------------------------------------------ measurements (bench, tests)

interface Stats {
  t0: number;
  firstRender: number | null;
  messages: number;
  events: number;
  lagMs: number[];
  gaps: number;
  resyncs: number;
}
const stats: Stats = { t0: performance.now(), firstRender: null, messages: 0, events: 0, lagMs: [], gaps: 0, resyncs: 0 };
(window as unknown as { __ofl: Stats }).__ofl = stats;

// ------------------------------------------------------------------ state

/** A fixed-size ring of (time, value) samples for a chart. */
class Ring {
  readonly t: Float64Array;
  readonly v: Float64Array;
  n = 0;
  head = 0;
  constructor(readonly cap: number) {
    this.t = new Float64Array(cap);
    this.v = new Float64Array(cap);
  }
  push(t: number, v: number): void {
    this.t[this.head] = t;
    this.v[this.head] = v;
    this.head = (this.head + 1) % this.cap;
    if (this.n < this.cap) this.n++;
  }
  arrays(): [number[], number[]] {
    const xs: number[] = new Array(this.n);
    const ys: number[] = new Array(this.n);
    const start = (this.head - this.n + this.cap) % this.cap;
    for (let i = 0; i < this.n; i++) {
      const j = (start + i) % this.cap;
      xs[i] = this.t[j]! / 1000;
      ys[i] = this.v[j]!;
    }
    return [xs, ys];
  }
}
const RING = 240;

let program: ProgramInfo | undefined;
let models = new Map<string, ModelView>();
let assetsByName = new Map<string, AssetView>();
interface Live {
  assets: Record<string, AssetState>;
  views: StateInfo["views"];
  streamTime: number | null;
  seq: number;
  commands: Map<string, CommandEntry>;
}
let live: Live = { assets: {}, views: {}, streamTime: null, seq: 0, commands: new Map() };
/** the state shown while travelling in time (null: live) */
let past: StateInfo | null = null;
const rings = new Map<string, Map<string, Ring>>();
const feed: FeedEvent[] = [];
const FEED_KEEP = 60;

function ring(asset: string, name: string): Ring {
  let m = rings.get(asset);
  if (!m) rings.set(asset, (m = new Map()));
  let r = m.get(name);
  if (!r) m.set(name, (r = new Ring(RING)));
  return r;
}

// ------------------------------------------------------------------ formatting

function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

function fmtVal(v: Val | undefined, sig?: { kind: string; unit: string }): string {
  if (v === null || v === undefined) return "unknown";
  if (typeof v === "number") {
    if (sig?.kind === "time") return new Date(v).toISOString();
    return sig?.unit ? `${fmtNum(v)} ${sig.unit}` : fmtNum(v);
  }
  return String(v);
}

function fmtAge(ms: number): string {
  if (ms < 1500) return "now";
  if (ms < 90_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 5_400_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function setText(e: HTMLElement, s: string): void {
  if (e.textContent !== s) e.textContent = s;
}

function announce(s: string): void {
  const a = $("announce");
  a.textContent = "";
  setTimeout(() => (a.textContent = s), 30);
}

function outcomeText(o: { status?: unknown; reason?: unknown; result?: unknown; error?: unknown }): string {
  if (typeof o.error === "string") return `error: ${o.error}`;
  let s = String(o.status ?? "sent");
  if (typeof o.reason === "string" && o.reason) s += `: ${o.reason}`;
  if (o.result !== undefined && o.result !== null) s += ` ${JSON.stringify(o.result)}`;
  return s;
}

// ------------------------------------------------------------------ cards (virtualised)

const CARD_MIN_W = 320;
const GAP = 12;
let cardH = 300;
let cols = 1;
let cardW = CARD_MIN_W;
let filtered: AssetView[] = [];
const mounted = new Map<string, Card>();

function numericSignals(m: ModelView): SignalView[] {
  return [...m.telemetry, ...m.states].filter((s) => s.kind === "number");
}

function cardHeight(m: ModelView): number {
  const rows = m.telemetry.length + m.states.length;
  const chart = numericSignals(m).length > 0 ? 124 : 0;
  return 44 + rows * 20 + m.alarms.length * 26 + chart + m.commands.length * 30 + 12;
}

class Card {
  readonly el: HTMLElement;
  private readonly cells = new Map<string, { v: HTMLElement; age?: HTMLElement; sig: SignalView }>();
  private readonly alarmEls = new Map<string, { state: HTMLElement; ack: HTMLButtonElement }>();
  private readonly forms: HTMLFormElement[] = [];
  private chart: uPlot | undefined;
  private chartSig = "";
  private readonly chartBox: HTMLElement | undefined;
  private readonly select: HTMLSelectElement | undefined;
  private pastSeries: HistoryInfo["series"] | undefined;
  chartDirty = true;

  constructor(
    readonly asset: AssetView,
    readonly model: ModelView,
  ) {
    const c = el("article", { class: "card", role: "listitem", "data-asset": asset.name, "aria-labelledby": `card-${asset.name}` });
    this.el = c;
    const head = el("header");
    head.append(el("h3", { id: `card-${asset.name}` }, asset.name), el("small", {}, `${asset.model} · ${asset.uuid}`));
    c.append(head);
    const table = el("table");
    const cap = el("caption", { class: "sr-only" }, `${asset.name}: telemetry and states`);
    table.append(cap);
    const tb = el("tbody");
    for (const [kind, list] of [["telemetry", this.model.telemetry], ["state", this.model.states]] as const) {
      for (const s of list) {
        const tr = el("tr", { class: kind });
        tr.append(el("th", { scope: "row", title: kind === "state" ? "derived state" : "telemetry" }, s.name));
        const v = el("td", { class: "v", "data-name": s.name, "data-kind": kind });
        tr.append(v);
        let age: HTMLElement | undefined;
        if (kind === "telemetry") {
          age = el("td", { class: "age", "data-name": s.name });
          tr.append(age);
        } else tr.append(el("td", { class: "age" }));
        tb.append(tr);
        this.cells.set(`${kind}:${s.name}`, { v, age, sig: s });
      }
    }
    table.append(tb);
    c.append(table);
    for (const a of this.model.alarms) {
      const row = el("div", { class: "alarm-row", "data-alarm": a.name });
      const state = el("span", { class: "astate" });
      const ack = el("button", { type: "button", "aria-label": `Acknowledge ${asset.name}.${a.name}` }, "Acknowledge");
      ack.addEventListener("click", () => void acknowledge(asset.name, a.name, ack));
      row.append(el("span", { class: `sev sev-${a.severity}` }, a.severity), el("span", { title: `when ${a.when}` }, a.name), state, ack);
      c.append(row);
      this.alarmEls.set(a.name, { state, ack });
    }
    const nums = numericSignals(this.model);
    if (nums.length > 0) {
      const box = el("div", { class: "chart" });
      const sel = el("select", { "aria-label": `${asset.name}: signal charted` });
      for (const s of nums) sel.append(el("option", { value: s.name }, s.unit ? `${s.name} (${s.unit})` : s.name));
      sel.addEventListener("change", () => {
        this.chartSig = sel.value;
        this.chartDirty = true;
        this.drawChart();
      });
      this.chartSig = nums[0]!.name;
      box.append(sel);
      c.append(box);
      this.chartBox = box;
      this.select = sel;
    }
    if (this.model.commands.length > 0) {
      const cmds = el("div", { class: "cmds" });
      for (const cmd of this.model.commands) {
        const f = el("form", { "data-command": cmd.name, "aria-label": `${asset.name}.${cmd.name}` });
        const inputs: { p: SignalView; input: HTMLInputElement | HTMLSelectElement }[] = [];
        for (const p of cmd.params) {
          let input: HTMLInputElement | HTMLSelectElement;
          if (p.kind === "enum" && p.members) {
            input = el("select", { name: p.name });
            for (const m of p.members) input.append(el("option", { value: m }, m));
          } else if (p.kind === "bool") input = el("input", { type: "checkbox", name: p.name });
          else if (p.kind === "number") {
            input = el("input", { type: "number", name: p.name, step: "any", required: "" });
            if (p.range) {
              input.setAttribute("min", String(p.range[0]));
              input.setAttribute("max", String(p.range[1]));
            }
          } else input = el("input", { type: "text", name: p.name });
          const label = el("label", {}, `${p.name}${p.unit ? ` (${p.unit})` : ""} `);
          label.append(input);
          inputs.push({ p, input });
          f.append(label);
        }
        const btn = el("button", { type: "submit", title: cmd.requires ? `requires ${cmd.requires}` : (cmd.doc ?? "") }, `${cmd.name}()`);
        const out = el("output", { "aria-live": "polite" });
        f.append(btn, out);
        f.addEventListener("submit", (e) => {
          e.preventDefault();
          const args: Record<string, Val> = {};
          for (const { p, input } of inputs) {
            if (input instanceof HTMLInputElement && input.type === "checkbox") args[p.name] = input.checked;
            else if (p.kind === "number") {
              if (input.value !== "") args[p.name] = Number(input.value);
            } else args[p.name] = input.value;
          }
          void sendCommand(asset.name, cmd.name, args, btn, out);
        });
        this.forms.push(f);
        cmds.append(f);
      }
      c.append(cmds);
    }
  }

  place(i: number): void {
    const row = Math.floor(i / cols);
    const col = i % cols;
    const s = this.el.style;
    s.width = `${cardW}px`;
    s.height = `${cardH}px`;
    s.transform = `translate(${col * (cardW + GAP)}px, ${row * (cardH + GAP)}px)`;
    this.el.setAttribute("aria-posinset", String(i + 1));
    this.el.setAttribute("aria-setsize", String(filtered.length));
  }

  update(): void {
    const st = shown().assets[this.asset.name];
    if (!st) return;
    const ref = past ? past.at! : (live.streamTime ?? Date.now());
    for (const [key, cell] of this.cells) {
      const kind = key.slice(0, key.indexOf(":"));
      const v = kind === "telemetry" ? st.telemetry[cell.sig.name] : st.states[cell.sig.name];
      const text = fmtVal(v ?? null, cell.sig);
      setText(cell.v, text);
      const json = JSON.stringify(v ?? null);
      if (cell.v.dataset["value"] !== json) {
        cell.v.dataset["value"] = json;
        cell.v.classList.toggle("unknown", v === null || v === undefined);
      }
      if (cell.age) {
        const seen = st.seen[cell.sig.name];
        if (seen === undefined) {
          setText(cell.age, "never");
          cell.age.dataset["fresh"] = "never";
        } else {
          const age = Math.max(0, ref - seen);
          setText(cell.age, fmtAge(age));
          cell.age.dataset["fresh"] = age > 10_000 ? "stale" : "fresh";
          cell.age.title = `last report ${iso(seen)}`;
        }
      }
    }
    let worst: AlarmState | "" = "";
    for (const [name, a] of this.alarmEls) {
      const s: AlarmState = st.alarms[name] ?? "NORMAL";
      setText(a.state, s === "NORMAL" ? "normal" : s === "ACTIVE" ? "ACTIVE" : "acknowledged");
      a.state.dataset["state"] = s;
      a.ack.hidden = s !== "ACTIVE";
      a.ack.disabled = past !== null || !program?.canCommand;
      if (s === "ACTIVE") worst = "ACTIVE";
      else if (s === "ACKNOWLEDGED" && worst === "") worst = "ACKNOWLEDGED";
    }
    if (worst) this.el.dataset["alarm"] = worst;
    else delete this.el.dataset["alarm"];
    for (const f of this.forms) for (const b of f.querySelectorAll("button")) b.disabled = past !== null || !program?.canCommand;
  }

  /** Past mode: the numeric series of the minutes before T, from the log. */
  setPastSeries(s: HistoryInfo["series"] | undefined): void {
    this.pastSeries = s;
    this.chartDirty = true;
  }

  drawChart(): void {
    if (!this.chartBox || !this.chartDirty) return;
    this.chartDirty = false;
    let raw: [number[], number[]];
    if (past) {
      const s = this.pastSeries?.[this.chartSig];
      raw = s ? [s[0].map((t) => t / 1000), s[1]] : [[], []];
    } else raw = rings.get(this.asset.name)?.get(this.chartSig)?.arrays() ?? [[], []];
    // no line across a time without data (the plant stopped): a gap
    const data = withGaps(raw[0], raw[1]) as uPlot.AlignedData;
    if (!this.chart) {
      const sig = numericSignals(this.model).find((s) => s.name === this.chartSig);
      this.chart = new uPlot(
        {
          width: cardW - 24,
          height: 96,
          legend: { show: false },
          cursor: { show: false },
          scales: { x: { time: true } },
          axes: [
            { size: 22, font: "10px system-ui", stroke: "#888" },
            // as wide as its widest label (a fixed width cut "12,500" to "2,500")
            { size: (_u: uPlot, values: string[] | null) => yAxisSize(values, measureLabel), font: "10px system-ui", stroke: "#888" },
          ],
          series: [{}, { label: this.chartSig, stroke: "#0b5cad", width: 1.5, points: { show: false } }],
        },
        data,
        this.chartBox,
      );
      this.chart.root.setAttribute("role", "img");
      this.chart.root.setAttribute("aria-label", `chart of ${this.asset.name}.${this.chartSig}${sig?.unit ? ` in ${sig.unit}` : ""}`);
    } else this.chart.setData(data);
    this.chart.root.setAttribute("aria-label", `chart of ${this.asset.name}.${this.chartSig}, ${raw[0].length} points`);
  }

  resize(): void {
    if (this.chart) this.chart.setSize({ width: cardW - 24, height: 96 });
  }

  destroy(): void {
    this.chart?.destroy();
    this.el.remove();
  }

  get signal(): string {
    return this.select?.value ?? "";
  }
}

let labelCtx: CanvasRenderingContext2D | null | undefined;
/** The width in CSS pixels of a y-axis label in the axis font. */
function measureLabel(s: string): number {
  labelCtx ??= document.createElement("canvas").getContext("2d");
  if (!labelCtx) return s.length * 6;
  labelCtx.font = "10px system-ui";
  return labelCtx.measureText(s).width;
}

function shown(): { assets: Record<string, AssetState>; views: StateInfo["views"] } {
  return past ?? live;
}

function applyFilter(): void {
  const f = $<HTMLInputElement>("filter").value.trim().toLowerCase();
  const onlyAlarms = $<HTMLInputElement>("only-alarms").checked;
  const st = shown();
  filtered = (program?.assets ?? []).filter((a) => {
    if (f && !a.name.toLowerCase().includes(f) && !a.model.toLowerCase().includes(f)) return false;
    if (onlyAlarms) return Object.values(st.assets[a.name]?.alarms ?? {}).some((s) => s !== "NORMAL");
    return true;
  });
  setText($("asset-count"), `(${filtered.length}${filtered.length !== (program?.assets.length ?? 0) ? ` of ${program?.assets.length}` : ""})`);
  layout(true);
}

function layout(force = false): void {
  const box = $("assets");
  const width = Math.max(CARD_MIN_W, box.clientWidth - 32);
  const newCols = Math.max(1, Math.floor((width + GAP) / (CARD_MIN_W + GAP)));
  const newW = Math.floor((width - (newCols - 1) * GAP) / newCols);
  const resized = newCols !== cols || newW !== cardW;
  cols = newCols;
  cardW = newW;
  const rows = Math.ceil(filtered.length / cols);
  $("spacer").style.height = `${rows * (cardH + GAP)}px`;
  if (resized) for (const c of mounted.values()) c.resize();
  renderVisible(force || resized);
}

function renderVisible(force = false): void {
  const box = $("assets");
  const rowH = cardH + GAP;
  const first = Math.max(0, Math.floor(box.scrollTop / rowH) - 1);
  const last = Math.ceil((box.scrollTop + box.clientHeight) / rowH) + 1;
  const want = new Map<string, number>();
  for (let i = first * cols; i < Math.min(filtered.length, (last + 1) * cols); i++) want.set(filtered[i]!.name, i);
  for (const [name, card] of mounted) {
    if (!want.has(name)) {
      card.destroy();
      mounted.delete(name);
    }
  }
  const fresh: Card[] = [];
  for (const [name, i] of want) {
    let card = mounted.get(name);
    if (!card) {
      const a = assetsByName.get(name)!;
      card = new Card(a, models.get(a.model)!);
      mounted.set(name, card);
      box.append(card.el);
      fresh.push(card);
      card.place(i);
      card.update();
    } else if (force) card.place(i);
  }
  if (fresh.length > 0) {
    // charts after the cards are placed (uPlot measures nothing, but keep the first paint light)
    requestAnimationFrame(() => {
      for (const c of fresh) c.drawChart();
      if (past) void loadPastCharts(fresh);
      else void seedCharts(fresh);
    });
  }
}

// ------------------------------------------------------------------ side panels

function renderAlarms(): void {
  const ul = $("alarms");
  const st = shown();
  const items: { a: string; n: string; s: AlarmState; sev: string }[] = [];
  for (const a of program?.assets ?? []) {
    const s = st.assets[a.name];
    if (!s) continue;
    for (const [n, state] of Object.entries(s.alarms)) {
      if (state === "NORMAL") continue;
      const sev = models.get(a.model)?.alarms.find((x) => x.name === n)?.severity ?? "";
      items.push({ a: a.name, n, s: state, sev });
    }
  }
  const key = JSON.stringify(items) + String(past !== null);
  if (ul.dataset["key"] === key) return;
  ul.dataset["key"] = key;
  ul.replaceChildren();
  if (items.length === 0) ul.append(el("li", { class: "empty" }, "none"));
  for (const it of items.slice(0, 200)) {
    const li = el("li", { "data-asset": it.a, "data-alarm": it.n, "data-state": it.s });
    li.append(el("span", { class: `sev sev-${it.sev}` }, it.sev), el("strong", {}, `${it.a}.${it.n}`), el("span", { class: "astate", "data-state": it.s }, it.s === "ACTIVE" ? "ACTIVE" : "acknowledged"));
    if (it.s === "ACTIVE") {
      const b = el("button", { type: "button", "aria-label": `Acknowledge ${it.a}.${it.n}` }, "Acknowledge");
      b.disabled = past !== null || !program?.canCommand;
      b.addEventListener("click", () => void acknowledge(it.a, it.n, b));
      li.append(b);
    }
    ul.append(li);
  }
  if (items.length > 200) ul.append(el("li", { class: "empty" }, `… and ${items.length - 200} more`));
}

function renderViews(): void {
  const dl = $("views");
  const st = shown();
  dl.replaceChildren();
  for (const v of program?.views ?? []) {
    const val = st.views[v.name];
    let text: string;
    if (val !== null && typeof val === "object") {
      const parts = Object.entries(val).map(([g, x]) => `${g}: ${fmtVal(x, v)}`);
      text = parts.length > 0 ? parts.join(", ") : "no groups yet";
    } else text = fmtVal(val ?? null, v);
    dl.append(el("dt", {}, v.name), el("dd", { "data-view": v.name, "data-value": JSON.stringify(val ?? null) }, text));
  }
  if ((program?.views.length ?? 0) === 0) dl.append(el("dd", { class: "empty" }, "none"));
}

function renderCommands(): void {
  const ol = $("commands");
  const list = past ? past.commands : [...live.commands.values()];
  const recent = list.slice(-30).reverse();
  const key = JSON.stringify(recent.map((c) => [c.corr, c.status ?? ""]));
  if (ol.dataset["key"] === key) return;
  ol.dataset["key"] = key;
  ol.replaceChildren();
  if (recent.length === 0) ol.append(el("li", { class: "empty" }, "none yet"));
  for (const c of recent) {
    const args = Object.entries(c.args).map(([k, v]) => `${k}: ${v}`).join(", ");
    const li = el("li", { "data-corr": c.corr, "data-asset": c.a, "data-command": c.cmd, "data-status": c.status ?? "pending" });
    li.append(el("strong", {}, `${c.a}.${c.cmd}(${args})`), document.createTextNode(" "));
    li.append(el("span", { class: "status", "data-status": c.status ?? "pending" }, c.status ? outcomeText(c) : c.shadow ? "shadow" : "awaiting the device"));
    li.append(el("div", { class: "meta" }, `${iso(c.t).slice(11, 23)} · rule ${c.rule}${c.shadow ? " (shadow)" : ""} · cause ${c.cause}`));
    ol.append(li);
  }
}

function feedText(e: FeedEvent): string {
  const t = iso(e.t).slice(11, 23);
  switch (e.k) {
    case "tel":
      return e.bad ? `${t} ${e.a}.${e.id} = ${e.raw} ✗ ${e.bad}` : `${t} ${e.a}.${e.id} = ${fmtVal(e.v ?? null)}`;
    case "derived":
      return `${t} ${e.a}.${e.id} := ${fmtVal(e.v ?? null)}`;
    case "alarm":
      return `${t} ${e.a}.${e.id} alarm ${e.v}`;
    case "avail":
      return `${t} ${e.a} ${e.v ? "available" : "UNAVAILABLE"}`;
    case "cmd":
      return `${t} ${e.a}.${e.id}(${Object.entries(e.args ?? {}).map(([k, v]) => `${k}: ${v}`).join(", ")}) by ${e.rule}`;
    case "res":
      return `${t} ${e.a}.${e.id} → ${outcomeText(e)}`;
    case "dead":
      return `${t} dead letter ${e.reason}: ${e.raw}`;
    case "bad":
      return `${t} unreadable record: ${e.reason}`;
    default:
      return `${t} ${e.k} ${e.a ?? ""} ${e.id ?? ""}`;
  }
}

function feedItem(e: FeedEvent, cls = ""): HTMLLIElement {
  const li = el("li", { "data-seq": String(e.seq), "data-kind": e.k }, feedText(e));
  if (cls) li.className = cls;
  if (e.bad || e.k === "dead" || e.k === "bad") li.classList.add("bad");
  return li;
}

function renderFeed(): void {
  const ol = $("feed");
  if (past) {
    setText($("feed-h"), `Records around ${iso(past.at!)}`);
    ol.replaceChildren();
    for (const e of past.around?.before ?? []) ol.append(feedItem(e));
    ol.append(el("li", { class: "mark" }, `▲ replayed up to here (${past.replayed} records) · T = ${iso(past.at!)}`));
    for (const e of past.around?.after ?? []) ol.append(feedItem(e, "after"));
    if ((past.around?.after.length ?? 0) === 0) ol.append(el("li", { class: "after" }, "nothing after T yet"));
    return;
  }
  setText($("feed-h"), "Live feed");
  const items = feed.slice(-FEED_KEEP).reverse();
  ol.replaceChildren(...items.map((e) => feedItem(e)));
}

// ------------------------------------------------------------------ drawing

const dirty = new Set<string>();
let panelsDirty = true;
let feedDirty = true;
let frame = 0;
let lastPanels = 0;

function schedule(): void {
  if (frame) return;
  frame = requestAnimationFrame(draw);
}

function draw(): void {
  frame = 0;
  for (const name of dirty) mounted.get(name)?.update();
  dirty.clear();
  const now = performance.now();
  if (now - lastPanels >= 250) {
    lastPanels = now;
    if (panelsDirty) {
      panelsDirty = false;
      renderAlarms();
      renderViews();
      renderCommands();
    }
    if (feedDirty) {
      feedDirty = false;
      renderFeed();
    }
    setText($("stream-time"), past ? iso(past.at!) : live.streamTime === null ? "—" : iso(live.streamTime));
  } else if (panelsDirty || feedDirty) schedule();
}

function redrawAll(): void {
  for (const c of mounted.values()) {
    c.update();
    c.chartDirty = true;
    c.drawChart();
  }
  panelsDirty = true;
  feedDirty = true;
  lastPanels = 0;
  schedule();
}

// ------------------------------------------------------------------ the live feed

function apply(e: FeedEvent): void {
  const a = e.a !== undefined ? live.assets[e.a] : undefined;
  switch (e.k) {
    case "tel":
      if (!a || e.bad) break;
      a.telemetry[e.id!] = e.v ?? null;
      a.seen[e.id!] = e.t;
      if (typeof e.v === "number") ring(e.a!, e.id!).push(e.t, e.v);
      dirty.add(e.a!);
      break;
    case "avail":
      if (!a) break;
      if (e.v === false) for (const k of Object.keys(a.telemetry)) a.telemetry[k] = null;
      dirty.add(e.a!);
      break;
    case "derived":
      if (!a) break;
      a.states[e.id!] = e.v ?? null;
      if (typeof e.v === "number") ring(e.a!, e.id!).push(e.t, e.v);
      dirty.add(e.a!);
      break;
    case "alarm": {
      if (!a) break;
      const cur = a.alarms[e.id!];
      a.alarms[e.id!] = e.v === "ACTIVE" ? "ACTIVE" : e.v === "NORMAL" ? "NORMAL" : cur === "ACTIVE" ? "ACKNOWLEDGED" : (cur ?? "NORMAL");
      dirty.add(e.a!);
      panelsDirty = true;
      break;
    }
    case "cmd":
      live.commands.set(e.corr!, { corr: e.corr!, t: e.t, a: e.a ?? "", cmd: e.id!, args: e.args ?? {}, rule: e.rule ?? "", shadow: e.shadow === true, cause: e.cause ?? "" });
      if (live.commands.size > 100) live.commands.delete(live.commands.keys().next().value!);
      panelsDirty = true;
      break;
    case "res": {
      const c = live.commands.get(e.corr!);
      if (c) {
        c.status = e.status;
        c.rt = e.t;
        if (e.reason !== undefined) c.reason = e.reason;
        if (e.result !== undefined) c.result = e.result;
      }
      panelsDirty = true;
      break;
    }
  }
  if (e.k !== "clock" && e.k !== "desc") {
    feed.push(e);
    if (feed.length > FEED_KEEP * 4) feed.splice(0, feed.length - FEED_KEEP);
    feedDirty = true;
  }
}

function onRecords(msg: FeedMessage): void {
  stats.messages++;
  if (msg.from > live.seq) {
    // records were missed (should not happen): reload the state rather than show a wrong one
    stats.gaps++;
    resync();
    return;
  }
  const now = Date.now();
  for (const e of msg.ev) {
    if (e.seq < live.seq) continue; // already in the state this page loaded
    apply(e);
    stats.events++;
    if (e.k === "tel") stats.lagMs.push(now - e.t);
  }
  if (stats.lagMs.length > 20_000) stats.lagMs.splice(0, stats.lagMs.length - 10_000);
  live.seq = Math.max(live.seq, msg.seq);
  if (msg.streamTime !== null) live.streamTime = msg.streamTime;
  if (!past) schedule();
}

function onTick(msg: TickMessage): void {
  live.views = msg.views;
  if (msg.streamTime !== null) live.streamTime = msg.streamTime;
  panelsDirty = true;
  if (!past) {
    for (const c of mounted.values()) dirty.add(c.asset.name); // freshness moves on
    schedule();
  }
}

let source: EventSource | undefined;
let retryMs = 250;
let syncing = false;

function setConn(state: "live" | "down" | "past", text: string): void {
  const c = $("conn");
  c.dataset["state"] = state;
  setText(c, text);
}

function resync(): void {
  stats.resyncs++;
  source?.close();
  source = undefined;
  void sync();
}

async function sync(): Promise<void> {
  if (syncing) return;
  syncing = true;
  try {
    // together: the program and the state (whose seq the feed continues from)
    const [prog, st] = await Promise.all([getJSON<ProgramInfo>("/api/program"), getJSON<StateInfo>("/api/state?view=dashboard")]);
    if (!program || prog.instance !== program.instance) setProgram(prog);
    live = { assets: st.assets, views: st.views, streamTime: st.streamTime, seq: st.seq, commands: new Map(st.commands.map((c) => [c.corr, c])) };
    openFeed(st.seq);
    if (stats.firstRender === null) {
      applyFilter();
      requestAnimationFrame(() => {
        // from the navigation's start (performance.now's origin): the page, the script, the
        // program and the state fetched, the first cards in place
        stats.firstRender = performance.now();
        document.body.dataset["ready"] = "true";
      });
    } else if (!past) redrawAll();
    void refreshRange();
    retryMs = 250;
  } catch (e) {
    setConn("down", `no connection to the plant (${(e as Error).message}); retrying`);
    setTimeout(() => void sync(), retryMs);
    retryMs = Math.min(4000, retryMs * 2);
  } finally {
    syncing = false;
  }
}

function openFeed(seq: number): void {
  source?.close();
  const es = new EventSource(withToken(`/api/events?from=${seq}`));
  source = es;
  es.addEventListener("hello", () => {
    if (!past) setConn("live", "live");
  });
  es.addEventListener("records", (m) => onRecords(JSON.parse((m as MessageEvent<string>).data) as FeedMessage));
  es.addEventListener("tick", (m) => onTick(JSON.parse((m as MessageEvent<string>).data) as TickMessage));
  es.addEventListener("reset", () => resync());
  es.onerror = () => {
    // the server stopped or restarted: the page reloads the program and the state, then follows
    // the feed again from there (the log is the authority; nothing is guessed meanwhile)
    if (source !== es) return;
    es.close();
    source = undefined;
    setConn("down", "connection lost; reconnecting…");
    setTimeout(() => void sync(), retryMs);
    retryMs = Math.min(4000, retryMs * 2);
  };
}

function setProgram(prog: ProgramInfo): void {
  const sameShape = program !== undefined && JSON.stringify({ ...program, instance: "" }) === JSON.stringify({ ...prog, instance: "" });
  program = prog;
  if (sameShape) return;
  models = new Map(prog.models.map((m) => [m.name, m]));
  assetsByName = new Map(prog.assets.map((a) => [a.name, a]));
  cardH = Math.max(160, ...prog.models.map(cardHeight));
  for (const c of mounted.values()) c.destroy();
  mounted.clear();
  setText($("program"), prog.program);
  document.title = `${prog.program} · OFL plant`;
  if (stats.firstRender !== null) applyFilter();
}

// ------------------------------------------------------------------ operator actions

async function sendCommand(asset: string, command: string, args: Record<string, Val>, btn: HTMLButtonElement, out: HTMLOutputElement): Promise<void> {
  btn.disabled = true;
  out.textContent = "sending…";
  delete out.dataset["status"];
  try {
    const r = await postJSON("/api/command", { asset, command, args });
    const text = r.status === 200 ? outcomeText(r.json) : `error: ${String(r.json["error"] ?? r.status)}`;
    out.textContent = text;
    out.dataset["status"] = r.status === 200 ? String(r.json["status"]) : "failed";
    announce(`${asset}.${command}: ${text}`);
  } catch (e) {
    out.textContent = `error: ${(e as Error).message}`;
    out.dataset["status"] = "failed";
  } finally {
    btn.disabled = past !== null;
  }
}

async function acknowledge(asset: string, alarm: string, btn: HTMLButtonElement): Promise<void> {
  btn.disabled = true;
  const r = await postJSON("/api/ack", { asset, alarm }).catch((e: Error) => ({ status: 0, json: { error: e.message } as Record<string, unknown> }));
  if (r.status === 200) {
    announce(`${asset}.${alarm} acknowledged`);
    // shown at once; the record comes back in the feed
    const a = live.assets[asset];
    if (a && a.alarms[alarm] === "ACTIVE") a.alarms[alarm] = "ACKNOWLEDGED";
    dirty.add(asset);
    panelsDirty = true;
    schedule();
  } else {
    announce(`${asset}.${alarm}: ${String(r.json["error"] ?? r.status)}`);
    btn.disabled = false;
  }
}

// ------------------------------------------------------------------ time travel

let range: RangeInfo = { first: null, last: null, records: 0 };
let travelSeq = 0;

async function refreshRange(): Promise<void> {
  try {
    range = await getJSON<RangeInfo>("/api/range");
  } catch {
    return;
  }
  const s = $<HTMLInputElement>("tt-slider");
  if (range.first === null || range.last === null) {
    s.disabled = true;
    return;
  }
  s.disabled = false;
  s.min = String(range.first);
  s.max = String(Math.max(range.first, range.last));
  if (!past) {
    s.value = s.max;
    s.setAttribute("aria-valuetext", `live, ${iso(Number(s.max))}`);
  }
}

function localInputValue(ms: number): string {
  return iso(ms).slice(0, 23); // UTC, as labelled
}

async function travel(atMs: number): Promise<void> {
  const my = ++travelSeq;
  document.body.classList.add("past");
  $("tt-live").setAttribute("aria-pressed", "false");
  setConn("past", "viewing the past (the live feed continues underneath)");
  const out = $<HTMLOutputElement>("tt-at");
  out.textContent = `rebuilding ${iso(atMs)} from the log…`;
  try {
    const st = await getJSON<StateInfo>(`/api/state?at=${encodeURIComponent(iso(atMs))}`);
    if (my !== travelSeq) return;
    past = st;
    out.textContent = `${iso(st.at!)} · ${st.replayed} records replayed`;
    out.dataset["at"] = iso(st.at!);
    const s = $<HTMLInputElement>("tt-slider");
    if (range.last !== null && atMs > range.last) s.max = String(atMs);
    s.value = String(atMs);
    s.setAttribute("aria-valuetext", iso(atMs));
    $<HTMLInputElement>("tt-date").value = localInputValue(atMs);
    applyFilter();
    redrawAll();
    void loadPastCharts([...mounted.values()]);
  } catch (e) {
    if (my === travelSeq) out.textContent = `cannot rebuild: ${(e as Error).message}`;
  }
}

async function loadPastCharts(cards: Card[]): Promise<void> {
  const at = past?.at;
  if (at === undefined) return;
  await Promise.all(
    cards.map(async (c) => {
      if (c.signal === "") return;
      try {
        const h = await getJSON<HistoryInfo>(`/api/history?asset=${encodeURIComponent(c.asset.name)}&minutes=5&at=${encodeURIComponent(iso(at))}`);
        if (past?.at !== at) return;
        c.setPastSeries(h.series);
        c.drawChart();
      } catch {
        /* the chart stays empty */
      }
    }),
  );
}

/** Live charts of a card seen for the first time start with the last minutes of the log (small plants). */
const seeded = new Set<string>();
async function seedCharts(cards: Card[]): Promise<void> {
  if ((program?.assets.length ?? 0) > 200) return; // large plants: the charts fill from the feed
  await Promise.all(
    cards.map(async (c) => {
      if (c.signal === "" || seeded.has(c.asset.name)) return;
      seeded.add(c.asset.name);
      try {
        const h = await getJSON<HistoryInfo>(`/api/history?asset=${encodeURIComponent(c.asset.name)}&minutes=5`);
        for (const [name, [ts, vs]] of Object.entries(h.series)) {
          const r = ring(c.asset.name, name);
          const first = r.n > 0 ? r.t[(r.head - r.n + r.cap) % r.cap]! : Infinity;
          const old = new Ring(RING);
          for (let i = 0; i < ts.length; i++) if (ts[i]! < first) old.push(ts[i]!, vs[i]!);
          const [xs, ys] = r.arrays();
          for (let i = 0; i < xs.length; i++) old.push(xs[i]! * 1000, ys[i]!);
          rings.get(c.asset.name)!.set(name, old);
        }
        c.chartDirty = true;
        if (!past) c.drawChart();
      } catch {
        seeded.delete(c.asset.name);
      }
    }),
  );
}

function goLive(): void {
  travelSeq++;
  past = null;
  document.body.classList.remove("past");
  $("tt-live").setAttribute("aria-pressed", "true");
  $<HTMLOutputElement>("tt-at").textContent = "live";
  delete $<HTMLOutputElement>("tt-at").dataset["at"];
  setConn(source ? "live" : "down", source ? "live" : "reconnecting…");
  for (const c of mounted.values()) c.setPastSeries(undefined);
  applyFilter();
  redrawAll();
  void refreshRange();
}

function wireTravel(): void {
  const s = $<HTMLInputElement>("tt-slider");
  let timer: ReturnType<typeof setTimeout> | undefined;
  s.addEventListener("input", () => {
    if (timer) clearTimeout(timer);
    s.setAttribute("aria-valuetext", iso(Number(s.value)));
    $<HTMLOutputElement>("tt-at").textContent = iso(Number(s.value));
    timer = setTimeout(() => void travel(Number(s.value)), 150);
  });
  s.addEventListener("change", () => {
    if (timer) clearTimeout(timer);
    void travel(Number(s.value));
  });
  s.addEventListener("keydown", (e) => {
    const step = e.key === "PageUp" || e.key === "PageDown" ? 60_000 : e.shiftKey ? 10_000 : 1000;
    const dir = e.key === "ArrowRight" || e.key === "ArrowUp" || e.key === "PageUp" ? 1 : e.key === "ArrowLeft" || e.key === "ArrowDown" || e.key === "PageDown" ? -1 : 0;
    if (dir === 0) return;
    e.preventDefault();
    const v = Math.min(Number(s.max), Math.max(Number(s.min), Number(s.value) + dir * step));
    s.value = String(v);
    s.dispatchEvent(new Event("input"));
  });
  const date = $<HTMLInputElement>("tt-date");
  const go = (): void => {
    if (!date.value) return;
    const ms = Date.parse(`${date.value.length === 16 ? `${date.value}:00` : date.value}Z`);
    if (Number.isFinite(ms)) void travel(ms);
  };
  $("tt-go").addEventListener("click", go);
  date.addEventListener("keydown", (e) => {
    if (e.key === "Enter") go();
  });
  $("tt-live").addEventListener("click", goLive);
}

// ------------------------------------------------------------------ start

function start(): void {
  wireTravel();
  const box = $("assets");
  let scrollFrame = 0;
  box.addEventListener("scroll", () => {
    if (scrollFrame) return;
    scrollFrame = requestAnimationFrame(() => {
      scrollFrame = 0;
      renderVisible();
    });
  });
  new ResizeObserver(() => layout()).observe(box);
  $("filter").addEventListener("input", applyFilter);
  $("only-alarms").addEventListener("change", applyFilter);
  // charts and the slider's end follow the plant, at a calm pace
  setInterval(() => {
    if (past) return;
    for (const c of mounted.values()) {
      c.chartDirty = true;
      c.drawChart();
    }
  }, 1000);
  setInterval(() => {
    if (!past) void refreshRange();
  }, 5000);
  void sync();
}

start();
