import type { Envelope } from '../codecs/envelope.ts';
import { SlotforgeError } from '../core/errors.ts';

/**
 * What the cache stores under a key: the value plus the facts every reader needs to serve it correctly.
 * Stored (inside the versioned envelope) as `[kind, value, freshUntil, staleUntil, tags]`.
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

/** Encodes an entry for Redis. */
export function encodeEntry(envelope: Envelope, entry: Entry, key: string): Buffer {
  return envelope.encode(
    [
      entry.negative ? NEGATIVE : VALUE,
      entry.negative ? null : entry.value,
      entry.freshUntil,
      entry.staleUntil,
      entry.tags,
    ],
    key,
  );
}

/** Decodes an entry; E_CODEC when the bytes are not an entry. */
export function decodeEntry<T>(envelope: Envelope, bytes: Buffer, key: string): Entry<T> {
  const raw = envelope.decode(bytes, key);
  if (!Array.isArray(raw) || raw.length !== 5 || (raw[0] !== VALUE && raw[0] !== NEGATIVE)) {
    throw new SlotforgeError('E_CODEC', `value of '${key}' is not a cache entry`, { key });
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
