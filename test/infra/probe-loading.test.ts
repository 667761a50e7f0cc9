import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageProgram } from '../../runtime/images/index.ts';
import { pollUntil } from '../../runtime/process/index.ts';
import { harnessTempDir } from '../support/harness-root.ts';
import { loopbackBlock, PodSim, type SimPod } from './support/pod-sim.ts';
import { memberConfig, synthCluster } from './support/synth.ts';

const run = promisify(execFile);

// The field's complaint: liveness probes kill Redis while it loads a large AOF, so it restarts, loads again, and never
// comes up. One store-profile member (AOF) filled with ~100 MB, restarted, and probed while it answers LOADING.
const KEYS = 100_000;
const VALUE = 'x'.repeat(1024);
/**
 * Microseconds Redis sleeps after each key it loads (`key-load-delay`, a hidden debugging config): 100 000 keys x 50 us
 * stretch loading to about 5 s, so the probe surely runs while it lasts instead of racing a sub-second load.
 */
const KEY_LOAD_DELAY_US = 50;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const address = loopbackBlock();
let root: string;
let sim: PodSim;
let pod: SimPod;

/**
 * Bound of one redis-cli call of this test. A loading Redis 8.0 answers a new connection (accept, AUTH, the command)
 * only between chunks of its load: a PING took 5.1 s here on the shared machine, past the 5 s this bound used to be.
 */
const CLI_TIMEOUT_MS = 15_000;

/** One command through redis-cli as the admin user: unlike ioredis it does not wait for the load to finish. */
async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(
    imageProgram('redis-cli'),
    ['--no-auth-warning', '-a', sim.passwords.admin as string, '-h', pod.ip, '-p', String(port), ...args],
    { timeout: CLI_TIMEOUT_MS },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return stdout.trim();
}

beforeAll(async () => {
  root = harnessTempDir('infra-probe-loading');
  const objects = synthCluster({ shards: 3, port, resources: { memoryLimit: '1Gi' } });
  const config = memberConfig(objects);
  config['redis.conf'] = `${config['redis.conf']}\nkey-load-delay ${KEY_LOAD_DELAY_US}\n`;
  sim = new PodSim(root, objects);
  pod = sim.addPod(0, 0, address(2));
  await sim.start(pod);
  // A one-node cluster that serves every slot: enough for a member to hold data and pass its own probes.
  expect(await sim.call(pod, 'CLUSTER', 'ADDSLOTSRANGE', 0, 16383)).toBe('OK');
  await pollUntil(async () => (await sim.clusterInfo(pod)).cluster_state === 'ok', {
    description: `${pod.name} to report cluster_state:ok`,
    timeoutMs: 10_000,
  });
  const client = sim.ref(pod).connect();
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
});

afterAll(async () => {
  await sim?.stopAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the liveness probe of a cluster member', () => {
  it('passes while the member loads a large AOF (LOADING), where readiness fails', async () => {
    const usedMb = Number(/used_memory:(\d+)/.exec(await cli('INFO', 'memory'))?.[1]) / 2 ** 20;
    // SIGTERM: redis-server fsyncs the AOF and exits; the restart loads it back.
    await sim.stop(pod, 'term');
    const starting = sim.start(pod);
    try {
      await pollUntil(async () => (await cli('INFO', 'persistence')).includes('loading:1'), {
        description: `${pod.name} to be loading its AOF`,
        timeoutMs: 15_000,
        intervalMs: 20,
      });
      expect(await cli('PING')).toMatch(/^LOADING/);
      const liveness = await sim.runScript('probe.sh', { pod, args: ['liveness'], timeoutMs: 10_000 });
      const readiness = await sim.runScript('probe.sh', { pod, args: ['readiness'], timeoutMs: 10_000 });
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
