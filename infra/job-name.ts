import { createHash } from 'node:crypto';

/** Hex characters of the pod-template hash in a Job's name. */
const HASH_LENGTH = 8;

/**
 * The name of a Job that carries a short hash of its pod template: `<prefix>-<8 hex>`. A Job's `spec.template` is
 * immutable, so `kubectl apply` of a changed template under the same name fails ("field is immutable"); with the hash
 * in the name, a new image, env or script (the template's config-hash annotation) is a new Job, and the same
 * manifests re-applied are the same Job, unchanged. Anything that looks for such a Job finds it by label or prefix.
 * @see https://kubernetes.io/docs/concepts/workloads/controllers/job/#pod-template
 */
export function hashedJobName(prefix: string, template: unknown): string {
  return `${prefix}-${shortHash(template)}`;
}

/** The first 8 hex characters of the SHA-256 of a value's JSON. */
export function shortHash(value: unknown): string {
  // JSON.stringify of the construct-side object: cdk8s Quantity/IntOrString are plain classes with one value field,
  // and key order is the order the code writes them in, so the same props always give the same hash.
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, HASH_LENGTH);
}

/** A prefix that matches the Job names {@link hashedJobName} makes from `prefix` and nothing else of ours. */
export function jobNamePattern(prefix: string): RegExp {
  return new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{${HASH_LENGTH}}$`);
}
