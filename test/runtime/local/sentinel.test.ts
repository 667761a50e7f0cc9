import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSentinelExample } from '../../../infra/index.ts';
import { cleanupLocal, LocalRuntime, loadManifests, unhealthy } from '../../../runtime/local/index.ts';
import { pollUntil } from '../../../runtime/process/index.ts';
import { cleanUpAndExpectNothingLeft, harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from '../../support/index.ts';

const NAMESPACE = 'slotforge-sentinel';

/**
 * The RedisSentinel example chart, synthesized as main.ts does (its own chart plus its Namespace), run on the local
 * runtime. A first boot skips the empty-primary guard (docs/sentinel-setup.md), so it is healthy in about 13 s instead
 * of waiting out SLOTFORGE_GUARD_TIMEOUT_S (60 s): the deadline below leaves room for a slow machine, not the guard.
 */
describe.runIf(process.getuid?.() === 0)('the RedisSentinel chart on the local runtime', () => {
  let runtime: LocalRuntime;
  let stateDir: string;

  const secret = (key: string) => runtime.store.secret(NAMESPACE, 'sessions-auth')?.[key]?.trim();

  beforeAll(async () => {
    const dir = harnessTempDir('sentinel');
    const app = new App({ outdir: join(dir, 'dist') });
    addSentinelExample(app, { namespaceChart: new Chart(app, 'namespace') });
    app.synth();
    stateDir = join(dir, 'state');
    const started = Date.now();
    runtime = await LocalRuntime.start({ stateDir, manifests: loadManifests(join(dir, 'dist')) });
    await pollUntil(async () => unhealthy(await runtime.status()) === undefined, {
      description: 'every Sentinel chart pod ready and its Job complete',
      timeoutMs: 150_000,
      intervalMs: 1000,
    });
    console.log(`sentinel chart healthy after ${Date.now() - started} ms`);
  }, RUNTIME_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await runtime?.stop(3000);
    if (stateDir) await cleanupLocal(stateDir);
  });

  it('comes up from the synthesized manifests alone, the sentinels name the primary, and it serves reads and writes', async () => {
    const status = await runtime.status();
    const primary = status.pods.filter((p) => p.role === 'master');
    expect(primary).toHaveLength(1);
    expect(status.pods.filter((p) => p.role === 'replica')).toHaveLength(2);
    expect(status.pods.filter((p) => p.role === 'sentinel')).toHaveLength(3);

    const sentinel = new Redis({
      host: runtime.pod('sessions-sentinel-0').ip!,
      port: 26379,
      password: secret('sentinel-access'),
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    sentinel.on('error', () => {});
    try {
      const [host] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'sessions')) as string[];
      const named = host === primary[0]!.ip ? primary[0]!.name : host?.split('.')[0];
      expect(named).toBe(primary[0]!.name);
    } finally {
      sentinel.disconnect();
    }

    const client = new Redis({
      host: primary[0]!.ip!,
      port: 6379,
      username: 'app',
      password: secret('app'),
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      await client.set('sentinel:key', 'value');
      expect(await client.get('sentinel:key')).toBe('value');
    } finally {
      client.disconnect();
    }
  });

  it('after stop and cleanup nothing is left', async () => {
    await runtime.stop(3000);
    await cleanUpAndExpectNothingLeft(stateDir);
  });
});
