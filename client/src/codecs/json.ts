import type { Codec } from './codec.ts';

/**
 * JSON that round-trips what plain JSON loses: Date, BigInt, Map, Set, undefined (distinct from null), NaN/Infinity,
 * -0 and byte arrays. Special values become tag objects `{"$t": type, "v": payload}`; a caller's own key `$t` is
 * escaped as `$$t` (and `$$t` as `$$$t`), so no caller object is ever mistaken for a tag.
 *
 * The seed's CacheManager used plain JSON: Dates came back as strings and BigInt threw (regression-tested).
 */

const TAG = '$t';
const ESCAPED_KEY = /^\$+t$/;

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Functions and Symbols have no data to store: plain JSON drops them silently (a function stored as `{}`, read back as
 * `undefined` for the whole TTL), so both codecs refuse them, naming where they were found.
 */
export function unstorable(value: unknown, property?: string): Error {
  const what = typeof value === 'function' ? 'a function' : String(value);
  const where = property === undefined ? 'the value' : `property '${property}'`;
  return new Error(
    `${where} is ${what}; only data can be stored (JSON values, Date, BigInt, Map, Set, byte arrays, undefined inside objects), not functions or Symbols`,
  );
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // `this[key]` is the raw value; `value` has already been through toJSON (a Date is a string by now).
  const raw = this[key];
  switch (typeof raw) {
    case 'undefined':
      return { [TAG]: 'u' };
    case 'bigint':
      return { [TAG]: 'n', v: raw.toString() };
    case 'number':
      if (Number.isNaN(raw) || !Number.isFinite(raw) || Object.is(raw, -0))
        return { [TAG]: 'f', v: Object.is(raw, -0) ? '-0' : String(raw) };
      return raw;
    case 'object': {
      if (raw === null) return null;
      if (raw instanceof Date) return { [TAG]: 'd', v: Number.isNaN(raw.getTime()) ? null : raw.toISOString() };
      if (raw instanceof Map) return { [TAG]: 'm', v: [...raw] };
      if (raw instanceof Set) return { [TAG]: 's', v: [...raw] };
      if (raw instanceof Uint8Array)
        return { [TAG]: 'b', v: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
      if (Array.isArray(raw) || !isPlainObject(raw)) return value;
      let escaped: Record<string, unknown> | undefined;
      for (const k of Object.keys(raw)) {
        if (ESCAPED_KEY.test(k)) {
          escaped ??= {};
        }
      }
      if (!escaped) return raw;
      for (const [k, v] of Object.entries(raw)) escaped[ESCAPED_KEY.test(k) ? `$${k}` : k] = v;
      return escaped;
    }
    case 'function':
    case 'symbol':
      throw unstorable(raw, key);
    default:
      return value;
  }
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const object = value as Record<string, unknown>;
  const tag = object[TAG];
  if (typeof tag === 'string') {
    const v = object.v;
    switch (tag) {
      case 'u':
        return undefined;
      case 'n':
        return BigInt(v as string);
      case 'f':
        return Number(v);
      case 'd':
        return new Date(v === null ? Number.NaN : (v as string));
      case 'm':
        return new Map(v as [unknown, unknown][]);
      case 's':
        return new Set(v as unknown[]);
      case 'b':
        return new Uint8Array(Buffer.from(v as string, 'base64'));
      default:
        return value;
    }
  }
  let renamed: Record<string, unknown> | undefined;
  for (const k of Object.keys(object)) if (k.length > 2 && ESCAPED_KEY.test(k)) renamed ??= {};
  if (!renamed) return value;
  for (const [k, v] of Object.entries(object)) renamed[k.length > 2 && ESCAPED_KEY.test(k) ? k.slice(1) : k] = v;
  return renamed;
}

/**
 * JSON.parse's reviver turns a property whose revived value is undefined into a deleted property, so undefined
 * values are revived through a sentinel and swapped back afterwards.
 */
const UNDEFINED = Symbol('undefined');

function reviveUndefinedSafe(_key: string, value: unknown): unknown {
  const revived = reviver(_key, value);
  return revived === undefined ? UNDEFINED : revived;
}

function restoreUndefined(value: unknown): unknown {
  if (value === UNDEFINED) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreUndefined(value[i]);
    return value;
  }
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => [restoreUndefined(k), restoreUndefined(v)] as const);
    value.clear();
    for (const [k, v] of entries) value.set(k, v);
    return value;
  }
  if (value instanceof Set) {
    const items = [...value].map(restoreUndefined);
    value.clear();
    for (const item of items) value.add(item);
    return value;
  }
  if (typeof value === 'object' && value !== null && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    const object = value as Record<string, unknown>;
    for (const k of Object.keys(object)) object[k] = restoreUndefined(object[k]);
  }
  return value;
}

/** Encodes to the tagged JSON text. */
export function stringifyTagged(value: unknown): string {
  if (typeof value === 'function' || typeof value === 'symbol') throw unstorable(value);
  return JSON.stringify({ r: value }, replacer);
}

/** Decodes tagged JSON text. */
export function parseTagged(text: string): unknown {
  // Fast path: no tag and no escaped key anywhere, plain JSON.parse is exact.
  if (!text.includes('"$')) return (JSON.parse(text) as { r: unknown }).r;
  return restoreUndefined((JSON.parse(text, reviveUndefinedSafe) as { r: unknown }).r);
}

/** The default codec: tagged JSON, readable with redis-cli. */
export const jsonCodec: Codec = {
  id: 1,
  name: 'json',
  encode: (value) => Buffer.from(stringifyTagged(value)),
  decode: (bytes) => parseTagged(bytes.toString()),
  decodeFrom: (bytes, offset) => parseTagged(bytes.toString('utf8', offset)),
};
