// The dashboard's chart helpers (issue 17 item 11): gaps where the plant was stopped, and a y
// axis as wide as its widest label.
import { describe, expect, it } from "vitest";
import { withGaps, yAxisSize } from "../../../runtime/dashboard/client/chart.js";

describe("withGaps", () => {
  it("leaves a series without long pauses unchanged", () => {
    const xs = [0, 1, 2, 3, 4, 5];
    expect(withGaps(xs, [1, 2, 3, 4, 5, 6])).toEqual([xs, [1, 2, 3, 4, 5, 6]]);
  });
  it("puts a null point in a pause (the plant stopped for a minute), so the line is not drawn across", () => {
    // one point a second, a 60 s stop between t=3 and t=63
    const [xs, ys] = withGaps([0, 1, 2, 3, 63, 64, 65], [5, 6, 7, 8, 9, 10, 11]);
    expect(xs).toEqual([0, 1, 2, 3, 33, 63, 64, 65]);
    expect(ys).toEqual([5, 6, 7, 8, null, 9, 10, 11]);
  });
  it("a slow signal (a point a minute) is not broken at each point", () => {
    const xs = [0, 60, 120, 180, 240];
    expect(withGaps(xs, [1, 2, 3, 4, 5])[0]).toEqual(xs);
  });
});

describe("yAxisSize", () => {
  it("fits the widest label: 12,500 is not cut to 2,500", () => {
    const measure = (s: string): number => s.length * 6; // 6 px a character
    expect(yAxisSize(["2,500", "7,500", "12,500"], measure)).toBe(6 * 6 + 18);
    expect(yAxisSize(["0", "50", "100"], measure)).toBe(3 * 6 + 18);
    expect(yAxisSize(null, measure)).toBe(40);
  });
});
