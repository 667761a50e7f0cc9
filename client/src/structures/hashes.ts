import type { CoreContext } from '../context.ts';
import { defineScript, durationOption, invalidOption, keyArgument, type RedisArg } from '../core/index.ts';

/** What hashes need from the core. */
export type HashesDeps = Pick<CoreContext, 'commands' | 'keys' | 'envelope'>;

/** Options of a hash write. */
export interface HashSetOptions {
  /** TTL of the whole hash (Redis 7.0 has no per-field TTL), set in the same script as the write. */
  readonly ttlMs?: number;
}

/**
 * HSET then PEXPIRE in one script (one round trip, atomic): the hash never exists without its TTL.
 * KEYS[1] hash; ARGV[1] ttl ms (0 = keep); ARGV[2..] field, value pairs.
 */
const HSET = defineScript(
  'slotforge-hash-set',
  `local n = redis.call('HSET', KEYS[1], unpack(ARGV, 2))
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return n`,
  { idempotent: true },
);

/** HINCRBY then PEXPIRE in one script. KEYS[1] hash; ARGV[1] field; ARGV[2] delta; ARGV[3] ttl ms (0 = keep). */
const HINCR = defineScript(
  'slotforge-hash-incr',
  `local v = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return v`,
);

/**
 * Hashes of typed values: each field holds an enveloped value (the client's codec), so Dates, BigInts, Maps, null and
 * '' round-trip and a falsy value is never mistaken for a missing field. A hash lives on one slot (one key).
 */
export class Hashes {
  readonly #ctx: HashesDeps;

  constructor(ctx: HashesDeps) {
    this.#ctx = ctx;
  }

  /** Sets fields (and the hash's TTL when given) in one round trip; returns how many fields were new. */
  async set(key: string, fields: Readonly<Record<string, unknown>>, options: HashSetOptions = {}): Promise<number> {
    const full = this.#ctx.keys.key(keyArgument(key));
    const names = Object.keys(fields ?? {});
    if (names.length === 0) throw invalidOption('fields', 'an object with at least one field', fields);
    const ttlMs = options.ttlMs === undefined ? 0 : durationOption('ttlMs', options.ttlMs, 1);
    const args: RedisArg[] = [ttlMs];
    for (const name of names) args.push(name, this.#ctx.envelope.encode(fields[name], `${full}#${name}`));
    return Number(await this.#ctx.commands.eval(HSET, [full], args));
  }

  /** One field; `undefined` when the field or the hash is missing (a stored null/0/''/false comes back as such). */
  async get<T = unknown>(key: string, field: string): Promise<T | undefined> {
    const full = this.#ctx.keys.key(keyArgument(key));
    const bytes = (await this.#ctx.commands.call('HGET', [full, keyArgument(field, 'field')], {
      buffers: true,
    })) as Buffer | null;
    return bytes === null ? undefined : (this.#ctx.envelope.decode(bytes, `${full}#${field}`) as T);
  }

  /** Several fields in one HMGET; missing ones are `undefined`. */
  async getFields<T = unknown>(key: string, fields: readonly string[]): Promise<(T | undefined)[]> {
    const full = this.#ctx.keys.key(keyArgument(key));
    if (fields.length === 0) return [];
    const values = (await this.#ctx.commands.call('HMGET', [full, ...fields], { buffers: true })) as (Buffer | null)[];
    return values.map((b, i) => (b === null ? undefined : (this.#ctx.envelope.decode(b, `${full}#${fields[i]}`) as T)));
  }

  /** Every field; an empty object when the hash is missing. */
  async getAll<T = unknown>(key: string): Promise<Record<string, T>> {
    const full = this.#ctx.keys.key(keyArgument(key));
    const flat = (await this.#ctx.commands.call('HGETALL', [full], { buffers: true })) as Buffer[];
    const out: Record<string, T> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = (flat[i] as Buffer).toString();
      out[name] = this.#ctx.envelope.decode(flat[i + 1] as Buffer, `${full}#${name}`) as T;
    }
    return out;
  }

  /** Deletes fields; returns how many existed. */
  async delete(key: string, ...fields: string[]): Promise<number> {
    const full = this.#ctx.keys.key(keyArgument(key));
    if (fields.length === 0) return 0;
    return Number(await this.#ctx.commands.call('HDEL', [full, ...fields]));
  }

  /** Adds an integer to a field holding a plain integer (HINCRBY; such fields are not enveloped). */
  async incr(key: string, field: string, by = 1, options: HashSetOptions = {}): Promise<number> {
    const full = this.#ctx.keys.key(keyArgument(key));
    const ttlMs = options.ttlMs === undefined ? 0 : durationOption('ttlMs', options.ttlMs, 1);
    return Number(await this.#ctx.commands.eval(HINCR, [full], [keyArgument(field, 'field'), by, ttlMs]));
  }

  /** Reads a field written by `incr`; 0 when missing. */
  async counter(key: string, field: string): Promise<number> {
    const full = this.#ctx.keys.key(keyArgument(key));
    const value = await this.#ctx.commands.call('HGET', [full, keyArgument(field, 'field')]);
    return value === null ? 0 : Number(value);
  }
}

/** Factory for `client.use(createHashes, {})`. */
export function createHashes(context: HashesDeps, _options: Record<string, never> = {}): Hashes {
  return new Hashes(context);
}
