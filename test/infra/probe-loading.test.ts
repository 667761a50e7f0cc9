import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageProgram } from '../../runtime/images/index.ts';
import { pollUntil } from '../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { memberConfig, synthCluster } from './support/synth.ts';

const run = promisify(execFile);

// The field's complaint: liveness probes kill Redis while it loads a large AOF, so it restarts, loads again, and never
// comes up. One store-profile member (AOF) filled with ~100 MB, restarted, and probed while it answers LOADING: the
// chart's manifests on the local runtime with one pod of shard 0 and no topology Job.
const KEYS = 100_000;
const VALUE = 'x'.repeat(1024);
/**
 * Microseconds Redis sleeps after each key it loads (`key-load-delay`, a hidden debugging config): 100 000 keys x 50 us
 * stretch loading to about 5 s, so the probe surely runs while it lasts instead of racing a sub-second load.
 */
const KEY_LOAD_DELAY_US = 50;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sim = new ChartRun('infra-probe-loading');
const pod = 'rc-shard-0-0';

/**
 * Bound of one redis-cli call of this test. A loading Redis 8.0 answers a new connection (accept, AUTH, the command)
 * only between chunks of its load: a PING took 5.1 s here on the shared machine, past the 5 s this bound used to be.
 */
const CLI_TIMEOUT_MS = 15_000;

/** One command through redis-cli as the admin user: unlike ioredis it does not wait for the load to finish. */
async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(
    imageProgram('redis-cli'),
    ['--no-auth-warning', '-a', sim.password('admin'), '-h', sim.ip(pod), '-p', String(port), ...args],
    { timeout: CLI_TIMEOUT_MS },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return stdout.trim();
}

beforeAll(async () => {
  const objects = synthCluster({ shards: 3, port, resources: { memoryLimit: '1Gi' } });
  const config = memberConfig(objects);
  config['redis.conf'] = `${config['redis.conf']}\nkey-load-delay ${KEY_LOAD_DELAY_US}\n`;
  await sim.start(objects, {
    withoutTopologyJob: true,
    replicas: { 'rc-shard-0': 1, 'rc-shard-1': 0, 'rc-shard-2': 0 },
  });
  await sim.waitPing(pod);
  // A one-node cluster that serves every slot: enough for a member to hold data and pass its own probes.
  expect(await sim.call(pod, 'CLUSTER', 'ADDSLOTSRANGE', 0, 16383)).toBe('OK');
  await pollUntil(async () => (await sim.clusterInfo(pod)).cluster_state === 'ok', {
    description: `${pod} to report cluster_state:ok`,
    timeoutMs: 10_000,
  });
  const client = sim.connect(pod);
  try {
    for (let from = 0; from < KEYS; from += 10_000) {
      const batch = client.pipeline();
      for (let i = from; i < from + 10_000; i++) batch.set(`load:{${i % 100}}:${i}`, VALUE);
      for (const [error] of (await batch.exec()) ?? []) if (error) throw error;
    }
    expect(await client.dbsize()).toBe(KEYS);
  } finally {
    client.disconnect();
  }
}, RUNTIME_HOOK_TIMEOUT_MS);

describe('the liveness probe of a cluster member', () => {
  it('passes while the member loads a large AOF (LOADING), where readiness fails', async () => {
    const usedMb = Number(/used_memory:(\d+)/.exec(await cli('INFO', 'memory'))?.[1]) / 2 ** 20;
    // Deleted gracefully (SIGTERM: redis-server fsyncs the AOF and exits); the new pod loads it back from the claim.
    await sim.runtime.deletePod(pod);
    const starting = sim.waitPing(pod, 90_000);
    try {
      await pollUntil(
        async () => sim.pod(pod).ip !== undefined && (await cli('INFO', 'persistence')).includes('loading:1'),
        {
          description: `${pod} to be loading its AOF`,
          timeoutMs: 15_000,
          intervalMs: 20,
        },
      );
      expect(await cli('PING')).toMatch(/^LOADING/);
      // As the kubelet judges it: a restart takes failureThreshold (3) failed liveness probes in a row, so loading is
      // safe when one of three passes (on a machine at load average 20+ a single PING to a loading server can miss
      // the probe's 3 s budget).
      let liveness = await sim.exec(pod, 'probe.sh', ['liveness'], { timeoutMs: 10_000 });
      for (let attempt = 1; attempt < 3 && liveness.code !== 0; attempt++) {
        console.log(`liveness attempt ${attempt} failed: ${liveness.output.trim()}`);
        liveness = await sim.exec(pod, 'probe.sh', ['liveness'], { timeoutMs: 10_000 });
      }
      const readiness = await sim.exec(pod, 'probe.sh', ['readiness'], { timeoutMs: 10_000 });
      // Still loading after both probes ran: they saw LOADING, not a finished load.
      const stillLoading = (await cli('INFO', 'persistence')).includes('loading:1');
      console.log(
        `liveness while loading ${usedMb.toFixed(0)} MB: exit ${liveness.code}; readiness: exit ${readiness.code} (${readiness.output.trim()}); still loading after: ${stillLoading}`,
      );
      expect(stillLoading).toBe(true);
      expect(liveness.code, liveness.output).toBe(0);
      expect(readiness.code).toBe(1);
      expect(readiness.output).toMatch(/readiness: LOADING/);
    } finally {
      await starting;
    }
    expect(await sim.call(pod, 'DBSIZE')).toBe(KEYS);
  }, 90_000);
});
