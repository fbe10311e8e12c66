// OFL's patch of kafkajs 2.2.4 (MIT licence, © the KafkaJS authors): this file replaces
// kafkajs/src/protocol/requests/produce/v3/request.js in the bundled workers (Produce v3 to v7 all
// encode through it). It is kafkajs's own file with one addition, `encodeRecordsDirect`: a
// partition's record batch without compression is written straight into one buffer, the same bytes
// as kafkajs's RecordBatch and Record encoders (which allocate and zero a 512-byte buffer for each
// record and each header, a Buffer per varint, a BigInt Long per timestamp). Anything outside the
// plain case (compression, a key or value that is not a string or a Buffer, a header value that is
// not, a timestamp delta that is not a safe integer) goes through kafkajs's own code below as
// before. test/unit/deploy/kafkajs-patch.test.ts compares the two byte for byte.
const Long = require('../../../../utils/long')
const Encoder = require('../../../encoder')
const { Produce: apiKey } = require('../../apiKeys')
const { Types } = require('../../../message/compression')
const Record = require('../../../recordBatch/record/v0')
const { RecordBatch, MAGIC_BYTE } = require('../../../recordBatch/v0')
const crc32C = require('../../../recordBatch/crc32C')

/**
 * Produce Request (Version: 3) => transactional_id acks timeout [topic_data]
 *   transactional_id => NULLABLE_STRING
 *   acks => INT16
 *   timeout => INT32
 *   topic_data => topic [data]
 *     topic => STRING
 *     data => partition record_set
 *       partition => INT32
 *       record_set => RECORDS
 */

/**
 * @param [transactionalId=null] {String} The transactional id or null if the producer is not transactional
 * @param acks {Integer} See producer request v0
 * @param timeout {Integer} See producer request v0
 * @param [compression=CompressionTypes.None] {CompressionTypes}
 * @param topicData {Array}
 */
module.exports = ({
  acks,
  timeout,
  transactionalId = null,
  producerId = Long.fromInt(-1),
  producerEpoch = 0,
  compression = Types.None,
  topicData,
}) => ({
  apiKey,
  apiVersion: 3,
  apiName: 'Produce',
  expectResponse: () => acks !== 0,
  encode: async () => {
    const encodeTopic = topicEncoder(compression)
    const encodedTopicData = []

    for (const data of topicData) {
      encodedTopicData.push(
        await encodeTopic({ ...data, transactionalId, producerId, producerEpoch })
      )
    }

    return new Encoder()
      .writeString(transactionalId)
      .writeInt16(acks)
      .writeInt32(timeout)
      .writeArray(encodedTopicData)
  },
})

const topicEncoder = compression => async ({
  topic,
  partitions,
  transactionalId,
  producerId,
  producerEpoch,
}) => {
  const encodePartitions = partitionsEncoder(compression)
  const encodedPartitions = []

  for (const data of partitions) {
    encodedPartitions.push(
      await encodePartitions({ ...data, transactionalId, producerId, producerEpoch })
    )
  }

  return new Encoder().writeString(topic).writeArray(encodedPartitions)
}

