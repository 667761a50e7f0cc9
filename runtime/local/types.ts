/**
 * The subset of the Kubernetes API objects the local runtime reads. Field names and meaning follow the Kubernetes
 * API reference; anything not listed here is ignored (and `status` reports the kinds it did not reproduce).
 * @see https://kubernetes.io/docs/reference/kubernetes-api/
 * @internal
 */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
}

export interface KeyToPath {
  readonly key: string;
  readonly path: string;
  readonly mode?: number;
}

export interface Volume {
  readonly name: string;
  readonly configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  readonly secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  readonly emptyDir?: { medium?: string; sizeLimit?: string };
  readonly persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  readonly downwardAPI?: { items?: Array<{ path: string; fieldRef?: { fieldPath: string } }>; defaultMode?: number };
}

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly subPath?: string;
  readonly readOnly?: boolean;
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number };
  };
}

export interface EnvFromSource {
  readonly prefix?: string;
  readonly configMapRef?: { name: string; optional?: boolean };
  readonly secretRef?: { name: string; optional?: boolean };
}

export interface ExecAction {
  readonly command: string[];
}

export interface Handler {
  readonly exec?: ExecAction;
  readonly tcpSocket?: { port: number | string; host?: string };
  readonly httpGet?: { port: number | string; path?: string; host?: string; scheme?: string };
  readonly sleep?: { seconds: number };
}

export interface Probe extends Handler {
  readonly initialDelaySeconds?: number;
  readonly periodSeconds?: number;
  readonly timeoutSeconds?: number;
  readonly successThreshold?: number;
  readonly failureThreshold?: number;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol?: string;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly workingDir?: string;
  readonly env?: EnvVar[];
  readonly envFrom?: EnvFromSource[];
  readonly ports?: ContainerPort[];
  readonly volumeMounts?: VolumeMount[];
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly lifecycle?: { preStop?: Handler; postStart?: Handler };
  readonly resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  /** A native sidecar (Kubernetes 1.28+): an init container with `restartPolicy: Always`. */
  readonly restartPolicy?: string;
}

export interface PodSpec {
  readonly containers: Container[];
  readonly initContainers?: Container[];
  readonly volumes?: Volume[];
  readonly restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  readonly terminationGracePeriodSeconds?: number;
  readonly hostname?: string;
  readonly subdomain?: string;
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
}

export interface PodTemplate {
  readonly metadata?: Partial<ObjectMeta>;
  readonly spec: PodSpec;
}

export interface PersistentVolumeClaim extends KubeObject {
  readonly spec?: {
    resources?: { requests?: { storage?: string } };
    accessModes?: string[];
    storageClassName?: string;
  };
}

export interface StatefulSet extends KubeObject {
  readonly spec: {
    readonly replicas?: number;
    readonly serviceName?: string;
    readonly podManagementPolicy?: 'OrderedReady' | 'Parallel';
    readonly updateStrategy?: {
      readonly type?: 'RollingUpdate' | 'OnDelete';
      readonly rollingUpdate?: { readonly partition?: number; readonly maxUnavailable?: number | string };
    };
    readonly selector?: { matchLabels?: Record<string, string> };
    readonly template: PodTemplate;
    readonly volumeClaimTemplates?: PersistentVolumeClaim[];
  };
}

export interface Deployment extends KubeObject {
  readonly spec: { readonly replicas?: number; readonly template: PodTemplate };
}

export interface Job extends KubeObject {
  readonly spec: {
    readonly template: PodTemplate;
    readonly selector?: { matchLabels?: Record<string, string> };
    readonly backoffLimit?: number;
    readonly completions?: number;
    readonly parallelism?: number;
    readonly activeDeadlineSeconds?: number;
  };
}

export interface ServicePort {
  readonly name?: string;
  readonly port: number;
  readonly targetPort?: number | string;
  readonly protocol?: string;
}

export interface Service extends KubeObject {
  readonly spec?: {
    readonly clusterIP?: string;
    readonly selector?: Record<string, string>;
    readonly ports?: ServicePort[];
    readonly publishNotReadyAddresses?: boolean;
    readonly type?: string;
  };
}

export interface ConfigMap extends KubeObject {
  readonly data?: Record<string, string>;
  readonly binaryData?: Record<string, string>;
}

export interface Secret extends KubeObject {
  readonly data?: Record<string, string>;
  readonly stringData?: Record<string, string>;
  readonly type?: string;
  readonly immutable?: boolean;
}
