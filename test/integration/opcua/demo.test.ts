// examples/cnc-cell/opcua-demo-server.mjs as `ofl run` starts it: a child process that prints its
// endpoint, serves the bindings written in its header, and exits 0 on SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { freePort } from "../../support/ports.js";
import { fileURLToPath } from "node:url";
import { afterAll, expect, test } from "vitest";
import { opcuaConnector } from "../../../runtime/connectors/opcua.js";
import { fakeCtx, MILL_MODEL, waitFor } from "./harness.js";
import { compile } from "../../../compiler/index.js";

const script = fileURLToPath(new URL("../../../examples/cnc-cell/opcua-demo-server.mjs", import.meta.url));
let child: ChildProcess | undefined;
afterAll(() => void child?.kill("SIGKILL"));


test("the demo server: endpoint printed, header bindings served, Stop obeyed, clean exit on SIGTERM", async () => {
  const port = await freePort();
  const t0 = Date.now();
  child = spawn(process.execPath, [script, String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const line = await waitFor("the endpoint line", () => /listening on (opc\.tcp:\/\/\S+)/.exec(out), 30_000);
  expect(line[1]).toBe(`opc.tcp://127.0.0.1:${port}`);
  const startMs = Date.now() - t0;

  // the bindings of the script's header comment, as written
  const header = readFileSync(script, "utf8");
  const source = header
    .split("\n")
    .filter((l) => l.startsWith("//   "))
    .map((l) => l.slice(5))
    .join("\n");
  const block = source.slice(source.indexOf("source opcua("));
  const text = `${MILL_MODEL}\nasset mill: Mill {\n  uuid "DEMO-1"\n  ${block.replace("opc.tcp://127.0.0.1:4840", line[1]!)}\n}\n`;
  const r = compile([{ path: "demo.ofl", text }], { name: "demo" });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const ir = r.ir!;
  const col = fakeCtx(ir, "mill");
  const conn = opcuaConnector(col.ctx);
  await conn.start();
  await waitFor("all four signals", () => ["temperature", "execution", "spindle_speed", "part_count"].every((s) => col.of(s).length > 0));
  expect(Number(col.of("temperature").at(-1)!.VALUE)).toBeGreaterThan(0);
  const stop = ir.assets[0]!.sources[0]!.bindings.find((b) => b.target === "stop")!;
  const res = await conn.dispatch({ command: "stop", args: {}, params: [], correlationId: "demo-stop", binding: stop });
  expect(res).toEqual({ status: "completed", result: [] });
  await waitFor("STOPPED (3)", () => col.of("execution").at(-1)?.VALUE === "3");
  await conn.stop();

  const exit = new Promise<number | null>((done) => child!.once("exit", (code) => done(code)));
  child.kill("SIGTERM");
  expect(await exit).toBe(0);
  // start-up time, for the record (the target, < 2 s, is for an idle machine)
  console.log(`demo server ready in ${startMs} ms`);
}, 60_000);
