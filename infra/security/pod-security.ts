import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';

/**
 * Labels that make Pod Security Admission enforce the `restricted` standard on a namespace (and audit and warn on
 * it), at the cluster's version of the standard. Every pod slotforge synthesizes meets it: non-root, seccomp
 * RuntimeDefault, every capability dropped, no privilege escalation, only configMap/secret/emptyDir/PVC volumes
 * ({@link podSecurityContext}, {@link containerSecurityContext}).
 * @see https://kubernetes.io/docs/concepts/security/pod-security-admission/
 */
export const RESTRICTED_POD_SECURITY_LABELS: Readonly<Record<string, string>> = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
};

/** A Namespace whose pods must meet the `restricted` Pod Security Standard ({@link RESTRICTED_POD_SECURITY_LABELS}). */
export function restrictedNamespace(scope: Construct, id: string, name: string): k8s.KubeNamespace {
  return new k8s.KubeNamespace(scope, id, { metadata: { name, labels: { ...RESTRICTED_POD_SECURITY_LABELS } } });
}
