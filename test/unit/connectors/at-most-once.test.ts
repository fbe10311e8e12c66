// One at-most-once policy for every connector (issue 16 item 6): a correlation id reaches the
// device once, whatever the first dispatch's outcome; the memory is bounded. The connectors'
// own suites (test/integration/opcua/connector.test.ts, test/integration/mqtt/suite.ts) check it
// on each real connector.
import { describe, expect, test } from "vitest";
import { atMostOnce, MAX_REMEMBERED } from "../../../runtime/connectors/atMostOnce.js";
import type { CommandToDispatch, Connector, DispatchResult } from "../../../runtime/connectors/types.js";

function device(answer: DispatchResult): { c: Connector; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    c: {
      start: async () => {},
      stop: async () => {},
      status: () => ({ connected: true, detail: "test device" }),
      dispatch: async (cmd) => {
        calls.push(cmd.correlationId);
        return answer;
      },
    },
  };
}

const cmd = (id: string): CommandToDispatch => ({ command: "stop", args: {}, params: [], correlationId: id, binding: { direction: "command", target: "stop", fn: "call", named: {}, positional: [] } as never });

describe("atMostOnce", () => {
  test("a second dispatch of an id is refused without reaching the device, after success and after failure", async () => {
    for (const first of [{ status: "completed" } as const, { status: "failed", reason: "not connected" } as const]) {
      const d = device(first);
      const c = atMostOnce(d.c);
      expect(await c.dispatch(cmd("a"))).toEqual(first);
      expect(await c.dispatch(cmd("a"))).toEqual({ status: "failed", reason: "already dispatched (a)" });
      expect(await c.dispatch(cmd("b"))).toEqual(first);
      expect(d.calls).toEqual(["a", "b"]);
    }
  });

  test("remembers the newest MAX_REMEMBERED ids", async () => {
    const d = device({ status: "completed" });
    const c = atMostOnce(d.c);
    for (let i = 0; i <= MAX_REMEMBERED; i++) await c.dispatch(cmd(`id${i}`));
    expect((await c.dispatch(cmd(`id${MAX_REMEMBERED}`))).status).toBe("failed");
    expect((await c.dispatch(cmd("id1"))).status).toBe("failed");
    // the oldest was forgotten: the runtime's own records (results, restart recovery) cover it
    expect((await c.dispatch(cmd("id0"))).status).toBe("completed");
    expect(d.calls.length).toBe(MAX_REMEMBERED + 2);
  });
});
