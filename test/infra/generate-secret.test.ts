import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_KUBECTL_IMAGE, DEFAULT_REDIS_IMAGE, InvalidPropError } from '../../infra/index.ts';
import { harnessTempDir } from '../support/index.ts';
import { type Manifest, objectsOfKind, synthCluster } from './support/synth.ts';
import { validateObject } from './support/validate.ts';

const run = promisify(execFile);
const root = harnessTempDir('infra-secret');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const authJob = (objects: Manifest[]) =>
  objectsOfKind(objects, 'Job').find((o) => o.metadata.labels['app.kubernetes.io/component'] === 'auth');

/** Runs the Job's init container script (the Redis image's sh) with the Job's env, the volumes as directories. */
async function render(objects: Manifest[], current: Record<string, string>, dir: string) {
  const job = authJob(objects);
  const init = job?.spec.template.spec.initContainers[0];
  const script = objects.find((o) => o.kind === 'ConfigMap' && o.data?.['generate-secret.sh'])?.data[
    'generate-secret.sh'
  ];
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const e of init.env) if (e.value !== undefined) env[e.name] = e.value;
  env.POD_NAMESPACE = 'ns';
  for (const d of ['current', 'work']) mkdirSync(join(dir, d), { recursive: true });
  for (const [key, value] of Object.entries(current)) writeFileSync(join(dir, 'current', key), value);
  writeFileSync(join(dir, 'generate-secret.sh'), script);
  const { stderr } = await run('sh', [join(dir, 'generate-secret.sh')], {
    env: { ...env, SLOTFORGE_CURRENT_DIR: join(dir, 'current'), SLOTFORGE_WORK_DIR: join(dir, 'work') },
  });
  const file = join(dir, 'work', 'secret.json');
  const secret = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  const values = Object.fromEntries(
    Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
  return { secret, values, log: stderr, mode: statSync(file).mode & 0o777, files: readdirSync(join(dir, 'work')) };
}

describe('auth Job: an init container renders the Secret, kubectl (no shell) applies it server-side', () => {
  it('renders a valid Secret with one fresh random password per key, readable by its owner only', async () => {
    const objects = synthCluster();
    const { secret, values, log, mode, files } = await render(objects, {}, join(root, 'fresh'));
    validateObject(secret);
    expect(secret.metadata).toMatchObject({ name: 'rc-auth', namespace: 'ns' });
    expect(secret.metadata.labels['app.kubernetes.io/instance']).toBe('rc');
    expect(Object.keys(values).sort()).toEqual(['admin', 'app', 'exporter', 'probe', 'replication']);
    for (const value of Object.values(values)) expect(value).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(Object.values(values)).size).toBe(5);
    expect(mode).toBe(0o600);
    expect(files).toEqual(['secret.json']);
    // The one clear log line, without a value in it.
    expect(log).toMatch(/secret rc-auth: kept no key, generated admin app probe exporter replication/);
    for (const value of Object.values(values)) expect(log).not.toContain(value);
  });

  it('keeps every value the Secret already has and generates only the missing keys (idempotent re-runs)', async () => {
    const objects = synthCluster();
    const current = { admin: 'a'.repeat(64), app: 'b'.repeat(64), probe: 'c'.repeat(64) };
    const { values, log } = await render(objects, current, join(root, 'partial'));
    expect(values).toMatchObject(current);
    expect(values.exporter).toMatch(/^[0-9a-f]{64}$/);
    expect(log).toContain('kept admin app probe, generated exporter replication');
    const again = await render(objects, values as Record<string, string>, join(root, 'again'));
    expect(again.values).toEqual(values);
  });

  it('runs kubectl from registry.k8s.io with arguments only, bounded by activeDeadlineSeconds', () => {
    const job = authJob(synthCluster({ auth: { jobDeadlineSeconds: 120 } }));
    expect(job?.metadata.name).toMatch(/^rc-auth-gen-[0-9a-f]{8}$/);
    expect(job?.spec.activeDeadlineSeconds).toBe(120);
    expect(authJob(synthCluster())?.spec.activeDeadlineSeconds).toBe(300);
    const [apply] = job?.spec.template.spec.containers ?? [];
    expect(DEFAULT_KUBECTL_IMAGE).toBe('registry.k8s.io/kubectl:v1.34.3');
    expect(apply.image).toBe(DEFAULT_KUBECTL_IMAGE);
    expect(apply.command).toBeUndefined();
    expect(apply.args).toEqual(['apply', '--server-side', '--field-manager=slotforge-auth', '-f', '/work/secret.json']);
    expect(JSON.stringify(apply)).not.toMatch(/"sh"|"-c"/);
    expect(JSON.stringify(job)).not.toContain('bitnami');
    const [init] = job?.spec.template.spec.initContainers ?? [];
    expect(init.image).toBe(DEFAULT_REDIS_IMAGE); // the Redis image: sh and coreutils
    expect(init.command).toEqual(['sh', '/opt/slotforge/generate-secret.sh']);
    const current = job?.spec.template.spec.volumes.find((v: Manifest) => v.name === 'current');
    expect(current.secret).toMatchObject({ secretName: 'rc-auth', optional: true });
    expect(() => synthCluster({ auth: { jobDeadlineSeconds: 5 } })).toThrow(
      "RedisCluster 'rc': auth.jobDeadlineSeconds must be an integer from 30 to 3600 (got 5)",
    );
  });

  it('its Role reaches only its own Secret, by name, for every verb it uses', () => {
    const objects = synthCluster();
    const [role] = objectsOfKind(objects, 'Role');
    expect(role?.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['rc-auth'], verbs: ['get', 'patch', 'create'] },
    ]);
  });

  it('existingSecret: no Job, ServiceAccount or Role, and every pod mounts the named Secret', () => {
    const objects = synthCluster({ auth: { existingSecret: 'my-redis-passwords' } });
    for (const kind of ['Job', 'Role', 'RoleBinding', 'ServiceAccount']) {
      expect(
        objectsOfKind(objects, kind).filter((o) => o.metadata.labels['app.kubernetes.io/component'] === 'auth'),
      ).toEqual([]);
    }
    const secretVolumes = objects
      .filter((o) => o.spec?.template?.spec?.volumes)
      .flatMap((o) => o.spec.template.spec.volumes.filter((v: Manifest) => v.name === 'auth'));
    expect(secretVolumes.length).toBeGreaterThan(0);
    for (const v of secretVolumes) expect(v.secret.secretName).toBe('my-redis-passwords');
    expect(() => synthCluster({ auth: { existingSecret: 'Not_A_Name' } })).toThrow(InvalidPropError);
  });
});
