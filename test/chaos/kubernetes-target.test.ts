import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedFaultError } from '../../chaos/index.ts';
import {
  chaosInjected,
  chaosMeshMissingError,
  clusterHealth,
  containerIdOf,
  HEALTH_SCRIPT,
  KubernetesTargetError,
  kubernetesTarget,
  type MemberState,
  parseConfigGetMs,
  parseSeeds,
  partitionObject,
  podInfosFromClusterNodes,
  redisCliCommand,
  resolveKubernetesOptions,
  signalPod,
  signalPodName,
} from '../../chaos/targets/index.ts';

// Redis 7 CLUSTER NODES as a pod of the chart prints it: ip:port@cport,hostname.
const NODES = [
  'a1 10.244.1.5:6379@16379,redis-shard-0-0.redis-headless.slotforge.svc.cluster.local myself,master - 0 0 1 connected 0-5460',
  'b2 10.244.2.6:6379@16379,redis-shard-0-1.redis-headless.slotforge.svc.cluster.local slave a1 0 1 1 connected',
  'c3 10.244.3.7:6379@16379,redis-shard-1-0.redis-headless.slotforge.svc.cluster.local master,fail - 0 1 2 connected 5461-10922',
  'd4 10.244.9.9:6379@16379 handshake - 0 0 0 connected',
].join('\n');

