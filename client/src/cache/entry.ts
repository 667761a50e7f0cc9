import {
  COMPACT_ENTRY_ENVELOPE_VERSION,
  ENTRY_ENVELOPE_VERSION,
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  Envelope,
} from '../codecs/index.ts';
import { SlotforgeError } from '../core/index.ts';

/**
 * What the cache stores under a key: the value plus the facts every reader needs to serve it correctly.
 *
 * Written as envelope version 4, a compact binary header then the value's codec payload, so a reader checks
 * freshness with one float read and decodes only the value (the metadata never goes through the codec). 16 bytes
 * without tags: with the JSON codec's 6-byte wrapper a 100-byte value stays in Redis' (jemalloc's) 128-byte size
 * class, like the raw JSON in its 112-byte one (issue 16: 200 vs 184 bytes per entry, where the 24-byte header of
 * version 2 cost 232):
 *
 * | offset | bytes | field |
 * | --- | --- | --- |
 * | 0 | 1 | 0xf5 (ENVELOPE_MAGIC) |
 * | 1 | 1 | 4 (COMPACT_ENTRY_ENVELOPE_VERSION) |
 * | 2 | 1 | codec id of the payload |
 * | 3 | 1 | flags: bit 0 negative (no payload), bit 1 tag versions present |
 * | 4 | 8 | freshUntil, float64 LE, epoch ms |
 * | 12 | 4 | staleUntil - freshUntil in ms, uint32 LE |
 * | 16 | 4 | only with bit 1: T = bytes of the tag versions, uint32 LE |
 * | 16 or 20 | T | tag versions as JSON text `[[tag, version], ...]` |
 * | then | rest | the value, encoded by the codec |
 *
 * An entry whose stale window is not a whole number of ms below 2^32 (about 49 days) is written as version 2:
 *
 * | offset | bytes | field |
 * | --- | --- | --- |
 * | 0 | 1 | 0xf5 (ENVELOPE_MAGIC) |
 * | 1 | 1 | 2 (ENTRY_ENVELOPE_VERSION) |
 * | 2 | 1 | codec id of the payload |
 * | 3 | 1 | kind: 0 value, 1 negative (no payload) |
 * | 4 | 8 | freshUntil, float64 LE, epoch ms |
 * | 12 | 8 | staleUntil, float64 LE, epoch ms |
 * | 20 | 4 | T = bytes of the tag versions, uint32 LE (0: no tags) |
 * | 24 | T | tag versions as JSON text `[[tag, version], ...]` |
 * | 24 + T | rest | the value, encoded by the codec |
 *
 * Entries written as envelope version 1 (`[kind, value, freshUntil, staleUntil, tags]` through the codec) stay
 * readable.
 */
export interface Entry<T = unknown> {
  /** The cached value; `undefined` for a negative entry. */
  readonly value: T;
  /** True when the loader found nothing and the absence itself is cached (negative caching). */
  readonly negative: boolean;
  /** Until when (epoch ms, writer's clock) the value is fresh. */
  readonly freshUntil: number;
  /** Until when it may be served stale (SWR or grace); Redis expires the key at this time (PX). */
  readonly staleUntil: number;
  /** Tag versions seen when the value was loaded: `[tag, version]`; a newer version invalidates the entry. */
  readonly tags: readonly (readonly [string, number])[];
}

/** Entry kinds on the wire. */
const VALUE = 0;
const NEGATIVE = 1;
/** Bytes before the tag versions (version 2). */
export const ENTRY_HEADER_BYTES = 24;
/** Bytes of the compact header without tags (version 4). */
export const COMPACT_ENTRY_HEADER_BYTES = 16;
const FLAG_NEGATIVE = 1;
const FLAG_TAGS = 2;
const MAX_STALE_MS = 0xffff_ffff;
const NO_TAGS: readonly (readonly [string, number])[] = Object.freeze([]);
const NO_BYTES = Buffer.alloc(0);

/** Encodes an entry for Redis (E_CODEC when the value cannot be encoded, E_OVERSIZE when too large). */
export function encodeEntry(envelope: Envelope, entry: Entry, key: string): Buffer {
  const payload = entry.negative ? NO_BYTES : envelope.encodePayload(entry.value, key);
  const tags = entry.tags.length === 0 ? NO_BYTES : Buffer.from(JSON.stringify(entry.tags));
  const staleMs = entry.staleUntil - entry.freshUntil;
  if (Number.isInteger(staleMs) && staleMs >= 0 && staleMs <= MAX_STALE_MS) {
    const at = COMPACT_ENTRY_HEADER_BYTES + (tags.length > 0 ? 4 : 0);
    const out = Buffer.allocUnsafe(envelope.checkSize(at + tags.length + payload.length, key));
    out[0] = ENVELOPE_MAGIC;
    out[1] = COMPACT_ENTRY_ENVELOPE_VERSION;
    out[2] = envelope.codec.id;
    out[3] = (entry.negative ? FLAG_NEGATIVE : 0) | (tags.length > 0 ? FLAG_TAGS : 0);
    out.writeDoubleLE(entry.freshUntil, 4);
    out.writeUInt32LE(staleMs, 12);
    if (tags.length > 0) out.writeUInt32LE(tags.length, 16);
    tags.copy(out, at);
    payload.copy(out, at + tags.length);
    return out;
  }
  const out = Buffer.allocUnsafe(envelope.checkSize(ENTRY_HEADER_BYTES + tags.length + payload.length, key));
  out[0] = ENVELOPE_MAGIC;
  out[1] = ENTRY_ENVELOPE_VERSION;
  out[2] = envelope.codec.id;
  out[3] = entry.negative ? NEGATIVE : VALUE;
  out.writeDoubleLE(entry.freshUntil, 4);
  out.writeDoubleLE(entry.staleUntil, 12);
  out.writeUInt32LE(tags.length, 20);
  tags.copy(out, ENTRY_HEADER_BYTES);
  payload.copy(out, ENTRY_HEADER_BYTES + tags.length);
  return out;
}

