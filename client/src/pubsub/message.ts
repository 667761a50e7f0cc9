import { ENVELOPE_MAGIC, type Envelope, MESSAGE_ENVELOPE_VERSION } from '../codecs/index.ts';

/**
 * A pub/sub message on the wire: envelope version 3, a message id (publisher id + sequence number) then the codec's
 * payload, so subscribers can drop a second copy of the same message (dedup-window.ts).
 *
 * | offset | bytes | field |
 * | --- | --- | --- |
 * | 0 | 1 | 0xf5 (ENVELOPE_MAGIC) |
 * | 1 | 1 | 3 (MESSAGE_ENVELOPE_VERSION) |
 * | 2 | 1 | codec id of the payload |
 * | 3 | 8 | publisher id: random per PubSub instance |
 * | 11 | 8 | sequence number, float64 LE, 1, 2, 3, ... per publisher and channel |
 * | 19 | rest | the message, encoded by the codec |
 *
 * Messages in envelope version 1 (written before message ids) and plain JSON text are still read, without an id.
 */

/** Bytes before the payload. */
export const MESSAGE_HEADER_BYTES = 19;
/** Bytes of a publisher id. */
export const PUBLISHER_ID_BYTES = 8;

/** A decoded message; `publisher`/`seq` are absent for messages without an id (old format, other publishers). */
export interface DecodedMessage {
  readonly value: unknown;
  readonly publisher?: string;
  readonly seq?: number;
}

/** Encodes `value` with a message id (E_CODEC / E_OVERSIZE like any value). */
export function encodeMessage(
  envelope: Envelope,
  value: unknown,
  channel: string,
  publisher: Buffer,
  seq: number,
): Buffer {
  const payload = envelope.encodePayload(value, channel);
  const out = Buffer.allocUnsafe(envelope.checkSize(MESSAGE_HEADER_BYTES + payload.length, channel));
  out[0] = ENVELOPE_MAGIC;
  out[1] = MESSAGE_ENVELOPE_VERSION;
  out[2] = envelope.codec.id;
  publisher.copy(out, 3, 0, PUBLISHER_ID_BYTES);
  out.writeDoubleLE(seq, 11);
  payload.copy(out, MESSAGE_HEADER_BYTES);
  return out;
}

/** True when `bytes` carry a message id (envelope version 3). */
export function hasMessageId(bytes: Buffer): boolean {
  return bytes.length >= MESSAGE_HEADER_BYTES && bytes[0] === ENVELOPE_MAGIC && bytes[1] === MESSAGE_ENVELOPE_VERSION;
}

/** Decodes a version 3 message (check `hasMessageId` first); E_CODEC names the channel on a bad payload. */
export function decodeMessage(envelope: Envelope, bytes: Buffer, channel: string): Required<DecodedMessage> {
  const codec = envelope.codecFor(bytes[2] as number, channel);
  return {
    publisher: bytes.toString('hex', 3, 3 + PUBLISHER_ID_BYTES),
    seq: bytes.readDoubleLE(11),
    value: envelope.decodePayload(codec, bytes, MESSAGE_HEADER_BYTES, channel),
  };
}
