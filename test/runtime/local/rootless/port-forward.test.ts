import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupLocal,
  control,
  type PortForward,
  portForward,
  type RuntimeStatus,
  startSupervisor,
  statePaths,
  storedSecret,
  waitHealthy,
} from '../../../../runtime/local/index.ts';
import { userNamespacesEnabled } from '../../../../runtime/local/rootless/index.ts';
import { harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from '../../../support/index.ts';
import { synthDefaultCharts } from '../chart-support.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../../bin/slotforge.js', import.meta.url));
const MEMBER = 'redis-shard-0-0.redis-headless.slotforge.svc.cluster.local';

// As root the host is on the pod network; as another user (outside any namespace, as .ci/rootless.sh runs it) the
// supervisor gets a namespace of its own and both ways in cross into it.
describe.runIf(process.getuid?.() === 0 || userNamespacesEnabled())('host access: port-forward and exec', () => {
  let stateDir = '';
  let status: RuntimeStatus;
  let forward: PortForward | undefined;

  beforeAll(async () => {
    const dir = harnessTempDir('port-forward');
    const dist = await synthDefaultCharts(dir);
    stateDir = join(dir, 'state');
    await startSupervisor({ stateDir, manifests: dist });
    status = await waitHealthy(stateDir, { timeoutMs: 180_000 });
  }, RUNTIME_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await forward?.close();
    if (stateDir) await cleanupLocal(stateDir);
  }, 90_000);

  it('a cluster client on the host reaches every member through local ports, redirects mapped by natMap', async () => {
    forward = await portForward({ stateDir });
    expect(forward.members.map((m) => m.pod).sort()).toEqual(status.clusters[0]?.members.slice().sort());
    const password = storedSecret(stateDir, 'slotforge', 'redis-auth')?.app?.trim();
    const cluster = new Cluster(forward.seeds(), {
      natMap: forward.natMap,
      redisOptions: { username: 'app', password },
      slotsRefreshTimeout: 5000,
    });
    try {
      const keys = Array.from({ length: 300 }, (_, i) => `pf:${i}`);
      for (const key of keys) await cluster.set(key, key);
      const back = await Promise.all(keys.map((key) => cluster.get(key)));
      expect(back).toEqual(keys);
      // Every connection the client made went to a forwarded port: the announced pod addresses were all mapped.
      const ports = new Set(forward.members.map((m) => m.localPort));
      const nodes = cluster.nodes('all');
      expect(nodes.length).toBe(forward.members.length);
      for (const node of nodes) {
        expect(node.options.host).toBe('127.0.0.1');
        expect(ports.has(Number(node.options.port))).toBe(true);
      }
    } finally {
      cluster.disconnect();
    }
  }, 60_000);

  it('exec runs a command inside the pod network, where the pod names resolve to their addresses', async () => {
    const pod = (await control<RuntimeStatus>(statePaths(stateDir).socket, { verb: 'status' })).pods.find(
      (p) => p.name === 'redis-shard-0-0',
    );
    const { stdout } = await run(
      process.execPath,
      [bin, '--state-dir', stateDir, 'exec', '--', 'getent', 'hosts', MEMBER],
      {
        timeout: 30_000,
      },
    );
    expect(stdout.split(/\s+/)[0]).toBe(pod?.ip);
  }, 60_000);
});
