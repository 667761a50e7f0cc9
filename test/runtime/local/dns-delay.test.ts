import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DelayedRecords,
  type ManifestSet,
  parseDnsDelay,
  type RuntimeStatus,
  unhealthy,
} from '../../../runtime/local/index.ts';
import { pollUntil } from '../../../runtime/process/index.ts';
import { localRuntimeFixture, manifestSetOf } from '../../support/index.ts';

const A = { ip: '10.0.0.1', names: ['a.svc', 'a'] };

describe('DelayedRecords (clients behind a DNS cache)', () => {
  it('publishes a new name only after the delay, then moves and removes it after the delay too', () => {
    const dns = new DelayedRecords(5000);
    expect(dns.update([A], 0)).toEqual({ visible: [], nextAt: 5000 });
    expect(dns.pending).toBe(1);
    expect(dns.update([A], 4999).visible).toEqual([]);
    expect(dns.update([A], 5000)).toEqual({ visible: [A], nextAt: undefined });
    expect(dns.pending).toBe(0);
    // Moved at 6000: the old address until 11000.
    const moved = { ...A, ip: '10.0.0.2' };
    expect(dns.update([moved], 6000)).toEqual({ visible: [A], nextAt: 11_000 });
    expect(dns.update([moved], 11_000).visible).toEqual([moved]);
    // Removed at 12000: still resolves until 17000.
    expect(dns.update([], 12_000).visible).toEqual([moved]);
    expect(dns.update([], 17_000)).toEqual({ visible: [], nextAt: undefined });
  });

  it('delivers every change of a name in order, each after its own delay', () => {
    const dns = new DelayedRecords(1000);
    dns.update([A], 0);
    dns.update([], 500); // gone again before it ever reached clients
    expect(dns.update([], 1000).visible).toEqual([A]);
    expect(dns.update([], 1500)).toEqual({ visible: [], nextAt: undefined });
  });

  it('a deployment is not healthy while a DNS change is on its way to clients', () => {
    const status = { pods: [], jobs: [], clusters: [], dns: { delayMs: 5000, pending: 2 } } as unknown as RuntimeStatus;
    expect(unhealthy(status)).toBe('waiting for 2 DNS change(s) to reach clients (DNS delay 5000 ms)');
    expect(unhealthy({ ...status, dns: { delayMs: 5000, pending: 0 } })).toBeUndefined();
  });

  it('a changed delay applies to later changes and caps the wait of changes already on their way', () => {
    const dns = new DelayedRecords(0);
    dns.update([A], 0);
    // A lagging cache from 1000: the move at 2000 reaches clients only an hour later.
    dns.setDelay(3_600_000, 1000);
    const moved = { ...A, ip: '10.0.0.2' };
    expect(dns.update([moved], 2000)).toEqual({ visible: [A], nextAt: 3_602_000 });
    expect(dns.delayMs).toBe(3_600_000);
    // Caught up at 5000: the change on its way is due at once, later ones take the new delay.
    dns.setDelay(0, 5000);
    expect(dns.update([moved], 5000)).toEqual({ visible: [moved], nextAt: undefined });
  });

  it('publishes every change at once with delay 0', () => {
    const dns = new DelayedRecords(0);
    expect(dns.update([A], 0)).toEqual({ visible: [A], nextAt: undefined });
  });

  it('parses durations and rejects others naming the field and the rule', () => {
    expect(parseDnsDelay('5s')).toBe(5000);
    expect(parseDnsDelay('250ms')).toBe(250);
    expect(parseDnsDelay('0')).toBe(0);
    expect(parseDnsDelay(1500)).toBe(1500);
    expect(() => parseDnsDelay('5', 'option --dns-delay')).toThrow(
      /option --dns-delay must be a duration from 0 to 10m .*\(got '5'\)/,
    );
    expect(() => parseDnsDelay('-1s')).toThrow(/got '-1s'/);
    expect(() => parseDnsDelay('11m')).toThrow(/got '11m'/);
  });
});

const DELAY_MS = 2000;
const FQDN = (pod: string) => `${pod}.peer.dns.svc.cluster.local`;

function manifests(): ManifestSet {
  return manifestSetOf(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dns' } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'peer', namespace: 'dns' },
      spec: { clusterIP: 'None', selector: { app: 'peer' }, ports: [{ name: 'x', port: 7 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'peer', namespace: 'dns' },
      spec: {
        replicas: 1,
        serviceName: 'peer',
        selector: { matchLabels: { app: 'peer' } },
        template: {
          metadata: { labels: { app: 'peer' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'c', image: 'redis:8.0.2', command: ['sh', '-c', 'exec sleep 3600'] }],
          },
        },
      },
    },
  );
}

describe.runIf(process.getuid?.() === 0)('DNS delay on the local runtime', () => {
  const fixture = localRuntimeFixture('dns-delay');

  it('a pod resolves its own name at once; others see a new, moved or removed name only after the delay', async () => {
    const rt = await fixture.start({ manifests: manifests(), dnsDelayMs: DELAY_MS, hostDns: false });
    const first = await pollUntil(() => rt.pods().find((p) => p.name === 'peer-0' && p.ready), {
      description: 'peer-0 ready',
      timeoutMs: 30_000,
    });
    const readyAt = Date.now();
    const hostsOf = (pod: typeof first) => readFileSync(join(rt.paths.pods, `peer-0-${pod.seq}`, 'hosts'), 'utf8');
    // The kubelet's line for the pod itself: there before cluster DNS publishes the name.
    expect(hostsOf(first)).toContain(`${first.ip}\t${FQDN('peer-0')} peer-0`);
    expect(rt.lookup(FQDN('peer-0'))).toBeUndefined();
    await pollUntil(() => rt.lookup(FQDN('peer-0')) === first.ip, {
      description: 'peer-0 to resolve',
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    const appearedAfter = Date.now() - readyAt;
    expect(appearedAfter).toBeGreaterThan(DELAY_MS - 1000);
    expect(readFileSync(rt.paths.hostsFile, 'utf8')).toContain(`${first.ip}\t${FQDN('peer-0')}`);

    // Recreated with a new address: the old one is served for the delay, then the new one.
    const deleting = rt.deletePod('peer-0');
    const deletedAt = Date.now();
    await deleting;
    const second = await pollUntil(() => rt.pods().find((p) => p.name === 'peer-0' && p.ready && p !== first), {
      description: 'peer-0 back',
      timeoutMs: 30_000,
    });
    expect(second.ip).not.toBe(first.ip);
    expect(hostsOf(second).split('\n')[3]).toBe(`${second.ip}\t${FQDN('peer-0')} peer-0`);
    if (Date.now() - deletedAt < DELAY_MS - 500) expect(rt.lookup(FQDN('peer-0'))).toBe(first.ip);
    await pollUntil(() => rt.lookup(FQDN('peer-0')) === second.ip, {
      description: 'peer-0 to resolve to its new address',
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    expect(Date.now() - deletedAt).toBeGreaterThan(DELAY_MS - 500);
  });
});
