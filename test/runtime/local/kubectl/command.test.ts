import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { admitSecret, loadSchemas } from '../../../../runtime/local/admission/index.ts';
import type { KubeObject } from '../../../../runtime/local/index.ts';
import {
  type KubectlContext,
  rbacPolicy,
  readSecret,
  resolveContainerPath,
  runKubectl,
} from '../../../../runtime/local/kubectl/index.ts';

const NS = 'demo';
const role = (verbs: string[], resourceNames?: string[]): KubeObject[] => [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'writer', namespace: NS },
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs, ...(resourceNames ? { resourceNames } : {}) }],
  } as KubeObject,
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'writer', namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'writer' },
    subjects: [{ kind: 'ServiceAccount', name: 'writer' }],
  } as KubeObject,
];

const secretJson = (data: Record<string, string>, name = 'auth') =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: NS },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });

describe("the runtime's kubectl (no shell; RBAC as the API server authorizes it)", () => {
  let dir: string;
  let api: string;
  let work: string;
  let objects: KubeObject[];
  const ctx = (): KubectlContext => ({
    namespace: NS,
    serviceAccount: 'writer',
    api,
    policy: () => rbacPolicy(objects),
    resolvePath: (path) => join(work, path.replace(/^\/work\/?/, '')),
    admit: admitSecret,
  });
  const kubectl = (...args: string[]) => runKubectl(args, ctx());

  beforeAll(loadSchemas);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubectl-'));
    api = join(dir, 'api');
    work = join(dir, 'work');
    mkdirSync(api);
    mkdirSync(work);
    objects = role(['get', 'create', 'patch']);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a generic Secret from files and literals, then refuses a second create as AlreadyExists', () => {
    writeFileSync(join(work, 'admin'), 'pw1');
    expect(
      kubectl('create', 'secret', 'generic', 'auth', '--from-file=admin=/work/admin', '--from-literal=app=pw2'),
    ).toEqual({
      code: 0,
      stdout: 'secret/auth created\n',
      stderr: '',
    });
    expect(readSecret(api, NS, 'auth')?.data).toEqual({ admin: Buffer.from('pw1'), app: Buffer.from('pw2') });
    expect(kubectl('create', 'secret', 'generic', 'auth', '--from-literal=app=x')).toMatchObject({
      code: 1,
      stderr: 'error: failed to create secret secrets "auth" already exists\n',
    });
  });

  it('gets a Secret by name as a table, json, yaml and name; NotFound exits 1', () => {
    kubectl('create', 'secret', 'generic', 'auth', '--from-literal=app=pw');
    expect(kubectl('get', 'secret', 'auth', '-o', 'name').stdout).toBe('secret/auth\n');
    const json = JSON.parse(kubectl('get', 'secret', 'auth', '-o', 'json').stdout);
    expect(json).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', data: { app: 'cHc=' } });
    expect(kubectl('get', 'secret/auth', '-o=yaml').stdout).toContain('kind: Secret\n');
    expect(kubectl('get', 'secret', 'auth').stdout).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\nauth\s+Opaque\s+1\s+\d+s\n$/);
    expect(kubectl('get', 'secret', 'nope')).toMatchObject({
      code: 1,
      stderr: 'Error from server (NotFound): secrets "nope" not found\n',
    });
  });

  it('applies a Secret manifest: created, unchanged, configured (keys the last apply set and this one drops go)', () => {
    writeFileSync(join(work, 's.json'), secretJson({ a: '1', b: '2' }));
    expect(kubectl('apply', '-f', '/work/s.json').stdout).toBe('secret/auth created\n');
    expect(kubectl('apply', '-f', '/work/s.json').stdout).toBe('secret/auth unchanged\n');
    writeFileSync(
      join(work, 's.yaml'),
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: auth\nstringData:\n  a: "3"\n`,
    );
    expect(kubectl('apply', '-f', '/work/s.yaml').stdout).toBe('secret/auth configured\n');
    expect(readSecret(api, NS, 'auth')?.data).toEqual({ a: Buffer.from('3') });
  });

  it("refuses what RBAC does not allow, in the API server's words", () => {
    objects = role(['get'], ['auth']);
    expect(kubectl('get', 'secret', 'other')).toMatchObject({
      code: 1,
      stderr:
        'Error from server (Forbidden): secrets "other" is forbidden: User "system:serviceaccount:demo:writer" cannot get resource "secrets" in API group "" in the namespace "demo"\n',
    });
    expect(kubectl('get', 'secret', 'auth', '-n', 'kube-system').stderr).toContain(
      'cannot get resource "secrets" in API group "" in the namespace "kube-system"',
    );
    expect(kubectl('create', 'secret', 'generic', 'auth', '--from-literal=a=b').stderr).toBe(
      'error: failed to create secret secrets is forbidden: User "system:serviceaccount:demo:writer" cannot create resource "secrets" in API group "" in the namespace "demo"\n',
    );
    objects = [];
    expect(kubectl('get', 'secret', 'auth').code).toBe(1);
  });

  it('limits create by resourceNames only for server-side apply, which authorizes the create with the name', () => {
    objects = role(['get', 'create', 'patch'], ['auth']);
    writeFileSync(join(work, 's.json'), secretJson({ a: '1' }));
    // Client-side apply of a new object is a POST: its attributes carry no name, so a named rule cannot match.
    expect(kubectl('apply', '-f', '/work/s.json').stderr).toContain(
      'error when creating "/work/s.json": secrets is forbidden: User "system:serviceaccount:demo:writer" cannot create resource "secrets"',
    );
    expect(kubectl('apply', '--server-side', '-f', '/work/s.json')).toEqual({
      code: 0,
      stdout: 'secret/auth serverside-applied\n',
      stderr: '',
    });
    writeFileSync(join(work, 'o.json'), secretJson({ a: '1' }, 'other'));
    expect(kubectl('apply', '--server-side', '-f', '/work/o.json').stderr).toContain('secrets "other" is forbidden');
  });

  it('has no API without a service account token, and refuses an oversized Secret as the API server does', () => {
    expect(runKubectl(['get', 'secret', 'auth'], { ...ctx(), api: undefined }).stderr).toBe(
      'The connection to the server localhost:8080 was refused - did you specify the right host or port?\n',
    );
    writeFileSync(join(work, 'big.json'), secretJson({ a: 'x'.repeat(1024 * 1024 + 1) }));
    expect(kubectl('apply', '--server-side', '-f', '/work/big.json').stderr).toBe(
      'Error from server (Invalid): error when creating "/work/big.json": The Secret "auth" is invalid: data: Too long: must have at most 1048576 bytes\n',
    );
  });
});

describe('paths of a kubectl container', () => {
  it('reads only inside the volumes at their mount paths, never through a symlink out of a volume', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubectl-paths-'));
    try {
      const volume = join(dir, 'volume');
      mkdirSync(volume);
      writeFileSync(join(volume, 'secret.json'), '{}');
      writeFileSync(join(dir, 'host-file'), 'host');
      symlinkSync(join(dir, 'host-file'), join(volume, 'escape'));
      const context = {
        namespace: NS,
        serviceAccount: 'sa',
        api: null,
        mounts: [{ source: volume, target: '/work' }],
        tmpDir: join(dir, 'tmp'),
      };
      expect(resolveContainerPath('/work/secret.json', context)).toBe(join(volume, 'secret.json'));
      expect(resolveContainerPath('secret.json', { ...context, workingDir: '/work' })).toBe(
        join(volume, 'secret.json'),
      );
      expect(resolveContainerPath('/work/../etc/passwd', context)).toBe('/nonexistent-in-kubectl-image/etc/passwd');
      expect(resolveContainerPath('/work/escape', context)).toBe('/nonexistent-in-kubectl-image/work/escape');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
