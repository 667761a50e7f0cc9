import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { LocalRuntimeError } from './errors.ts';
import { validateNetworkPolicy } from './network-policy.ts';
import type {
  ConfigMap,
  Deployment,
  Job,
  KubeObject,
  Namespace,
  NetworkPolicy,
  PersistentVolumeClaim,
  Secret,
  Service,
  StatefulSet,
} from './types.ts';

/** Kinds that need no process and have no local effect; they are accepted silently. */
const INERT_KINDS = new Set([
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'PodDisruptionBudget',
]);

/**
 * The kinds a {@link ManifestSet} stores in a map of their own (the ones the runtime acts on), with the map's field,
 * in the order apply stores them.
 */
export const STORED_KINDS = [
  ['ConfigMap', 'configMaps'],
  ['Secret', 'secrets'],
  ['PersistentVolumeClaim', 'claims'],
  ['Service', 'services'],
  ['StatefulSet', 'statefulSets'],
  ['Deployment', 'deployments'],
  ['Job', 'jobs'],
  ['Namespace', 'namespaces'],
  ['NetworkPolicy', 'networkPolicies'],
] as const satisfies ReadonlyArray<readonly [string, keyof ManifestSet]>;

/** The objects of a set of manifests, sorted by kind. Keys are `namespace/name`. */
export interface ManifestSet {
  readonly configMaps: Map<string, ConfigMap>;
  readonly secrets: Map<string, Secret>;
  readonly services: Map<string, Service>;
  readonly statefulSets: Map<string, StatefulSet>;
  readonly deployments: Map<string, Deployment>;
  readonly jobs: Map<string, Job>;
  readonly claims: Map<string, PersistentVolumeClaim>;
  /** Keyed by name (cluster-scoped): their labels are what a NetworkPolicy's namespaceSelector sees. */
  readonly namespaces: Map<string, Namespace>;
  /** Enforced between pods (network-policy.ts). */
  readonly networkPolicies: Map<string, NetworkPolicy>;
  /** Objects of kinds the runtime does not reproduce (PodDisruptionBudget is inert; ServiceMonitor, ...), as `Kind/ns/name`. */
  readonly ignored: string[];
  /**
   * Objects of every other kind (RBAC, CustomResourceDefinitions, PodDisruptionBudgets, custom resources, ...) by
   * `Kind/ns/name`: what admission checks, the runtime's kubectl authorizes with, and `status` lists.
   */
  readonly others: Map<string, KubeObject>;
  /** The file each object came from, by `Kind/ns/name` (kubectl names it in its errors). */
  readonly sources: Map<string, string>;
  readonly files: string[];
}

/** The namespace of an object; `default` when it names none, as `kubectl apply` would. */
export function namespaceOf(object: KubeObject): string {
  return object.metadata.namespace ?? 'default';
}

export function keyOf(object: KubeObject): string {
  return `${namespaceOf(object)}/${object.metadata.name}`;
}

/** The YAML files of `path`: the file itself, or every `.yaml`/`.yml` of a directory in name order. */
export function manifestFiles(path: string): string[] {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new LocalRuntimeError('E_MANIFEST', `manifests '${path}' do not exist (run 'slotforge synth' first)`, {
      cause: error,
    });
  }
  if (!stat.isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) throw new LocalRuntimeError('E_MANIFEST', `manifests '${path}' hold no .yaml file`);
  return files;
}

/** Reads every multi-document YAML file under `path` into a {@link ManifestSet}. */
export function loadManifests(path: string): ManifestSet {
  const set: ManifestSet = { ...emptyManifestSet(), files: manifestFiles(path) };
  for (const file of set.files) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, index) => {
      if (doc.errors.length > 0) {
        throw new LocalRuntimeError('E_MANIFEST', `${file} document ${index}: ${doc.errors[0]?.message}`);
      }
      const object = doc.toJS() as KubeObject | null;
      if (object === null) return;
      addObject(set, object, `${file} document ${index}`, file);
    });
  }
  return set;
}

/** Adds one object; exported for tests that build manifests in memory. */
export function addObject(set: ManifestSet, object: KubeObject, where: string, file = where): void {
  if (typeof object !== 'object' || typeof object.kind !== 'string') {
    throw new LocalRuntimeError('E_MANIFEST', `${where}: kind must be a string (got ${JSON.stringify(object?.kind)})`);
  }
  if (typeof object.metadata?.name !== 'string' || object.metadata.name === '') {
    throw new LocalRuntimeError('E_MANIFEST', `${where}: ${object.kind} has no metadata.name`);
  }
  const key = keyOf(object);
  set.sources.set(`${object.kind}/${key}`, file);
  const field = STORED_KINDS.find(([kind]) => kind === object.kind)?.[1];
  if (!field) {
    set.others.set(`${object.kind}/${key}`, object);
    if (!INERT_KINDS.has(object.kind)) set.ignored.push(`${object.kind}/${key}`);
    return;
  }
  if (object.kind === 'NetworkPolicy') validateNetworkPolicy(object as NetworkPolicy, `${where}: NetworkPolicy ${key}`);
  // A Namespace is cluster-scoped: keyed by its name.
  (set[field] as Map<string, KubeObject>).set(object.kind === 'Namespace' ? object.metadata.name : key, object);
}

/** An empty set, for tests that add objects one by one. */
export function emptyManifestSet(): ManifestSet {
  return {
    configMaps: new Map(),
    secrets: new Map(),
    services: new Map(),
    statefulSets: new Map(),
    deployments: new Map(),
    jobs: new Map(),
    claims: new Map(),
    namespaces: new Map(),
    networkPolicies: new Map(),
    ignored: [],
    others: new Map(),
    sources: new Map(),
    files: [],
  };
}

/** A copy whose maps can change without changing `set` (the runtime's live objects start as one). */
export function cloneManifestSet(set: ManifestSet): ManifestSet {
  return {
    configMaps: new Map(set.configMaps),
    secrets: new Map(set.secrets),
    services: new Map(set.services),
    statefulSets: new Map(set.statefulSets),
    deployments: new Map(set.deployments),
    jobs: new Map(set.jobs),
    claims: new Map(set.claims),
    namespaces: new Map(set.namespaces),
    networkPolicies: new Map(set.networkPolicies),
    ignored: [...set.ignored],
    others: new Map(set.others),
    sources: new Map(set.sources),
    files: [...set.files],
  };
}
