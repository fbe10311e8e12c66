// Child of crash.test.ts: an embedded runtime ingesting batches forever; after each ingest
// returns (the batch is durable) it prints the number of inputs acknowledged so far.
// argv: <bundle.mjs> <ir.json> <log dir>
import * as fs from "node:fs";
import { inputRecords } from "./gen.mjs";

const [bundle, irPath, dir] = process.argv.slice(2);
const { EmbeddedRuntime, SqliteLog } = await import(bundle);
const program = JSON.parse(fs.readFileSync(irPath, "utf8"));
const log = SqliteLog.open(dir);
const rt = new EmbeddedRuntime({ program, log });
// resume after the inputs already on the log
const done = [...log.read({ topic: "ofa_assets" })].filter((r) => ["temperature", "execution", "clock"].includes(r.value.ID)).length;
const gen = inputRecords();
for (let i = 0; i < done; i++) gen.next();
let acked = done;
for (let b = 0; ; b++) {
  const size = 1 + ((b * 37) % 40);
  const batch = [];
  for (let i = 0; i < size; i++) batch.push(gen.next().value);
  rt.ingest(batch);
  acked += size;
  fs.writeSync(1, `${acked}\n`);
}
