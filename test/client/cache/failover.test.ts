import { createClient, keySlot, METRIC_NAMES } from '@slotforge/client';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { command, parseClusterNodes } from '../../../runtime/redis/index.ts';
import { useCluster } from '../../support/index.ts';

/**
 * Scenario: a master is SIGKILLed while writers and getOrSet readers run. Checkers with named thresholds:
 * - no write acknowledged (SET + WAIT 1 replica) is lost after the failover;
 * - getOrSet never fails (stale from the local fallback, or the loader, while the slot is down);
 * - stale values are served while the slot is down.
 * Its own configuration (nodeTimeoutMs 1500) so other files never see this broken deployment.
 */
const cluster = useCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 1500 });

/** getOrSet calls allowed to fail: none, the cache must keep serving. */
const MAX_READ_ERRORS = 0;
/** Acknowledged writes allowed to be missing afterwards: none (WAIT 1 made each reach the replica). */
const MAX_LOST_ACKED_WRITES = 0;

it('kills a master mid-workload: no acknowledged set lost, getOrSet keeps serving, stale served while the slot is down', async () => {
  const registry = new Registry();
  const client = createClient({ cluster: { nodes: cluster().seeds() }, namespace: 'failover', deps: { registry } });
  try {
    const readKeys = Array.from({ length: 200 }, (_, i) => `r:${i}`);
    const readOptions = { ttlMs: 60_000, graceMs: 60_000, jitter: 0, softTimeoutMs: 300 };
    for (const key of readKeys) await client.getOrSet(key, () => `loaded:${key}`, readOptions);

    // The victim: the master serving r:0.
    const masters = await cluster().masters();
    const seed = masters[0];
    if (!seed) throw new Error('no master');
    const slot = keySlot('failover:r:0');
    const lines = parseClusterNodes(String(await command(seed, 'CLUSTER', 'NODES')));
    const owner = lines.find((l) => l.flags.includes('master') && l.slots.some(([a, b]) => slot >= a && slot <= b));
    const victim = cluster().nodes.find((n) => `${n.host}:${n.port}` === owner?.address.split('@')[0]);
    if (!victim) throw new Error(`no master owns slot ${slot}`);

    const acked = new Map<string, number>();
    let writeAttempts = 0;
    let readErrors = 0;
    let reads = 0;
    let stop = false;
    let seq = 0;
    const writer = async () => {
      while (!stop) {
        const n = seq++;
        const key = `w:${n}`;
        writeAttempts++;
        try {
          await client.set(key, n, { ttlMs: 600_000, waitReplicas: 1 });
          acked.set(key, n);
        } catch {
          // Not acknowledged: may or may not be stored, so the checker ignores it.
        }
      }
    };
    const reader = async () => {
      while (!stop) {
        const key = readKeys[Math.floor(Math.random() * readKeys.length)] as string;
        reads++;
        try {
          const value = await client.getOrSet(key, () => `loaded:${key}`, readOptions);
          if (value !== `loaded:${key}`) readErrors++;
        } catch {
          readErrors++;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    const workers = [...Array.from({ length: 4 }, writer), ...Array.from({ length: 4 }, reader)];
    await new Promise((r) => setTimeout(r, 700));
    const killedAt = Date.now();
    victim.process.signal('SIGKILL');
    await victim.process.exited;
    // While the slot has no master every node answers CLUSTERDOWN: a call with a short deadline fails with the typed
    // code and its facts rather than hanging.
    const survivor = cluster().nodes.find((n) => n !== victim && n.process.running);
    if (!survivor) throw new Error('no surviving node');
    let sawClusterDown: unknown;
    let probeMs = 0;
    const probeDeadline = Date.now() + 10_000;
    while (sawClusterDown === undefined && Date.now() < probeDeadline) {
      const info = String(await command(survivor, 'CLUSTER', 'INFO'));
      if (info.includes('cluster_state:fail')) {
        const probeStart = Date.now();
        const probe = await client.commands.get('failover:r:0', { timeoutMs: 300 }).catch((e: unknown) => e);
        probeMs = Date.now() - probeStart;
        // The promotion may land between CLUSTER INFO and the GET: then the GET succeeds and we probe again.
        if (probe instanceof Error) sawClusterDown = probe;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await cluster().waitHealthy(30_000);
    const healedAfterMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(workers);

    const staleServed = (await registry.getSingleMetricAsString(METRIC_NAMES.cacheStaleServed)).match(
      /reason="redis-error"} (\d+)/,
    );
    const keys = [...acked.keys()];
    const values = await client.getMany<number>(keys);
    const lost = keys.filter((k, i) => values[i] !== acked.get(k));
    console.info(
      `failover: healed after ${healedAfterMs} ms; ${acked.size}/${writeAttempts} writes acknowledged, ${lost.length} lost; ` +
        `${reads} getOrSet calls, ${readErrors} failed, ${staleServed?.[1] ?? 0} stale served; ` +
        `probe while down: ${(sawClusterDown as { code?: string } | undefined)?.code}`,
    );
    expect(acked.size).toBeGreaterThan(100);
    expect(lost.length).toBeLessThanOrEqual(MAX_LOST_ACKED_WRITES);
    expect(readErrors).toBeLessThanOrEqual(MAX_READ_ERRORS);
    expect(Number(staleServed?.[1] ?? 0)).toBeGreaterThan(0);
    // Typed and on time: CLUSTERDOWN when a live node answered, a connection error when the slot map still pointed
    // at the dead master, a timeout when ioredis was still redirecting internally when the deadline passed.
    expect(sawClusterDown).toMatchObject({ key: 'failover:r:0', timeoutMs: 300 });
    expect(['E_CLUSTER_DOWN', 'E_CONNECTION', 'E_TIMEOUT']).toContain((sawClusterDown as { code: string }).code);
    expect(probeMs).toBeLessThan(800);
  } finally {
    await client.close();
  }
}, 60_000);
