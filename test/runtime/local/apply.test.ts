import { describe, expect, it } from 'vitest';
import {
  addObject,
  canonical,
  emptyManifestSet,
  type ManifestSet,
  planApply,
  templateRevision,
} from '../../../runtime/local/index.ts';

const template = (image = 'redis:7.0.15') => ({ spec: { containers: [{ name: 'redis', image }] } });

function set(...objects: object[]): ManifestSet {
  const s = emptyManifestSet();
  for (const o of objects) addObject(s, o as never, 'test');
  return s;
}

const sts = (replicas: number, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db', namespace: 'ns' },
  spec: { replicas, serviceName: 'db', template: template(), ...extra },
});
const job = (name: string, backoffLimit = 6) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: 'ns' },
  spec: { backoffLimit, template: { spec: { ...template().spec, restartPolicy: 'Never' } } },
});
const configMap = (data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg', namespace: 'ns' },
  data,
});

describe('planApply (what an apply changes)', () => {
  it("names each object's change in kubectl's words, and keeps what the new set no longer lists", () => {
    const live = set(sts(2), job('topology-3'), configMap({ a: '1' }));
    const next = set(sts(3), job('topology-4'), configMap({ a: '2' }));
    expect(planApply(live, next)).toEqual([
      { object: 'ConfigMap/ns/cfg', action: 'configured', detail: 'data' },
      { object: 'StatefulSet/ns/db', action: 'configured', detail: 'replicas 2 -> 3' },
      { object: 'Job/ns/topology-4', action: 'created' },
      { object: 'Job/ns/topology-3', action: 'kept' },
    ]);
    expect(planApply(live, next, { prune: true }).at(-1)).toEqual({ object: 'Job/ns/topology-3', action: 'pruned' });
  });

  it('treats objects that differ only in key order as unchanged', () => {
    const reordered = { spec: { template: template(), serviceName: 'db', replicas: 2 }, metadata: sts(2).metadata };
    expect(planApply(set(sts(2)), set({ kind: 'StatefulSet', apiVersion: 'apps/v1', ...reordered }))).toEqual([
      { object: 'StatefulSet/ns/db', action: 'unchanged' },
    ]);
  });

  it('reports a changed pod template, which rolls under a new revision', () => {
    const next = set(sts(2, { template: template('redis:7.0.16') }));
    expect(planApply(set(sts(2)), next)[0]).toMatchObject({ action: 'configured', detail: 'pod template' });
    expect(templateRevision('db', template())).not.toBe(templateRevision('db', template('redis:7.0.16')));
    expect(templateRevision('db', template())).toMatch(/^db-[0-9a-f]{10}$/);
  });

  it('refuses a changed Job of the same name (a Job spec is immutable), naming the Job and the rule', () => {
    expect(() => planApply(set(job('topology-3')), set(job('topology-3', 2)))).toThrow(
      'apply: Job ns/topology-3: spec is immutable and the new manifests change it',
    );
    expect(planApply(set(job('topology-3')), set(job('topology-3')))).toEqual([
      { object: 'Job/ns/topology-3', action: 'unchanged' },
    ]);
  });

  it('refuses a change of an immutable StatefulSet field, naming the field and both values', () => {
    expect(() => planApply(set(sts(2)), set(sts(2, { serviceName: 'other' })))).toThrow(
      'apply: StatefulSet ns/db: spec.serviceName is immutable (live "db", new "other")',
    );
  });

  it('writes canonical JSON with sorted keys at every depth', () => {
    expect(canonical({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 2 } })).toBe('{"a":{"c":2,"d":[{"y":2,"z":1}]},"b":1}');
  });
});
