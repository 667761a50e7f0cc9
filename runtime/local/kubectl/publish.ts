import type { ApplyChange } from '../apply.ts';
import type { ManifestSet } from '../manifests.ts';
import { writePolicy } from './rbac.ts';
import { storeManifestSecret } from './secret-store.ts';

/**
 * What the runtime's kubectl reads after a start (`changes` undefined: every Secret) or an apply (the Secrets it
 * created or configured): the manifests' Secrets in the object store, and the RBAC objects in force.
 */
export function publishApplied(api: string, live: ManifestSet, changes?: readonly ApplyChange[]): void {
  const keys = changes
    ? changes
        .filter((c) => c.object.startsWith('Secret/') && (c.action === 'created' || c.action === 'configured'))
        .map((c) => c.object.slice('Secret/'.length))
    : [...live.secrets.keys()];
  for (const key of keys) {
    const secret = live.secrets.get(key);
    if (secret) storeManifestSecret(api, secret);
  }
  writePolicy(api, live.others.values());
}
