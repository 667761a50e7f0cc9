import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRuntimeStatus } from '../../../cli/index.ts';
import type { Deployment, NetworkPolicy } from '../../../runtime/local/index.ts';
import { addObject, LocalRuntime, loadManifests, type ManifestSet } from '../../../runtime/local/index.ts';
import { pollUntil } from '../../../runtime/process/index.ts';
import { cleanUpAndExpectNothingLeft, harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from '../../support/index.ts';
import { isMember, synthDefaultCharts, waitConverged } from './chart-support.ts';

/** A probe that gets no answer within this is a dropped connection (`timeout` exits 124). */
const PROBE_TIMEOUT_S = 2;
const MEMBER = 'redis-shard-0-0';
const MEMBER_HOST = `${MEMBER}.redis-headless.slotforge.svc.cluster.local`;

/**
 * A client pod as a user would run one: the chart's redis image, `redis-cli PING` to each target in a loop, one log
 * line per attempt. Any reply (PONG, NOAUTH, or the exporter's HTTP 400 read as a protocol error) means the
 * connection was admitted; exit 124 (killed by `timeout`) means no answer at all: the SYN was dropped.
 */
function probeClient(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  image: string,
  targets: string[],
) {
  const script = [
    'while true; do',
    '  for t in $TARGETS; do',
    `    out=$(timeout ${PROBE_TIMEOUT_S} redis-cli -h "\${t%:*}" -p "\${t##*:}" PING 2>&1); rc=$?`,
    '    echo "probe $t rc=$rc" $out',
    '  done',
    '  sleep 0.5',
    'done',
  ].join('\n');
  const deployment: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      template: {
        metadata: { labels: { app: name, ...labels } },
        spec: {
          containers: [
            {
              name: 'probe',
              image,
              command: ['sh', '-c', script],
              env: [{ name: 'TARGETS', value: targets.join(' ') }],
            },
          ],
        },
      },
    },
  };
  return deployment;
}

/** The allow policy the test applies beside the chart's: members admit `np-stranger` on 6379 (or nobody). */
function extraPolicy(admitStranger: boolean): NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-stranger', namespace: 'slotforge' },
    spec: {
      podSelector: { matchLabels: { 'app.kubernetes.io/component': 'member' } },
      policyTypes: ['Ingress'],
      ingress: admitStranger
        ? [{ from: [{ podSelector: { matchLabels: { app: 'np-stranger' } } }], ports: [{ port: 'redis' }] }]
        : [],
    },
  };
}

