import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { harnessTempDir } from '../support/harness-root.ts';
import { loopbackBlock, PodSim, type SimPod } from './support/pod-sim.ts';
import { synthCluster } from './support/synth.ts';

const run = promisify(execFile);
const port = 20_000 + Math.floor(Math.random() * 20_000);
const address = loopbackBlock();
let root: string;
let sim: PodSim;

/** A CA and one member certificate, as cert-manager would put them in the Secret. */
async function makeCertificates(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'openssl',
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=slotforge-test-ca'],
    { cwd: dir },
  );
  await run('openssl', ['req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=redis-member'], {
    cwd: dir,
  });
  await run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      'tls.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'tls.crt',
      '-days',
      '1',
    ],
    { cwd: dir },
  );
}

beforeAll(async () => {
  root = harnessTempDir('infra-tls');
  sim = new PodSim(
    root,
    synthCluster({ port, nodeTimeoutMs: 2000, tls: { secretName: 'redis-tls' }, resources: { memoryLimit: '256Mi' } }),
    {
      SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30',
    },
  );
  await makeCertificates(sim.tlsDir);
  let host = 2;
  for (let s = 0; s < 3; s++) for (let m = 0; m < 2; m++) sim.addPod(s, m, address(host++));
  await Promise.all([...sim.pods.values()].map((p) => sim.start(p)));
});

afterAll(async () => {
  await sim?.stopAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('TLS (clients, cluster bus, replication)', () => {
  it('forms over TLS, replicates over TLS, refuses plain TCP, and preStop still hands over', async () => {
    const job = await sim.runScript('bootstrap.sh');
    expect(job.code, job.output).toBe(0);
    await sim.waitHealthy(6);
    // redis-cli --cluster (rebalance, check) over TLS too.
    const scale = await sim.runScript('scale.sh');
    expect(scale.code, scale.output).toBe(0);
    const member = sim.pod(`${sim.name}-shard-0-1`) as SimPod;
    await pollUntil(
      async () => String(await sim.call(member, 'INFO', 'replication')).includes('master_link_status:up'),
      {
        description: 'replica link up over TLS',
        timeoutMs: 15_000,
      },
    );
    // Plain TCP on the same port: the TLS listener never answers a RESP PING.
    const plain = new Redis({
      host: member.ip,
      port,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1000,
      commandTimeout: 1000,
    });
    plain.on('error', () => {});
    await expect(plain.ping()).rejects.toThrow();
    plain.disconnect();
    expect((await sim.runScript('probe.sh', { pod: member, args: ['readiness'] })).code).toBe(0);
    const master = sim.pod(`${sim.name}-shard-0-0`) as SimPod;
    const handover = await sim.runScript('prestop.sh', { pod: master });
    expect(handover.code, handover.output).toBe(0);
    expect(await sim.role(member)).toBe('master');
  });
});
