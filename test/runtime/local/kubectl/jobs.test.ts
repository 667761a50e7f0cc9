import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addObject, emptyManifestSet, LocalRuntime, type ManifestSet } from '../../../../runtime/local/index.ts';
import { pollUntil } from '../../../../runtime/process/index.ts';
import { cleanUpAndExpectNothingLeft, harnessTempDir } from '../../../support/index.ts';

const NS = 'kube';
const IMAGE = 'registry.k8s.io/kubectl:v1.33.4';

function job(name: string, container: Record<string, unknown>, pod: Record<string, unknown> = {}) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NS },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: 'writer',
          containers: [
            { name: 'kubectl', image: IMAGE, volumeMounts: [{ name: 'in', mountPath: '/in' }], ...container },
          ],
          volumes: [{ name: 'in', configMap: { name: 'secret-manifest' } }],
          ...pod,
        },
      },
    },
  };
}

function manifests(): ManifestSet {
  const set = emptyManifestSet();
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'auth', namespace: NS },
    data: { admin: Buffer.from('generated').toString('base64') },
  };
  const objects = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'writer', namespace: NS } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'writer', namespace: NS },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'patch', 'create'], resourceNames: ['auth'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'writer', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'writer' },
      subjects: [{ kind: 'ServiceAccount', name: 'writer' }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'secret-manifest', namespace: NS },
      data: { 'secret.json': JSON.stringify(secret) },
    },
    job('ssa', { args: ['apply', '--server-side', '-f', '/in/secret.json'] }),
    job('forbidden', { command: ['kubectl', 'get', 'secret', 'other'] }),
    job('shell', { command: ['sh', '-c', 'kubectl get secret auth'] }),
    job('no-token', { args: ['get', 'secret', 'auth'] }, { automountServiceAccountToken: false }),
  ];
  for (const o of objects) addObject(set, o as never, 'test');
  return set;
}

describe.runIf(process.getuid?.() === 0)('kubectl images on the local runtime (real Jobs)', () => {
  let runtime: LocalRuntime;
  let stateDir: string;
  const log = (jobName: string) => {
    const dir = join(stateDir, 'logs');
    const file = readdirSync(dir).find((f) => f.startsWith(`${jobName}-`));
    return file ? readFileSync(join(dir, file), 'utf8') : '';
  };

  beforeAll(async () => {
    stateDir = join(harnessTempDir('kubectl'), 'state');
    runtime = await LocalRuntime.start({ stateDir, manifests: manifests(), hostDns: false, timeScale: 0.1 });
    await pollUntil(
      async () => {
        const jobs = (await runtime.status()).jobs;
        return jobs.length === 4 && jobs.every((j) => j.status !== 'Running') && jobs;
      },
      { description: 'every kubectl Job to end', timeoutMs: 60_000 },
    );
  });

  afterAll(async () => {
    await runtime?.stop(2000);
    if (stateDir) await cleanUpAndExpectNothingLeft(stateDir);
  });

  const statusOf = async (name: string) =>
    (await runtime.status()).jobs.find((j) => j.name === `${NS}/${name}`)?.status;

  it('runs `kubectl apply --server-side -f` of a JSON Secret, allowed by a Role limited to that name', async () => {
    expect(await statusOf('ssa')).toBe('Complete');
    expect(log('ssa')).toContain('secret/auth serverside-applied');
    expect(runtime.store.secret(NS, 'auth')).toEqual({ admin: 'generated' });
  });

  it("refuses what the pod's Role does not grant, with the API server's Forbidden message", async () => {
    expect(await statusOf('forbidden')).toBe('Failed');
    expect(log('forbidden')).toContain(
      'Error from server (Forbidden): secrets "other" is forbidden: User "system:serviceaccount:kube:writer" cannot get resource "secrets" in API group "" in the namespace "kube"',
    );
  });

  it('has no shell: `sh -c` in a kubectl image fails as a missing executable', async () => {
    expect(await statusOf('shell')).toBe('Failed');
    expect(log('shell')).toContain('exec: "sh": executable file not found in $PATH');
  });

  it('gives a pod with automountServiceAccountToken: false no API access', async () => {
    expect(await statusOf('no-token')).toBe('Failed');
    expect(log('no-token')).toContain('The connection to the server localhost:8080 was refused');
  });

  it('refuses bitnami/kubectl, an image that no longer exists upstream', async () => {
    const set = emptyManifestSet();
    addObject(set, job('bitnami', { image: 'bitnami/kubectl:1.27.16', args: ['version'] }) as never, 'test');
    const dir = join(harnessTempDir('kubectl'), 'bitnami');
    await expect(LocalRuntime.start({ stateDir: dir, manifests: set, hostDns: false })).rejects.toThrow(
      "image 'bitnami/kubectl:1.27.16' no longer exists upstream",
    );
    await cleanUpAndExpectNothingLeft(dir);
  });
});
