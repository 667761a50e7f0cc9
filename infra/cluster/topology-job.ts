import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { commonMounts, commonVolumes, scriptEnv } from '../data-pod/index.ts';
import { hashedJobName } from '../job-name.ts';
import { SCRIPTS_MOUNT_PATH } from '../scripts.ts';
import { containerSecurityContext, podSecurityContext } from '../security/index.ts';

export interface TopologyJobInput {
  /** Name prefix; the Job is `<prefix>-<hash of its pod template>` ({@link hashedJobName}). */
  readonly namePrefix: string;
  /** Labels of the Job and its pod (they find it: `app.kubernetes.io/component: topology`, `slotforge.io/topology`). */
  readonly labels: Record<string, string>;
  /** Pod-template annotations: the config hash, so a change of the scripts is a new Job. */
  readonly annotations: Record<string, string>;
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
 * are idempotent, so re-running the Job, or applying the same topology twice, changes nothing. Its name carries the
 * hash of its pod template: a new topology, image or script is a new Job (a Job's template is immutable).
 */
export function topologyJob(scope: Construct, id: string, input: TopologyJobInput): k8s.KubeJob {
  const template: k8s.PodTemplateSpec = {
    metadata: { labels: input.labels, annotations: input.annotations },
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
  };
  return new k8s.KubeJob(scope, id, {
    metadata: { name: hashedJobName(input.namePrefix, template), labels: input.labels },
    spec: { backoffLimit: 10, activeDeadlineSeconds: input.activeDeadlineSeconds, template },
  });
}
