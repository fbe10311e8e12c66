// A patch of kafkajs 2.2.4 (unmaintained since 2023) applied when the workers are bundled
// (bundle.ts): its producer groups a request's messages per partition by copying the partition's
// array for every message (`[...current, message]`), 1.4 µs a message at 1,000 messages and 4 µs
// at 10,000; a rule worker produces one or more outputs per input. This is the same grouping
// (same object, partitions in first-seen order, messages in order) in linear time. The test
// (test/unit/deploy/kafkajs-patch.test.ts) runs both on random messages and compares.

/** the module path the patch replaces, inside the kafkajs package */
export const GROUP_MESSAGES_MODULE = /[\\/]kafkajs[\\/]src[\\/]producer[\\/]groupMessagesPerPartition\.js$/;

/** the replacement module's source (CommonJS, as the original) */
export const GROUP_MESSAGES_LINEAR = `module.exports = ({ topic, partitionMetadata, messages, partitioner }) => {
  if (partitionMetadata.length === 0) {
    return {}
  }
  const result = {}
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message })
    const current = result[partition]
    if (current === undefined) result[partition] = [message]
    else current.push(message)
  }
  return result
}
`;
