import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { LocalRuntimeError } from './errors.ts';
import type {
  ConfigMap,
  Deployment,
  Job,
  KubeObject,
  PersistentVolumeClaim,
  Secret,
  Service,
  StatefulSet,
} from './types.ts';

/** Kinds that need no process and have no local effect; they are accepted silently. */
const INERT_KINDS = new Set([
  'Namespace',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'PodDisruptionBudget',
]);

/** The objects of a set of manifests, sorted by kind. Keys are `namespace/name`. */
export interface ManifestSet {
  readonly configMaps: Map<string, ConfigMap>;
  readonly secrets: Map<string, Secret>;
  readonly services: Map<string, Service>;
  readonly statefulSets: Map<string, StatefulSet>;
  readonly deployments: Map<string, Deployment>;
  readonly jobs: Map<string, Job>;
  readonly claims: Map<string, PersistentVolumeClaim>;
  /** Objects of kinds the runtime does not reproduce (NetworkPolicy, ServiceMonitor, ...), as `Kind/ns/name`. */
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
  const set: ManifestSet = {
    configMaps: new Map(),
    secrets: new Map(),
    services: new Map(),
    statefulSets: new Map(),
    deployments: new Map(),
    jobs: new Map(),
    claims: new Map(),
    ignored: [],
    others: new Map(),
    sources: new Map(),
    files: manifestFiles(path),
  };
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
  switch (object.kind) {
    case 'ConfigMap':
      set.configMaps.set(key, object as ConfigMap);
      break;
    case 'Secret':
      set.secrets.set(key, object as Secret);
      break;
    case 'Service':
      set.services.set(key, object as Service);
      break;
    case 'StatefulSet':
      set.statefulSets.set(key, object as StatefulSet);
      break;
    case 'Deployment':
      set.deployments.set(key, object as Deployment);
      break;
    case 'Job':
      set.jobs.set(key, object as Job);
      break;
    case 'PersistentVolumeClaim':
      set.claims.set(key, object as PersistentVolumeClaim);
      break;
    default:
      set.others.set(`${object.kind}/${key}`, object);
      if (!INERT_KINDS.has(object.kind)) set.ignored.push(`${object.kind}/${key}`);
  }
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
    ignored: [...set.ignored],
    others: new Map(set.others),
    sources: new Map(set.sources),
    files: [...set.files],
  };
}
