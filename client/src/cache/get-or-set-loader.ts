/**
 * getOrSet's loader runner: runs the loader with its deadline, metrics and events, and writes what it returned.
 * @internal Used by get-or-set.ts.
 */
import { isSlotforgeError, SlotforgeError } from '../core/index.ts';
import type { Entry } from './entry.ts';
import type { GetOrSetDeps, Loader, Resolved } from './get-or-set-options.ts';
import { jitterTtl } from './ttl.ts';

/** What the runner uses of getOrSet's deps. */
export type LoaderDeps = Pick<GetOrSetDeps, 'deps' | 'metrics' | 'events' | 'store'>;

/** Counts a SlotforgeError by its code (anything else is not ours to count). */
export function countError(ctx: Pick<GetOrSetDeps, 'metrics'>, error: unknown): void {
  if (isSlotforgeError(error)) ctx.metrics.error(error.code);
}

/** Runs the loader with its deadline, metrics and events; failures become E_LOADER with the cause. */
export async function runLoader<T>(ctx: LoaderDeps, full: string, loader: Loader<T>, o: Resolved): Promise<T> {
  const { clock } = ctx.deps;
  const started = performance.now();
  ctx.events.emit('loader:start', { key: full });
  let timer: unknown;
  try {
    const value = await Promise.race([
      Promise.resolve().then(loader),
      new Promise<never>((_, reject) => {
        timer = clock.setTimeout(
          () =>
            reject(
              new SlotforgeError('E_TIMEOUT', `loader of '${full}' did not finish within ${o.loaderTimeoutMs} ms`, {
                key: full,
                timeoutMs: o.loaderTimeoutMs,
              }),
            ),
          o.loaderTimeoutMs,
        );
      }),
    ]);
    const durationMs = performance.now() - started;
    ctx.metrics.loader(durationMs / 1000, 'ok');
    ctx.events.emit('loader:end', { key: full, durationMs, ok: true });
    return value;
  } catch (cause) {
    const durationMs = performance.now() - started;
    ctx.metrics.loader(durationMs / 1000, 'error');
    ctx.events.emit('loader:end', { key: full, durationMs, ok: false });
    ctx.metrics.error('E_LOADER');
    throw new SlotforgeError(
      'E_LOADER',
      `loader of '${full}' failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        key: full,
        cause,
      },
    );
  } finally {
    clock.clearTimeout(timer);
  }
}

/**
 * Writes a loaded value (negative when undefined and negativeTtlMs > 0) and hands the written entry to `remember`;
 * a failed write is reported, not thrown, except a value no codec can store (E_LOADER).
 */
export async function storeLoaded<T>(
  ctx: LoaderDeps,
  full: string,
  value: T,
  o: Resolved,
  versions: [string, number][],
  remember: (full: string, entry: Entry) => void,
): Promise<void> {
  const negative = value === undefined;
  if (negative && o.negativeTtlMs === 0) return;
  const ttlMs = jitterTtl(negative ? o.negativeTtlMs : o.ttlMs, o.jitter, ctx.deps.random);
  try {
    const entry = await ctx.store.write(full, {
      value,
      negative,
      ttlMs,
      staleMs: Math.max(o.swrMs, o.graceMs),
      tags: versions,
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      ...(o.waitReplicas === undefined ? {} : { waitReplicas: o.waitReplicas }),
    });
    if (o.graceMs > 0 || o.swrMs > 0) remember(full, entry);
  } catch (error) {
    if (isSlotforgeError(error, 'E_CODEC')) {
      // The loader returned something no codec can store (a function, a Symbol): refuse it rather than hand back a
      // value that the next call cannot see (issue 16). Nothing was written.
      ctx.metrics.error('E_LOADER');
      throw new SlotforgeError(
        'E_LOADER',
        `loader of '${full}' returned a value that cannot be cached: ${error.message}`,
        {
          key: full,
          received: value,
          cause: error,
        },
      );
    }
    // The caller still gets the value: a cache that cannot write must not fail the read.
    countError(ctx, error);
    ctx.events.emit('cache:error', { key: full, error: error as Error });
  }
}
