import { createHash } from 'node:crypto';
import { canonical, immutableProblem } from './admission/immutable.ts';
import { LocalRuntimeError } from './errors.ts';
import { type ManifestSet, STORED_KINDS } from './manifests.ts';
import type { KubeObject, PodTemplate, StatefulSet } from './types.ts';

export { canonical };

/** Options of `LocalRuntime.apply`. */
export interface ApplyOptions {
  /**
   * Delete the StatefulSets, Deployments, Jobs, Services, ConfigMaps, Secrets and PVC objects the new manifests no
   * longer list (with the pods they own, gracefully), as `kubectl apply --prune --all` does. Without it they stay and
   * keep running, as with a plain `kubectl apply`. Claim data is kept either way (a deleted StatefulSet leaves its
   * PVCs on Kubernetes too).
   * @default false
   */
  readonly prune?: boolean;
  /**
   * With `prune`, the kinds to prune instead of the default ones, as `group/version/Kind` (`core/v1/ConfigMap`,
   * `networking.k8s.io/v1/NetworkPolicy`), like `kubectl apply --prune --prune-allowlist`: the way to prune a
   * NetworkPolicy, which the default list keeps.
   * @default the kinds of kubectl's default allowlist the runtime runs
   */
  readonly pruneAllowlist?: readonly string[];
  /**
   * API groups whose CRDs count as installed for this apply, on top of the runtime's own
   * ({@link import('./runtime.ts').LocalRuntimeOptions.assumeCrds}).
   * @default []
   */
  readonly assumeCrds?: readonly string[];
  /**
   * What to do when admission refuses some objects: `apply-rest` applies the admitted ones and then throws, as
   * `kubectl apply` applies the rest and exits 1 (what `slotforge apply` does); `reject-all` changes nothing.
   * @default 'reject-all'
   */
  readonly onRefusal?: 'reject-all' | 'apply-rest';
}

/** What apply did to one object, in `kubectl apply`'s words (`kept`: absent from the new set and not pruned). */
export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'pruned' | 'kept';

/** One line of an apply: `StatefulSet/slotforge/redis-shard-3 created`. */
export interface ApplyChange {
  /** `Kind/namespace/name`. */
  readonly object: string;
  readonly action: ApplyAction;
  /** What changed, for `configured` (`replicas 2 -> 3`, `pod template`, `data`). */
  readonly detail?: string;
}

/** The result of an apply, one change per object of the live set and the new set. */
export interface ApplyResult {
  readonly changes: ApplyChange[];
  /** Objects the API server refused (kubectl's message each); the others were applied. */
  readonly refused?: ReadonlyArray<{ readonly object: string; readonly message: string }>;
}

/** The kinds apply manages, in the order changes are made: data before the workloads that mount it ({@link STORED_KINDS}). */
export const APPLY_KINDS = STORED_KINDS;

/**
 * Kinds `prune` keeps: NetworkPolicy is not in kubectl's default prune allowlist (staging/src/k8s.io/kubectl/pkg/util/
 * prune/prune.go), so `kubectl apply --prune --all` leaves it in force; a Namespace is, but pruning one deletes
 * everything in it, which the runtime does not reproduce.
 */
const KEPT_BY_PRUNE: ReadonlySet<string> = new Set(['Namespace', 'NetworkPolicy']);

/** The `--prune-allowlist` entries the runtime can prune (not Namespace: see {@link KEPT_BY_PRUNE}). */
const PRUNABLE: Readonly<Record<string, string>> = {
  'core/v1/ConfigMap': 'ConfigMap',
  'core/v1/Secret': 'Secret',
  'core/v1/PersistentVolumeClaim': 'PersistentVolumeClaim',
  'core/v1/Service': 'Service',
  'apps/v1/StatefulSet': 'StatefulSet',
  'apps/v1/Deployment': 'Deployment',
  'batch/v1/Job': 'Job',
  'networking.k8s.io/v1/NetworkPolicy': 'NetworkPolicy',
};

