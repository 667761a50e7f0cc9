import { randomBytes } from 'node:crypto';
import type { CoreContext } from '../context.ts';
import {
  defineScript,
  durationOption,
  integerOption,
  invalidOption,
  keyArgument,
  SlotforgeError,
  stringOption,
} from '../core/index.ts';
import { escapeGlob } from '../keys/index.ts';

/** What sessions need from the core. */
export type SessionsDeps = Pick<CoreContext, 'commands' | 'keys' | 'envelope' | 'events'>;

/** Options of the sessions module. */
export interface SessionsOptions {
  /** TTL of a session (rolling: `touch` and `get({ touch: true })` restart it). @default 86_400_000 (1 day) */
  readonly ttlMs?: number;
  /** Key part before the id: keys are `<namespace>:<prefix>:<id>`. @default 'sess' */
  readonly prefix?: string;
  /** Random bytes of a generated id (base64url encoded). @default 24 (192 bits) */
  readonly idBytes?: number;
}

/** Defaults of SessionsOptions. */
export const SESSIONS_DEFAULTS = { ttlMs: 86_400_000, prefix: 'sess', idBytes: 24 } as const;

/** Per-call options. */
export interface SessionWriteOptions {
  /** TTL of this session. @default the module's ttlMs */
  readonly ttlMs?: number;
}

/**
 * Reads, and deletes the old session in the same script, so after `regenerate` the old id is unusable even if the
 * write of the new one fails (fail closed: a lost session logs the user out; a surviving old id would be a session
 * fixation hole). KEYS[1] old session. Returns { value, pttl } or false.
 */
const TAKE = defineScript(
  'slotforge-session-take',
  `local v = redis.call('GET', KEYS[1])
if not v then return false end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
return { v, ttl }`,
);

/**
 * Server-side sessions: one string key per session holding the enveloped data, with a rolling TTL.
 * A stored falsy value (0, '', false, null) is a session, not a miss (the seed's getSession dropped them).
 * Listing, counting and clearing SCAN every master (never KEYS) and delete in batches grouped by node.
 */
export class Sessions {
  readonly ttlMs: number;
  readonly prefix: string;
  readonly idBytes: number;
  readonly #ctx: SessionsDeps;
  readonly #keyPrefix: string;

  constructor(ctx: SessionsDeps, options: SessionsOptions = {}) {
    this.#ctx = ctx;
    this.ttlMs = durationOption('ttlMs', options.ttlMs ?? SESSIONS_DEFAULTS.ttlMs, 1);
    this.prefix = stringOption('prefix', options.prefix ?? SESSIONS_DEFAULTS.prefix);
    if (/[{}*?[\]]/.test(this.prefix))
      throw invalidOption('prefix', 'a string without {, }, *, ?, [ or ]', this.prefix);
    this.idBytes = integerOption('idBytes', options.idBytes ?? SESSIONS_DEFAULTS.idBytes, 16, 64);
    this.#keyPrefix = ctx.keys.key(`${this.prefix}:`);
  }

  /** The Redis key of a session id. */
  keyOf(id: string): string {
    return this.#keyPrefix + keyArgument(id, 'sessionId');
  }

  /** A new random id (base64url). */
  generateId(): string {
    return randomBytes(this.idBytes).toString('base64url');
  }