describe('kubernetes target: pure parts', () => {
  it('builds a NetworkChaos partition selecting both sides by pod name, both directions', () => {
    const object = partitionObject({ name: 'p1', namespace: 'slotforge', pods: ['a'], from: ['b', 'c'] });
    expect(object).toMatchObject({
      apiVersion: 'chaos-mesh.org/v1alpha1',
      kind: 'NetworkChaos',
      metadata: { name: 'p1', namespace: 'slotforge', labels: { 'app.kubernetes.io/managed-by': 'slotforge' } },
      spec: {
        action: 'partition',
        mode: 'all',
        direction: 'both',
        selector: { pods: { slotforge: ['a'] } },
        target: { mode: 'all', selector: { pods: { slotforge: ['b', 'c'] } } },
      },
    });
    expect(chaosInjected({ status: { conditions: [{ type: 'AllInjected', status: 'True' }] } })).toBe(true);
    expect(chaosInjected({ status: { conditions: [{ type: 'AllInjected', status: 'False' }] } })).toBe(false);
    expect(chaosInjected({})).toBe(false);
  });

  it('names Chaos Mesh, the CRD and the install command when the NetworkChaos resource is missing', () => {
    const error = chaosMeshMissingError();
    expect(error).toBeInstanceOf(KubernetesTargetError);
    expect(error.code).toBe('E_CHAOS_MESH_MISSING');
    expect(error.message).toContain('networkchaos.chaos-mesh.org');
    expect(error.message).toContain('helm install chaos-mesh chaos-mesh/chaos-mesh');
  });

  it('maps CLUSTER NODES to pods by IP, leaving out handshakes and marking failed nodes unknown', () => {
    const byIp = new Map([
      ['10.244.1.5', 'redis-shard-0-0'],
      ['10.244.2.6', 'redis-shard-0-1'],
      ['10.244.3.7', 'redis-shard-1-0'],
    ]);
    expect(podInfosFromClusterNodes(NODES, byIp)).toEqual([
      { name: 'redis-shard-0-0', address: '10.244.1.5:6379', role: 'master', slots: [[0, 5460]] },
      { name: 'redis-shard-0-1', address: '10.244.2.6:6379', role: 'replica', slots: [], masterOf: 'redis-shard-0-0' },
      { name: 'redis-shard-1-0', address: '10.244.3.7:6379', role: 'unknown', slots: [[5461, 10922]] },
    ]);
  });

  it('parses CONFIG GET cluster-node-timeout and rejects anything else', () => {
    expect(parseConfigGetMs('cluster-node-timeout\n5000\n')).toBe(5000);
    expect(() => parseConfigGetMs('ERR unknown\n')).toThrow(/unexpected CONFIG GET cluster-node-timeout reply/);
  });

  it('validates options, naming the option, the rule and the value', () => {
    const fails = (options: Parameters<typeof resolveKubernetesOptions>[0], option: string, text: RegExp) => {
      try {
        resolveKubernetesOptions(options);
      } catch (error) {
        expect(error).toBeInstanceOf(KubernetesTargetError);
        expect((error as KubernetesTargetError).code).toBe('E_INVALID_OPTION');
        expect((error as KubernetesTargetError).facts.option).toBe(option);
        expect((error as Error).message).toMatch(text);
        return;
      }
      expect.unreachable(`${option} accepted`);
    };
    fails({ namespace: 'Slot_Forge' }, 'namespace', /namespace must be a DNS-1123 label .*\(got "Slot_Forge"\)/);
    fails({ kubeconfig: '/nonexistent/kubeconfig' }, 'kubeconfig', /must be an existing kubeconfig file/);
    fails({ seeds: ['redis:0'] }, 'seeds', /host:port with a port from 1 to 65535 \(got "redis:0"\)/);
    fails({ seeds: [] }, 'seeds', /at least one/);
    fails({ labelSelector: ' ' }, 'labelSelector', /must select the cluster members/);
    fails({ authSecret: 'Not A Name' }, 'authSecret', /must be an object name/);
    const resolved = resolveKubernetesOptions({});
    expect(resolved).toMatchObject({ namespace: 'slotforge', container: 'redis', authSecret: 'redis-auth' });
    expect(resolved.labelSelector).toBe('app.kubernetes.io/name=redis-cluster,app.kubernetes.io/component=member');
    expect(parseSeeds('10.0.0.1:30079, [::1]:6379')).toEqual([
      { host: '10.0.0.1', port: 30079 },
      { host: '::1', port: 6379 },
    ]);
  });

  it('builds a hostPID signal pod pinned to the node and finds container IDs', () => {
    expect(containerIdOf(`containerd://${'ab12'.repeat(16)}`)).toBe('ab12'.repeat(16));
    expect(containerIdOf(undefined)).toBeUndefined();
    const name = signalPodName('Kind-Worker2.example');
    expect(name).toBe('slotforge-chaos-signal-kind-worker2-example');
    const pod = signalPod({ name, node: 'kind-worker2', image: 'busybox:1.36' });
    expect(pod.spec).toMatchObject({ nodeName: 'kind-worker2', hostPID: true, restartPolicy: 'Never' });
    expect(pod.spec.containers[0]?.securityContext).toEqual({ privileged: true, runAsUser: 0 });
    expect(signalPodName('n'.repeat(80))).toHaveLength(63);
  });

  it('judges health: pods, readiness, cluster_state, known nodes, masters per shard, replica links', () => {
    const info = (role: string, extra: Record<string, string> = {}) => ({
      cluster_state: 'ok',
      cluster_known_nodes: '4',
      role,
      ...(role === 'slave' ? { master_link_status: 'up' } : {}),
      ...extra,
    });
    const member = (name: string, i: Record<string, string> | undefined, ready = true): MemberState => ({
      name,
      ready,
      terminating: false,
      info: i,
    });
    const healthy = [
      member('a', info('master')),
      member('b', info('slave')),
      member('c', info('master')),
      member('d', info('slave')),
    ];
    const want = { pods: 4, shards: 2 };
    expect(clusterHealth(healthy, want)).toEqual({ ok: true, reason: 'healthy' });
    expect(clusterHealth(healthy.slice(1), want).reason).toBe('3 of 4 member pods exist');
    expect(clusterHealth([...healthy.slice(0, 3), member('d', info('slave'), false)], want).reason).toBe(
      'd is not Ready',
    );
    expect(
      clusterHealth([member('a', info('master', { cluster_state: 'fail' })), ...healthy.slice(1)], want).reason,
    ).toMatch(/cluster_state fail/);
    expect(
      clusterHealth([...healthy.slice(0, 3), member('d', info('slave', { master_link_status: 'down' }))], want).reason,
    ).toBe("d's master link is down");
    expect(clusterHealth([...healthy.slice(0, 3), member('d', info('master'))], want).reason).toBe(
      '3 masters for 2 shards',
    );
  });
});

