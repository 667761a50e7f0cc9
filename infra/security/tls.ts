import type { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import { customResource } from '../custom-resource.ts';

/** Where members, Jobs and the exporter find tls.crt, tls.key and ca.crt. */
export const TLS_MOUNT_PATH = '/etc/slotforge/tls';

/**
 * TLS for clients, the cluster bus and replication. Either a Secret in the cert-manager layout (`tls.crt`, `tls.key`,
 * `ca.crt`) or a cert-manager issuer from which a Certificate is requested. Redis checks the peer certificate against
 * the CA but not its hostname, so one certificate for every member works.
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/security/encryption/
 */
export type TlsOptions =
  | { readonly secretName: string }
  | { readonly issuer: { readonly name: string; readonly kind?: 'Issuer' | 'ClusterIssuer' } };

export interface CertificateProps {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly secretName: string;
  readonly issuer: { readonly name: string; readonly kind?: 'Issuer' | 'ClusterIssuer' };
  /** DNS names the certificate covers (the headless wildcard and the client Service). */
  readonly dnsNames: string[];
}

/** A cert-manager Certificate whose Secret the pods mount. */
export function certificate(scope: Construct, id: string, props: CertificateProps): ApiObject {
  return customResource(scope, id, { apiVersion: 'cert-manager.io/v1', kind: 'Certificate' }, props, {
    secretName: props.secretName,
    issuerRef: { name: props.issuer.name, kind: props.issuer.kind ?? 'Issuer', group: 'cert-manager.io' },
    dnsNames: props.dnsNames,
    usages: ['server auth', 'client auth'],
    privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
  });
}
