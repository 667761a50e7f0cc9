import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { check } from '../errors.ts';
import { KUBECTL_IMAGE } from '../images.ts';
import { hashedJobName, shortHash } from '../job-name.ts';
import { readScript } from '../scripts.ts';
import { containerSecurityContext, podSecurityContext } from './security-context.ts';

/** Where a member finds its passwords: a Secret mounted as files, one per key. */
export const AUTH_MOUNT_PATH = '/etc/slotforge/auth';

/**
 * The kubectl image of the auth Job: the Kubernetes project's own, maintained for every release since v1.28 and
 * listed under "Container Images" of each release in kubernetes/kubernetes `CHANGELOG/CHANGELOG-1.34.md` (v1.34.3).
 * It has no shell, so the Job runs it with arguments only. Keep it within one minor of your API server (kubectl's
 * version skew policy).
 * @see https://kubernetes.io/releases/version-skew-policy/#kubectl
 */
export const DEFAULT_KUBECTL_IMAGE = KUBECTL_IMAGE;

/** Auth options. */
export interface AuthOptions {
  /**
   * Name of an existing Secret holding one password per key (`admin`, `app`, `probe`, `exporter`, `replication`; the
   * RedisSentinel adds `sentinel`, `sentinel-access`), each without whitespace. No Job, ServiceAccount or Role is
   * synthesized then: for clusters whose policy forbids in-cluster Secret writers, or Secrets from a vault operator.
   * @default a Secret `<name>-auth` generated in the cluster by the auth Job
   */
  readonly existingSecret?: string;
  /**
   * Image of the Job's apply container: kubectl only, run with arguments (`apply --server-side -f ...`), no shell.
   * @default 'registry.k8s.io/kubectl:v1.34.3'
   */
  readonly kubectlImage?: string;
  /**
   * The auth Job's activeDeadlineSeconds: a Job that cannot pull its image or reach the API server fails after this
   * instead of retrying forever.
   * @default 300
   */
  readonly jobDeadlineSeconds?: number;
}

export interface RedisAuthProps extends AuthOptions {
  /** Prefix of the generated objects. */
  readonly baseName: string;
  readonly labels: Record<string, string>;
  /** Keys the Secret must hold. */
  readonly keys: readonly string[];
  /** The Redis image: its sh and coreutils render the Secret in the Job's init container. */
  readonly redisImage: string;
  /** Names the construct in prop errors. */
  readonly owner: string;
}

/** Where the Job's containers share the rendered Secret manifest (in-memory emptyDir). */
const WORK_DIR = '/work';
/** kubectl's $HOME (its discovery cache), a disk-backed emptyDir apart from the Secret's tmpfs. */
const KUBECTL_HOME = '/home/kubectl';
/** Where the Job's init container sees the Secret's current values (an optional Secret volume). */
const CURRENT_DIR = '/current';

/**
 * The auth Secret of a deployment: either referenced (`existingSecret`), or generated in the cluster by a Job, so no
 * password is ever written into a manifest. The Job mounts the Secret as an OPTIONAL volume; its init container (the
 * Redis image) keeps every value already there, makes random ones for missing keys from /dev/urandom and writes a
 * Secret manifest to an in-memory emptyDir; its main container (`registry.k8s.io/kubectl`, no shell) runs
 * `kubectl apply --server-side -f` on it. The Role grants get, patch and create on that one Secret name only: with
 * server-side apply the API server authorizes the create of a missing object as `create` WITH its name (the patch
 * handler's create-on-update check), so `resourceNames` binds create too; a plain POST create is authorized without a
 * name, which `resourceNames` can never match (Kubernetes RBAC docs), so the Job never uses one.
 * Pods mount the Secret as files; a Secret volume that does not exist yet holds them in ContainerCreating until the
 * Job has applied it, which the kubelet retries on its own.
 * @see https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources
 * @see https://kubernetes.io/docs/reference/using-api/server-side-apply/
 */
export class RedisAuth extends Construct {
  /** Name of the Secret the pods mount. */
  readonly secretName: string;
  /** Whether the Secret is created by {@link generatorJob}. */
  readonly generated: boolean;
  readonly generatorJob?: k8s.KubeJob;
  readonly role?: k8s.KubeRole;

