/**
 * A durable write (SET + WAIT) whose WAIT is released because its node turned into a replica: Redis answers
 * `UNBLOCKED ... instance state changed (master -> replica?)`. The SET ran; whether a replica has it is unknown, so the
 * client retries the (idempotent) write within its deadline instead of failing it. Seen once in the rolling-restart
 * drill: a graceful failover demoted the master while a client write waited for its replica.
 */
import { connect } from '@slotforge/client';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import type { RedisServer } from '../../../runtime/redis/index.ts';
import { useStandalone } from '../../support/index.ts';

// Distinct configurations: these two servers are this file's own (one is paused, one demoted).
const primary = useStandalone({ config: { hz: '12' } });
const replica = useStandalone({ config: { hz: '13' } });
const admins: Redis[] = [];
afterAll(async () => {
  replica().process.signal('SIGCONT');
  await Promise.allSettled(admins.map((a) => a.quit()));
});

function admin(server: RedisServer): Redis {
  const redis = new Redis({ host: server.host, port: server.port, lazyConnect: false });
  admins.push(redis);
  return redis;
}

async function until(what: string, check: () => Promise<boolean>, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('retries a durable write whose WAIT was released by a demotion (UNBLOCKED) and lands it', async () => {
  const p = admin(primary());
  const r = admin(replica());
  await r.call('REPLICAOF', primary().host, String(primary().port));
  await until('the replica to sync', async () => /master_link_status:up/.test(String(await r.info('replication'))));
  const commands = connect({ host: primary().host, port: primary().port, commandTimeoutMs: 8000 });
  try {
    expect(await commands.set('before', '1', { waitReplicas: 1, waitTimeoutMs: 5000 })).toBe(true);
    // The replica stops acknowledging: the next durable write's WAIT blocks on the primary.
    replica().process.signal('SIGSTOP');
    const write = commands.set('k', 'v', { waitReplicas: 1, waitTimeoutMs: 5000 });
    await until('the WAIT to block', async () => /blocked_clients:1/.test(String(await p.info('clients'))));
    // The primary turns into a replica (of a port nobody listens on) and back: Redis releases the WAIT with UNBLOCKED.
    await p.call('REPLICAOF', '127.0.0.1', '1');
    await p.call('REPLICAOF', 'NO', 'ONE');
    replica().process.signal('SIGCONT');
    // Without the retry: "E_COMMAND ... UNBLOCKED force unblock from blocking operation".
    await expect(write).resolves.toBe(true);
    expect(String(await commands.get('k'))).toBe('v');
  } finally {
    replica().process.signal('SIGCONT');
    await commands.close();
  }
});
