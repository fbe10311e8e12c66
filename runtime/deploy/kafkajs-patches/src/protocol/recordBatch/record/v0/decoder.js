// OFL's patch of kafkajs 2.2.4 (MIT licence, © the KafkaJS authors): this file replaces
// kafkajs/src/protocol/recordBatch/record/v0/decoder.js in the bundled workers, which read every
// record of their partitions (their own outputs included). kafkajs's own decoder reads each
// record's timestamp delta as a BigInt Long built byte by byte, adds the batch's first offset and
// first timestamp through BigInt Longs parsed from strings, and builds the headers object by
// copying it once per header. Here the delta is read as a number when its varlong fits in 7 bytes,
// the first offset and timestamp are parsed once per batch, the sums are taken as numbers when
// they are safe integers (the same decimal strings), and the headers are gathered in one object;
// anything else (a longer varlong, an unsafe sum, a header named __proto__) takes kafkajs's own
// path. The result is the same message object; test/unit/deploy/kafkajs-patch.test.ts compares
// the two on random records.
const Long = require('../../../../utils/long')
const HeaderDecoder = require('../../header/v0/decoder')
const TimestampTypes = require('../../../timestampTypes')

/**
 * v0
 * Record =>
 *   Length => Varint
 *   Attributes => Int8
 *   TimestampDelta => Varlong
 *   OffsetDelta => Varint
 *   Key => varInt|Bytes
 *   Value => varInt|Bytes
 *   Headers => [HeaderKey HeaderValue]
 *     HeaderKey => VarInt|String
 *     HeaderValue => VarInt|Bytes
 */

// (OFL) the last batch's first offset and first timestamp as numbers (NaN: not a decimal integer)
const number = text => (typeof text === 'string' && /^-?[0-9]+$/.test(text) ? Number(text) : NaN)
let lastContext
let firstOffsetNumber = NaN
let firstTimestampNumber = NaN

/** (OFL) a zigzag varlong of at most 7 bytes as a number (advancing the decoder), else undefined (not advancing) */
const readShortVarLong = decoder => {
  const buf = decoder.buffer
  let at = decoder.offset
  let z = 0
  let scale = 1
  for (let i = 0; i < 7; i++) {
    const b = buf[at++]
    if (b === undefined) return undefined
    z += (b & 0x7f) * scale
    if (b < 0x80) {
      decoder.offset = at
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2
    }
    scale *= 128
  }
  return undefined
}

/** (OFL) base + delta as kafkajs's Long arithmetic writes it */
const plus = (base, baseNumber, delta) => {
  if (typeof delta === 'number') {
    const sum = baseNumber + delta
    if (Number.isSafeInteger(baseNumber) && Number.isSafeInteger(sum)) return String(sum)
  }
  return Long.fromValue(base)
    .add(delta)
    .toString()
}

module.exports = (decoder, batchContext = {}) => {
  const {
    firstOffset,
    firstTimestamp,
    magicByte,
    isControlBatch = false,
    timestampType,
    maxTimestamp,
  } = batchContext
  if (batchContext !== lastContext) {
    lastContext = batchContext
    firstOffsetNumber = number(firstOffset)
    firstTimestampNumber = number(firstTimestamp)
  }
  const attributes = decoder.readInt8()

  const short = readShortVarLong(decoder)
  const timestampDelta = short !== undefined ? short : decoder.readVarLong()
  const timestamp =
    timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp
      ? maxTimestamp
      : plus(firstTimestamp, firstTimestampNumber, timestampDelta)

  const offsetDelta = decoder.readVarInt()
  const offset = plus(firstOffset, firstOffsetNumber, offsetDelta)

  const key = decoder.readVarIntBytes()
  const value = decoder.readVarIntBytes()
  const list = decoder.readVarIntArray(HeaderDecoder)
  let headers = {}
  for (const { key, value } of list) {
    if (key === '__proto__') {
      headers = list.reduce(
        (obj, { key, value }) => ({
          ...obj,
          [key]:
            obj[key] === undefined
              ? value
              : Array.isArray(obj[key])
              ? obj[key].concat([value])
              : [obj[key], value],
        }),
        {}
      )
      break
    }
    const prev = headers[key]
    headers[key] = prev === undefined ? value : Array.isArray(prev) ? prev.concat([value]) : [prev, value]
  }

  return {
    magicByte,
    attributes, // Record level attributes are presently unused
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: isControlBatch,
    batchContext,
  }
}
