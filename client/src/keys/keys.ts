import { invalidOption } from '../core/index.ts';

/**
 * Key naming: a namespace prefix, hash tags and typed builders.
 *
 * Keys are `namespace:part:part`. A hash tag `{...}` pins related keys to one cluster slot so a multi-key command or
 * a Lua script over them never raises CROSSSLOT. Prefixes are applied by us, not by ioredis `keyPrefix`, because
 * ioredis does not apply `keyPrefix` to SCAN/KEYS patterns (FACTS).
 */

/** Separator between key parts. */
export const KEY_SEPARATOR = ':';

/** Wraps `value` in a hash tag: `tag('user:1')` -> `{user:1}`. Braces inside would break slot hashing, so they are refused. */
export function hashTag(value: string): string {
  if (value.length === 0 || value.includes('{') || value.includes('}')) {
    throw invalidOption('hashTag', 'a non-empty string without { or }', value);
  }
  return `{${value}}`;
}

/** True when `key` contains a non-empty hash tag. */
export function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  if (open === -1) return false;
  const close = key.indexOf('}', open + 1);
  return close > open + 1;
}

/** Escapes glob metacharacters so a literal string can sit inside a SCAN MATCH pattern. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** A namespace: prefixes keys, un-prefixes them, and builds SCAN patterns that stay inside the namespace. */
export class Keyspace {
  /** The prefix including the trailing separator (empty for no namespace). */
  readonly prefix: string;

  constructor(readonly namespace: string) {
    if (namespace.includes('{') || namespace.includes('}') || /[*?[\]]/.test(namespace)) {
      throw invalidOption('namespace', 'a string without {, }, *, ?, [ or ]', namespace);
    }
    this.prefix = namespace === '' ? '' : `${namespace}${KEY_SEPARATOR}`;
  }

  /** The full Redis key of a caller's key. */
  key(key: string): string {
    if (typeof key !== 'string' || key.length === 0) throw invalidOption('key', 'a non-empty string', key);
    return this.prefix + key;
  }

  /** A caller's key from a full Redis key (the inverse of `key`). */
  strip(fullKey: string): string {
    return fullKey.startsWith(this.prefix) ? fullKey.slice(this.prefix.length) : fullKey;
  }

  /** A SCAN MATCH pattern for a caller's pattern, confined to the namespace. */
  pattern(pattern: string): string {
    if (typeof pattern !== 'string' || pattern.length === 0) {
      throw invalidOption('pattern', 'a non-empty glob pattern', pattern);
    }
    return escapeGlob(this.prefix) + pattern;
  }

  /** A nested keyspace: `ks.child('users')` prefixes `ns:users:`. */
  child(name: string): Keyspace {
    return new Keyspace(this.prefix + name);
  }
}

/** A part of a key built by a KeyBuilder. */
export type KeyPart = string | number | bigint;

/**
 * A typed key builder: `const userKey = defineKey('user', (id: number) => [id])` gives `userKey(7) === 'user:7'`.
 * With `{ tag: true }` the first part is wrapped in a hash tag so every key of the same entity shares a slot:
 * `defineKey('cart', (user: string, item: string) => [user, item], { tag: true })('u1', 'i9') === 'cart:{u1}:i9'`.
 */
export function defineKey<A extends unknown[]>(
  name: string,
  parts: (...args: A) => readonly KeyPart[],
  options: { readonly tag?: boolean } = {},
): (...args: A) => string {
  if (name.length === 0 || name.includes(KEY_SEPARATOR)) {
    throw invalidOption('name', `a non-empty string without '${KEY_SEPARATOR}'`, name);
  }
  return (...args: A) => {
    const values = parts(...args).map((part, index) => {
      const text = String(part);
      if (text.length === 0) throw invalidOption(`${name} key part ${index}`, 'a non-empty value', part);
      return index === 0 && options.tag ? hashTag(text) : text;
    });
    return [name, ...values].join(KEY_SEPARATOR);
  };
}
