import { invalidOption, SlotforgeError } from '../core/index.ts';
import type { Codec } from './codec.ts';
import { jsonCodec } from './json.ts';
import { msgpackCodec } from './msgpack.ts';

/**
 * The versioned envelope around every stored value: `[MAGIC, ENVELOPE_VERSION, codecId, ...payload]`.
 * Version 2 (ENTRY_ENVELOPE_VERSION) is a cache entry: a binary header with the entry's metadata, then the value's
 * payload (cache/entry.ts); `decode` refuses it with a message that says so.
 * A reader picks the decoder from the codec id in the value, not from its own configuration, so switching the codec
 * (json -> msgpack) never misreads old values: both stay readable and new writes use the new codec. A value without
 * the magic byte (written by another tool, or by the seed CacheManager) is an E_CODEC error, unless `legacyJson` is
 * set, which reads such values as plain JSON text during a migration.
 */

/** First byte of every envelope; chosen so a JSON text (which starts with an ASCII character) can never match. */
export const ENVELOPE_MAGIC = 0xf5;
/** Envelope format version of a plain value. */
export const ENVELOPE_VERSION = 1;
/** Envelope format version of a cache entry (binary metadata header, then the value; see cache/entry.ts). */
export const ENTRY_ENVELOPE_VERSION = 2;
/** Envelope format version of a cache entry with the compact 16-byte header (written since issue 16; cache/entry.ts). */
export const COMPACT_ENTRY_ENVELOPE_VERSION = 4;
/** Envelope format version of a pub/sub message with a message id (see pubsub/message.ts). */
export const MESSAGE_ENVELOPE_VERSION = 3;
/** Header length in bytes. */
export const ENVELOPE_HEADER_BYTES = 3;

/** Built-in codecs by name. */
export const CODECS = { json: jsonCodec, msgpack: msgpackCodec } as const;

/** Options of an Envelope. */
export interface EnvelopeOptions {
  /** Codec for new writes: 'json' | 'msgpack' or a custom Codec. @default 'json' */
  readonly codec?: keyof typeof CODECS | Codec;
  /** Largest encoded value accepted, in bytes. @default 1_048_576 (1 MiB) */
  readonly maxValueBytes?: number;
  /** Extra codecs that may have written existing values. */
  readonly codecs?: readonly Codec[];
  /** Read values without an envelope as plain JSON text (migration from unversioned writers). @default false */
  readonly legacyJson?: boolean;
}

/** Encodes and decodes enveloped values. */
export class Envelope {
  readonly codec: Codec;
  readonly maxValueBytes: number;
  readonly #byId = new Map<number, Codec>();
  readonly #legacyJson: boolean;

  constructor(options: EnvelopeOptions = {}) {
    const codec = options.codec ?? 'json';
    if (typeof codec === 'string') {
      const builtIn = CODECS[codec];
      if (!builtIn) throw invalidOption('codec', `'json', 'msgpack' or a Codec`, codec);
      this.codec = builtIn;
    } else {
      if (!codec || typeof codec.encode !== 'function' || typeof codec.decode !== 'function') {
        throw invalidOption('codec', `'json', 'msgpack' or a Codec`, codec);
      }
      this.codec = codec;
    }
    for (const c of [jsonCodec, msgpackCodec, ...(options.codecs ?? []), this.codec]) {
      if (!Number.isInteger(c.id) || c.id < 1 || c.id > 255)
        throw invalidOption(`codec ${c.name} id`, 'an integer between 1 and 255', c.id);
      const existing = this.#byId.get(c.id);
      if (existing && existing !== c) {
        throw invalidOption(`codec ${c.name} id`, `unique (codec ${existing.name} already uses it)`, c.id);
      }
      this.#byId.set(c.id, c);
    }
    const max = options.maxValueBytes ?? 1_048_576;
    if (!Number.isInteger(max) || max < 16) throw invalidOption('maxValueBytes', 'an integer >= 16', max);
    this.maxValueBytes = max;
    this.#legacyJson = options.legacyJson ?? false;
  }

  /** Encodes `value` with the configured codec; E_CODEC when it cannot be encoded, E_OVERSIZE when too large. */
  encode(value: unknown, key?: string): Buffer {
    const payload = this.encodePayload(value, key);
    const size = this.checkSize(payload.length + ENVELOPE_HEADER_BYTES, key);
    const out = Buffer.allocUnsafe(size);
    out[0] = ENVELOPE_MAGIC;
    out[1] = ENVELOPE_VERSION;
    out[2] = this.codec.id;
    payload.copy(out, ENVELOPE_HEADER_BYTES);
    return out;
  }

