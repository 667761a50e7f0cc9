import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { ChartRun, NAMESPACE, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { type Manifest, synthCluster } from './support/synth.ts';

// A cluster with TLS everywhere, the chart's manifests on the local runtime (the topology Job left out: the test runs
// its scripts), the TLS Secret made by the test as cert-manager would make it.
const run = promisify(execFile);
/** The DNS names of the chart's Certificate for its members (`*.<headless>.<namespace>.svc.<domain>`). */
const sanNames = () => [`*.rc-headless.${NAMESPACE}.svc.cluster.local`, '*.rc-headless'];
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sim = new ChartRun('infra-tls');
const tlsDir = join(sim.stateDir, '..', 'tls');
const objects = synthCluster({
  port,
  nodeTimeoutMs: 2000,
  tls: { secretName: 'redis-tls' },
  resources: { memoryLimit: '256Mi' },
});
const chart = {
  env: { SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30', SLOTFORGE_TLS_RELOAD_INTERVAL_S: '1' },
  withoutTopologyJob: true,
};
const members = () => sim.podNames(`${sim.name}-shard-`);

/** The Secret cert-manager keeps (tls.crt, tls.key, ca.crt), from the files in `tlsDir`. */
function tlsSecret(): Manifest {
  const data: Record<string, string> = {};
  for (const key of ['tls.crt', 'tls.key', 'ca.crt']) data[key] = readFileSync(join(tlsDir, key)).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'redis-tls', namespace: NAMESPACE },
    type: 'kubernetes.io/tls',
    data,
  };
}

/** A CA and one member certificate, as cert-manager would put them in the Secret (SANs of the chart's Certificate). */
async function makeCertificates(dir: string, dnsNames: readonly string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'openssl',
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=slotforge-test-ca'],
    { cwd: dir },
  );
  await issueLeaf(dir, dnsNames, 'redis-member');
}

/** A new member certificate from the same CA, written over tls.crt/tls.key by rename (as the kubelet swaps files). */
async function issueLeaf(dir: string, dnsNames: readonly string[], cn: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', ...ec, '-keyout', 'next.key', '-out', 'next.csr', '-subj', `/CN=${cn}`], { cwd: dir });
  writeFileSync(join(dir, 'san.ext'), `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\n`);
  const sign = ['x509', '-req', '-in', 'next.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'];
  await run('openssl', [...sign, '-extfile', 'san.ext', '-out', 'next.crt', '-days', '1'], { cwd: dir });
  renameSync(join(dir, 'next.key'), join(dir, 'tls.key'));
  renameSync(join(dir, 'next.crt'), join(dir, 'tls.crt'));
}

/** The subject CN of the certificate a new TLS connection to host:port is served. */
async function servedCommonName(host: string, port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port, ca, checkServerIdentity: () => undefined }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.destroy();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  await makeCertificates(tlsDir, sanNames());
  // ioredis checks the CA, not the hostname (as Redis does).
  const read = (f: string) => readFileSync(join(tlsDir, f));
  sim.tls = { ca: read('ca.crt'), cert: read('tls.crt'), key: read('tls.key'), checkServerIdentity: () => undefined };
  await sim.start([...objects, tlsSecret()], chart);
  await pollUntil(() => members().length === 6, { description: 'every member pod', timeoutMs: 30_000 });
  await Promise.all(members().map((p) => sim.waitPing(p)));
}, RUNTIME_HOOK_TIMEOUT_MS);

