/**
 * Waiting for a client to be ready within a deadline.
 * @internal Used by the ioredis folder only.
 */
import type { Clock } from '../deps.ts';
import { SlotforgeError } from '../errors.ts';
import type { Client } from './create.ts';
import { sentinelReason } from './sentinel-errors.ts';

/**
 * Resolves when `client` is ready; E_CONNECTION after `timeoutMs`, with Sentinel's reason (`sentinelError`, ioredis'
 * last "All sentinels are unreachable" error) in the message and as the cause when there is one.
 */
export async function waitReady(
  client: Client,
  timeoutMs: number,
  clock: Clock,
  sentinelError: () => Error | undefined,
): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      client.off('ready', onReady);
      const error = sentinelError();
      const why = error ? `: ${sentinelReason(error)}` : '';
      reject(
        new SlotforgeError(
          'E_CONNECTION',
          `Redis was not ready within ${timeoutMs} ms (status ${client.status})${why}`,
          {
            timeoutMs,
            ...(error ? { cause: error } : {}),
          },
        ),
      );
    }, timeoutMs);
    const onReady = () => {
      clock.clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
