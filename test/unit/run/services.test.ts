// ofl.json services (runtime/run/services.ts): a service that dies before it is ready is
// reported by the line that says why, not by the Node version printed after the stack.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { lastWords, startServices, stopServices } from "../../../runtime/run/services.js";

const dir = mkdtempSync(join(tmpdir(), "ofl-services-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("a service that crashes before it is ready is named with its error line", async () => {
  // a copied example outside the repository: its package cannot be found
  writeFileSync(join(dir, "demo.mjs"), 'import "no-such-package-for-ofl";\nconsole.log("listening on");\n');
  const said: string[] = [];
  const running = await startServices([{ name: "demo", command: ["node", "demo.mjs"], ready: "listening on" }], dir, (m) => said.push(m));
  await stopServices(running);
  expect(said).toHaveLength(2);
  expect(said[1]).toBe("service demo is not ready; the plant runs without it");
  expect(said[0]).toMatch(/^service demo exited \(1\) before it was ready: Error \[ERR_MODULE_NOT_FOUND\]: Cannot find package 'no-such-package-for-ofl' imported from /);
});

it("a service outside the checkout requires ofl's own packages (NODE_PATH), as examples/cnc-cell's OPC UA helper does", async () => {
  // the demo server's way: require through createRequire, which honours NODE_PATH (import does not)
  writeFileSync(
    join(dir, "helper.mjs"),
    'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\nconst { OPCUAServer } = require("node-opcua-server");\nconsole.log(typeof OPCUAServer === "function" ? "listening on" : "no server");\n',
  );
  const said: string[] = [];
  const running = await startServices([{ name: "helper", command: ["node", "helper.mjs"], ready: "listening on" }], dir, (m) => said.push(m));
  await stopServices(running);
  expect(said).toEqual([`service helper started (pid ${running[0]!.child.pid})`]);
});

it("without an error line, the last two lines", () => {
  expect(lastWords("starting\nport 4841 in use\ngiving up\n")).toBe("port 4841 in use / giving up");
  expect(lastWords("boot\nerror: no licence file\nbye\n")).toBe("error: no licence file");
});
