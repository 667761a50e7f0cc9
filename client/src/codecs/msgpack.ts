import { addExtension, Packr } from 'msgpackr';
import type { Codec } from './codec.ts';
import { unstorable } from './json.ts';

/**
 * MessagePack via msgpackr: smaller and faster than JSON for large values; Date, BigInt, Set and undefined are native.
 * msgpack maps cannot tell a Map from an object, so Maps are boxed into an extension type before packing.
 */

/** @internal A Map on its way to msgpack. */
class BoxedMap {
  constructor(readonly entries: [unknown, unknown][]) {}
}

/** msgpack extension type of a Map (application types are 0..127). */
const MAP_EXTENSION = 0x4d;
addExtension({
  Class: BoxedMap,
  type: MAP_EXTENSION,
  write: (box: BoxedMap) => box.entries,
  read: (entries: [unknown, unknown][]) => new Map(entries),
});

const packr = new Packr({ useRecords: false, moreTypes: true, int64AsType: 'bigint', mapsAsObjects: true });

function box(value: unknown, property?: string): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') throw unstorable(value, property);
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Map) return new BoxedMap([...value].map(([k, v]) => [box(k), box(v)]));
  if (Array.isArray(value)) return value.map((v, i) => box(v, String(i)));
  if (value instanceof Set) return new Set([...value].map((v) => box(v)));
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = box(v, k);
  return out;
}

/** The msgpack codec. */
export const msgpackCodec: Codec = {
  id: 2,
  name: 'msgpack',
  encode: (value) => packr.pack(box(value)),
  decode: (bytes) => packr.unpack(bytes),
};
