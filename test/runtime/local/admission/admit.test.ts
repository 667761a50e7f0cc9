import { beforeAll, describe, expect, it } from 'vitest';
import { admit, loadSchemas } from '../../../../runtime/local/admission/index.ts';
import { addObject, emptyManifestSet, type ManifestSet } from '../../../../runtime/local/index.ts';

function set(...objects: object[]): ManifestSet {
  const s = emptyManifestSet();
  for (const o of objects) addObject(s, o as never, 'test', 'dist/app.yaml');
  return s;
}
const messages = (next: ManifestSet, live?: ManifestSet, assumeCrds: string[] = []) =>
  admit(next, live, { assumeCrds }).map((r) => r.message);

const deployment = (spec: Record<string, unknown> = {}, name = 'web') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'ns' },
  spec: {
    selector: { matchLabels: { a: 'b' } },
    template: { spec: { containers: [{ name: 'c', image: 'redis:7.0.15' }] } },
    ...spec,
  },
});
const rule = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'alerts', namespace: 'ns' },
  spec: {},
};
const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'prometheusrules.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    names: { kind: 'PrometheusRule', plural: 'prometheusrules' },
    scope: 'Namespaced',
    versions: [{ name: 'v1', served: true, storage: true }],
  },
};
const job = (image: string, name = 'seed') => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: 'ns' },
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image }] } } },
});

describe('admission (what an API server refuses)', () => {
  beforeAll(loadSchemas);

  it('refuses a kind whose CRD is not installed, in kubectl words; a CRD object or --assume-crds installs it', () => {
    expect(messages(set(rule))).toEqual([
      'error: resource mapping not found for name: "alerts" namespace: "ns" from "dist/app.yaml": no matches for kind "PrometheusRule" in version "monitoring.coreos.com/v1"\nensure CRDs are installed first',
    ]);
    expect(messages(set(rule, crd))).toEqual([]);
    expect(messages(set(rule), set(crd))).toEqual([]);
    expect(messages(set(rule), undefined, ['monitoring.coreos.com'])).toEqual([]);
    expect(messages(set({ ...deployment(), apiVersion: 'apps/v1beta1' }))[0]).toContain(
      'no matches for kind "Deployment" in version "apps/v1beta1"',
    );
  });

  it("refuses fields a custom resource's CRD schema does not have (the API server would prune them)", () => {
    const openAPIV3Schema = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            groups: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
            free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      },
    };
    const withSchema = {
      ...crd,
      spec: { ...crd.spec, versions: [{ ...crd.spec.versions[0], schema: { openAPIV3Schema } }] },
    };
    const good = { ...rule, spec: { groups: [{ name: 'a' }], free: { anything: 1 } } };
    expect(messages(set(good, withSchema))).toEqual([]);
    const bad = { ...rule, spec: { groups: [{ name: 'a', rulez: [] }], extra: true } };
    expect(messages(set(bad, withSchema))).toEqual([
      'Error from server (BadRequest): error when creating "dist/app.yaml": PrometheusRule in version "v1" cannot be handled as a PrometheusRule: strict decoding error: unknown field "spec.groups[0].rulez", unknown field "spec.extra"',
    ]);
  });

  it('refuses unknown fields of built-in kinds (strict field validation), naming each path', () => {
    expect(messages(set(deployment({ foo: 1 })))).toEqual([
      'Error from server (BadRequest): error when creating "dist/app.yaml": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"',
    ]);
    const nested = deployment({ template: { spec: { containers: [{ name: 'c', image: 'x', memory: '1Gi' }] } } });
    expect(messages(set(nested))[0]).toContain('unknown field "spec.template.spec.containers[0].memory"');
    expect(messages(set(deployment()))).toEqual([]);
  });

  it('refuses a Secret or ConfigMap over 1 MiB', () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'ns' },
      stringData: { a: big },
    };
    expect(messages(set(secret))).toEqual([
      'Error from server (Invalid): error when creating "dist/app.yaml": The Secret "s" is invalid: data: Too long: must have at most 1048576 bytes',
    ]);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' }, data: { a: big } };
    expect(messages(set(cm))[0]).toContain('Too long: must have at most 1048576 bytes');
    // Under 1 MiB but over the 256 KiB that client-side apply's last-applied annotation may hold.
    const annotated = { ...cm, data: { a: 'x'.repeat(300 * 1024) } };
    expect(messages(set(annotated))[0]).toContain('metadata.annotations: Too long: must have at most 262144 bytes');
  });

  it('refuses names that are not what Kubernetes requires for the kind', () => {
    expect(messages(set(deployment({}, 'Web_1')))[0]).toBe(
      `Error from server (Invalid): error when creating "dist/app.yaml": The Deployment "Web_1" is invalid: metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    );
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: '1redis', namespace: 'ns' }, spec: {} };
    expect(messages(set(service))[0]).toContain('a DNS-1035 label must consist of lower case alphanumeric characters');
    expect(messages(set(job('redis:7.0.15', `j${'x'.repeat(63)}`)))[0]).toContain('must be no more than 63 characters');
    expect(messages(set({ ...deployment(), metadata: { name: 'web', namespace: 'My_NS' } }))[0]).toContain(
      'metadata.namespace: Invalid value: "My_NS": a lowercase RFC 1123 label',
    );
  });

  it('refuses updates of immutable fields, with the API server message', () => {
    expect(messages(set(job('redis:7.0.16')), set(job('redis:7.0.15')))).toEqual([
      'Error from server (Invalid): error when patching "dist/app.yaml": The Job "seed" is invalid: spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable',
    ]);
    const svc = (clusterIP?: string) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'redis', namespace: 'ns' },
      spec: clusterIP ? { clusterIP } : {},
    });
    expect(messages(set(svc()), set(svc('None')))[0]).toContain(
      'spec.clusterIP: Invalid value: "": field is immutable',
    );
    const pvc = (storage: string, storageClassName = 'standard') => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'ns' },
      spec: { storageClassName, accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
    });
    expect(messages(set(pvc('1Gi')), set(pvc('2Gi')))[0]).toContain(
      'spec.resources.requests.storage: Forbidden: field can not be less than previous value',
    );
    expect(messages(set(pvc('4Gi')), set(pvc('2Gi')))).toEqual([]);
    expect(messages(set(pvc('2Gi', 'fast')), set(pvc('2Gi')))[0]).toContain(
      'spec: Forbidden: spec is immutable after creation except resources.requests',
    );
    const sts = (serviceName: string) => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'ns' },
      spec: { serviceName, selector: { matchLabels: { a: 'b' } }, template: deployment().spec.template },
    });
    expect(messages(set(sts('other')), set(sts('db')))[0]).toContain(
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
  });
});