  #ttl(options: SessionWriteOptions): number {
    return options.ttlMs === undefined ? this.ttlMs : durationOption('ttlMs', options.ttlMs, 1);
  }

  /** Creates a session with a fresh id (SET NX: never overwrites another session); returns the id. */
  async create(data: unknown, options: SessionWriteOptions = {}): Promise<string> {
    const ttlMs = this.#ttl(options);
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = this.generateId();
      const key = this.keyOf(id);
      if (await this.#ctx.commands.set(key, this.#ctx.envelope.encode(data, key), { ttlMs, nx: true })) {
        this.#ctx.events.emit('session:create', { id });
        return id;
      }
    }
    throw new SlotforgeError('E_COMMAND', 'could not create a session: 3 generated ids already existed', {
      command: 'SET',
    });
  }

  /**
   * The session's data, or `undefined` when it does not exist or expired. With `touch`, the TTL restarts in the
   * same round trip (GETEX PX).
   */
  async get<T = unknown>(
    id: string,
    options: { readonly touch?: boolean; readonly ttlMs?: number } = {},
  ): Promise<T | undefined> {
    const key = this.keyOf(id);
    const bytes = options.touch
      ? ((await this.#ctx.commands.call('GETEX', [key, 'PX', this.#ttl(options)], {
          buffers: true,
          idempotent: true,
        })) as Buffer | null)
      : await this.#ctx.commands.get(key);
    return bytes === null ? undefined : (this.#ctx.envelope.decode(bytes, key) as T);
  }

  /** Writes a session's data (creating or replacing it) and restarts its TTL. */
  async set(id: string, data: unknown, options: SessionWriteOptions = {}): Promise<void> {
    const key = this.keyOf(id);
    await this.#ctx.commands.set(key, this.#ctx.envelope.encode(data, key), { ttlMs: this.#ttl(options) });
  }

  /** Restarts the TTL (rolling sessions); false when the session no longer exists. */
  async touch(id: string, options: SessionWriteOptions = {}): Promise<boolean> {
    const reply = await this.#ctx.commands.call('PEXPIRE', [this.keyOf(id), this.#ttl(options)]);
    return Number(reply) === 1;
  }

  /** Deletes a session; false when it did not exist. */
  async destroy(id: string): Promise<boolean> {
    const deleted = (await this.#ctx.commands.del([this.keyOf(id)])) === 1;
    if (deleted) this.#ctx.events.emit('session:destroy', { id });
    return deleted;
  }

  /**
   * Moves a session to a new id (after login: prevents session fixation) keeping its data and remaining TTL. The old
   * id is deleted atomically with the read, before the new one is written: it can never be used again, whatever
   * fails after. Returns the new id, or `undefined` when the old session did not exist.
   */
  async regenerate(id: string): Promise<string | undefined> {
    const oldKey = this.keyOf(id);
    const taken = (await this.#ctx.commands.eval(TAKE, [oldKey], [], { buffers: true })) as [Buffer, Buffer] | null;
    if (!taken) return undefined;
    const [bytes, pttlReply] = taken;
    const pttl = Number(pttlReply.toString());
    const ttlMs = pttl > 0 ? pttl : this.ttlMs;
    for (let attempt = 0; attempt < 3; attempt++) {
      const next = this.generateId();
      if (await this.#ctx.commands.set(this.keyOf(next), bytes, { ttlMs, nx: true })) {
        this.#ctx.events.emit('session:regenerate', { id: next });
        return next;
      }
    }
    throw new SlotforgeError('E_COMMAND', 'could not regenerate the session: 3 generated ids already existed', {
      command: 'SET',
    });
  }

  /** Pages of session ids, from SCAN over every master. */
  async *ids(count = 500): AsyncIterable<string[]> {
    const start = this.#keyPrefix.length;
    for await (const page of this.#ctx.commands.scan(`${escapeGlob(this.#keyPrefix)}*`, { count, type: 'string' })) {
      yield page.map((k) => k.slice(start));
    }
  }

  /** Every live session by id (SCAN + one MGET per slot, pipelined per node, page by page). */
  async all<T = unknown>(): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for await (const ids of this.ids()) {
      const keys = ids.map((id) => this.keyOf(id));
      const values = await this.#ctx.commands.mget(keys);
      values.forEach((bytes, i) => {
        // A session that expired between SCAN and MGET is simply gone.
        if (bytes !== null) out.set(ids[i] as string, this.#ctx.envelope.decode(bytes, keys[i]) as T);
      });
    }
    return out;
  }

  /** How many sessions exist (SCAN over every master; keys are deduplicated, SCAN may repeat one). */
  async count(): Promise<number> {
    const seen = new Set<string>();
    for await (const ids of this.ids()) for (const id of ids) seen.add(id);
    return seen.size;
  }

  /** Deletes every session of this module (SCAN, then DEL grouped by slot and node). Returns how many existed. */
  async clear(): Promise<number> {
    let deleted = 0;
    for await (const ids of this.ids()) deleted += await this.#ctx.commands.del(ids.map((id) => this.keyOf(id)));
    return deleted;
  }
}

/** Factory for `client.use(createSessions, { ttlMs })`. */
export function createSessions(context: SessionsDeps, options: SessionsOptions = {}): Sessions {
  return new Sessions(context, options);
}