describe('TLS (clients, cluster bus, replication)', () => {
  it('forms over TLS, replicates over TLS, refuses plain TCP, and preStop still hands over', async () => {
    const job = await sim.topology('bootstrap.sh');
    expect(job.code, job.output).toBe(0);
    await sim.waitHealthy(6);
    // redis-cli --cluster (rebalance, check) over TLS too.
    const scale = await sim.topology('scale.sh');
    expect(scale.code, scale.output).toBe(0);
    const member = `${sim.name}-shard-0-1`;
    await pollUntil(
      async () => String(await sim.call(member, 'INFO', 'replication')).includes('master_link_status:up'),
      {
        description: 'replica link up over TLS',
        timeoutMs: 15_000,
      },
    );
    // Plain TCP on the same port: the TLS listener never answers a RESP PING.
    const plain = new Redis({
      host: sim.ip(member),
      port,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1000,
      commandTimeout: 1000,
    });
    plain.on('error', () => {});
    await expect(plain.ping()).rejects.toThrow();
    plain.disconnect();
    expect((await sim.exec(member, 'probe.sh', ['readiness'])).code).toBe(0);
    const master = `${sim.name}-shard-0-0`;
    const handover = await sim.exec(master, 'prestop.sh');
    expect(handover.code, handover.output).toBe(0);
    expect(await sim.role(member)).toBe('master');
  });

  it('the exporter sidecar scrapes over TLS, as the manifest runs it: redis_up 1', async () => {
    const pod = `${sim.name}-shard-1-0`;
    // The pod runs the sidecar from the manifest; its env is what the runtime gave it ($(VAR) expanded, env.ts).
    const env = sim.pod(pod).containerEnv('exporter') ?? {};
    expect(env.REDIS_ADDR).toBe(`rediss://${sim.fqdn(pod)}:${port}`);
    for (const name of [
      'REDIS_EXPORTER_TLS_CA_CERT_FILE',
      'REDIS_EXPORTER_TLS_CLIENT_CERT_FILE',
      'REDIS_EXPORTER_TLS_CLIENT_KEY_FILE',
    ]) {
      expect(env[name], name).toMatch(/^\/etc\/slotforge\/tls\//);
    }
    // The pod's DNS name resolves through the pod's hosts file.
    const text = await pollUntil(
      async () => {
        const body = await (await fetch(`http://${sim.ip(pod)}:9121/metrics`)).text();
        return body.includes('redis_up') ? body : undefined;
      },
      { description: 'exporter metrics', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(text, sim.log(pod, 'exporter')).toMatch(/^redis_up 1$/m);
    expect(text).toMatch(/^redis_cluster_state 1$/m);
  });

  it('a rotated certificate is loaded without a restart: new connections see it', async () => {
    const pod = `${sim.name}-shard-2-0`;
    const ca = readFileSync(join(tlsDir, 'ca.crt'), 'utf8');
    const ip = sim.ip(pod);
    expect(await servedCommonName(ip, port, ca)).toBe('redis-member');
    const pid = sim.pod(pod).containerPid('redis');
    const restarts = sim.pod(pod).restarts;
    await issueLeaf(tlsDir, sanNames(), 'redis-member-rotated');
    // cert-manager updates the Secret; the kubelet rewrites the mounted files in place.
    await sim.apply([...objects, tlsSecret()], chart);
    const read = (f: string) => readFileSync(join(tlsDir, f));
    sim.tls = { ca: read('ca.crt'), cert: read('tls.crt'), key: read('tls.key'), checkServerIdentity: () => undefined };
    const started = Date.now();
    await pollUntil(async () => (await servedCommonName(ip, port, ca)) === 'redis-member-rotated', {
      description: 'new TLS connections to be served the rotated certificate',
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    console.log(`rotated certificate served ${Date.now() - started} ms after the files changed`);
    expect(sim.pod(pod).containerPid('redis')).toBe(pid);
    expect(pid).toBeDefined();
    expect(sim.pod(pod).restarts).toBe(restarts);
    // The entrypoint's loop logs the reload after the CONFIG SET that made Redis serve the new files.
    const reloaded = /tls: the certificate files changed; reloaded them/;
    await pollUntil(() => reloaded.test(sim.log(pod)), { description: 'the reload logged', timeoutMs: 5000 }).catch(
      () => undefined,
    );
    expect(sim.log(pod)).toMatch(reloaded);
    // The cluster still works over TLS with the new certificates (bus and replication included).
    await sim.waitHealthy(6);
  });
});
