// kafkajs ships no types for its murmur2 module (runtime/wire/partitions.ts imports it alone).
declare module "kafkajs/src/producer/partitioners/default/murmur2.js" {
  /** Kafka's murmur2 of a key's UTF-8 bytes (a signed 32-bit result). */
  const murmur2: (key: string | Buffer) => number;
  export default murmur2;
}
