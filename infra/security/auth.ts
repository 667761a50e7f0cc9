import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { readScript } from '../scripts.ts';
import { containerSecurityContext, podSecurityContext } from './security-context.ts';

/** Where a member finds its passwords: a Secret mounted as files, one per key. */
export const AUTH_MOUNT_PATH = '/etc/slotforge/auth';

/** Auth options. */
export interface AuthOptions {
  /**
   * Name of an existing Secret holding one password per key (`admin`, `app`, `probe`, `exporter`, `replication`),
   * each without whitespace. When absent, a Job creates a Secret with random passwords inside the cluster, so no
   * password is ever written into a manifest.
   * @default a generated Secret named `<name>-auth`
   */
  readonly existingSecret?: string;
  /**
   * Image with `kubectl` and `sh` for the Job that generates the Secret.
   * @default 'bitnami/kubectl:1.27.16'
   */
  readonly kubectlImage?: string;
}

export interface RedisAuthProps extends AuthOptions {
  /** Prefix of the generated objects. */
  readonly baseName: string;
  readonly labels: Record<string, string>;
  /** Keys the Secret must hold. */
  readonly keys: readonly string[];
}

/**
 * The auth Secret of a deployment: either referenced, or generated in-cluster by an idempotent Job (ServiceAccount +
 * Role limited to Secrets in the namespace). Pods mount it as files; a Secret volume that does not exist yet holds the
 * pod in ContainerCreating until the Job has created it, which kubelet retries on its own.
 */
export class RedisAuth extends Construct {
  /** Name of the Secret the pods mount. */
  readonly secretName: string;
  /** Whether the Secret is created by {@link generatorJob}. */
  readonly generated: boolean;
  readonly generatorJob?: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: RedisAuthProps) {
    super(scope, id);
    this.generated = props.existingSecret === undefined;
    this.secretName = props.existingSecret ?? `${props.baseName}-auth`;
    if (!this.generated) return;
    const name = `${props.baseName}-auth-generator`;
    const metadata = { name, labels: props.labels };
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata });
    new k8s.KubeRole(this, 'Role', {
      metadata,
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create'] }],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name }],
    });
    const script = new k8s.KubeConfigMap(this, 'Script', {
      metadata,
      data: { 'generate-secret.sh': readScript('generate-secret.sh') },
    });
    this.generatorJob = new k8s.KubeJob(this, 'Job', {
      metadata,
      spec: {
        backoffLimit: 6,
        template: {
          metadata: { labels: props.labels },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: true,
            restartPolicy: 'OnFailure',
            securityContext: podSecurityContext(1001),
            containers: [
              {
                name: 'generate',
                image: props.kubectlImage ?? 'bitnami/kubectl:1.27.16',
                command: ['sh', '/opt/slotforge/generate-secret.sh'],
                env: [
                  { name: 'SLOTFORGE_SECRET', value: this.secretName },
                  { name: 'SLOTFORGE_SECRET_KEYS', value: props.keys.join(' ') },
                  { name: 'SLOTFORGE_WORK_DIR', value: '/work' },
                  // kubectl caches discovery data under $HOME/.kube; the root filesystem is read-only.
                  { name: 'HOME', value: '/work' },
                ],
                securityContext: containerSecurityContext(1001),
                resources: {
                  requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('32Mi') },
                  limits: { memory: k8s.Quantity.fromString('64Mi') },
                },
                volumeMounts: [
                  { name: 'script', mountPath: '/opt/slotforge' },
                  { name: 'work', mountPath: '/work' },
                ],
              },
            ],
            volumes: [
              { name: 'script', configMap: { name: script.name } },
              { name: 'work', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') } },
            ],
          },
        },
      },
    });
    ApiObject.of(this.generatorJob).metadata.addAnnotation('slotforge.io/purpose', 'creates the auth Secret once');
  }
}
