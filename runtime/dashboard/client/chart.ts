// Chart helpers of the dashboard, free of the DOM so they can be tested on their own.

/**
 * A series with a gap (a null point) wherever the time between two points is much longer than
 * usual (the plant was stopped, a source was down): uPlot then leaves the line open instead of
 * drawing it straight across. A step counts as a gap when it is over 5 times the median step and
 * over `minGapS` seconds. Times in seconds.
 */
export function withGaps(xs: number[], ys: (number | null)[], minGapS = 10): [number[], (number | null)[]] {
  if (xs.length < 3) return [xs, ys];
  const steps: number[] = [];
  for (let i = 1; i < xs.length; i++) steps.push(xs[i]! - xs[i - 1]!);
  const median = [...steps].sort((a, b) => a - b)[Math.floor(steps.length / 2)]!;
  const limit = Math.max(minGapS, 5 * median);
  const ox: number[] = [xs[0]!];
  const oy: (number | null)[] = [ys[0]!];
  for (let i = 1; i < xs.length; i++) {
    if (steps[i - 1]! > limit) {
      ox.push((xs[i - 1]! + xs[i]!) / 2);
      oy.push(null);
    }
    ox.push(xs[i]!);
    oy.push(ys[i]!);
  }
  return [ox, oy];
}

/**
 * The width of the y axis: its widest tick label plus what uPlot puts right of it (the tick,
 * 10 px, and the gap, 5 px) and a 3 px margin at the left edge, so "12,500" is never cut (with
 * +14 the label's first pixel column was cut: test/e2e/dashboard-first-hour.test.ts reads the
 * canvas in Chromium).
 */
export const Y_AXIS_EXTRA = 10 + 5 + 3;
export function yAxisSize(labels: readonly string[] | null | undefined, measure: (s: string) => number): number {
  if (!labels || labels.length === 0) return 40;
  return Math.ceil(Math.max(...labels.map((l) => measure(l)))) + Y_AXIS_EXTRA;
}
