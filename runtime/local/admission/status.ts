import { APPLY_KINDS } from '../apply.ts';
import { RBAC_KINDS } from '../kubectl/index.ts';
import type { ManifestSet } from '../manifests.ts';
import { crdKinds, served } from './index.ts';

/**
 * Kinds the runtime acts on: the workloads and their data (run by its controllers and kubelet), RBAC (enforced by
 * its kubectl), ServiceAccounts and Namespaces (used as names), CustomResourceDefinitions (they install kinds).
 */
export const ENFORCED_KINDS = new Set([
  ...APPLY_KINDS.map(([kind]) => kind),
  ...Object.keys(RBAC_KINDS),
  'Namespace',
  'ServiceAccount',
  'CustomResourceDefinition',
]);

/** How each admitted object of a kind nothing here enforces was validated, for `status`. */
export function acceptedNotEnforced(
  live: ManifestSet,
  assumeCrds: readonly string[],
): Array<{ object: string; validated: string }> {
  const crds = crdKinds(live.others.values());
  const out: Array<{ object: string; validated: string }> = [];
  for (const [id, object] of live.others) {
    if (ENFORCED_KINDS.has(object.kind)) continue;
    const how = served(object.apiVersion, object.kind, crds, { assumeCrds });
    const validated =
      how === 'builtin'
        ? 'schema: strict fields (Kubernetes API)'
        : how === 'crd'
          ? crds.get(`${object.apiVersion}/${object.kind}`)
            ? 'schema: strict fields (its CRD)'
            : 'CRD installed without a schema; not validated'
          : 'CRD assumed (--assume-crds); not validated';
    out.push({ object: id, validated });
  }
  return out.sort((a, b) => a.object.localeCompare(b.object));
}
