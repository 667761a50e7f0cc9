import { createClient } from '@slotforge/client';
import { control, type RuntimeStatus, statePaths, storedSecret } from '../../runtime/local/index.ts';

const NAMESPACE = 'slotforge';
const SECRET = 'redis-auth';

/**
 * A short, visible tour of the client patterns against the deployment the runtime just started: plain writes with
 * typed values, cache-aside with single flight, tag invalidation. It connects as an application does: the `app` user,
 * seeds by DNS name (the runtime publishes the names in /etc/hosts).
 */
export async function demo(stateDir: string): Promise<void> {
  const status = await control<RuntimeStatus>(statePaths(stateDir).socket, { verb: 'status' });
  // Only the cluster's members: dist/ also runs the Sentinel example, whose data pods are masters and replicas too.
  const members = status.pods.filter((p) => p.namespace === NAMESPACE && (p.role === 'master' || p.role === 'replica'));
  const password = storedSecret(stateDir, NAMESPACE, SECRET)?.app;
  if (members.length === 0 || !password) {
    console.log("demo skipped: no Redis Cluster with the default chart's auth Secret is running");
    return;
  }
  const nodes = members.map((p) => ({ host: `${p.name}.redis-headless.${p.namespace}.svc.cluster.local`, port: 6379 }));
  const client = createClient({ cluster: { nodes }, username: 'app', password: password.trim(), namespace: 'demo' });
  const say = (pattern: string, line: string) => console.log(`  ${pattern.padEnd(14)} ${line}`);
  console.log(`client demo (@slotforge/client, user app, seeds ${nodes[0]?.host} ...):`);
  try {
    await client.ready();
    const order = { id: 42n, placedAt: new Date('2026-01-02T03:04:05Z'), items: ['redis', 'cluster'] };
    await client.set('order:42', order, { ttlMs: 60_000 });
    const back = await client.get<typeof order>('order:42');
    say(
      'set/get',
      `a BigInt and a Date survive the round trip: id ${typeof back?.id} ${back?.id}, placedAt ${back?.placedAt instanceof Date ? back.placedAt.toISOString() : back?.placedAt}`,
    );

    let loads = 0;
    const loader = async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { name: 'Ada', plan: 'pro' };
    };
    await client.delete('user:1');
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 20 }, () => client.getOrSet('user:1', loader, { ttlMs: 30_000, tags: ['users'] })),
    );
    const first = performance.now() - t0;
    const t1 = performance.now();
    await client.getOrSet('user:1', loader, { ttlMs: 30_000, tags: ['users'] });
    say(
      'cache-aside',
      `20 concurrent misses ran the loader ${loads} time(s) (single flight) in ${first.toFixed(0)} ms; the next read hit Redis in ${(performance.now() - t1).toFixed(1)} ms`,
    );

    await client.invalidateTags('users');
    await client.getOrSet('user:1', loader, { ttlMs: 30_000, tags: ['users'] });
    say('tags', `invalidateTags('users') dropped the entry: the loader ran again (${loads} loads in total)`);
  } catch (error) {
    say('error', (error as Error).message);
  } finally {
    await client.close();
  }
}
