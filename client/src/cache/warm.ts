import type { CoreContext } from '../context.ts';
import { durationOption, integerOption, invalidOption } from '../core/index.ts';
import type { CacheStore } from './store.ts';
import { jitterOption, jitterTtl } from './ttl.ts';

/**
 * Cache warming: load many keys before traffic arrives, with bounded concurrency and progress events
 * (`warm:progress`, `warm:done`). A failed key is counted and reported, never fatal to the run.
 */
export interface WarmOptions<T> {
  /** Keys to warm, with `load` computing each value... */
  readonly keys?: readonly string[];
  readonly load?: (key: string) => T | Promise<T>;
  /** ...or entries produced by a loader (e.g. one bulk query). */
  readonly entries?: () =>
    | Iterable<readonly [string, T]>
    | AsyncIterable<readonly [string, T]>
    | Promise<Iterable<readonly [string, T]>>;
  /** Writes in flight at once. @default 16 */
  readonly concurrency?: number;
  /** @default the client's defaultTtlMs */
  readonly ttlMs?: number;
  /** Spread expiries so warmed keys do not all expire together. @default 0.1 */
  readonly jitter?: number;
  /** Only write keys that are missing (NX semantics per key via a read first). @default false */
  readonly onlyMissing?: boolean;
}

/** The outcome of a warm-up. */
export interface WarmResult {
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
  readonly durationMs: number;
  readonly errors: readonly { readonly key: string; readonly error: Error }[];
}

export type WarmDeps = Pick<CoreContext, 'keys' | 'deps' | 'events'> & {
  readonly store: CacheStore;
  readonly defaultTtlMs: number;
};

export async function warm<T>(ctx: WarmDeps, options: WarmOptions<T>): Promise<WarmResult> {
  const concurrency = integerOption('concurrency', options.concurrency ?? 16, 1, 1024);
  const ttlMs = durationOption('ttlMs', options.ttlMs ?? ctx.defaultTtlMs, 1);
  const jitter = jitterOption(options.jitter ?? 0.1);
  let source: AsyncIterable<readonly [string, () => T | Promise<T>]>;
  let total = 0;
  if (options.keys && options.load) {
    const { keys, load } = options;
    total = keys.length;
    source = (async function* () {
      for (const key of keys) yield [key, () => load(key)] as const;
    })();
  } else if (options.entries && !options.keys) {
    const entries = options.entries;
    source = (async function* () {
      const produced = await entries();
      for await (const [key, value] of produced as AsyncIterable<readonly [string, T]>)
        yield [key, () => value] as const;
    })();
  } else {
    throw invalidOption('keys/load/entries', 'either keys with load, or entries', Object.keys(options));
  }
  const started = ctx.deps.clock.now();
  let done = 0;
  let failed = 0;
  let skipped = 0;
  const errors: { key: string; error: Error }[] = [];
  const iterator = source[Symbol.asyncIterator]();
  const worker = async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      const [key, produce] = next.value;
      const full = ctx.keys.key(key);
      try {
        if (options.onlyMissing && (await ctx.store.read(full)).entry) {
          skipped++;
        } else {
          const value = await produce();
          await ctx.store.write(full, { value, ttlMs: jitterTtl(ttlMs, jitter, ctx.deps.random) });
          done++;
        }
      } catch (error) {
        failed++;
        errors.push({ key, error: error as Error });
      }
      ctx.events.emit('warm:progress', {
        done: done + skipped,
        total: Math.max(total, done + skipped + failed),
        failed,
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const durationMs = ctx.deps.clock.now() - started;
  ctx.events.emit('warm:done', { done, failed, durationMs });
  return { done, failed, skipped, durationMs, errors };
}