/** The kinds an apply with `options` prunes (none without `prune`); refuses an allowlist entry it cannot prune. */
function prunedKinds(options: ApplyOptions): ReadonlySet<string> {
  if (options.pruneAllowlist === undefined) {
    return new Set(options.prune ? APPLY_KINDS.map(([kind]) => kind).filter((k) => !KEPT_BY_PRUNE.has(k)) : []);
  }
  if (!options.prune) {
    throw new LocalRuntimeError(
      'E_CONTROL',
      'apply: pruneAllowlist needs prune (kubectl: --prune-allowlist needs --prune)',
    );
  }
  return new Set(
    options.pruneAllowlist.map((entry) => {
      const kind = PRUNABLE[entry];
      if (!kind) {
        throw new LocalRuntimeError(
          'E_CONTROL',
          `apply: pruneAllowlist: '${entry}' is not a kind the runtime prunes; use group/version/Kind, one of ${Object.keys(PRUNABLE).join(', ')}`,
        );
      }
      return kind;
    }),
  );
}

/**
 * The revision of a pod template, as the StatefulSet controller labels its pods (`controller-revision-hash`):
 * `NAME-<hash>`, equal for equal templates.
 * @see https://kubernetes.io/docs/reference/labels-annotations-taints/#controller-revision-hash
 */
export function templateRevision(name: string, template: PodTemplate): string {
  return `${name}-${createHash('sha256').update(canonical(template)).digest('hex').slice(0, 10)}`;
}

function describeChange(kind: string, before: KubeObject, after: KubeObject): string {
  if (kind === 'StatefulSet' || kind === 'Deployment') {
    const a = (before as StatefulSet).spec;
    const b = (after as StatefulSet).spec;
    const parts: string[] = [];
    if ((a.replicas ?? 1) !== (b.replicas ?? 1)) parts.push(`replicas ${a.replicas ?? 1} -> ${b.replicas ?? 1}`);
    if (canonical(a.template) !== canonical(b.template)) parts.push('pod template');
    const rest = (s: typeof a) => canonical({ ...s, replicas: undefined, template: undefined });
    if (rest(a) !== rest(b)) parts.push('spec');
    return parts.join(', ') || 'metadata';
  }
  if (kind === 'ConfigMap' || kind === 'Secret') return 'data';
  return 'spec';
}

/**
 * Compares the live objects with a new set, kind by kind, and rejects what Kubernetes rejects before anything
 * changes: an update {@link immutableProblem} refuses (a Job's spec, a StatefulSet's selector, serviceName,
 * podManagementPolicy or volumeClaimTemplates, a Service's clusterIP, a claim's spec). The runtime's apply admits
 * the set first (runtime/local/admission), so refused objects never reach this point there.
 */
export function planApply(live: ManifestSet, next: ManifestSet, options: ApplyOptions = {}): ApplyChange[] {
  const changes: ApplyChange[] = [];
  const pruned = prunedKinds(options);
  for (const [kind, field] of APPLY_KINDS) {
    const before = live[field] as Map<string, KubeObject>;
    const after = next[field] as Map<string, KubeObject>;
    for (const [key, object] of after) {
      const previous = before.get(key);
      const name = `${kind}/${key}`;
      if (!previous) {
        changes.push({ object: name, action: 'created' });
        continue;
      }
      if (canonical(previous) === canonical(object)) {
        changes.push({ object: name, action: 'unchanged' });
        continue;
      }
      const problem = immutableProblem(kind, previous, object);
      if (problem) throw new LocalRuntimeError('E_MANIFEST', `apply: ${kind} ${key}: ${problem.summary}`);
      changes.push({ object: name, action: 'configured', detail: describeChange(kind, previous, object) });
    }
    for (const key of before.keys()) {
      if (after.has(key)) continue;
      changes.push({ object: `${kind}/${key}`, action: pruned.has(kind) ? 'pruned' : 'kept' });
    }
  }
  return changes;
}
