// `ofl record [PATH] [--data DIR | --kafka HOST:PORT [--partition N]] [--since T] [--until T] > FILE`
import { closeSync, existsSync, openSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { Archive } from "../log/archive.js";
import { SqliteLog } from "../log/sqlite.js";
import { sessionLine, writeSessionSync } from "../replay/session.js";
import { writeBinarySessionSync } from "../replay/binary.js";
import { eventTime } from "../log/common.js";
import { mergedOrder } from "../wire/merge.js";
import { ASSETS_TOPIC, DEADLETTER_TOPIC, classify, isoTime, parseTime } from "../wire/records.js";
import type { LogRecord } from "../wire/types.js";
import { counted, displayPath, durationMs, kafkaErrorText, kafkaSecurity, plural, progressLine, UsageError, type Command } from "./common.js";
import { defaultDataDir } from "./run.js";


export const recordCommand: Command = {
  name: "record",
  summary: "write a session file (OFL form) from the embedded log or a Kafka topic",
  help: `Usage: ofl record [PATH] [--data DIR | --kafka HOST:PORT [--partition N]] [--topic T] [--since T] [--until T] [--format jsonl|binary] [--out FILE]

Writes the records of a log as a session file in the OFL form (wire.md §4), to standard
output or --out FILE: the embedded log in DIR (default: .ofl/data in the project PATH or the
working directory's project, where \`ofl run\` writes), or a Kafka topic
(default ofa_assets) of a running deployment or OpenFactory cluster. Replay it with
\`ofl test --replay FILE\`. A partitioned ofa_assets is recorded whole, its partitions in the
order the cross worker merges them, or one partition with --partition N; the session's header
says which, so that \`ofl test --replay\` decides it as the rule workers and the cross worker did.

T is an ISO-8601 UTC time (2026-11-20T08:00:00Z) or a duration back from now (90s, 15m,
1h, 2d). Records are selected by event time (attributes.timestamp, else the record time), both
ends included, and written in log order. From Kafka, --since skips the records received more
than a day before it (Kafka's record timestamps): only those are read.

Options:
  --data DIR          the embedded log folder (default: the project's .ofl/data)
  --kafka HOST:PORT   Kafka bootstrap brokers, comma-separated (a secured cluster: TLS and SASL
                      from $OFL_KAFKA_TLS, $OFL_KAFKA_CA, $OFL_KAFKA_SASL_MECHANISM,
                      $OFL_KAFKA_USERNAME, $OFL_KAFKA_PASSWORD: docs/deploy.md)
  --topic T           the topic (default ofa_assets); ofl_deadletter: the dead letters, with
                      their reasons (the embedded log holds these two)
  --partition N       with --kafka: one partition only (default: all of them)
  --since T           first event time
  --until T           last event time
  --format F          jsonl (default: the OFL form, JSON Lines) or binary (a compact columnar
                      form that replays much faster; docs/session-binary.md). Every command
                      that reads sessions recognises either.
  --out FILE          write to FILE instead of standard output
  -h, --help          show this help

A damaged record of the embedded log (a value that is not JSON: a torn write) is skipped with
a warning on standard error naming its seq and offset; everything readable is written.

Exit codes: 0 success (also when damaged records were skipped: see the warning), 1 Kafka cannot
be read, 2 bad usage or no log in DIR.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        data: { type: "string" },
        kafka: { type: "string" },
        topic: { type: "string" },
        partition: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        out: { type: "string" },
        format: { type: "string" },
      },
    });
    const format = values.format ?? "jsonl";
    if (format !== "jsonl" && format !== "binary") throw new UsageError(`--format: ${format} is neither jsonl nor binary`);
    if (format === "binary" && !values.out && process.stdout.isTTY) throw new UsageError("--format binary: standard output is a terminal; give --out FILE or redirect it");
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
    if (values.data && values.kafka) throw new UsageError("give one of --data DIR or --kafka HOST:PORT, not both");
    if (!values.data && !values.kafka) {
      values.data = defaultDataDir(resolve(io.cwd, positionals[0] ?? "."));
      if (!existsSync(values.data)) throw new UsageError(`no log in ${displayPath(io, values.data)}: run the plant with \`ofl run\` first, or give --data DIR or --kafka HOST:PORT`);
    }
    const embeddedTopics = [ASSETS_TOPIC, DEADLETTER_TOPIC];
    if (values.topic !== undefined && !values.kafka && !embeddedTopics.includes(values.topic))
      throw new UsageError(`--topic: the embedded log holds ${embeddedTopics.join(" and ")}, not ${values.topic}`);
    if (values.partition !== undefined && !values.kafka) throw new UsageError("--partition goes with --kafka");
    const partition = values.partition === undefined ? undefined : Number(values.partition);
    if (partition !== undefined && (!Number.isInteger(partition) || partition < 0)) throw new UsageError(`--partition: ${values.partition} is not a partition number (0, 1, …)`);
    const since = values.since === undefined ? undefined : timeArg("--since", values.since);
    const until = values.until === undefined ? undefined : timeArg("--until", values.until);
    const inRange = (r: LogRecord): boolean => {
      const t = eventTime(r.value, r.ts); // what the live log's readByTime filters on
      return (since === undefined || t >= since) && (until === undefined || t <= until);
    };
    const write = (records: Iterable<LogRecord>, program: string, partitioned?: { partition?: number; partitions: number }): void => {
      const fd = values.out ? openSync(resolve(io.cwd, values.out), "w") : 1;
      try {
        const header = { program, recorded: isoTime(Date.now()), ...partitioned };
        const line = progressLine(io, "ofl record");
        const counting = counted(records, line, "records written");
        const n = format === "binary" ? writeBinarySessionSync(counting, fd, header, sessionLine) : writeSessionSync(counting, fd, header);
        line.done();
        io.err(`ofl record: ${plural(n, "record")}${values.out ? ` written to ${values.out}` : ""}\n`);
      } finally {
        if (values.out) closeSync(fd);
      }
    };
    if (values.kafka) {
      const topic = values.topic ?? ASSETS_TOPIC;
      const { KafkaLog } = await import("../log/kafka.js");
      // retries as `ofl deploy`'s, one more: a broker that is not there is said in about 5 s (kafkajs's default retries took 31 s)
      const log = new KafkaLog({ brokers: values.kafka.split(",").map((b) => b.trim()), clientId: "ofl-record", client: { retry: { retries: 4, initialRetryTime: 300 }, ...kafkaSecurity() } });
      try {
        const partitions = await log.partitions(topic);
        if (partition !== undefined && partition >= partitions) {
          io.err(`ofl record: ${topic} has ${partitions} partition${partitions === 1 ? "" : "s"}: there is no partition ${partition}\n`);
          return 2;
        }
        // a partitioned topic without --partition: every partition, in the order the cross stage
        // merges them (runtime/wire/merge.ts), so a replay reads it with little held back
        const which = partition !== undefined ? [partition] : Array.from({ length: partitions }, (_, p) => p);
        // only the selected records are kept (a cluster's topic may hold weeks; a shift is asked for);
        // with --since, reading starts at the records stamped SINCE_MARGIN before it (Kafka's
        // offsets-for-times: the record timestamp is when the record was received, and an event
        // later than that by more than the margin would have been dead-lettered `future_time`)
        const start = since === undefined ? undefined : await log.offsetsAt(topic, since - SINCE_MARGIN_MS);
        const selected: LogRecord[] = [];
        const reading = progressLine(io, "ofl record");
        let read = 0;
        let shown = 0;
        for (const p of which)
          await log.scanRange({ topic, partition: p, from: start?.get(p) ?? 0, onBatch: (recs) => {
              for (const r of recs) if (inRange(r)) selected.push(r);
              read += recs.length;
              if (Date.now() - shown >= 200) (shown = Date.now()), reading.show(`${read.toLocaleString("en-US")} records read, ${selected.length.toLocaleString("en-US")} selected`);
            } });
        reading.done();
        if (start) io.err(`ofl record: ${plural(read, "record")} read, from the first stamped a day before --since\n`);
        const whole = partitions > 1 && partition === undefined;
        write(
          whole ? mergedOrder(selected, partitions, (r) => ({ partition: r.partition, ev: classify(r) })) : selected,
          "kafka",
          partitions > 1 ? { ...(partition !== undefined ? { partition } : {}), partitions } : undefined,
        );
      } catch (e) {
        io.err(`ofl record: cannot read ${topic} from ${values.kafka}: ${kafkaErrorText(e as Error)}\n`);
        return 1;
      } finally {
        await log.close();
      }
      return 0;
    }
    const dir = resolve(io.cwd, values.data!);
    let log: SqliteLog;
    const damaged: string[] = [];
    try {
      log = SqliteLog.open(dir, { readonly: true, onCorrupt: (c) => damaged.push(`seq ${c.seq} (${c.topic} offset ${c.offset}: ${c.why})`) });
    } catch (e) {
      throw new UsageError(`cannot open the log in ${dir}: ${(e as Error).message}`);
    }
    try {
      // what retention moved to the archive first (runtime/log/archive.ts), then the live log
      const archive = new Archive(dir);
      const from = archive.endSeq();
      const topic = values.topic ?? ASSETS_TOPIC;
      const all = function* (): Generator<LogRecord> {
        for (const r of archive.records(topic)) if (inRange(r)) yield r;
        for (const r of log.readByTime({ topic, fromMs: since, toMs: until })) if (r.seq! >= from) yield r;
      };
      write(all(), log.meta("program") ?? "ofl");
      if (damaged.length > 0)
        io.err(
          `ofl record: warning: ${damaged.length} damaged record${damaged.length === 1 ? "" : "s"} skipped (not JSON): ${damaged.slice(0, 10).join("; ")}${damaged.length > 10 ? `; and ${damaged.length - 10} more` : ""}. Everything readable was written. \`ofl run --repair\` removes the damaged part of the log (keeping a copy).\n`,
        );
      return 0;
    } finally {
      log.close();
    }
  },
};

/** How far before --since a Kafka topic is read (by record timestamp): events stamped further ahead of their record are dead-lettered (`future_tolerance`, 5 min by default). */
export const SINCE_MARGIN_MS = 24 * 3600_000;

/** An ISO time, or a duration back from the wall clock (the CLI may read it; the engine never does). */
function timeArg(flag: string, s: string): number {
  const back = durationMs(s);
  if (back !== undefined) return Date.now() - back;
  const t = parseTime(s.replace(/^@/, ""));
  if (t === null) throw new UsageError(`${flag}: ${s} is neither an ISO-8601 time nor a duration such as 1h`);
  return t;
}
