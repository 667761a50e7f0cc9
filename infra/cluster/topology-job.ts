import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { SCRIPTS_MOUNT_PATH } from '../scripts.ts';
import { containerSecurityContext, podSecurityContext } from '../security/security-context.ts';
import { commonMounts, commonVolumes, scriptEnv } from './member-pod.ts';

export interface TopologyJobInput {
  /** Job name: it carries the topology, because a Job's pod template is immutable and a new topology needs a new run. */
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly image: string;
  readonly env: Record<string, string | number>;
  readonly configMapName: string;
  readonly secretName: string;
  readonly tlsSecretName?: string;
  /** The Job's activeDeadlineSeconds (above the rebalance's own bound). */
  readonly activeDeadlineSeconds: number;
}

/**
 * The Job that forms the cluster (bootstrap.sh) and then moves slots to match the topology (scale.sh). Both scripts
 * are idempotent, so re-running the Job, or applying the same topology twice, changes nothing.
 */
export function topologyJob(scope: Construct, id: string, input: TopologyJobInput): k8s.KubeJob {
  return new k8s.KubeJob(scope, id, {
    metadata: { name: input.name, labels: input.labels },
    spec: {
      backoffLimit: 10,
      activeDeadlineSeconds: input.activeDeadlineSeconds,
      template: {
        metadata: { labels: input.labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(),
          containers: [
            {
              name: 'topology',
              image: input.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', `sh ${SCRIPTS_MOUNT_PATH}/bootstrap.sh && sh ${SCRIPTS_MOUNT_PATH}/scale.sh`],
              env: scriptEnv(input.env, input.tlsSecretName !== undefined),
              resources: {
                requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('32Mi') },
                limits: { memory: k8s.Quantity.fromString('128Mi') },
              },
              securityContext: containerSecurityContext(),
              volumeMounts: commonMounts(input.tlsSecretName !== undefined),
            },
          ],
          volumes: commonVolumes(input.configMapName, input.secretName, input.tlsSecretName),
        },
      },
    },
  });
}
