import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { RuntimeStatus } from '../../../../runtime/local/index.ts';
import { cleanUpAndExpectNothingLeft, harnessTempDir } from '../../../support/index.ts';

const run = promisify(execFile);
const NS = 'admission';
// The suite sets SLOTFORGE_ASSUME_CRDS for the default charts; these tests choose for themselves.
const env = { ...process.env, SLOTFORGE_ASSUME_CRDS: '' };

function cli(stateDir: string, ...args: string[]) {
  return run(process.execPath, ['bin/slotforge.js', '--state-dir', stateDir, ...args], { timeout: 120_000, env });
}

/** A Job on the kubectl image that reads one Secret its Role lets it read, a PDB and a PrometheusRule. */
function manifests(file: string, options: { output: string; extra?: object[] }): string {
  const objects = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: NS } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'reader', namespace: NS },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['cfg'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'reader', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader' }],
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cfg', namespace: NS }, stringData: { a: '1' } },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'read', namespace: NS },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            serviceAccountName: 'reader',
            containers: [
              {
                name: 'kubectl',
                image: 'registry.k8s.io/kubectl:v1.33.4',
                args: ['get', 'secret', 'cfg', '-o', options.output],
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'redis', namespace: NS },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'redis' } } },
    },
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'alerts', namespace: NS },
      spec: { groups: [] },
    },
    ...(options.extra ?? []),
  ];
  writeFileSync(file, objects.map((o) => `---\n${stringify(o)}`).join(''));
  return file;
}

describe.runIf(process.getuid?.() === 0)('admission in `slotforge up` and `slotforge apply`', () => {
  const dir = harnessTempDir('admission-cli');
  const stateDir = join(dir, 'state');
  const first = manifests(join(dir, 'first.yaml'), { output: 'name' });

  afterAll(async () => {
    await cli(stateDir, 'down').catch(() => undefined);
    await cleanUpAndExpectNothingLeft(stateDir);
  });

  it('`up` exits non-zero naming a kind whose CRD is not installed, and starts nothing', async () => {
    const failed = await cli(stateDir, 'up', '--detach', '--manifests', first).catch((error) => error);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `error: resource mapping not found for name: "alerts" namespace: "${NS}" from "${first}": no matches for kind "PrometheusRule" in version "monitoring.coreos.com/v1"\nensure CRDs are installed first`,
    );
    await cleanUpAndExpectNothingLeft(stateDir);
  });

  it('with --assume-crds the kind is accepted, and status lists it (and the PDB) as accepted, not enforced', async () => {
    await cli(stateDir, 'up', '--detach', '--manifests', first, '--assume-crds', 'monitoring.coreos.com');
    const status = JSON.parse((await cli(stateDir, 'status', '--json')).stdout) as RuntimeStatus;
    expect(status.jobs).toEqual([{ name: `${NS}/read`, status: 'Complete', failures: 0 }]);
    expect(status.acceptedNotEnforced).toEqual([
      { object: `PodDisruptionBudget/${NS}/redis`, validated: 'schema: strict fields (Kubernetes API)' },
      { object: `PrometheusRule/${NS}/alerts`, validated: 'CRD assumed (--assume-crds); not validated' },
    ]);
    expect((await cli(stateDir, 'status')).stdout).toContain(
      `accepted, not enforced: PrometheusRule/${NS}/alerts (CRD assumed (--assume-crds); not validated)`,
    );
  });

  it('`apply` refuses a changed Job template as immutable, applies the rest and exits 1, as kubectl does', async () => {
    const extra = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extra', namespace: NS }, data: { a: '1' } };
    const second = manifests(join(dir, 'second.yaml'), { output: 'json', extra: [extra] });
    const failed = await cli(stateDir, 'apply', '--manifests', second, '--assume-crds', 'monitoring.coreos.com').catch(
      (error) => error,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `Error from server (Invalid): error when patching "${second}": The Job "read" is invalid: spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable`,
    );
    expect(failed.stdout).toContain(`ConfigMap/${NS}/extra created`);
    expect(failed.stdout).not.toContain('Job/');
  });
});
