/**
 * Admission as a Kubernetes API server does it, for the local runtime's `up` and `apply` and for its kubectl: a kind
 * must be served (built in, or installed by a CustomResourceDefinition), names must be valid, built-in kinds are
 * decoded strictly (no unknown field), ConfigMaps and Secrets stay under 1 MiB, and updates keep immutable fields.
 * @see https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation
 */
import type { ManifestSet } from '../manifests.ts';
import type { KubeObject, Secret } from '../types.ts';
import { BUILTIN_KINDS, CLUSTER_SCOPED, groupOf } from './builtin.ts';
import { hasSchema, unknownFields } from './fields.ts';
import { immutableProblem } from './immutable.ts';
import { nameProblem, namespaceProblem } from './names.ts';

export { parseQuantity } from './immutable.ts';

/** Options of admission. */
export interface AdmissionOptions {
  /**
   * API groups whose CustomResourceDefinitions count as installed, as an operator would have installed them
   * (`monitoring.coreos.com`, `cert-manager.io`): objects of any kind in these groups are accepted, not validated.
   * @default [] (only CRDs applied as objects install kinds)
   */
  readonly assumeCrds?: readonly string[];
}

/** An object the API server would refuse. */
export interface Refusal {
  /** `Kind/namespace/name`. */
  readonly object: string;
  /** The error kubectl prints for it. */
  readonly message: string;
  /** Our short reason (for the runtime's apply errors). */
  readonly summary: string;
}

/** A ConfigMap's or Secret's data limit (`core.MaxSecretSize`). */
export const MAX_DATA_BYTES = 1024 * 1024;
/** The limit of all annotations of an object together, `kubectl.kubernetes.io/last-applied-configuration` included. */
export const MAX_ANNOTATION_BYTES = 256 * 1024;

/** How a served kind is known. */
export type Served = 'builtin' | 'crd' | 'assumed';

/** The kinds the CRD objects of `objects` install, as `group/version/Kind` (served versions only). */
export function crdKinds(objects: Iterable<KubeObject>): Set<string> {
  const kinds = new Set<string>();
  for (const object of objects) {
    if (object.kind !== 'CustomResourceDefinition') continue;
    const spec = (
      object as {
        spec?: { group?: string; names?: { kind?: string }; versions?: Array<{ name: string; served?: boolean }> };
      }
    ).spec;
    for (const version of spec?.versions ?? []) {
      if (version.served !== false) kinds.add(`${spec?.group}/${version.name}/${spec?.names?.kind}`);
    }
  }
  return kinds;
}

/** Whether an API server with these CRDs serves `apiVersion` + `kind`, and how. */
export function served(
  apiVersion: string,
  kind: string,
  crds: ReadonlySet<string>,
  options: AdmissionOptions,
): Served | undefined {
  const group = groupOf(apiVersion);
  if (BUILTIN_KINDS[group])
    return BUILTIN_KINDS[group]?.includes(kind) && hasSchema(apiVersion, kind) ? 'builtin' : undefined;
  if (crds.has(`${apiVersion}/${kind}`)) return 'crd';
  if ((options.assumeCrds ?? []).includes(group)) return 'assumed';
  return undefined;
}

function dataBytes(object: KubeObject): number {
  const o = object as Secret & { binaryData?: Record<string, string> };
  const decoded = (map: Record<string, string> | undefined) =>
    Object.values(map ?? {}).reduce((sum, v) => sum + Buffer.from(v, 'base64').length, 0);
  const plain = (map: Record<string, string> | undefined) =>
    Object.values(map ?? {}).reduce((sum, v) => sum + Buffer.byteLength(v), 0);
  if (object.kind === 'Secret') return decoded(o.data) + plain(o.stringData);
  return plain(o.data) + decoded(o.binaryData);
}