describe.runIf(process.getuid?.() === 0)('NetworkPolicy of the default chart, enforced by the local runtime', () => {
  let runtime: LocalRuntime;
  let stateDir: string;
  let dist: string;
  const clients: Deployment[] = [];
  const updates: Array<{ pods: number; ms: number }> = [];

  /** The probe results of the current pod of Deployment `app`, for `target` (`host:port`), oldest first. */
  function probes(app: string, target: string): Array<{ rc: number; out: string }> {
    const pod = runtime.pods().find((p) => p.owner.name.endsWith(`/${app}`) && !p.terminating);
    if (!pod) return [];
    const logs = readdirSync(runtime.paths.logs).filter((f) => f.startsWith(`${pod.name}-`));
    return logs
      .flatMap((f) => readFileSync(join(runtime.paths.logs, f), 'utf8').split('\n'))
      .flatMap((line) => {
        const m = /^probe (\S+) rc=(\d+) ?(.*)$/.exec(line);
        return m && m[1] === target ? [{ rc: Number(m[2]), out: m[3]! }] : [];
      });
  }
  const reached = (r: { rc: number; out: string }) => r.rc !== 124 && !/Could not connect/.test(r.out);

  /** Waits until `app` has reached `target`, or has tried it `attempts` times and every attempt timed out. */
  async function verdict(app: string, target: string, attempts = 3): Promise<'reached' | 'timed out'> {
    return pollUntil(
      () => {
        const seen = probes(app, target);
        if (seen.some(reached)) return 'reached' as const;
        // The last attempts (the first ones may predate the target's DNS name: "Could not connect").
        const last = seen.slice(-attempts);
        if (last.length === attempts && last.every((r) => r.rc === 124)) return 'timed out' as const;
        throw new Error(`${app} -> ${target}: ${JSON.stringify(seen.slice(-3))}`);
      },
      { description: `a verdict for ${app} -> ${target}`, timeoutMs: 60_000, intervalMs: 250 },
    );
  }

  function manifestsWith(extra: NetworkPolicy | undefined): ManifestSet {
    const set = loadManifests(dist);
    for (const d of clients) addObject(set, d, 'test client');
    addObject(set, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring' } }, 'test namespace');
    if (extra) addObject(set, extra, 'test policy');
    return set;
  }

  beforeAll(async () => {
    const dir = harnessTempDir('netpol');
    dist = await synthDefaultCharts(mkdtempSync(join(dir, 'synth-')));
    const image =
      loadManifests(dist).statefulSets.get('slotforge/redis-shard-0')!.spec.template.spec.containers[0]!.image;
    const member = `${MEMBER_HOST}:6379`;
    clients.push(
      probeClient('np-client', 'slotforge', { 'slotforge.io/client': 'redis' }, image, [
        member,
        `${MEMBER_HOST}:16379`,
      ]),
      probeClient('np-stranger', 'slotforge', {}, image, [member, `${MEMBER_HOST}:9121`]),
      probeClient('np-scraper', 'monitoring', {}, image, [`${MEMBER_HOST}:9121`, member]),
      probeClient('np-elsewhere', 'default', { 'slotforge.io/client': 'redis' }, image, [member]),
      // A pod with the auth Job's labels (same instance, component auth): not a peer of the members.
      probeClient(
        'np-auth-like',
        'slotforge',
        {
          'app.kubernetes.io/instance': 'redis',
          'app.kubernetes.io/managed-by': 'slotforge',
          'app.kubernetes.io/component': 'auth',
        },
        image,
        [member, `${MEMBER_HOST}:16379`],
      ),
    );
    stateDir = join(dir, 'state');
    const started = Date.now();
    runtime = await LocalRuntime.start({
      stateDir,
      // Every check runs in pods (their hosts file) or by address: no wait for the host's names of `slotforge`,
      // which other runtimes of the machine may hold.
      hostDns: false,
      manifests: manifestsWith(undefined),
      onEvent: (e) => {
        const m = /NetworkPolicy rules updated in (\d+) pod\(s\) in ([\d.]+) ms/.exec(e.message);
        if (m) updates.push({ pods: Number(m[1]), ms: Number(m[2]) });
      },
    });
    // The cluster forms through the policy: the topology Job reaches 6379, the members reach each other's bus.
    await waitConverged(runtime, 120_000);
    console.log(`cluster converged with NetworkPolicy enforced after ${Date.now() - started} ms`);
  }, RUNTIME_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    if (updates.length > 0) {
      const perPod = updates.map((u) => u.ms / u.pods).sort((a, b) => a - b);
      const passes = updates.map((u) => u.ms).sort((a, b) => a - b);
      console.log(
        `NetworkPolicy rule updates: ${updates.length} passes, ${updates.reduce((n, u) => n + u.pods, 0)} pod tables; per pass median ${passes[passes.length >> 1]} ms, max ${passes.at(-1)} ms; per pod table median ${perPod[perPod.length >> 1]?.toFixed(1)} ms`,
      );
    }
    await runtime?.stop(3000);
    if (stateDir) await cleanUpAndExpectNothingLeft(stateDir);
  });

  it('admits a labelled client to 6379; a pod without the label, or in another namespace, times out', async () => {
    expect(await verdict('np-client', `${MEMBER_HOST}:6379`)).toBe('reached');
    expect(await verdict('np-stranger', `${MEMBER_HOST}:6379`)).toBe('timed out');
    expect(await verdict('np-elsewhere', `${MEMBER_HOST}:6379`)).toBe('timed out');
    // The client label opens the Redis port only, not the cluster bus.
    expect(await verdict('np-client', `${MEMBER_HOST}:16379`)).toBe('timed out');
  }, 120_000);

  it('admits to 6379 and the bus only the members and the topology Job, not another pod of the deployment', async () => {
    // The cluster formed through the policy (beforeAll): the topology Job and the members are admitted.
    expect(await verdict('np-auth-like', `${MEMBER_HOST}:6379`)).toBe('timed out');
    expect(await verdict('np-auth-like', `${MEMBER_HOST}:16379`)).toBe('timed out');
  });

  it('admits the exporter scrape from the monitoring namespace and the host, and nothing else there', async () => {
    expect(await verdict('np-scraper', `${MEMBER_HOST}:9121`)).toBe('reached');
    expect(await verdict('np-scraper', `${MEMBER_HOST}:6379`)).toBe('timed out');
    expect(await verdict('np-stranger', `${MEMBER_HOST}:9121`)).toBe('timed out');
    // The host (monitor's Prometheus, kubelet-style probes) is the node: never blocked.
    const response = await fetch(`http://${runtime.pod(MEMBER).ip}:9121/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    expect(await response.text()).toContain('redis_up');
  }, 120_000);

  it('shows the enforced policies and the pods they select in status', async () => {
    const status = await runtime.status();
    const members = status.pods.filter((p) => isMember(p.name)).map((p) => p.name);
    expect(status.networkPolicies).toEqual([{ name: 'slotforge/redis', policyTypes: ['Ingress'], pods: members }]);
    expect(status.notReproduced.filter((k) => k.startsWith('NetworkPolicy'))).toEqual([]);
    expect(renderRuntimeStatus(status)).toContain(
      `NetworkPolicy slotforge/redis (Ingress) enforced on 6 pod(s): ${members.join(' ')}`,
    );
  });

  it('follows a recreated member to its new address: the cluster fails over and converges, clients reach it', async () => {
    const before = runtime.pod(MEMBER).ip!;
    const peer = runtime.pod('redis-shard-1-0');
    await runtime.deletePod(MEMBER, 5000);
    await waitConverged(runtime, 120_000);
    const after = runtime.pod(MEMBER).ip!;
    expect(after).not.toBe(before);
    // Another member's table admits the new address, and no longer the old one.
    const table = execFileSync(
      'ip',
      ['netns', 'exec', peer.net!.netns, 'nft', 'list', 'table', 'inet', runtime.network.policyTable],
      { encoding: 'utf8' },
    );
    expect(table).toContain(after);
    expect(table).not.toContain(`${before},`);
    expect(table).not.toContain(`${before} }`);
    // The labelled client, started before, reaches the new incarnation (its name now resolves to the new address).
    const seen = probes('np-client', `${MEMBER_HOST}:6379`).length;
    await pollUntil(
      () => {
        const fresh = probes('np-client', `${MEMBER_HOST}:6379`).slice(seen);
        if (!fresh.some(reached)) throw new Error(JSON.stringify(fresh.slice(-3)));
        return true;
      },
      { description: 'the labelled client to reach the recreated member', timeoutMs: 30_000, intervalMs: 250 },
    );
  }, 180_000);

  /** Waits for attempts of the stranger that all began after now: admitted (any reply) or dropped (all time out). */
  /** Waits for attempts of `app` to `target` that all began after now: admitted (a reply) or dropped (time outs). */
  async function expectFresh(app: string, target: string, admitted: boolean): Promise<void> {
    const seen = probes(app, target).length;
    await pollUntil(
      () => {
        // The first fresh attempt may have been in flight before the change.
        const fresh = probes(app, target).slice(seen + 1);
        if (admitted) return fresh.some(reached);
        if (fresh.length < 2 || !fresh.every((r) => r.rc === 124)) throw new Error(JSON.stringify(fresh));
        return true;
      },
      { description: `${app} -> ${target} to be ${admitted ? 'admitted' : 'dropped'}`, timeoutMs: 30_000 },
    );
  }
  const expectStranger = (admitted: boolean) => expectFresh('np-stranger', `${MEMBER_HOST}:6379`, admitted);
  const allowStranger = 'NetworkPolicy/slotforge/allow-stranger';

  it('enforces a policy applied beside the chart, and its change, when apply returns', async () => {
    let result = await runtime.apply(manifestsWith(extraPolicy(true)));
    expect(result.changes).toContainEqual({ object: allowStranger, action: 'created' });
    // Union of the chart's policy and this one: the stranger is admitted on the named port `redis`.
    await expectStranger(true);
    result = await runtime.apply(manifestsWith(extraPolicy(false)));
    expect(result.changes).toContainEqual({ object: allowStranger, action: 'configured', detail: 'spec' });
    await expectStranger(false);
  }, 90_000);

  it('keeps a policy dropped from the manifests on --prune, and prunes it with the NetworkPolicy allowlist', async () => {
    await runtime.apply(manifestsWith(extraPolicy(true)));
    await expectStranger(true);
    // kubectl's default prune allowlist has no NetworkPolicy: the policy stays in force.
    let result = await runtime.apply(manifestsWith(undefined), { prune: true });
    expect(result.changes).toContainEqual({ object: allowStranger, action: 'kept' });
    expect(result.changes).toContainEqual({ object: 'NetworkPolicy/slotforge/redis', action: 'unchanged' });
    await expectStranger(true);
    result = await runtime.apply(manifestsWith(undefined), {
      prune: true,
      pruneAllowlist: ['networking.k8s.io/v1/NetworkPolicy'],
    });
    expect(result.changes).toContainEqual({ object: allowStranger, action: 'pruned' });
    await expectStranger(false);
    expect((await runtime.status()).networkPolicies.map((p) => p.name)).toEqual(['slotforge/redis']);
  }, 120_000);

  it('enforces Egress on the source pod: a default-deny egress stops what the member admits', async () => {
    const scrape = `${MEMBER_HOST}:9121`;
    await expectFresh('np-scraper', scrape, true);
    const denyEgress: NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny-egress', namespace: 'monitoring' },
      spec: { podSelector: {}, policyTypes: ['Egress'] },
    };
    const set = manifestsWith(undefined);
    addObject(set, denyEgress, 'test policy');
    await runtime.apply(set);
    await expectFresh('np-scraper', scrape, false);
    const status = await runtime.status();
    expect(status.networkPolicies).toContainEqual({
      name: 'monitoring/deny-egress',
      policyTypes: ['Egress'],
      pods: [status.pods.find((p) => p.name.startsWith('np-scraper-'))!.name],
    });
  }, 90_000);
});