const partitionsEncoder = compression => async ({
  partition,
  messages,
  transactionalId,
  firstSequence,
  producerId,
  producerEpoch,
}) => {
  const dateNow = Date.now()
  const messageTimestamps = messages
    .map(m => m.timestamp)
    .filter(timestamp => timestamp != null)

  // (OFL) kafkajs sorts with the default comparison (as strings); skipped when already in order
  for (let i = 1; i < messageTimestamps.length; i++) {
    if (String(messageTimestamps[i - 1]) > String(messageTimestamps[i])) {
      messageTimestamps.sort()
      break
    }
  }

  const timestamps = messageTimestamps.length === 0 ? [dateNow] : messageTimestamps
  const firstTimestamp = timestamps[0]
  const maxTimestamp = timestamps[timestamps.length - 1]

  if (compression === Types.None) {
    const direct = encodeRecordsDirect(messages, dateNow, firstTimestamp)
    if (direct !== undefined) {
      return writeBatchDirect({
        partition,
        direct,
        count: messages.length,
        firstTimestamp,
        maxTimestamp,
        producerId,
        producerEpoch,
        firstSequence,
        transactional: !!transactionalId,
      })
    }
  }

  const records = messages.map((message, i) =>
    Record({
      ...message,
      offsetDelta: i,
      timestampDelta: (message.timestamp || dateNow) - firstTimestamp,
    })
  )

  const recordBatch = await RecordBatch({
    compression,
    records,
    firstTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch,
    firstSequence,
    transactional: !!transactionalId,
    lastOffsetDelta: records.length - 1,
  })

  return new Encoder()
    .writeInt32(partition)
    .writeInt32(recordBatch.size())
    .writeEncoder(recordBatch)
}

// ---------------------------------------------------------------------------------------- (OFL)

/** the size of a zigzag varint of a 32-bit integer (Encoder.sizeOfVarInt) */
const sizeOfVarInt = value => {
  let v = (value << 1) ^ (value >> 31)
  let bytes = 1
  while ((v & 0xffffff80) !== 0) {
    bytes += 1
    v >>>= 7
  }
  return bytes
}

