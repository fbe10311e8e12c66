// The simulator source (language spec §4.2): `simulate(seed?)` with the generators
// constant, random_walk, sine and sequence (and `counter`, an OFL extension), and `set(telemetry, value)` commands that the
// simulated device obeys.
//
// Deterministic for a seed: the series of values depends only on the seed, the asset and the
// telemetry (sample k is the same in every run); only the instants at which samples are taken
// follow the wall clock, anchored when the connector starts.
import type { IrBinding, IrTelemetry } from "../../compiler/ir/types.js";
import { availValue, telemetryValue } from "../wire/records.js";
import type { Connector, ConnectorContext, ConnectorFactory, DispatchResult } from "./types.js";
import { dispatchingAtMostOnce } from "./atMostOnce.js";

/** A small, fast, well-mixed PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a text, to derive one stream per (seed, asset, telemetry). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

type Sample = string | number | boolean;

/** One simulated signal: sample k, every `everyMs`. */
export interface Generator {
  everyMs: number;
  /** the value of sample k (k = 0, 1, 2, … in order) */
  next(k: number): Sample;
  /** the device was told to take this value (a `set` command) */
  set(v: Sample): void;
}

export function makeGenerator(b: IrBinding, seed: number, assetUuid: string): Generator {
  const n = (name: string, fallback = 0): number => {
    const v = b.named[name];
    return typeof v === "number" ? v : fallback;
  };
  const random = prng(hash(`${seed}/${assetUuid}/${b.target}`));
  let held: Sample | undefined;
  switch (b.fn) {
    case "constant": {
      let value = b.named["value"] as Sample;
      return { everyMs: n("every", 1000), next: () => value, set: (v) => void (value = v) };
    }
    case "counter": {
      let value = n("start");
      const step = n("step", 1);
      return {
        everyMs: n("every", 1000),
        next: (k) => {
          if (k > 0) value += step;
          return round(value);
        },
        set: (v) => void (typeof v === "number" ? (value = v) : undefined),
      };
    }
    case "random_walk": {
      const step = n("step");
      const min = n("min");
      const max = n("max");
      let value = n("start");
      return {
        everyMs: n("every", 1000),
        next: (k) => {
          if (k > 0) value = Math.min(max, Math.max(min, value + step * (2 * random() - 1)));
          return round(value);
        },
        set: (v) => void (typeof v === "number" ? (value = v) : undefined),
      };
    }
    case "sine": {
      const every = n("every", 1000);
      const period = n("period", 60_000);
      return {
        everyMs: every,
        next: (k) => held ?? round(n("mean") + n("amplitude") * Math.sin((2 * Math.PI * k * every) / period)),
        set: (v) => void (held = v),
      };
    }
    case "sequence": {
      // named args: MEMBER → duration (ms), in written order; one sample per step change
      const steps = Object.entries(b.named).filter((e): e is [string, number] => typeof e[1] === "number" && e[1] > 0);
      const cycle = steps.reduce((s, [, ms]) => s + ms, 0);
      const every = Math.max(1, gcd(steps.map(([, ms]) => ms)));
      return {
        everyMs: every,
        next: (k) => {
          if (held !== undefined) return held;
          let t = (k * every) % cycle;
          for (const [member, ms] of steps) {
            if (t < ms) return member;
            t -= ms;
          }
          return steps[0]![0];
        },
        set: (v) => void (held = v),
      };
    }
    default:
      throw new Error(`simulate: unknown generator ${b.fn}`);
  }
}

function gcd(xs: number[]): number {
  const g = (a: number, b: number): number => (b === 0 ? a : g(b, a % b));
  return xs.reduce((a, b) => g(a, Math.round(b)), 0) || 1000;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export const simulateConnector: ConnectorFactory = dispatchingAtMostOnce((ctx: ConnectorContext): Connector => {
  const seed = Number(ctx.arg(ctx.source.named["seed"] ?? 0)) || 0;
  const tel = new Map<string, IrTelemetry>(ctx.model.telemetry.map((t) => [t.name, t]));
  const signals = ctx.source.bindings
    .filter((b) => b.direction === "telemetry")
    .map((b) => ({ binding: b, gen: makeGenerator(b, seed, ctx.asset.uuid), k: 0, last: undefined as Sample | undefined }));
  let timer: ReturnType<typeof setInterval> | undefined;
  let start = 0;
  let running = false;

  const record = (name: string, v: Sample, time: number) => {
    const t = tel.get(name);
    const numeric = t !== undefined && (t.type.t === "int" || t.type.t === "float" || t.type.t === "duration");
    const tag = numeric && t && "unit" in t.type && t.type.unit ? t.type.unit : name;
    return { topic: "ofa_assets", key: ctx.asset.uuid, ts: time, value: telemetryValue(name, String(v), tag, numeric ? "Samples" : "Events", time) };
  };

  /** Emits every sample due up to `now`. Sequences report on change only. */
  const tick = (now: number): void => {
    const out = [];
    for (const s of signals) {
      while (start + s.k * s.gen.everyMs <= now) {
        const time = start + s.k * s.gen.everyMs;
        const v = s.gen.next(s.k);
        s.k++;
        if (s.binding.fn === "sequence" && v === s.last) continue;
        s.last = v;
        out.push(record(s.binding.target, v, time));
      }
    }
    if (out.length > 0) ctx.emit(out);
  };

  return {
    async start() {
      start = ctx.now();
      running = true;
      ctx.emit([{ topic: "ofa_assets", key: ctx.asset.uuid, ts: start, value: availValue(true, start) }]);
      tick(start);
      const period = Math.max(10, Math.min(100, ...signals.map((s) => s.gen.everyMs)));
      timer = setInterval(() => tick(ctx.now()), period);
      timer.unref?.();
    },
    async dispatch(cmd): Promise<DispatchResult> {
      if (!running) return { status: "failed", reason: "the simulator is stopped" };
      if (cmd.binding.fn !== "set") return { status: "failed", reason: `simulate has no command binding ${cmd.binding.fn}` };
      const target = String(cmd.binding.named["telemetry"]);
      const raw = cmd.binding.named["value"];
      const value: Sample =
        raw !== null && typeof raw === "object" && "param" in raw ? parseArg(cmd.args[raw.param] ?? "") : (raw as Sample);
      const s = signals.find((x) => x.binding.target === target);
      if (s) {
        s.gen.set(value);
        s.last = value;
      }
      const now = ctx.now();
      ctx.emit([record(target, value, now)]);
      return { status: "completed", result: { [target]: value } };
    },
    async stop() {
      running = false;
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    status() {
      return { connected: running, detail: `simulated, seed ${seed}, ${signals.length} signal${signals.length === 1 ? "" : "s"}` };
    },
  };
});

function parseArg(s: string): Sample {
  const n = Number(s);
  return s.trim() !== "" && Number.isFinite(n) ? n : s === "true" ? true : s === "false" ? false : s;
}