  /** The configured codec's bytes for `value`, without a header; E_CODEC when it cannot be encoded. */
  encodePayload(value: unknown, key?: string): Buffer {
    try {
      return this.codec.encode(value);
    } catch (cause) {
      throw new SlotforgeError(
        'E_CODEC',
        `cannot encode the value${key ? ` of '${key}'` : ''} with ${this.codec.name}: ${(cause as Error).message}`,
        { key, cause },
      );
    }
  }

  /** Returns `size` (bytes of a whole stored value); E_OVERSIZE when it is over maxValueBytes. */
  checkSize(size: number, key?: string): number {
    if (size > this.maxValueBytes) {
      throw new SlotforgeError(
        'E_OVERSIZE',
        `value${key ? ` of '${key}'` : ''} is ${size} bytes encoded, over maxValueBytes ${this.maxValueBytes}; store it elsewhere or raise maxValueBytes`,
        { key, option: 'maxValueBytes', received: size },
      );
    }
    return size;
  }

  /** The registered codec with `id`; E_CODEC naming the id when there is none. */
  codecFor(id: number, key?: string): Codec {
    const codec = this.#byId.get(id);
    if (codec) return codec;
    throw new SlotforgeError(
      'E_CODEC',
      `value${key ? ` of '${key}'` : ''} was written by codec id ${id}, which is not registered (pass it in codecs)`,
      { key, received: id },
    );
  }

  /** Decodes `codec`'s payload that starts at `offset` of `bytes`; E_CODEC names the key and the cause. */
  decodePayload(codec: Codec, bytes: Buffer, offset: number, key?: string): unknown {
    try {
      return codec.decodeFrom ? codec.decodeFrom(bytes, offset) : codec.decode(bytes.subarray(offset));
    } catch (cause) {
      throw new SlotforgeError(
        'E_CODEC',
        `cannot decode the value${key ? ` of '${key}'` : ''} with ${codec.name}: ${(cause as Error).message}`,
        { key, cause },
      );
    }
  }

  /** True when `bytes` start like an envelope (magic byte) with this version. */
  static isVersion(bytes: Buffer, version: number): boolean {
    return bytes.length >= ENVELOPE_HEADER_BYTES && bytes[0] === ENVELOPE_MAGIC && bytes[1] === version;
  }

  /** Decodes an enveloped value; E_CODEC names the key and what was wrong. */
  decode(bytes: Buffer, key?: string): unknown {
    const where = key ? ` of '${key}'` : '';
    if (bytes.length < ENVELOPE_HEADER_BYTES || bytes[0] !== ENVELOPE_MAGIC) {
      if (this.#legacyJson) {
        try {
          return JSON.parse(bytes.toString());
        } catch (cause) {
          throw new SlotforgeError('E_CODEC', `value${where} is neither an envelope nor JSON`, { key, cause });
        }
      }
      throw new SlotforgeError(
        'E_CODEC',
        `value${where} was not written by this client (no envelope); set legacyJson to read plain JSON`,
        {
          key,
          received: bytes.subarray(0, 8).toString('hex'),
        },
      );
    }
    if (bytes[1] !== ENVELOPE_VERSION) {
      throw new SlotforgeError(
        'E_CODEC',
        bytes[1] === ENTRY_ENVELOPE_VERSION || bytes[1] === COMPACT_ENTRY_ENVELOPE_VERSION
          ? `value${where} is a cache entry (envelope version ${bytes[1]}): read it with the cache API (get, getOrSet)`
          : bytes[1] === MESSAGE_ENVELOPE_VERSION
            ? `value${where} is a pub/sub message (envelope version ${MESSAGE_ENVELOPE_VERSION}): read it with the pub/sub API`
            : `value${where} has envelope version ${bytes[1]}; this client reads versions ${ENVELOPE_VERSION} and ${ENTRY_ENVELOPE_VERSION}`,
        { key, received: bytes[1] },
      );
    }
    return this.decodePayload(this.codecFor(bytes[2] as number, key), bytes, ENVELOPE_HEADER_BYTES, key);
  }
}
