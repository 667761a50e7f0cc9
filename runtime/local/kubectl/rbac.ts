import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../types.ts';

/** A PolicyRule of a Role or ClusterRole. */
interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs?: readonly string[];
  readonly resourceNames?: readonly string[];
}

interface RoleObject extends KubeObject {
  readonly rules?: readonly PolicyRule[];
}

interface Subject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

interface BindingObject extends KubeObject {
  readonly roleRef: { readonly kind: string; readonly name: string };
  readonly subjects?: readonly Subject[];
}

/** The RBAC objects of the live set, as the runtime hands them to its kubectl. */
export interface RbacPolicy {
  readonly roles: readonly KubeObject[];
  readonly clusterRoles: readonly KubeObject[];
  readonly roleBindings: readonly KubeObject[];
  readonly clusterRoleBindings: readonly KubeObject[];
}

/** The kinds {@link RbacPolicy} is made of. */
export const RBAC_KINDS = {
  Role: 'roles',
  ClusterRole: 'clusterRoles',
  RoleBinding: 'roleBindings',
  ClusterRoleBinding: 'clusterRoleBindings',
} as const;

/** Picks the RBAC objects out of any list of objects. */
export function rbacPolicy(objects: Iterable<KubeObject>): RbacPolicy {
  const policy = { roles: [], clusterRoles: [], roleBindings: [], clusterRoleBindings: [] } as {
    [K in keyof RbacPolicy]: KubeObject[];
  };
  for (const object of objects) {
    const field = RBAC_KINDS[object.kind as keyof typeof RBAC_KINDS];
    if (field && object.apiVersion?.startsWith('rbac.authorization.k8s.io/')) policy[field].push(object);
  }
  return policy;
}

/** The authorizer attributes of one API request from a pod's service account. */
export interface RequestAttributes {
  /** Namespace and name of the service account. */
  readonly user: { readonly namespace: string; readonly serviceAccount: string };
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly namespace: string;
  /** Empty for a create by POST: the name is not part of the request's attributes. */
  readonly name: string;
}

/** `system:serviceaccount:NS:NAME`, the user name the API server authenticates a service account token as. */
export function userName(user: RequestAttributes['user']): string {
  return `system:serviceaccount:${user.namespace}:${user.serviceAccount}`;
}

function appliesTo(subject: Subject, user: RequestAttributes['user'], bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'ServiceAccount':
      // A subject without a namespace means the binding's own (the RBAC authorizer's default).
      return subject.name === user.serviceAccount && (subject.namespace || bindingNamespace) === user.namespace;
    case 'User':
      return subject.name === userName(user);
    case 'Group':
      return ['system:serviceaccounts', `system:serviceaccounts:${user.namespace}`, 'system:authenticated'].includes(
        subject.name,
      );
    default:
      return false;
  }
}

const has = (list: readonly string[] | undefined, value: string) =>
  (list ?? []).includes(value) || (list ?? []).includes('*');

function allows(rule: PolicyRule, request: RequestAttributes): boolean {
  if (!has(rule.verbs, request.verb) || !has(rule.apiGroups, request.apiGroup)) return false;
  if (!has(rule.resources, request.resource)) return false;
  const names = rule.resourceNames ?? [];
  // A rule limited to names never matches a request that carries none (create by POST, list).
  return names.length === 0 || (request.name !== '' && names.includes(request.name));
}

/**
 * The RBAC authorizer's verdict: some RoleBinding in the request's namespace, or some ClusterRoleBinding, binds the
 * user to a Role or ClusterRole with a rule that allows the verb on the resource (and the name, where the rule lists
 * resourceNames). Deny by default; a binding to a role that does not exist grants nothing.
 * @see https://kubernetes.io/docs/reference/access-authn-authz/rbac/
 */
export function authorize(policy: RbacPolicy, request: RequestAttributes): boolean {
  const ns = (o: KubeObject) => o.metadata.namespace ?? 'default';
  const rulesOf = (kind: string, name: string, namespace: string): readonly PolicyRule[] => {
    const role =
      kind === 'ClusterRole'
        ? policy.clusterRoles.find((r) => r.metadata.name === name)
        : policy.roles.find((r) => r.metadata.name === name && ns(r) === namespace);
    return (role as RoleObject | undefined)?.rules ?? [];
  };
  for (const object of policy.roleBindings) {
    const binding = object as BindingObject;
    if (ns(binding) !== request.namespace) continue;
    if (!(binding.subjects ?? []).some((s) => appliesTo(s, request.user, ns(binding)))) continue;
    if (rulesOf(binding.roleRef.kind, binding.roleRef.name, ns(binding)).some((r) => allows(r, request))) return true;
  }
  for (const object of policy.clusterRoleBindings) {
    const binding = object as BindingObject;
    if (!(binding.subjects ?? []).some((s) => appliesTo(s, request.user, ''))) continue;
    if (binding.roleRef.kind !== 'ClusterRole') continue;
    if (rulesOf('ClusterRole', binding.roleRef.name, '').some((r) => allows(r, request))) return true;
  }
  return false;
}

/**
 * The API server's Forbidden message: `secrets "x" is forbidden: User "system:serviceaccount:ns:sa" cannot get
 * resource "secrets" in API group "" in the namespace "ns"` (without the quoted name for a create by POST).
 */
export function forbiddenMessage(request: RequestAttributes): string {
  const what = request.name ? `${request.resource} "${request.name}"` : request.resource;
  return `${what} is forbidden: User "${userName(request.user)}" cannot ${request.verb} resource "${request.resource}" in API group "${request.apiGroup}" in the namespace "${request.namespace}"`;
}

/** Where the runtime publishes the RBAC objects in force for its kubectl: `<api>/rbac.json`. */
export function writePolicy(api: string, objects: Iterable<KubeObject>): void {
  const file = join(api, 'rbac.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(rbacPolicy(objects))}\n`);
  renameSync(`${file}.tmp`, file);
}