/** What the API server refuses in `object` alone (kind served, name, fields, size); undefined when admitted. */
export function objectProblem(
  object: KubeObject,
  crds: ReadonlySet<string>,
  options: AdmissionOptions,
  file: string,
  existing: KubeObject | undefined,
): Omit<Refusal, 'object'> | undefined {
  const name = object.metadata?.name;
  const namespace = object.metadata?.namespace ?? 'default';
  const how = served(object.apiVersion, object.kind, crds, options);
  if (!how) {
    const ns = CLUSTER_SCOPED.has(object.kind) ? '' : namespace;
    return {
      summary: `no matches for kind "${object.kind}" in version "${object.apiVersion}" (install its CustomResourceDefinition first, or pass --assume-crds ${groupOf(object.apiVersion) || 'GROUP'} where an operator installs it)`,
      message: `error: resource mapping not found for name: "${name}" namespace: "${ns}" from "${file}": no matches for kind "${object.kind}" in version "${object.apiVersion}"\nensure CRDs are installed first`,
    };
  }
  const when = existing ? `error when patching "${file}"` : `error when creating "${file}"`;
  const invalid = (why: string) => ({
    summary: why,
    message: `Error from server (Invalid): ${when}: The ${object.kind} "${name}" is invalid: ${why}`,
  });
  const bad =
    nameProblem(object.kind, name) ?? (CLUSTER_SCOPED.has(object.kind) ? undefined : namespaceProblem(namespace));
  if (bad) return invalid(bad);
  if (how === 'builtin') {
    const unknown = unknownFields(object);
    if (unknown.length > 0) {
      const version = object.apiVersion.slice(object.apiVersion.lastIndexOf('/') + 1);
      const why = unknown.map((f) => `unknown field "${f}"`).join(', ');
      return {
        summary: `strict decoding error: ${why}`,
        message: `Error from server (BadRequest): ${when}: ${object.kind} in version "${version}" cannot be handled as a ${object.kind}: strict decoding error: ${why}`,
      };
    }
  }
  if ((object.kind === 'Secret' || object.kind === 'ConfigMap') && dataBytes(object) > MAX_DATA_BYTES) {
    return invalid(`${object.kind === 'Secret' ? 'data' : '[]'}: Too long: must have at most ${MAX_DATA_BYTES} bytes`);
  }
  // Client-side apply stores the whole object in an annotation, and all annotations share one limit.
  const annotations = {
    ...(object.metadata.annotations ?? {}),
    'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(object),
  };
  const annotationBytes = Object.entries(annotations).reduce((sum, [k, v]) => sum + k.length + Buffer.byteLength(v), 0);
  if (annotationBytes > MAX_ANNOTATION_BYTES) {
    return invalid(`metadata.annotations: Too long: must have at most ${MAX_ANNOTATION_BYTES} bytes`);
  }
  if (existing) {
    const problem = immutableProblem(object.kind, existing, object);
    if (problem)
      return { summary: problem.summary, message: `Error from server (Invalid): ${when}: ${problem.message}` };
  }
  return undefined;
}

/** Every object of a set, by `Kind/ns/name`. */
export function objectsOf(set: ManifestSet): Map<string, KubeObject> {
  const all = new Map<string, KubeObject>();
  const typed = [set.configMaps, set.secrets, set.claims, set.services, set.statefulSets, set.deployments, set.jobs];
  for (const map of typed)
    for (const object of map.values())
      all.set(`${object.kind}/${object.metadata.namespace ?? 'default'}/${object.metadata.name}`, object);
  for (const [id, object] of set.others) all.set(id, object);
  return all;
}

/**
 * Admits a set of objects against the live ones (undefined at `up`): returns the refusals, one per refused object,
 * in kubectl's words. CRDs in the set and in the live set install their kinds.
 */
export function admit(next: ManifestSet, live: ManifestSet | undefined, options: AdmissionOptions = {}): Refusal[] {
  const before = live ? objectsOf(live) : new Map<string, KubeObject>();
  const after = objectsOf(next);
  const crds = crdKinds([...before.values(), ...after.values()]);
  const refusals: Refusal[] = [];
  for (const [id, object] of after) {
    const problem = objectProblem(object, crds, options, next.sources.get(id) ?? 'manifests', before.get(id));
    if (problem) refusals.push({ object: id, ...problem });
  }
  return refusals;
}

/**
 * A copy of `set` without the refused objects; a refused update keeps the live object (`live`), so an apply reports
 * it unchanged and a prune leaves it alone, as kubectl does with an object it failed to patch.
 */
export function withoutRefused(set: ManifestSet, refusals: readonly Refusal[], live?: ManifestSet): ManifestSet {
  const refused = new Set(refusals.map((r) => r.object));
  const liveObjects = live ? objectsOf(live) : new Map<string, KubeObject>();
  const keep = <T extends KubeObject>(map: Map<string, T>, id: (key: string, o: T) => string) =>
    new Map(
      [...map].flatMap(([key, o]): Array<[string, T]> => {
        if (!refused.has(id(key, o))) return [[key, o]];
        const kept = liveObjects.get(id(key, o)) as T | undefined;
        return kept ? [[key, kept]] : [];
      }),
    );
  const typed = <T extends KubeObject>(map: Map<string, T>) => keep(map, (key, o) => `${o.kind}/${key}`);
  return {
    configMaps: typed(set.configMaps),
    secrets: typed(set.secrets),
    services: typed(set.services),
    statefulSets: typed(set.statefulSets),
    deployments: typed(set.deployments),
    jobs: typed(set.jobs),
    claims: typed(set.claims),
    others: keep(set.others, (id) => id),
    ignored: set.ignored.filter((id) => !refused.has(id)),
    sources: new Map(set.sources),
    files: [...set.files],
  };
}

/** The API groups of `--assume-crds` / $SLOTFORGE_ASSUME_CRDS (comma-separated). */
export function parseAssumeCrds(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
}

/** Admission of one Secret the runtime's kubectl writes (no CRDs involved). */
export function admitSecret(object: Secret, existing: Secret | undefined) {
  const problem = objectProblem(object, new Set(), {}, '', existing);
  if (!problem) return undefined;
  // kubectl's own prefix is added by the caller; keep the API server's part.
  const message = problem.message.replace(/^Error from server \((\w+)\): error when (creating|patching) "": /, '');
  const reason = /^Error from server \((\w+)\)/.exec(problem.message)?.[1] as 'BadRequest' | 'Invalid' | undefined;
  return { reason: reason ?? 'Invalid', message };
}
