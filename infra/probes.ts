import type { k8s } from 'cdk8s-plus-27';
import { execProbe, scriptCommand } from './data-pod/index.ts';

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
  const liveness = scriptCommand('probe.sh', 'liveness');
  return {
    startupProbe: execProbe(liveness, 5, timeoutSeconds, 120),
    livenessProbe: execProbe(liveness, 10, timeoutSeconds, 3),
    readinessProbe: execProbe(scriptCommand('probe.sh', 'readiness'), 5, timeoutSeconds, 2),
  };
}