describe('kubernetes target: exec scripts with the chart lib.sh and a stand-in redis-cli', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'slotforge-k8s-script-'));
    mkdirSync(join(dir, 'auth'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'auth', 'admin'), 'adm1n-secret\n');
    // Prints where the password arrived: argv or environment.
    writeFileSync(join(dir, 'bin', 'redis-cli'), '#!/bin/sh\necho "argv: $*"\necho "auth: $REDISCLI_AUTH"\n');
    chmodSync(join(dir, 'bin', 'redis-cli'), 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = () => ({
    PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
    SLOTFORGE_CONFIG_DIR: resolve('infra/scripts'),
    SLOTFORGE_AUTH_DIR: join(dir, 'auth'),
    POD_IP: '10.244.1.5',
  });

  it('passes the admin password in REDISCLI_AUTH, never in argv, and the arguments verbatim', () => {
    const [cmd, ...args] = redisCliCommand(5, 'CONFIG', 'GET', 'cluster-node-timeout');
    expect(args.join(' ')).not.toContain('adm1n-secret');
    const out = execFileSync(cmd as string, args, { env: env(), encoding: 'utf8' });
    expect(out).toContain('argv: --no-auth-warning -h 10.244.1.5 -p 6379 CONFIG GET cluster-node-timeout');
    expect(out).toContain('auth: adm1n-secret');
    expect(out).not.toMatch(/argv: .*adm1n-secret/);
  });

  it('prints CLUSTER INFO then INFO replication for the health check', () => {
    const out = execFileSync('sh', ['-c', HEALTH_SCRIPT], { env: env(), encoding: 'utf8' });
    expect(out).toContain('argv: --no-auth-warning -h 10.244.1.5 -p 6379 CLUSTER INFO');
    expect(out).toContain('argv: --no-auth-warning -h 10.244.1.5 -p 6379 INFO replication');
  });
});

/** A stand-in API server for the few REST endpoints the target calls (exec is a websocket: not here). */
interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

