import type { CoreContext } from '../context.ts';
import type { BatchCommand, RedisArg, SlotforgeError } from '../core/index.ts';
import { durationOption, keyArgument } from '../core/index.ts';

/** What batches need from the core. */
export type BatchDeps = Pick<CoreContext, 'commands' | 'keys' | 'envelope'>;

/** Options of `setMany`. */
export interface SetManyOptions {
  /** TTL of every key written. @default none */
  readonly ttlMs?: number;
  /** Deadline of the whole batch. @default the client's commandTimeoutMs */
  readonly timeoutMs?: number;
}

/** The outcome of `setMany`: keys that failed (each with its error); the rest were written. */
export interface SetManyResult {
  readonly written: number;
  readonly failed: readonly { readonly key: string; readonly error: SlotforgeError }[];
}

/**
 * Batch reads and writes of plain enveloped values over keys of ANY slots: keys are grouped by slot (one MGET per
 * slot) and commands by node (one pipeline per master), so a 100-key read costs one round trip per master instead of
 * 100, and never raises CROSSSLOT. Values are stored as `<namespace>:<key>` strings holding an enveloped value (no
 * cache metadata: use the client's `set`/`getMany` for cache entries with tags and freshness).
 */
export class Batch {
  readonly #ctx: BatchDeps;

  constructor(ctx: BatchDeps) {
    this.#ctx = ctx;
  }

  /** Reads keys of any slots; missing keys are `undefined`; order kept. One MGET per slot, one pipeline per node. */
  async getMany<T = unknown>(
    keys: readonly string[],
    options: { readonly timeoutMs?: number } = {},
  ): Promise<(T | undefined)[]> {
    const full = keys.map((k, i) => this.#ctx.keys.key(keyArgument(k, `keys[${i}]`)));
    const values = await this.#ctx.commands.mget(
      full,
      options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
    );
    return values.map((b, i) => (b === null ? undefined : (this.#ctx.envelope.decode(b, full[i]) as T)));
  }

  /**
   * Writes entries of any slots: one SET (PX) per key, pipelined per node. Each key succeeds or fails alone (a
   * failover of one master fails only its keys after the deadline); failures are returned, not thrown, so the caller
   * knows exactly which writes were acknowledged.
   */
  async setMany(
    entries: Iterable<readonly [string, unknown]> | Readonly<Record<string, unknown>>,
    options: SetManyOptions = {},
  ): Promise<SetManyResult> {
    const pairs: (readonly [string, unknown])[] =
      Symbol.iterator in Object(entries)
        ? [...(entries as Iterable<readonly [string, unknown]>)]
        : Object.entries(entries as Record<string, unknown>);
    const ttlMs = options.ttlMs === undefined ? undefined : durationOption('ttlMs', options.ttlMs, 1);
    const commands: BatchCommand[] = pairs.map(([key, value], i) => {
      const full = this.#ctx.keys.key(keyArgument(key, `entries[${i}] key`));
      const args: RedisArg[] = [full, this.#ctx.envelope.encode(value, full)];
      if (ttlMs !== undefined) args.push('PX', ttlMs);
      return { command: 'SET', args, key: full };
    });
    const results = await this.#ctx.commands.batch(
      commands,
      options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
    );
    const failed: { key: string; error: SlotforgeError }[] = [];
    results.forEach((r, i) => {
      if (!r.ok) failed.push({ key: (pairs[i] as readonly [string, unknown])[0], error: r.error });
    });
    return { written: pairs.length - failed.length, failed };
  }

  /** Deletes keys of any slots (one DEL per slot, pipelined per node); returns how many existed. */
  deleteMany(keys: readonly string[]): Promise<number> {
    return this.#ctx.commands.del(keys.map((k, i) => this.#ctx.keys.key(keyArgument(k, `keys[${i}]`))));
  }
}

/** Factory for `client.use(createBatch, {})`. */
export function createBatch(context: BatchDeps, _options: Record<string, never> = {}): Batch {
  return new Batch(context);
}
