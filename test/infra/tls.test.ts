import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { harnessTempDir } from '../support/harness-root.ts';
import { withExporterScrape } from './support/exporter.ts';
import { loopbackBlock, NAMESPACE, PodSim, type SimPod } from './support/pod-sim.ts';
import { type Manifest, synthCluster } from './support/synth.ts';

const run = promisify(execFile);
/** The DNS names of the chart's Certificate for its members (`*.<headless>.<namespace>.svc.<domain>`). */
const sanNames = () => [`*.${sim.headless}.${NAMESPACE}.svc.cluster.local`, `*.${sim.headless}`];
const port = 20_000 + Math.floor(Math.random() * 20_000);
const address = loopbackBlock();
let root: string;
let sim: PodSim;

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
  root = harnessTempDir('infra-tls');
  sim = new PodSim(
    root,
    synthCluster({ port, nodeTimeoutMs: 2000, tls: { secretName: 'redis-tls' }, resources: { memoryLimit: '256Mi' } }),
    {
      SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30',
      SLOTFORGE_TLS_RELOAD_INTERVAL_S: '1',
    },
  );
  await makeCertificates(sim.tlsDir, sanNames());
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

  it('the exporter sidecar scrapes over TLS, as the manifest runs it: redis_up 1', async () => {
    const pod = sim.pod(`${sim.name}-shard-1-0`) as SimPod;
    const sts = sim.objects.find((o) => o.kind === 'StatefulSet');
    const exporter = sts?.spec.template.spec.containers.find((c: { name: string }) => c.name === 'exporter');
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const e of exporter.env as Array<{ name: string; value?: string; valueFrom?: Manifest }>) {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      const key = e.valueFrom?.secretKeyRef?.key;
      if (field) env[e.name] = field === 'metadata.name' ? pod.name : NAMESPACE;
      else if (key) env[e.name] = sim.passwords[key] as string;
      // Kubernetes expands $(VAR) from the variables above; the local runtime does too (env.ts).
      else env[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? '');
    }
    expect(env.REDIS_ADDR).toBe(`rediss://${sim.fqdn(pod.name)}:${port}`);
    for (const name of [
      'REDIS_EXPORTER_TLS_CA_CERT_FILE',
      'REDIS_EXPORTER_TLS_CLIENT_CERT_FILE',
      'REDIS_EXPORTER_TLS_CLIENT_KEY_FILE',
    ]) {
      env[name] = String(env[name]).replace('/etc/slotforge/tls', sim.tlsDir);
    }
    const metricsPort = 20_000 + Math.floor(Math.random() * 20_000);
    env.REDIS_EXPORTER_WEB_LISTEN_ADDRESS = `127.0.0.1:${metricsPort}`;
    // The pod's DNS name resolves through the hosts file, as in the pod.
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    await withExporterScrape({ env, logDir: root, metricsUrl, hostsFile: sim.hostsFile }, (text) => {
      expect(text, readFileSync(join(root, 'exporter.log'), 'utf8')).toMatch(/^redis_up 1$/m);
      expect(text).toMatch(/^redis_cluster_state 1$/m);
    });
  });

  it('a rotated certificate is loaded without a restart: new connections see it', async () => {
    const pod = sim.pod(`${sim.name}-shard-2-0`) as SimPod;
    const ca = readFileSync(join(sim.tlsDir, 'ca.crt'), 'utf8');
    expect(await servedCommonName(pod.ip, port, ca)).toBe('redis-member');
    const pid = pod.process?.pid;
    await issueLeaf(sim.tlsDir, sanNames(), 'redis-member-rotated');
    const started = Date.now();
    await pollUntil(async () => (await servedCommonName(pod.ip, port, ca)) === 'redis-member-rotated', {
      description: 'new TLS connections to be served the rotated certificate',
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    console.log(`rotated certificate served ${Date.now() - started} ms after the files changed`);
    expect(pod.process?.pid).toBe(pid);
    expect(pod.process?.running).toBe(true);
    expect(sim.log(pod)).toMatch(/tls: the certificate files changed; reloaded them/);
    // The cluster still works over TLS with the new certificates (bus and replication included).
    await sim.waitHealthy(6);
  });
});
