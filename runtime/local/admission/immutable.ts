import type { KubeObject, PersistentVolumeClaim, Service, StatefulSet } from '../types.ts';

/** JSON with object keys sorted, so two objects that differ only in key order compare equal. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** One update the API server refuses: our short reason, and the API server's message. */
export interface ImmutableProblem {
  /** `spec.serviceName is immutable (live "db", new "other")`. */
  readonly summary: string;
  /** `The StatefulSet "db" is invalid: spec: Forbidden: ...`. */
  readonly message: string;
}

/**
 * StatefulSet fields Kubernetes refuses to update ("updates to statefulset spec for fields other than 'replicas',
 * 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are
 * forbidden"); the ones the runtime reads.
 */
const STATEFULSET_IMMUTABLE = ['selector', 'serviceName', 'podManagementPolicy', 'volumeClaimTemplates'] as const;

const BINARY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL_SUFFIX: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, m: 1e-3 };

/** A Kubernetes quantity (`1Gi`, `500M`, `1e3`) as a number; NaN when it is not one. */
export function parseQuantity(quantity: string | number | undefined): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/.exec(quantity ?? '');
  if (!match) return Number.NaN;
  const suffix = match[2] ?? '';
  return Number(match[1]) * (BINARY_SUFFIX[suffix] ?? DECIMAL_SUFFIX[suffix] ?? Number.NaN);
}

/**
 * What the API server refuses in an update of `before` to `after` (same kind and name), first problem only, as
 * its update validation does for the kinds the runtime runs: a Job's spec (template and selector are immutable; the
 * runtime also refuses the fields Kubernetes lets change, see docs/local-runtime.md), a StatefulSet's selector,
 * serviceName, podManagementPolicy and volumeClaimTemplates, a Service's clusterIP, and a PersistentVolumeClaim's
 * spec except a storage request that does not shrink.
 */
export function immutableProblem(kind: string, before: KubeObject, after: KubeObject): ImmutableProblem | undefined {
  const name = after.metadata.name;
  const invalid = (field: string, why: string) => `The ${kind} "${name}" is invalid: ${field}: ${why}`;
  if (kind === 'Job') {
    const a = (before as StatefulSet).spec;
    const b = (after as StatefulSet).spec;
    if (canonical(a) === canonical(b)) return undefined;
    const field =
      canonical(a.template) !== canonical(b.template)
        ? 'spec.template'
        : canonical(a.selector) !== canonical(b.selector)
          ? 'spec.selector'
          : 'spec';
    return {
      summary: `spec is immutable and the new manifests change it (${field}; a Job of that name already ran); give the new run a new name (the chart's Jobs carry a hash of their template in their name) or delete the Job first`,
      message: invalid(
        field,
        `Invalid value: ${field === 'spec.template' ? 'core.PodTemplateSpec{...}' : '...'}: field is immutable`,
      ),
    };
  }
  if (kind === 'StatefulSet') {
    const a = (before as StatefulSet).spec;
    const b = (after as StatefulSet).spec;
    for (const field of STATEFULSET_IMMUTABLE) {
      if (canonical(a[field]) === canonical(b[field])) continue;
      return {
        summary: `spec.${field} is immutable (live ${canonical(a[field])}, new ${canonical(b[field])}); Kubernetes updates only replicas, template, updateStrategy, ordinals, persistentVolumeClaimRetentionPolicy and minReadySeconds: delete the StatefulSet first`,
        message: invalid(
          'spec',
          "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      };
    }
    return undefined;
  }
  if (kind === 'Service') {
    const a = (before as Service).spec?.clusterIP ?? '';
    const b = (after as Service).spec?.clusterIP ?? '';
    if (a === b) return undefined;
    return {
      summary: `spec.clusterIP is immutable (live "${a}", new "${b}"): delete the Service first`,
      message: invalid('spec.clusterIP', `Invalid value: "${b}": field is immutable`),
    };
  }
  if (kind === 'PersistentVolumeClaim') {
    const a = (before as PersistentVolumeClaim).spec ?? {};
    const b = (after as PersistentVolumeClaim).spec ?? {};
    const sizeA = parseQuantity(a.resources?.requests?.storage);
    const sizeB = parseQuantity(b.resources?.requests?.storage);
    if (sizeB < sizeA) {
      return {
        summary: `spec.resources.requests.storage may not shrink (live ${a.resources?.requests?.storage}, new ${b.resources?.requests?.storage})`,
        message: invalid('spec.resources.requests.storage', 'Forbidden: field can not be less than previous value'),
      };
    }
    const rest = (s: typeof a) => canonical({ ...s, resources: { ...s.resources, requests: undefined } });
    if (rest(a) !== rest(b)) {
      const field =
        canonical((a as { storageClassName?: string }).storageClassName) !==
        canonical((b as { storageClassName?: string }).storageClassName)
          ? 'spec.storageClassName'
          : 'spec';
      return {
        summary: `${field} is immutable after creation (only resources.requests may grow)`,
        message: invalid(
          'spec',
          'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
        ),
      };
    }
  }
  return undefined;
}
