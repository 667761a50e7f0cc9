/**
 * Durable writes: SET then WAIT on a connection of their own.
 * @internal Used by the ioredis folder only.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisArg } from '../commands.ts';
import { SlotforgeError } from '../errors.ts';

/**
 * One attempt of SET + WAIT through `durable`: the replies of both, or the first error. SET and WAIT must reach the
 * same node on the same connection (WAIT counts that connection's writes), and WAIT blocks its connection for up to
 * waitTimeoutMs when replicas are missing (e.g. right after a failover): durable writes therefore use their own
 * connections, so they never hold up other commands. That connection has no ioredis commandTimeout: it would cut a
 * WAIT longer than one attempt (the default attempt and WAIT timeouts are both 1000 ms, so every unconfirmed write
 * was cut, re-sent and failed only at the call's deadline, as "Command timed out"). The command loop bounds each
 * attempt instead, by twice the attempt timeout plus the WAIT's.
 */
export async function setAndWait(
  durable: Redis | Cluster,
  args: RedisArg[],
  waitReplicas: number,
  waitTimeoutMs: number,
): Promise<readonly [unknown, unknown]> {
  // Sent only on a ready connection: queued on one that is not, it would wait with no timeout (the connection has
  // none, for the WAIT's sake) and run after the caller gave up. Not sent, so retried, whatever the command.
  if (durable.status !== 'ready' || (durable instanceof Cluster && durable.slots.length === 0)) {
    throw new Error(`durable connection not ready (${durable.status}): not sent`);
  }
  const results = await durable.pipeline().call('SET', args).call('WAIT', waitReplicas, waitTimeoutMs).exec();
  const [setResult, waitResult] = results ?? [];
  if (setResult?.[0]) throw setResult[0];
  if (waitResult?.[0]) throw waitResult[0];
  return [setResult?.[1], waitResult?.[1]] as const;
}

/** SET's outcome from the replies of setAndWait: false when not set (NX/XX), E_TIMEOUT when too few replicas acked. */
export function durableOutcome(
  key: string,
  replies: readonly [unknown, unknown],
  waitReplicas: number,
  waitTimeoutMs: number,
): boolean {
  if (replies[0] !== 'OK') return false;
  const acked = Number(replies[1]);
  if (acked < waitReplicas) {
    throw new SlotforgeError(
      'E_TIMEOUT',
      `SET '${key}' reached ${acked} of ${waitReplicas} replica(s) within ${waitTimeoutMs} ms; it may be lost in a failover`,
      { key, timeoutMs: waitTimeoutMs, command: 'WAIT', received: acked },
    );
  }
  return true;
}

/**
 * One attempt of a durable write through the durable connection `client()`: true when set and confirmed, false when
 * not set (NX/XX). Too few replicas is the attempt's failure (E_TIMEOUT, ambiguous): the command loop sends a plain
 * SET again until the call's deadline (a replica restarting in a rollout comes back), an NX/XX one it does not.
 */
export function durableAttempt(
  client: () => Redis | Cluster,
  key: string,
  args: RedisArg[],
  waitReplicas: number,
  waitTimeoutMs: number,
): () => Promise<boolean> {
  return async () =>
    durableOutcome(key, await setAndWait(client(), args, waitReplicas, waitTimeoutMs), waitReplicas, waitTimeoutMs);
}