function notAnEntry(key: string, why: string): SlotforgeError {
  return new SlotforgeError('E_CODEC', `value of '${key}' is not a cache entry: ${why}`, { key });
}

/** Decodes an entry; E_CODEC names the key and what was wrong when the bytes are not one. */
export function decodeEntry<T>(envelope: Envelope, bytes: Buffer, key: string): Entry<T> {
  if (
    bytes.length >= COMPACT_ENTRY_HEADER_BYTES &&
    bytes[0] === ENVELOPE_MAGIC &&
    bytes[1] === COMPACT_ENTRY_ENVELOPE_VERSION
  ) {
    return decodeCompact(envelope, bytes, key);
  }
  if (bytes.length < ENTRY_HEADER_BYTES || bytes[0] !== ENVELOPE_MAGIC || bytes[1] !== ENTRY_ENVELOPE_VERSION) {
    return decodeEntryV1(envelope, bytes, key);
  }
  const kind = bytes[3];
  if (kind !== VALUE && kind !== NEGATIVE) throw notAnEntry(key, `unknown kind ${kind}`);
  const tagBytes = bytes.readUInt32LE(20);
  const payloadAt = ENTRY_HEADER_BYTES + tagBytes;
  if (payloadAt > bytes.length) throw notAnEntry(key, `tag section of ${tagBytes} bytes overruns ${bytes.length}`);
  const codec = envelope.codecFor(bytes[2] as number, key);
  return {
    value: kind === NEGATIVE ? (undefined as T) : (envelope.decodePayload(codec, bytes, payloadAt, key) as T),
    negative: kind === NEGATIVE,
    freshUntil: bytes.readDoubleLE(4),
    staleUntil: bytes.readDoubleLE(12),
    tags: tagBytes === 0 ? NO_TAGS : decodeTags(bytes, ENTRY_HEADER_BYTES, payloadAt, key),
  };
}

/** Version 4 (the compact header). */
function decodeCompact<T>(envelope: Envelope, bytes: Buffer, key: string): Entry<T> {
  const flags = bytes[3] as number;
  if (flags > (FLAG_NEGATIVE | FLAG_TAGS)) throw notAnEntry(key, `unknown flags ${flags}`);
  const tagged = (flags & FLAG_TAGS) !== 0;
  const tagsAt = COMPACT_ENTRY_HEADER_BYTES + (tagged ? 4 : 0);
  const tagBytes = tagged && bytes.length >= tagsAt ? bytes.readUInt32LE(16) : 0;
  const payloadAt = tagsAt + tagBytes;
  if (payloadAt > bytes.length) throw notAnEntry(key, `tag section of ${tagBytes} bytes overruns ${bytes.length}`);
  const negative = (flags & FLAG_NEGATIVE) !== 0;
  const codec = envelope.codecFor(bytes[2] as number, key);
  const freshUntil = bytes.readDoubleLE(4);
  return {
    value: negative ? (undefined as T) : (envelope.decodePayload(codec, bytes, payloadAt, key) as T),
    negative,
    freshUntil,
    staleUntil: freshUntil + bytes.readUInt32LE(12),
    tags: tagBytes === 0 ? NO_TAGS : decodeTags(bytes, tagsAt, payloadAt, key),
  };
}

function decodeTags(bytes: Buffer, start: number, end: number, key: string): [string, number][] {
  let tags: unknown;
  try {
    tags = JSON.parse(bytes.toString('utf8', start, end));
  } catch (cause) {
    throw new SlotforgeError('E_CODEC', `value of '${key}' has unreadable tag versions`, { key, cause });
  }
  if (
    !Array.isArray(tags) ||
    !tags.every((t) => Array.isArray(t) && typeof t[0] === 'string' && typeof t[1] === 'number')
  ) {
    throw notAnEntry(key, 'tag versions are not [tag, version] pairs');
  }
  return tags as [string, number][];
}

/** Version 1: `[kind, value, freshUntil, staleUntil, tags]` through the codec (written before the binary header). */
function decodeEntryV1<T>(envelope: Envelope, bytes: Buffer, key: string): Entry<T> {
  const raw = envelope.decode(bytes, key);
  if (
    !Envelope.isVersion(bytes, ENVELOPE_VERSION) ||
    !Array.isArray(raw) ||
    raw.length !== 5 ||
    (raw[0] !== VALUE && raw[0] !== NEGATIVE)
  ) {
    throw notAnEntry(key, 'expected an entry envelope (version 2, or a version 1 array)');
  }
  const [kind, value, freshUntil, staleUntil, tags] = raw as [number, T, number, number, [string, number][]];
  return {
    value: kind === NEGATIVE ? (undefined as T) : value,
    negative: kind === NEGATIVE,
    freshUntil,
    staleUntil,
    tags,
  };
}

/** Approximate in-memory size of an encoded entry (for the near cache byte bound). */
export function entryBytes(encoded: Buffer, key: string): number {
  return encoded.length + key.length * 2 + 64;
}
