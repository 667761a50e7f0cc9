import type { k8s } from 'cdk8s-plus-27';

/** uid/gid of the `redis` user in the official Redis image. */
export const REDIS_UID = 999;
/** uid of the redis_exporter image (it runs as 59000 upstream). */
export const EXPORTER_UID = 59000;

const RUNTIME_DEFAULT: k8s.SeccompProfile = { type: 'RuntimeDefault' };

/**
 * Pod security context: non-root, the volume group set to the Redis gid so PVCs are writable, seccomp RuntimeDefault.
 * Meets the Kubernetes `restricted` Pod Security Standard.
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
 */
export function podSecurityContext(uid = REDIS_UID): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: RUNTIME_DEFAULT,
  };
}

/** Container security context: read-only root filesystem, every capability dropped, no privilege escalation. */
export function containerSecurityContext(uid = REDIS_UID): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: RUNTIME_DEFAULT,
  };
}
