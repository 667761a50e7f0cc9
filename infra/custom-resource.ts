import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';

/**
 * An object of a kind cdk8s-plus has no class for (a CRD's: ServiceMonitor, PrometheusRule, cert-manager's
 * Certificate), named and labelled like the construct's other objects.
 */
export function customResource(
  scope: Construct,
  id: string,
  type: { readonly apiVersion: string; readonly kind: string },
  metadata: { readonly name: string; readonly labels: Record<string, string> },
  spec: unknown,
): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: type.apiVersion,
    kind: type.kind,
    metadata: { name: metadata.name, labels: metadata.labels },
    spec,
  });
}
