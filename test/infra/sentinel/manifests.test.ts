import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  addSentinelExample,
  InvalidPropError,
  parseMemoryQuantity,
  parseRedisConf,
  RedisCluster,
  RedisSentinel,
  type RedisSentinelProps,
} from '../../../infra/index.ts';
import { harnessTempDir } from '../../support/index.ts';
import { type Manifest, objectsOfKind, synthSentinel, validateObject } from '../support/index.ts';

// biome-ignore lint/suspicious/noExplicitAny: container JSON
type Container = Record<string, any>;

const configOf = (objects: readonly Manifest[]) =>
  objects.find((o) => o.kind === 'ConfigMap' && o.data?.['sentinel.conf'] !== undefined)?.data as Record<
    string,
    string
  >;

/** Every invariant the issue asks of a synthesized RedisSentinel. */
function checkInvariants(props: RedisSentinelProps, objects: readonly Manifest[]): void {
  for (const object of objects) validateObject(object);
  const name = props.name ?? 'rs';
  const replicas = props.replicas ?? 2;
  const sentinels = props.sentinels ?? 3;
  const [data, sentinel] = ['redis', 'sentinel'].map((c) =>
    objectsOfKind(objects, 'StatefulSet').find((s) => s.metadata.name === `${name}-${c}`),
  ) as [Manifest, Manifest];
  expect(data.spec.replicas).toBe(replicas + 1);
  expect(sentinel.spec.replicas).toBe(sentinels);
  expect(sentinels % 2).toBe(1);
  // Both keep state on a volume: the data set, and Sentinel's own rewritten config.
  for (const sts of [data, sentinel]) {
    expect(sts.spec.volumeClaimTemplates.map((v: Manifest) => v.metadata.name)).toEqual(['data']);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toMatch(/^\d+(Mi|Gi)$/);
    expect(sts.spec.serviceName).toBe(`${name}-headless`);
  }
  // One disruption budget per StatefulSet, at most one pod down.
  const budgets = objectsOfKind(objects, 'PodDisruptionBudget');
  for (const sts of [data, sentinel]) {
    const own = budgets.filter(
      (b) => JSON.stringify(b.spec.selector.matchLabels) === JSON.stringify(sts.spec.selector.matchLabels),
    );
    expect(own.map((b) => b.spec.maxUnavailable)).toEqual([1]);
    expect(own.map((b) => b.spec.unhealthyPodEvictionPolicy)).toEqual(['AlwaysAllow']);
  }
  // The client Service points at the sentinels, never at a fixed primary.
  const client = objectsOfKind(objects, 'Service').find((s) => s.metadata.name === name) as Manifest;
  expect(client.spec.selector).toEqual(sentinel.spec.selector.matchLabels);
  expect(client.spec.ports.map((p: Manifest) => p.port)).toEqual([props.sentinelPort ?? 26379]);
  // Quorum, timeouts and hostnames in the rendered configs.
  const config = configOf(objects);
  const master = config['sentinel-master.conf'] as string;
  expect(master).toContain(`down-after-milliseconds ${props.masterName ?? name} ${props.downAfterMs ?? 5000}`);
  expect(master).toContain(`failover-timeout ${props.masterName ?? name} ${props.failoverTimeoutMs ?? 10_000}`);
  expect(config['sentinel.conf']).toMatch(/sentinel resolve-hostnames yes\nsentinel announce-hostnames yes/);
  const quorum = Number(
    sentinel.spec.template.spec.containers[0].env.find((e: Manifest) => e.name === 'SLOTFORGE_QUORUM').value,
  );
  expect(quorum).toBe(props.quorum ?? Math.floor(sentinels / 2) + 1);
  expect(quorum).toBeLessThanOrEqual(sentinels);
  const conf = parseRedisConf(config['redis.conf'] as string);
  const minReplicas = Number(conf.get('min-replicas-to-write'));
  expect(minReplicas).toBe(props.minReplicasToWrite ?? ((props.profile ?? 'store') === 'store' ? 1 : 0));
  expect(minReplicas).toBeLessThanOrEqual(replicas);
  // No secret anywhere: no Secret object, no password directive, no literal password env.
  expect(objectsOfKind(objects, 'Secret')).toHaveLength(0);
  for (const directive of ['requirepass', 'masterauth', 'user', 'replicaof']) expect(conf.has(directive)).toBe(false);
  expect(config['sentinel.conf']).not.toMatch(/requirepass|auth-pass|sentinel-pass/);
  const aclTokens = (config['acl-users.conf'] as string).split(/\s+/);
  expect(aclTokens.filter((t) => /^[>#<]./.test(t) || t === 'nopass')).toEqual([]);
  // maxmemory keeps headroom under the data pods' limit.
  const redis = data.spec.template.spec.containers.find((c: Container) => c.name === 'redis');
  const limit = parseMemoryQuantity('test', 'limit', redis.resources.limits.memory);
  expect(Number(conf.get('maxmemory'))).toBeLessThanOrEqual(limit - 64 * 2 ** 20);
  expect(redis.lifecycle.preStop.exec.command.join(' ')).toMatch(/redis-prestop\.sh$/);
  // Non-root, read-only root, all capabilities dropped, seccomp RuntimeDefault, in every container of every pod.
  for (const o of objects.filter((x) => x.spec?.template?.spec)) {
    const spec = o.spec.template.spec;
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(spec.securityContext.seccompProfile.type).toBe('RuntimeDefault');
    for (const c of spec.containers as Container[]) {
      expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
      expect(c.securityContext.seccompProfile.type).toBe('RuntimeDefault');
      for (const e of c.env ?? []) if (/PASS/.test(e.name)) expect(e.value).toBeUndefined();
    }
  }
  // NetworkPolicies: clients reach the sentinel port of the sentinels and the Redis port of the data pods.
  const policies = objectsOfKind(objects, 'NetworkPolicy');
  const portsFor = (selector: Manifest) =>
    policies
      .filter((p) => JSON.stringify(p.spec.podSelector.matchLabels) === JSON.stringify(selector))
      .flatMap((p) => p.spec.ingress[0].ports.map((x: Manifest) => x.port));
  expect(portsFor(data.spec.selector.matchLabels)).toEqual([props.port ?? 6379]);
  expect(portsFor(sentinel.spec.selector.matchLabels)).toEqual([props.sentinelPort ?? 26379]);
  // The exporter sidecar sits next to every data pod's redis unless turned off.
  const exporter = data.spec.template.spec.containers.some((c: Container) => c.name === 'exporter');
  expect(exporter).toBe(props.metrics?.exporter !== false);
}

const validProps: fc.Arbitrary<RedisSentinelProps> = fc
  .record(
    {
      replicas: fc.integer({ min: 1, max: 5 }),
      sentinels: fc.constantFrom(3, 5, 7),
      downAfterMs: fc.integer({ min: 1000, max: 60_000 }),
      failoverTimeoutMs: fc.integer({ min: 3000, max: 180_000 }),
      minReplicasMaxLagS: fc.integer({ min: 1, max: 60 }),
      masterName: fc.constantFrom('mymaster', 'sessions.main', 'Q_1'),
      profile: fc.constantFrom('cache', 'store'),
      evictionPolicy: fc.constantFrom('noeviction', 'allkeys-lru', 'volatile-ttl'),
      resources: fc.record(
        { memoryLimit: fc.constantFrom('128Mi', '256Mi', '1Gi', '3Gi'), cpuRequest: fc.constantFrom('100m', '1') },
        { requiredKeys: [] },
      ),
      persistence: fc.record(
        { aof: fc.boolean(), rdb: fc.constantFrom(false as const, [[3600, 1]] as Array<[number, number]>) },
        { requiredKeys: [] },
      ),
      storage: fc.record(
        { size: fc.constantFrom('1Gi', '20Gi'), storageClassName: fc.constant('fast') },
        {
          requiredKeys: [],
        },
      ),
      sentinelStorageSize: fc.constantFrom('64Mi', '1Gi'),
      auth: fc.constantFrom({}, { existingSecret: 'my-redis-passwords' }),
      metrics: fc.record({ exporter: fc.boolean(), prometheusRule: fc.boolean() }, { requiredKeys: [] }),
      antiAffinity: fc.constantFrom('required', 'preferred'),
      port: fc.integer({ min: 1024, max: 30_000 }).filter((p) => p !== 9121),
      sentinelPort: fc.integer({ min: 30_001, max: 60_000 }),
      config: fc.constantFrom<Record<string, string | number | boolean>>({}, { 'maxmemory-samples': 10, hz: 20 }),
    },
    { requiredKeys: [] },
  )
  .chain((p) =>
    fc.record({
      base: fc.constant(p),
      quorum: fc.option(fc.integer({ min: 1, max: p.sentinels ?? 3 }), { nil: undefined }),
      minReplicasToWrite: fc.option(fc.integer({ min: 0, max: p.replicas ?? 2 }), { nil: undefined }),
    }),
  )
  .map(({ base, quorum, minReplicasToWrite }) => ({
    ...base,
    ...(quorum === undefined ? {} : { quorum }),
    ...(minReplicasToWrite === undefined ? {} : { minReplicasToWrite }),
  }));

function errorOf(props: RedisSentinelProps): InvalidPropError {
  try {
    synthSentinel(props);
  } catch (error) {
    if (error instanceof InvalidPropError) return error;
    throw error;
  }
  throw new Error(`no error for ${JSON.stringify(props)}`);
}

describe('RedisSentinel manifests', () => {
  it('the defaults synthesize schema-valid objects that keep the invariants', () => {
    checkInvariants({}, synthSentinel());
  });

  it('the example chart validates against the Kubernetes schema', () => {
    const app = Testing.app();
    const chart = addSentinelExample(app);
    const objects = Testing.synth(chart) as Manifest[];
    for (const o of objects) validateObject(o);
    expect(objects.every((o) => o.metadata.namespace === 'slotforge-sentinel')).toBe(true);
    checkInvariants({ name: 'sessions' }, objects);
  });

  it('the example chart wired as main.ts will wire it synthesizes its Namespace first, every object valid', () => {
    const outdir = mkdtempSync(join(harnessTempDir('sentinel-example'), 'dist-'));
    try {
      const app = new App({ outdir });
      const namespaceChart = new Chart(app, 'namespace');
      addSentinelExample(app, { namespaceChart });
      app.synth();
      const files = readdirSync(outdir).sort();
      expect(files).toEqual(['0000-namespace.k8s.yaml', '0001-slotforge-sentinel.k8s.yaml']);
      const [namespaces, objects] = files.map((f) =>
        parseAllDocuments(readFileSync(join(outdir, f), 'utf8')).map((d) => d.toJSON() as Manifest),
      ) as [Manifest[], Manifest[]];
      expect(namespaces.map((n) => `${n.kind}/${n.metadata.name}`)).toEqual(['Namespace/slotforge-sentinel']);
      for (const o of [...namespaces, ...objects]) validateObject(o);
      checkInvariants({ name: 'sessions' }, objects);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('every valid combination of props synthesizes valid objects that keep the invariants', () => {
    fc.assert(
      fc.property(validProps, (props) => {
        checkInvariants(props, synthSentinel(props));
      }),
      { numRuns: 60 },
    );
  });

  it.each<[string, RedisSentinelProps, string]>([
    [
      'an even sentinel count',
      { sentinels: 4 },
      "RedisSentinel 'rs': sentinels must be an odd integer from 3 to 9 so a majority survives the loss of one sentinel and a partition cannot give both sides one (got 4)",
    ],
    [
      'fewer than 3 sentinels',
      { sentinels: 1 },
      "RedisSentinel 'rs': sentinels must be an odd integer from 3 to 9 so a majority survives the loss of one sentinel and a partition cannot give both sides one (got 1)",
    ],
    [
      'a quorum above the sentinel count',
      { sentinels: 3, quorum: 4 },
      "RedisSentinel 'rs': quorum must not exceed sentinels (3), or no failover can ever start (got 4)",
    ],
    ['a quorum of 0', { quorum: 0 }, "RedisSentinel 'rs': quorum must be a positive integer (got 0)"],
    [
      'no replica',
      { replicas: 0 },
      "RedisSentinel 'rs': replicas must be an integer from 1 to 9 (with 0 the sentinels have no replica to promote) (got 0)",
    ],
    [
      'minReplicasToWrite above replicas',
      { replicas: 2, minReplicasToWrite: 3 },
      "RedisSentinel 'rs': minReplicasToWrite must be an integer from 0 to replicas (2), or the primary never accepts a write (got 3)",
    ],
    [
      'a sub-second downAfterMs',
      { downAfterMs: 500 },
      "RedisSentinel 'rs': downAfterMs must be an integer from 1000 to 600000 (sentinels ping every second) (got 500)",
    ],
    [
      'a sentinel port equal to the Redis port',
      { port: 7000, sentinelPort: 7000 },
      "RedisSentinel 'rs': sentinelPort must be an integer from 1 to 65535 other than port (7000) and the exporter port 9121 (got 7000)",
    ],
    [
      'min-replicas-to-write through config',
      { config: { 'min-replicas-to-write': 2 } },
      "RedisSentinel 'rs': config['min-replicas-to-write'] is set by the construct; use minReplicasToWrite instead (got 2)",
    ],
    [
      'a memory limit without headroom',
      { resources: { memoryLimit: '100Mi' } },
      "RedisSentinel 'rs': resources.memoryLimit must be at least 128Mi so maxmemory keeps 64Mi of headroom (got 104857600)",
    ],
    [
      'a bad master name',
      { masterName: 'my master' },
      "RedisSentinel 'rs': masterName must be 1 to 64 characters of letters, digits, dot, underscore or dash (got 'my master')",
    ],
  ])('rejects %s with a message naming construct, prop, rule and value', (_case, props, message) => {
    const error = errorOf(props);
    expect(error.message).toBe(message);
    expect(error.owner).toBe("RedisSentinel 'rs'");
  });

  it('rejects any even or too small sentinel count and any quorum above it (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2, max: 20 }), fc.integer({ min: 1, max: 30 }), (sentinels, quorum) => {
        const validCount = sentinels >= 3 && sentinels <= 9 && sentinels % 2 === 1;
        if (!validCount) {
          expect(errorOf({ sentinels }).field).toBe('sentinels');
        } else if (quorum > sentinels) {
          const error = errorOf({ sentinels, quorum });
          expect([error.field, error.received]).toEqual(['quorum', quorum]);
        } else {
          expect(() => synthSentinel({ sentinels, quorum })).not.toThrow();
        }
      }),
      { numRuns: 80 },
    );
  });

  it('a RedisSentinel and a RedisCluster of the same name in one chart fail validation', () => {
    const app = new App({ outdir: '/nonexistent' });
    const chart = new Chart(app, 'c', { namespace: 'ns' });
    new RedisCluster(chart, 'cluster', { name: 'same' });
    new RedisSentinel(chart, 'sentinel', { name: 'same' });
    expect(() => Testing.synth(chart)).toThrow(/RedisSentinel 'same': name must be unique in its chart/);
  });
});