describe('kubernetes target: requests to a stand-in API server', () => {
  let server: Server;
  let dir: string;
  let kubeconfig: string;
  const requests: Recorded[] = [];
  let podUid = 'uid-old';
  let chaosMeshInstalled = true;
  const chaos = new Map<string, Record<string, unknown>>();
  const pod = (name: string, ip: string, uid = `uid-${name}`) => ({
    metadata: {
      name,
      namespace: 'slotforge',
      uid,
      ownerReferences: [{ kind: 'StatefulSet', name: name.slice(0, -2) }],
    },
    spec: { nodeName: 'kind-worker', terminationGracePeriodSeconds: 45 },
    status: { phase: 'Running', podIP: ip },
  });

  const readBody = (req: IncomingMessage) =>
    new Promise<unknown>((done) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => done(text ? JSON.parse(text) : undefined));
    });

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = await readBody(req);
      requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      const notFound = () => send(404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
      const p = url.pathname;
      const chaosPath = '/apis/chaos-mesh.org/v1alpha1/namespaces/slotforge/networkchaos';
      if (p === '/api/v1/namespaces/slotforge/pods' && req.method === 'GET') {
        return send(200, {
          kind: 'PodList',
          items: [pod('redis-shard-0-1', '10.244.2.6'), pod('redis-shard-0-0', '10.244.1.5')],
        });
      }
      if (p === '/api/v1/namespaces/slotforge/pods/redis-shard-0-0') {
        if (req.method === 'DELETE') {
          setTimeout(() => {
            podUid = 'uid-new';
          }, 300);
          return send(200, { kind: 'Status', status: 'Success' });
        }
        return send(200, pod('redis-shard-0-0', '10.244.1.5', podUid));
      }
      if (p === '/api/v1/namespaces/slotforge/secrets/redis-auth') {
        return send(200, {
          kind: 'Secret',
          data: { app: Buffer.from('app-pass\n').toString('base64'), admin: Buffer.from('x').toString('base64') },
        });
      }
      if (p === chaosPath && req.method === 'POST') {
        if (!chaosMeshInstalled) return notFound();
        const object = body as { metadata: { name: string } };
        chaos.set(object.metadata.name, object as Record<string, unknown>);
        return send(201, object);
      }
      if (p.startsWith(`${chaosPath}/`)) {
        const name = p.slice(chaosPath.length + 1);
        const object = chaos.get(name);
        if (!object) return notFound();
        if (req.method === 'DELETE') {
          chaos.delete(name);
          return send(200, object);
        }
        return send(200, { ...object, status: { conditions: [{ type: 'AllInjected', status: 'True' }] } });
      }
      return notFound();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    dir = mkdtempSync(join(tmpdir(), 'slotforge-k8s-api-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: fake\n  cluster:\n    server: http://127.0.0.1:${port}\n    insecure-skip-tls-verify: true`,
        'users:',
        '- name: tester\n  user:\n    token: test-token',
        'contexts:',
        '- name: kind-fake\n  context:\n    cluster: fake\n    user: tester',
        'current-context: kind-fake',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
    rmSync(dir, { recursive: true, force: true });
  });

  it('rejects a context the kubeconfig does not have, listing the ones it has', () => {
    expect(() => kubernetesTarget({ kubeconfig, context: 'kind-other' })).toThrow(
      /context must name a context of the kubeconfig \(got 'kind-other'; it has kind-fake\)/,
    );
  });

  it('connects workloads as app through the pods DNS names, the password read from the Secret', async () => {
    const target = kubernetesTarget({ kubeconfig, context: 'kind-fake' });
    expect(await target.connection()).toEqual({
      kind: 'cluster',
      seeds: [
        { host: 'redis-shard-0-0.redis-headless.slotforge.svc.cluster.local', port: 6379 },
        { host: 'redis-shard-0-1.redis-headless.slotforge.svc.cluster.local', port: 6379 },
      ],
      username: 'app',
      password: 'app-pass',
    });
    const list = requests.find((r) => r.path === '/api/v1/namespaces/slotforge/pods');
    expect(list?.query.get('labelSelector')).toBe(
      'app.kubernetes.io/name=redis-cluster,app.kubernetes.io/component=member',
    );
    const seeded = kubernetesTarget({ kubeconfig, seeds: ['10.0.0.1:30079'] });
    expect((await seeded.connection()).seeds).toEqual([{ host: '10.0.0.1', port: 30079 }]);
  });

  it('deletes a pod with its own grace period and uid precondition, then waits for the new uid', async () => {
    const target = kubernetesTarget({ kubeconfig });
    await target.delete('redis-shard-0-0');
    const del = requests.find((r) => r.method === 'DELETE' && r.path.endsWith('/pods/redis-shard-0-0'));
    expect(del?.query.get('gracePeriodSeconds')).toBe('45');
    expect(del?.body).toEqual({ gracePeriodSeconds: 45, preconditions: { uid: 'uid-old' } });
    expect(podUid).toBe('uid-new');
  });

  it('partitions with a NetworkChaos, waits for injection, and heal deletes it', async () => {
    const target = kubernetesTarget({ kubeconfig });
    await target.partition?.(['redis-shard-0-0'], ['redis-shard-0-1']);
    const created = requests.find((r) => r.method === 'POST' && r.path.endsWith('/networkchaos'));
    expect(created?.body).toMatchObject({
      kind: 'NetworkChaos',
      spec: { action: 'partition', direction: 'both', selector: { pods: { slotforge: ['redis-shard-0-0'] } } },
    });
    expect(chaos.size).toBe(1);
    await target.heal?.();
    expect(chaos.size).toBe(0);
    expect(requests.some((r) => r.method === 'DELETE' && r.path.includes('/networkchaos/slotforge-partition-'))).toBe(
      true,
    );
  });

  it('refuses bus-only partitions and scaling with UnsupportedFaultError, naming the way to scale', async () => {
    const target = kubernetesTarget({ kubeconfig });
    await expect(target.partition?.(['a'], ['b'], { busOnly: true })).rejects.toBeInstanceOf(UnsupportedFaultError);
    await expect(target.scale?.(5)).rejects.toThrow(/re-synthesize the charts with shards: 5 and run kubectl apply/);
  });

  it('fails a partition with the install instructions when the Chaos Mesh CRD is missing', async () => {
    chaosMeshInstalled = false;
    const target = kubernetesTarget({ kubeconfig });
    await expect(target.partition?.(['redis-shard-0-0'], ['redis-shard-0-1'])).rejects.toMatchObject({
      code: 'E_CHAOS_MESH_MISSING',
      message: expect.stringContaining('helm install chaos-mesh'),
    });
    chaosMeshInstalled = true;
  });
});
