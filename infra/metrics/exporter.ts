import { k8s } from 'cdk8s-plus-27';
import { REDIS_EXPORTER_IMAGE } from '../images.ts';
import { containerSecurityContext, EXPORTER_UID } from '../security/index.ts';

/** The exporter port Prometheus scrapes. */
export const EXPORTER_PORT = 9121;
/**
 * The newest upstream release, checked on its publisher's record (infra/images.ts says where and
 * how close the local runtime's Debian exporter comes).
 */
export const DEFAULT_EXPORTER_IMAGE = REDIS_EXPORTER_IMAGE;

export interface ExporterOptions {
  readonly image: string;
  readonly redisPort: number;
  /** Secret and key of the exporter user's password. */
  readonly secretName: string;
  readonly secretKey: string;
  /** Mounted TLS Secret (tls.crt, tls.key, ca.crt); plain TCP when absent. */
  readonly tlsDir?: string;
  /**
   * With TLS: the name the exporter connects to and checks the server certificate against (its DNS SANs). May use
   * `$(POD_NAME)` and `$(POD_NAMESPACE)`, which the container gets from the downward API. Redis listens on every
   * address of the pod, so the pod's own DNS name reaches it as 127.0.0.1 would, and the certificate (issued for
   * `*.<headless>.<namespace>.svc.<domain>`) verifies; 127.0.0.1 is in no SAN.
   */
  readonly tlsServerName?: string;
}

/**
 * The redis_exporter sidecar, logged in as the least-privileged `exporter` user. The upstream image has no shell, so
 * the password reaches it as an environment variable taken from the Secret by reference (`secretKeyRef`), never as a
 * literal in the manifest.
 * @see https://github.com/oliver006/redis_exporter#command-line-flags
 */
export function exporterContainer(options: ExporterOptions): k8s.Container {
  const tls = options.tlsDir
    ? [
        { name: 'REDIS_EXPORTER_TLS_CA_CERT_FILE', value: `${options.tlsDir}/ca.crt` },
        { name: 'REDIS_EXPORTER_TLS_CLIENT_CERT_FILE', value: `${options.tlsDir}/tls.crt` },
        { name: 'REDIS_EXPORTER_TLS_CLIENT_KEY_FILE', value: `${options.tlsDir}/tls.key` },
      ]
    : [];
  const field = (name: string, fieldPath: string): k8s.EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const host = options.tlsDir ? (options.tlsServerName ?? '127.0.0.1') : '127.0.0.1';
  return {
    name: 'exporter',
    image: options.image,
    imagePullPolicy: 'IfNotPresent',
    env: [
      // Before REDIS_ADDR: Kubernetes expands $(VAR) only from variables defined earlier in the list.
      ...(options.tlsDir ? [field('POD_NAME', 'metadata.name'), field('POD_NAMESPACE', 'metadata.namespace')] : []),
      { name: 'REDIS_ADDR', value: `${options.tlsDir ? 'rediss' : 'redis'}://${host}:${options.redisPort}` },
      { name: 'REDIS_USER', value: 'exporter' },
      {
        name: 'REDIS_PASSWORD',
        valueFrom: { secretKeyRef: { name: options.secretName, key: options.secretKey } },
      },
      { name: 'REDIS_EXPORTER_WEB_LISTEN_ADDRESS', value: `:${EXPORTER_PORT}` },
      // `-`: no CONFIG GET * (it would return masterauth; the exporter user may not run it, see acl.ts).
      { name: 'REDIS_EXPORTER_CONFIG_COMMAND', value: '-' },
      ...tls,
    ],
    ports: [{ name: 'metrics', containerPort: EXPORTER_PORT, protocol: 'TCP' }],
    resources: {
      requests: { cpu: k8s.Quantity.fromString('20m'), memory: k8s.Quantity.fromString('32Mi') },
      limits: { memory: k8s.Quantity.fromString('64Mi') },
    },
    readinessProbe: {
      httpGet: { path: '/health', port: k8s.IntOrString.fromNumber(EXPORTER_PORT) },
      periodSeconds: 10,
    },
    securityContext: containerSecurityContext(EXPORTER_UID),
    ...(options.tlsDir ? { volumeMounts: [{ name: 'tls', mountPath: options.tlsDir, readOnly: true }] } : {}),
  };
}
