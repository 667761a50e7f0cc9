import { StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { Manifest } from './synth.ts';

// biome-ignore lint/suspicious/noExplicitAny: each model class takes its own typed JSON
type ModelClass = new (data: any) => { validate(): void };

/** The kubernetes-models class of each built-in kind we synthesize, keyed by apiVersion/kind. */
const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
};

/** Prometheus Operator and cert-manager kinds: no offline schema here, so the test checks their shape (and promtool the rules). */
export const OPERATOR_KINDS = new Set([
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
  'cert-manager.io/v1/Certificate',
]);

/** Validates one object against the Kubernetes 1.27 schema; throws with the object's kind and name. */
export function validateObject(object: Manifest): void {
  const key = `${object.apiVersion}/${object.kind}`;
  if (OPERATOR_KINDS.has(key)) {
    if (!object.metadata?.name || typeof object.spec !== 'object') throw new Error(`${key} without name or spec`);
    return;
  }
  const Model = MODELS[key];
  if (!Model) throw new Error(`no schema for ${key} (${object.metadata?.name}): add its model class`);
  try {
    new Model(object).validate();
  } catch (error) {
    throw new Error(`${key} ${object.metadata?.name} is invalid: ${(error as Error).message}`, { cause: error });
  }
}
