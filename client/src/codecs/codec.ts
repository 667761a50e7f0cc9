/**
 * A codec turns values into bytes and back. Its `id` is written into every envelope, so values written by one codec
 * are always read by that codec, even after the client's configured codec changes.
 */
export interface Codec {
  /** 1..255, unique among registered codecs; stored in the envelope. */
  readonly id: number;
  /** Human name for errors and docs. */
  readonly name: string;
  encode(value: unknown): Buffer;
  decode(bytes: Buffer): unknown;
  /** Optional: decodes `bytes` from `offset` without slicing (saves an allocation per read). */
  decodeFrom?(bytes: Buffer, offset: number): unknown;
}
