// One Apache Kafka broker (test/services/kafka/start.ts) and a KafkaLog on it for the tests of a
// file: started before the first test, closed after the last.
import { afterAll, beforeAll } from "vitest";
import { KafkaLog } from "../../../runtime/log/kafka.js";
import { startKafka, type KafkaBroker } from "../../services/kafka/start.js";

export interface FileBroker {
  kafka: KafkaBroker;
  log: KafkaLog;
}

/** Registers the file's beforeAll/afterAll; the fields are set once beforeAll has run. */
export function brokerForFile(startTimeoutMs = 180_000): FileBroker {
  const b = {} as FileBroker;
  beforeAll(async () => {
    b.kafka = await startKafka();
    b.log = new KafkaLog({ brokers: b.kafka.brokers });
  }, startTimeoutMs);
  afterAll(async () => {
    await b.log?.close();
    await b.kafka?.close();
  });
  return b;
}
