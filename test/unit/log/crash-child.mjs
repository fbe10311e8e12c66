// Child of crash.test.ts: appends batches to a SqliteLog forever and prints, after each append
// returns (i.e. is acknowledged as durable), the last offset of the batch. The parent SIGKILLs it.
// argv: <bundled sqlite.mjs> <log dir>
import * as fs from "node:fs";

const [bundle, dir] = process.argv.slice(2);
const { SqliteLog } = await import(bundle);
const log = SqliteLog.open(dir);
let n = log.endOffset("ofa_assets");
let rnd = 12345 + n;
const next = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648);
for (;;) {
  const size = 1 + (next() % 200);
  const batch = [];
  for (let i = 0; i < size; i++, n++) {
    batch.push({
      topic: "ofa_assets",
      key: "M-" + (n % 7),
      ts: 1795161600000 + n,
      value: { ID: "temperature", VALUE: String(n), TAG: "degC", TYPE: "Samples", attributes: { timestamp: new Date(1795161600000 + n).toISOString() }, pad: "x".repeat(n % 300) },
    });
  }
  const out = log.append(batch);
  if (out[out.length - 1].offset !== n - 1) throw new Error(`offset ${out[out.length - 1].offset} != ${n - 1}`);
  fs.writeSync(1, `${n - 1}\n`);
}
