import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { defaultCharts } from '../../charts.ts';
import { RESTRICTED_POD_SECURITY_LABELS } from '../../infra/index.ts';
import type { Manifest } from './support/synth.ts';
import { synthCluster } from './support/synth.ts';

// Issue 14 review 4: the Namespaces of dist/ carry Pod Security Admission labels enforcing `restricted`, which is
// only safe because every pod the charts synthesize meets that standard: this checks the standard's rules on every
// pod template, as the API server's admission would (the local runtime does not run Pod Security Admission).
// https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted

/** The objects of the default charts (what main.ts writes to dist/). */
function distObjects(): Manifest[] {
  const app = Testing.app();
  defaultCharts(app);
  return app.charts.flatMap((chart) => chart.toJson() as Manifest[]);
}

const RESTRICTED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];

/** Every violation of the `restricted` Pod Security Standard in a pod spec, as `field: why`. */
function restrictedViolations(spec: Manifest): string[] {
  const out: string[] = [];
  const pod = spec.securityContext ?? {};
  for (const host of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (spec[host]) out.push(`${host}: true`);
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== 'name');
    if (!RESTRICTED_VOLUMES.includes(type as string)) out.push(`volume ${volume.name}: ${type}`);
  }
  if (pod.runAsUser === 0) out.push('pod runAsUser: 0');
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    const at = `container ${c.name}`;
    if (sc.privileged) out.push(`${at}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation must be false`);
    if (!(sc.runAsNonRoot ?? pod.runAsNonRoot)) out.push(`${at}: runAsNonRoot must be true`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) out.push(`${at}: runAsUser 0`);
    const seccomp = (sc.seccompProfile ?? pod.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${at}: seccompProfile ${seccomp}`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${at}: capabilities must drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') out.push(`${at}: adds ${cap}`);
    for (const port of c.ports ?? []) if (port.hostPort) out.push(`${at}: hostPort ${port.hostPort}`);
  }
  return out;
}

const podSpecs = (objects: readonly Manifest[]) =>
  objects
    .filter((o) => ['StatefulSet', 'Job', 'Deployment', 'DaemonSet'].includes(o.kind))
    .map((o) => [`${o.kind}/${o.metadata.name}`, o.spec.template.spec as Manifest] as const);

describe('Pod Security: restricted', () => {
  it('every Namespace of dist/ enforces (and audits and warns on) the restricted standard', () => {
    const namespaces = distObjects().filter((o) => o.kind === 'Namespace');
    expect(namespaces.map((n) => n.metadata.name).sort()).toEqual(['slotforge', 'slotforge-sentinel']);
    for (const ns of namespaces) {
      expect(ns.metadata.labels).toMatchObject({
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      });
    }
    expect(RESTRICTED_POD_SECURITY_LABELS['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('every pod template of dist/ (members, sentinels, topology and auth Jobs) meets it', () => {
    const specs = podSpecs(distObjects());
    expect(specs.length).toBeGreaterThanOrEqual(7);
    expect(Object.fromEntries(specs.map(([name, spec]) => [name, restrictedViolations(spec)]))).toEqual(
      Object.fromEntries(specs.map(([name]) => [name, []])),
    );
  });

  it('so does every variant the props allow (TLS, no exporter, existing Secret)', () => {
    for (const props of [
      { tls: { secretName: 'tls' } },
      { metrics: { exporter: false } },
      { auth: { existingSecret: 'mine' } },
      { profile: 'cache' as const },
    ]) {
      for (const [name, spec] of podSpecs(synthCluster(props))) expect(restrictedViolations(spec), name).toEqual([]);
    }
  });

  it('the checker is not a no-op: a root container with escalation is caught', () => {
    const bad = {
      containers: [{ name: 'x', securityContext: { runAsUser: 0 } }],
      volumes: [{ name: 'h', hostPath: {} }],
    };
    expect(restrictedViolations(bad)).toEqual([
      'volume h: hostPath',
      'container x: allowPrivilegeEscalation must be false',
      'container x: runAsNonRoot must be true',
      'container x: runAsUser 0',
      'container x: seccompProfile undefined',
      'container x: capabilities must drop ALL',
    ]);
  });
});
