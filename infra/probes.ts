import type { k8s } from 'cdk8s-plus-27';
import { SCRIPTS_MOUNT_PATH } from './scripts.ts';

const probe = (mode: 'liveness' | 'readiness'): k8s.ExecAction => ({
  command: ['sh', `${SCRIPTS_MOUNT_PATH}/probe.sh`, mode],
});

/**
 * Probes of a member, all run by probe.sh as the `probe` user.
 * - startup: liveness semantics with a long budget (10 min) so the entrypoint's nodes.conf repair and a slow start
 *   are not restarted;
 * - liveness: tolerates LOADING and MASTERDOWN, so loading a large AOF is never killed (a restart would start the load
 *   again: the field's loop of death);
 * - readiness: PONG, cluster_state:ok and no empty-master guard in force; the client Service routes only there.
 */
export function memberProbes(
  redisCliSeconds = 3,
): Pick<k8s.Container, 'startupProbe' | 'livenessProbe' | 'readinessProbe'> {
  // probe.sh bounds its redis-cli call by redisCliSeconds: the probe's own timeout leaves 2 s for sh and the secret.
  const timeoutSeconds = redisCliSeconds + 2;
  return {
    startupProbe: { exec: probe('liveness'), periodSeconds: 5, timeoutSeconds, failureThreshold: 120 },
    livenessProbe: { exec: probe('liveness'), periodSeconds: 10, timeoutSeconds, failureThreshold: 3 },
    readinessProbe: { exec: probe('readiness'), periodSeconds: 5, timeoutSeconds, failureThreshold: 2 },
  };
}