  constructor(scope: Construct, id: string, props: RedisAuthProps) {
    super(scope, id);
    this.generated = props.existingSecret === undefined;
    this.secretName = props.existingSecret ?? `${props.baseName}-auth`;
    check(
      /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(this.secretName) && this.secretName.length <= 253,
      props.owner,
      'auth.existingSecret',
      'must be a Secret name (a DNS subdomain)',
      this.secretName,
    );
    if (!this.generated) return;
    const kubectlImage = props.kubectlImage ?? DEFAULT_KUBECTL_IMAGE;
    check(
      kubectlImage.trim() !== '' && !/\s/.test(kubectlImage),
      props.owner,
      'auth.kubectlImage',
      'must be an image reference',
      kubectlImage,
    );
    const deadline = props.jobDeadlineSeconds ?? 300;
    check(
      Number.isInteger(deadline) && deadline >= 30 && deadline <= 3600,
      props.owner,
      'auth.jobDeadlineSeconds',
      'must be an integer from 30 to 3600',
      deadline,
    );
    const name = `${props.baseName}-auth-generator`;
    const metadata = { name, labels: props.labels };
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata });
    this.role = new k8s.KubeRole(this, 'Role', {
      metadata,
      rules: [
        {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: [this.secretName],
          verbs: ['get', 'patch', 'create'],
        },
      ],
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
    const labels = Object.entries(props.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const small = (memory: string): k8s.ResourceRequirements => ({
      requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('32Mi') },
      limits: { memory: k8s.Quantity.fromString(memory) },
    });
    const template: k8s.PodTemplateSpec = {
      metadata: { labels: props.labels, annotations: { 'slotforge.io/script-hash': shortHash(script.toJson()) } },
      spec: {
        serviceAccountName: name,
        automountServiceAccountToken: true,
        enableServiceLinks: false,
        restartPolicy: 'OnFailure',
        securityContext: podSecurityContext(),
        initContainers: [
          {
            name: 'render',
            image: props.redisImage,
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '/opt/slotforge/generate-secret.sh'],
            env: [
              { name: 'SLOTFORGE_SECRET', value: this.secretName },
              { name: 'SLOTFORGE_SECRET_KEYS', value: props.keys.join(' ') },
              { name: 'SLOTFORGE_SECRET_LABELS', value: labels },
              { name: 'SLOTFORGE_CURRENT_DIR', value: CURRENT_DIR },
              { name: 'SLOTFORGE_WORK_DIR', value: WORK_DIR },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            ],
            securityContext: containerSecurityContext(),
            resources: small('32Mi'),
            volumeMounts: [
              { name: 'script', mountPath: '/opt/slotforge', readOnly: true },
              { name: 'current', mountPath: CURRENT_DIR, readOnly: true },
              { name: 'work', mountPath: WORK_DIR },
            ],
          },
        ],
        containers: [
          {
            name: 'apply',
            image: kubectlImage,
            imagePullPolicy: 'IfNotPresent',
            // The image's entrypoint is kubectl and it has no shell: arguments only. Server-side apply creates the
            // Secret or leaves it as it is; kubectl's one line of output (`secret/<name> serverside-applied`) is the
            // Job's log.
            args: ['apply', '--server-side', '--field-manager=slotforge-auth', '-f', `${WORK_DIR}/secret.json`],
            // kubectl caches discovery and OpenAPI documents under $HOME/.kube (megabytes on a cluster with many
            // CRDs); the root filesystem is read-only, so $HOME is a volume of its own, sized for that cache.
            env: [{ name: 'HOME', value: KUBECTL_HOME }],
            securityContext: containerSecurityContext(),
            // kubectl apply loads discovery and OpenAPI data before it patches: public reports show it OOM-killed at
            // 128Mi (castai/helm-charts#1527) and at 256Mi with many CRDs (cozystack#3519); 256Mi + a 64Mi request.
            resources: {
              requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('64Mi') },
              limits: { memory: k8s.Quantity.fromString('256Mi') },
            },
            volumeMounts: [
              { name: 'work', mountPath: WORK_DIR },
              { name: 'kube-cache', mountPath: KUBECTL_HOME },
            ],
          },
        ],
        volumes: [
          { name: 'script', configMap: { name: script.name, defaultMode: 0o444 } },
          // Optional: on the first run the Secret does not exist and the volume is empty.
          { name: 'current', secret: { secretName: this.secretName, optional: true, defaultMode: 0o400 } },
          { name: 'work', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
          { name: 'kube-cache', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
        ],
      },
    };
    // The name carries the template's hash (a Job's template is immutable): a new image or script is a new Job.
    this.generatorJob = new k8s.KubeJob(this, 'Job', {
      metadata: { name: hashedJobName(`${props.baseName}-auth-gen`, template), labels: props.labels },
      spec: { backoffLimit: 4, activeDeadlineSeconds: deadline, template },
    });
    ApiObject.of(this.generatorJob).metadata.addAnnotation(
      'slotforge.io/purpose',
      'creates the auth Secret, keeps an existing one',
    );
  }
}
