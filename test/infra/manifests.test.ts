import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { alertDefinitions } from '../../dashboards/index.ts';
import { parseMemoryQuantity, parseRedisConf, type RedisClusterProps } from '../../infra/index.ts';
import { SENTINEL_EXAMPLE_NAMESPACE } from '../../infra/sentinel/index.ts';
import { harnessTempDir } from '../support/index.ts';
import { type Manifest, memberConfig, objectsOfKind, synthCluster } from './support/synth.ts';
import { validateObject } from './support/validate.ts';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: container JSON
type Container = Record<string, any>;

function podSpecs(objects: readonly Manifest[]): Manifest[] {
  return objects.filter((o) => o.spec?.template?.spec).map((o) => o.spec.template.spec);
}

/** Every invariant the issue asks of a synthesized cluster; returns the objects for further checks. */
function checkInvariants(props: RedisClusterProps, objects: readonly Manifest[]): void {
  for (const object of objects) validateObject(object);
  const shards = (props.shards ?? 3) + (props.retiringShards ?? 0);
  const statefulSets = objectsOfKind(objects, 'StatefulSet');
  const budgets = objectsOfKind(objects, 'PodDisruptionBudget');
  expect(statefulSets).toHaveLength(shards);
  expect(budgets).toHaveLength(shards);
  for (const sts of statefulSets) {
    const selector = sts.spec.selector.matchLabels;
    // A disruption budget of exactly this shard, at most one member down.
    const budget = budgets.filter((b) => JSON.stringify(b.spec.selector.matchLabels) === JSON.stringify(selector));
    expect(budget).toHaveLength(1);
    expect(budget[0]?.spec.maxUnavailable).toBe(1);
    // A member that is not Ready serves nothing: it must never block a node drain (issue 14 item 4).
    expect(budget[0]?.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    // A rollout moves on only after the restarted member stayed Ready (readiness: linked and not syncing).
    expect(sts.spec.minReadySeconds).toBe(props.minReadySeconds ?? 10);
    // Anti-affinity between the members of the shard, on the node.
    const anti = sts.spec.template.spec.affinity.podAntiAffinity;
    const terms = [
      ...(anti.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(anti.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p: Manifest) => p.podAffinityTerm),
    ];
    expect(
      terms.some(
        (t: Manifest) =>
          t.topologyKey === 'kubernetes.io/hostname' &&
          JSON.stringify(t.labelSelector.matchLabels) === JSON.stringify(selector),
      ),
    ).toBe(true);
    expect(sts.spec.replicas).toBe(1 + (props.replicasPerShard ?? 1));
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
  }
  // No secret value anywhere: no Secret object, no literal password env, no password directive in redis.conf.
  expect(objectsOfKind(objects, 'Secret')).toHaveLength(0);
  expect(objects.some((o) => o.stringData !== undefined || (o.kind !== 'ConfigMap' && o.data !== undefined))).toBe(
    false,
  );
  const config = memberConfig(objects);
  const baseConf = parseRedisConf(config['redis.conf'] as string);
  for (const directive of ['requirepass', 'masterauth', 'user']) expect(baseConf.has(directive)).toBe(false);
  // ACL rules carry no password, hash or nopass: the entrypoint adds the hash from the mounted Secret.
  const aclTokens = (config['acl-users.conf'] as string).split(/\s+/);
  expect(aclTokens.filter((t) => /^[>#<]./.test(t) || t === 'nopass')).toEqual([]);
  for (const spec of podSpecs(objects)) {
    for (const c of spec.containers as Container[]) {
      for (const e of c.env ?? []) if (/PASS|SECRET_VALUE|AUTH$/.test(e.name)) expect(e.value).toBeUndefined();
    }
  }
  // maxmemory below the memory limit, with headroom.
  const conf = parseRedisConf(memberConfig(objects)['redis.conf'] as string);
  const maxmemory = Number(conf.get('maxmemory'));
  for (const sts of statefulSets) {
    const redis = sts.spec.template.spec.containers.find((c: Container) => c.name === 'redis');
    const limit = parseMemoryQuantity('test', 'limit', redis.resources.limits.memory);
    expect(maxmemory).toBeGreaterThan(0);
    expect(maxmemory).toBeLessThanOrEqual(limit - 64 * 2 ** 20);
  }
  // Every script deadline sits inside the bound around it: redis-cli calls inside the probes' timeoutSeconds, the peer
  // wait inside the preStop budget, the rebalance inside the topology Job's activeDeadlineSeconds.
  const timeouts = {
    redisCliSeconds: 3,
    preStopPeerWaitSeconds: 3,
    rebalanceSeconds: 3000,
    ...props.scriptTimeouts,
  };
  const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e: Container) => [e.name, e.value]));
  for (const sts of statefulSets) {
    const redis = sts.spec.template.spec.containers.find((c: Container) => c.name === 'redis');
    const env = envOf(redis);
    expect(env.SLOTFORGE_CLI_TIMEOUT_S).toBe(String(timeouts.redisCliSeconds));
    expect(env.SLOTFORGE_PRESTOP_PEER_WAIT_S).toBe(String(timeouts.preStopPeerWaitSeconds));
    expect(timeouts.preStopPeerWaitSeconds).toBeLessThanOrEqual(Number(env.SLOTFORGE_PRESTOP_TIMEOUT_S));
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
      expect(redis[probe].timeoutSeconds).toBeGreaterThan(timeouts.redisCliSeconds);
  }
  const [job] = objectsOfKind(objects, 'Job').filter((j) => j.metadata.name.includes('-topology-'));
  const jobEnv = envOf(job?.spec.template.spec.containers[0]);
  expect(jobEnv.SLOTFORGE_REBALANCE_TIMEOUT_S).toBe(String(timeouts.rebalanceSeconds));
  expect(jobEnv.SLOTFORGE_CLI_TIMEOUT_S).toBe(String(timeouts.redisCliSeconds));
  expect(job?.spec.activeDeadlineSeconds).toBeGreaterThan(timeouts.rebalanceSeconds);
  // Non-root, read-only root, all capabilities dropped, seccomp RuntimeDefault, in every container of every pod.
  for (const spec of podSpecs(objects)) {
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(spec.securityContext.seccompProfile.type).toBe('RuntimeDefault');
    for (const c of spec.containers as Container[]) {
      expect(c.securityContext.runAsNonRoot).toBe(true);
      expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
      expect(c.securityContext.seccompProfile.type).toBe('RuntimeDefault');
    }
  }
}

const validProps: fc.Arbitrary<RedisClusterProps> = fc.record(
  {
    shards: fc.integer({ min: 3, max: 9 }),
    replicasPerShard: fc.integer({ min: 0, max: 3 }),
    retiringShards: fc.integer({ min: 0, max: 2 }),
    profile: fc.constantFrom('cache', 'store'),
    evictionPolicy: fc.constantFrom('noeviction', 'allkeys-lru', 'allkeys-lfu', 'volatile-ttl'),
    resources: fc.record(
      {
        memoryLimit: fc.constantFrom('128Mi', '256Mi', '1Gi', '3Gi', '1500M'),
        cpuRequest: fc.constantFrom('100m', '1'),
      },
      { requiredKeys: [] },
    ),
    persistence: fc.record(
      {
        aof: fc.boolean(),
        appendfsync: fc.constantFrom('everysec', 'always'),
        rdb: fc.constantFrom(false as const, [[3600, 1]] as Array<[number, number]>),
      },
      { requiredKeys: [] },
    ),
    storage: fc.record(
      { size: fc.constantFrom('1Gi', '20Gi'), storageClassName: fc.constantFrom('standard', 'fast') },
      { requiredKeys: [] },
    ),
    auth: fc.constantFrom({}, { existingSecret: 'my-redis-passwords' }),
    metrics: fc.record(
      { exporter: fc.constant(true), serviceMonitor: fc.boolean(), prometheusRule: fc.boolean() },
      { requiredKeys: [] },
    ),
    antiAffinity: fc.constantFrom('required', 'preferred'),
    tls: fc.constantFrom({ secretName: 'redis-tls' }, { issuer: { name: 'ca', kind: 'ClusterIssuer' as const } }),
    port: fc.integer({ min: 1024, max: 50_000 }).filter((p) => p !== 9121),
    nodeTimeoutMs: fc.integer({ min: 500, max: 30_000 }),
    config: fc.constantFrom<Record<string, string | number | boolean>>(
      {},
      { 'maxmemory-samples': 10, 'lazyfree-lazy-eviction': true, hz: 20 },
    ),
    minReadySeconds: fc.integer({ min: 0, max: 600 }),
    scriptTimeouts: fc.record(
      {
        redisCliSeconds: fc.integer({ min: 1, max: 30 }),
        preStopPeerWaitSeconds: fc.integer({ min: 1, max: 45 }),
        rebalanceSeconds: fc.integer({ min: 60, max: 86_400 }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

describe('synthesized manifests', () => {
  it('every object of dist/ (the default charts for kind: the cluster and the Sentinel example) validates against the Kubernetes schema', async () => {
    const cwd = mkdtempSync(join(harnessTempDir('infra-dist'), 'synth-'));
    dirs.push(cwd);
    await run(join(repo, 'node_modules', '.bin', 'tsx'), [join(repo, 'main.ts')], { cwd });
    const files = readdirSync(join(cwd, 'dist')).filter((f) => f.endsWith('.k8s.yaml'));
    expect(files.length).toBeGreaterThan(0);
    const objects: Manifest[] = files.flatMap((f) =>
      parseAllDocuments(readFileSync(join(cwd, 'dist', f), 'utf8')).map((d) => d.toJSON() as Manifest),
    );
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of [
      'Namespace',
      'StatefulSet',
      'Service',
      'PodDisruptionBudget',
      'Job',
      'NetworkPolicy',
      'ConfigMap',
    ]) {
      expect(kinds).toContain(kind);
    }
    // main.ts synthesizes the cluster (namespace slotforge) and the Sentinel example (its own namespace): the cluster
    // invariants hold over the cluster's namespace, the schema over every object of both.
    const namespaces = objectsOfKind(objects, 'Namespace').map((o) => o.metadata.name);
    expect(namespaces.sort()).toEqual(['slotforge', SENTINEL_EXAMPLE_NAMESPACE].sort());
    const namespaced = objects.filter((o) => o.kind !== 'Namespace');
    expect(namespaced.filter((o) => !namespaces.includes(o.metadata?.namespace))).toEqual([]);
    checkInvariants(
      { shards: 3, replicasPerShard: 1 },
      namespaced.filter((o) => o.metadata.namespace === 'slotforge'),
    );
    const sentinelSets = objectsOfKind(namespaced, 'StatefulSet')
      .filter((o) => o.metadata.namespace === SENTINEL_EXAMPLE_NAMESPACE)
      .map((o) => `${o.metadata.name}=${o.spec.replicas}`);
    expect(sentinelSets.sort()).toEqual(['sessions-redis=3', 'sessions-sentinel=3']);
    // The Namespaces come first (file 0000), so `kubectl apply -f dist/` creates them before anything in them.
    expect(files[0]).toMatch(/^0000-namespace\./);
    for (const object of objects) validateObject(object);
  });

  it('the schema walk catches a broken object (the validator is not a no-op)', () => {
    const sts = structuredClone(objectsOfKind(synthCluster(), 'StatefulSet')[0] as Manifest);
    sts.spec.replicas = 'two';
    expect(() => validateObject(sts)).toThrow(/StatefulSet rc-shard-0 is invalid/);
    delete sts.spec.selector;
    sts.spec.replicas = 2;
    expect(() => validateObject(sts)).toThrow(/selector/);
  });

  it('every valid combination of props synthesizes valid objects that keep the invariants', () => {
    fc.assert(
      fc.property(validProps, (props) => {
        checkInvariants(props, synthCluster(props));
      }),
      { numRuns: 40 },
    );
  });

  it('the PrometheusRule alerts pass promtool check rules', async () => {
    const objects = synthCluster({ metrics: { serviceMonitor: true, prometheusRule: true } });
    const rule = objects.find((o) => o.kind === 'PrometheusRule');
    expect(objects.find((o) => o.kind === 'ServiceMonitor')?.spec.endpoints[0].port).toBe('metrics');
    const dir = harnessTempDir('infra-rules');
    dirs.push(dir);
    writeFileSync(join(dir, 'rules.json'), JSON.stringify({ groups: rule?.spec.groups }));
    const { stdout } = await run('promtool', ['check', 'rules', join(dir, 'rules.json')]);
    // The slotforge alerts of dashboards/alerts.ts (one source), the cluster set on the Service's job.
    const expected = alertDefinitions({ job: 'rc', clientAlerts: false });
    expect(stdout).toContain(`SUCCESS: ${expected.length} rules found`);
    expect(rule?.spec.groups[0].rules.map((r: { expr: string }) => r.expr)).toEqual(expected.map((a) => a.expr));
  });
});

describe('invalid props throw the documented message', () => {
  const cases: Array<[string, RedisClusterProps, string]> = [
    [
      'shards < 3',
      { shards: 2 },
      "RedisCluster 'rc': shards must be an integer of at least 3 so a failover can win a majority (got 2)",
    ],
    [
      'fractional shards',
      { shards: 3.5 },
      "RedisCluster 'rc': shards must be an integer of at least 3 so a failover can win a majority (got 3.5)",
    ],
    [
      'negative replicas',
      { replicasPerShard: -1 },
      "RedisCluster 'rc': replicasPerShard must be an integer from 0 to 5 (got -1)",
    ],
    [
      'bad memory',
      { resources: { memoryLimit: '1 GB' } },
      "RedisCluster 'rc': resources.memoryLimit must be a Kubernetes memory quantity such as 512Mi or 2Gi (got '1 GB')",
    ],
    [
      'tiny memory',
      { resources: { memoryLimit: '64Mi' } },
      "RedisCluster 'rc': resources.memoryLimit must be at least 128Mi so maxmemory keeps 64Mi of headroom (got 67108864)",
    ],
    [
      'maxmemory at the limit',
      { resources: { memoryLimit: '256Mi' }, maxmemory: '256Mi' },
      "RedisCluster 'rc': maxmemory must be at least 1Mi and leave 64Mi of the 268435456-byte memory limit for buffers and forks (got 268435456)",
    ],
    [
      'unknown directive',
      { config: { 'maxmemory-polcy': 'allkeys-lru' } },
      "RedisCluster 'rc': config['maxmemory-polcy'] is not a Redis 7.0 directive this construct accepts (got 'allkeys-lru')",
    ],
    [
      'invalid enum value',
      { config: { 'maxmemory-policy': 'lru' } },
      "RedisCluster 'rc': config['maxmemory-policy'] must be one of noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl (got 'lru')",
    ],
    [
      'managed directive',
      { config: { requirepass: 'x' } },
      "RedisCluster 'rc': config['requirepass'] is set by the construct; use auth instead (got 'x')",
    ],
    [
      'int out of range',
      { config: { hz: 1000 } },
      "RedisCluster 'rc': config['hz'] must be an integer from 1 to 500 (got 1000)",
    ],
    [
      'bad name',
      { name: 'Redis_Cache' },
      "RedisCluster 'Redis_Cache': name must be a DNS label of at most 30 characters (pod names append -shard-<s>-<m> and must stay under 63) (got 'Redis_Cache')",
    ],
    ['port clash', { port: 9121 }, "RedisCluster 'rc': port must differ from the exporter port 9121 (got 9121)"],
    [
      'bad fsync',
      { persistence: { appendfsync: 'no' as 'always' } },
      "RedisCluster 'rc': persistence.appendfsync must be 'everysec' or 'always' (got 'no')",
    ],
    [
      'redis-cli deadline of 0',
      { scriptTimeouts: { redisCliSeconds: 0 } },
      "RedisCluster 'rc': scriptTimeouts.redisCliSeconds must be an integer from 1 to 30 (got 0)",
    ],
    [
      'peer wait past the preStop budget',
      { terminationGracePeriodSeconds: 30, scriptTimeouts: { preStopPeerWaitSeconds: 20 } },
      "RedisCluster 'rc': scriptTimeouts.preStopPeerWaitSeconds must be an integer from 1 to 15 (the preStop budget, terminationGracePeriodSeconds - 15) (got 20)",
    ],
    [
      'fractional rebalance deadline',
      { scriptTimeouts: { rebalanceSeconds: 90.5 } },
      "RedisCluster 'rc': scriptTimeouts.rebalanceSeconds must be an integer from 60 to 86400 (got 90.5)",
    ],
  ];
  it.each(cases)('%s', (_name, props, message) => {
    expect(() => synthCluster(props)).toThrow(message);
  });

  it('any shard count below 3 and any unknown directive is rejected with its value', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 2 }), (shards) => {
        expect(() => synthCluster({ shards })).toThrow(
          `shards must be an integer of at least 3 so a failover can win a majority (got ${shards})`,
        );
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{3,12}-[a-z]{3,12}$/), fc.string({ maxLength: 8 }), (name, value) => {
        fc.pre(!['maxmemory-policy', 'maxmemory-samples'].includes(name));
        expect(() => synthCluster({ config: { [name]: value } })).toThrow(
          `config['${name}'] is not a Redis 7.0 directive`,
        );
      }),
      { numRuns: 30 },
    );
  });

  it('two clusters with the same name in one chart fail validation', async () => {
    const { Chart, Testing } = await import('cdk8s');
    const { RedisCluster } = await import('../../infra/index.ts');
    const chart = new Chart(Testing.app(), 'dup');
    new RedisCluster(chart, 'a', { name: 'cache' });
    new RedisCluster(chart, 'b', { name: 'cache' });
    expect(() => Testing.synth(chart)).toThrow(/RedisCluster 'cache': name must be unique in its chart/);
  });
});