/** a zigzag varint of a 32-bit integer (Encoder.writeVarInt) at `at`; returns the next offset */
const putVarInt = (buf, at, value) => {
  let v = (value << 1) ^ (value >> 31)
  while ((v & 0xffffff80) !== 0) {
    buf[at++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  buf[at++] = v & 0x7f
  return at
}

/** a zigzag varlong of a safe integer below 2^52 in magnitude (Encoder.writeVarLong) */
const zigzag64 = n => (n >= 0 ? n * 2 : -n * 2 - 1)
const sizeOfVarLong = n => {
  let v = zigzag64(n)
  let bytes = 1
  while (v >= 128) {
    bytes += 1
    v = Math.floor(v / 128)
  }
  return bytes
}
const putVarLong = (buf, at, n) => {
  let v = zigzag64(n)
  while (v >= 128) {
    buf[at++] = (v % 128) | 0x80
    v = Math.floor(v / 128)
  }
  buf[at++] = v
  return at
}

/** byte length of a key or value (string or Buffer; null/undefined: -1), or undefined outside the plain case */
const bytesOf = value =>
  value == null ? -1 : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : Buffer.isBuffer(value) ? value.length : undefined

/** the headers as kafkajs flattens them (an array value: one header per element), four slots each: key, value, and their byte lengths once measured */
const headerList = headers => {
  const out = []
  for (const key of Object.keys(headers)) {
    const value = headers[key]
    if (Array.isArray(value)) for (const v of value) out.push(key, v, 0, 0)
    else out.push(key, value, 0, 0)
  }
  return out
}

/**
 * The records of one batch, encoded as Record v0 would, into one buffer; undefined when a message
 * is outside the plain case (kafkajs's own encoders take it).
 */
const encodeRecordsDirect = (messages, dateNow, firstTimestamp) => {
  const n = messages.length
  const sizes = new Array(n * 4) // per record: body size, timestamp delta, key bytes, value bytes
  const headers = new Array(n) // per record: [key, value, key bytes, value bytes, …]
  let total = 0
  for (let i = 0; i < n; i++) {
    const m = messages[i]
    const delta = (m.timestamp || dateNow) - firstTimestamp
    if (!Number.isSafeInteger(delta) || Math.abs(delta) >= 2 ** 52) return undefined
    const keyBytes = bytesOf(m.key)
    const valueBytes = bytesOf(m.value)
    if (keyBytes === undefined || valueBytes === undefined) return undefined
    const hs = m.headers === undefined ? [] : headerList(m.headers)
    let headerSize = sizeOfVarInt(hs.length / 4)
    for (let h = 0; h < hs.length; h += 4) {
      const kb = typeof hs[h] === 'string' ? Buffer.byteLength(hs[h], 'utf8') : undefined
      const vb = typeof hs[h + 1] === 'string' || Buffer.isBuffer(hs[h + 1]) ? bytesOf(hs[h + 1]) : undefined
      if (kb === undefined || vb === undefined) return undefined
      hs[h + 2] = kb
      hs[h + 3] = vb
      headerSize += sizeOfVarInt(kb) + kb + sizeOfVarInt(vb) + vb
    }
    const body =
      1 +
      sizeOfVarLong(delta) +
      sizeOfVarInt(i) +
      sizeOfVarInt(keyBytes) + Math.max(keyBytes, 0) +
      sizeOfVarInt(valueBytes) + Math.max(valueBytes, 0) +
      headerSize
    sizes[4 * i] = body
    sizes[4 * i + 1] = delta
    sizes[4 * i + 2] = keyBytes
    sizes[4 * i + 3] = valueBytes
    headers[i] = hs
    total += sizeOfVarInt(body) + body
  }
  const buf = Buffer.allocUnsafe(total)
  let at = 0
  for (let i = 0; i < n; i++) {
    const m = messages[i]
    at = putVarInt(buf, at, sizes[4 * i])
    buf[at++] = 0 // attributes
    at = putVarLong(buf, at, sizes[4 * i + 1])
    at = putVarInt(buf, at, i)
    at = putBytes(buf, at, m.key, sizes[4 * i + 2])
    at = putBytes(buf, at, m.value, sizes[4 * i + 3])
    const hs = headers[i]
    at = putVarInt(buf, at, hs.length / 4)
    for (let h = 0; h < hs.length; h += 4) {
      at = putBytes(buf, at, hs[h], hs[h + 2])
      at = putBytes(buf, at, hs[h + 1], hs[h + 3])
    }
  }
  if (at !== total) throw new Error(`kafkajs patch: record batch size ${at}, expected ${total}`)
  return buf
}

/** a varint length and the bytes (string: UTF-8; null: length -1) */
const putBytes = (buf, at, value, bytes) => {
  at = putVarInt(buf, at, bytes)
  if (bytes <= 0) return at
  if (typeof value === 'string') buf.write(value, at, bytes, 'utf8')
  else value.copy(buf, at)
  return at + bytes
}

/** Partition, size and the record batch around the encoded records, as RecordBatch v0 writes them. */
const writeBatchDirect = ({ partition, direct, count, firstTimestamp, maxTimestamp, producerId = Long.fromValue(-1), producerEpoch = 0, firstSequence = 0, transactional }) => {
  const attributes = transactional ? 16 : 0 // no compression, create time, TRANSACTIONAL_MASK
  const body = new Encoder(61 + direct.length)
  body
    .writeInt16(attributes)
    .writeInt32(count - 1)
    .writeInt64(firstTimestamp)
    .writeInt64(maxTimestamp)
    .writeInt64(producerId)
    .writeInt16(producerEpoch)
    .writeInt32(firstSequence)
    .writeInt32(count)
  body.writeBufferInternal(direct)
  const bodyBytes = body.buffer
  const batchLength = 4 + 1 + 4 + bodyBytes.length // partition leader epoch, magic, crc, body
  return new Encoder(4 + 4 + 8 + 4 + batchLength)
    .writeInt32(partition)
    .writeInt32(8 + 4 + batchLength)
    .writeInt64(0) // first offset
    .writeInt32(batchLength)
    .writeInt32(0) // partition leader epoch
    .writeInt8(MAGIC_BYTE)
    .writeUInt32(crc32C(bodyBytes))
    .writeEncoder(body)
}
module.exports.encodeRecordsDirect = encodeRecordsDirect // (OFL) for test/unit/deploy/kafkajs-patch.test.ts
