import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtImage } from '../../runtime/images/index.ts';
import { type RedisServer, startRedisServer } from '../../runtime/redis/index.ts';
import { harnessTempDir } from '../support/index.ts';

// Issue 14 review: a readiness probe makes up to three redis-cli calls, each bounded by redisCliSeconds (3 s), so a
// slow but answering server let it run ~9 s against timeoutSeconds 5 s, and the kubelet cut it off without its
// message. Now the probe has one deadline (redisCliSeconds) and each call gets what is left of it. A real Redis 8.0
// (the image's) sits behind a proxy that delays every reply, as an overloaded node or a slow network would.
const repo = join(import.meta.dirname, '..', '..');
const PROBE_TIMEOUT_SECONDS = 5; // timeoutSeconds of the probes (redisCliSeconds 3 + 2)
const root = harnessTempDir('probe-deadline');
const auth = join(root, 'auth');
const run = join(root, 'run');
let redis: RedisServer;
const proxies: Server[] = [];

/** A TCP proxy to Redis that holds every reply for `delayMs`. */
async function slowProxy(delayMs: number): Promise<number> {
  const proxy = createServer((client) => {
    const upstream = connect(redis.port, redis.host);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => setTimeout(() => client.writable && client.write(d), delayMs));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxies.push(proxy);
  return (proxy.address() as AddressInfo).port;
}

/** Runs a probe script of the ConfigMap against 127.0.0.1:port; resolves its exit code, output and duration. */
function probe(script: string, port: number): Promise<{ code: number; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      'sh',
      [join(repo, script), 'readiness'],
      {
        env: {
          PATH: `${builtImage('redis').hostBin}:${process.env.PATH}`,
          SLOTFORGE_CONFIG_DIR: join(repo, 'infra/scripts'),
          SLOTFORGE_AUTH_DIR: auth,
          SLOTFORGE_RUN_DIR: run,
          POD_IP: '127.0.0.1',
          REDIS_PORT: String(port),
          SLOTFORGE_CLI_TIMEOUT_S: '3',
        },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, out: `${stdout}${stderr}`, ms: Date.now() - started });
      },
    );
  });
}

beforeAll(async () => {
  mkdirSync(auth, { recursive: true });
  mkdirSync(run, { recursive: true });
  writeFileSync(join(auth, 'probe'), 'probe-pw');
  const conf = join(root, 'redis.conf');
  writeFileSync(conf, 'user probe on >probe-pw ~* +@all\n');
  redis = await startRedisServer({ dir: join(root, 'data'), configFile: conf });
});

afterAll(async () => {
  for (const p of proxies) p.close();
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('a probe ends within its own deadline, below timeoutSeconds', () => {
  it('the Sentinel data-pod probe is Ready on a prompt primary (the setup works)', async () => {
    const result = await probe('infra/sentinel/scripts/redis-probe.sh', redis.port);
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });

  it('the Sentinel data-pod probe (PING, INFO) fails with a message within 3 s when each reply takes 2.8 s', async () => {
    // Each redis-cli call is AUTH then the command: two delayed replies, 2.8 s, under the old per-call 3 s bound, so
    // the old probe took ~5.6 s and was cut off by the kubelet.
    const result = await probe('infra/sentinel/scripts/redis-probe.sh', await slowProxy(1400));
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/^readiness: /);
    expect(result.ms).toBeLessThan((PROBE_TIMEOUT_SECONDS - 0.5) * 1000);
    expect(result.ms).toBeGreaterThanOrEqual(2900);
  });

  it('the cluster probe (PING, INFO, CLUSTER NODES) fails with a message within 3 s when each reply takes 2 s', async () => {
    // Old: 2 s + 2 s + 2 s = 6 s, past timeoutSeconds 5.
    const result = await probe('infra/scripts/probe.sh', await slowProxy(1000));
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/^readiness: /);
    expect(result.ms).toBeLessThan((PROBE_TIMEOUT_SECONDS - 0.5) * 1000);
    expect(result.ms).toBeGreaterThanOrEqual(2900);
  });
});
