import { LocalRuntimeError } from './errors.ts';
import type { Container } from './types.ts';

/** The facts of a pod that the downward API exposes. */
export interface PodFacts {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly ip: string;
  readonly hostIp: string;
  readonly nodeName: string;
  readonly serviceAccountName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** Reads ConfigMaps and Secrets (decoded) by namespace and name; undefined when there is none. */
export interface ObjectStore {
  configMap(namespace: string, name: string): Readonly<Record<string, string>> | undefined;
  secret(namespace: string, name: string): Readonly<Record<string, string>> | undefined;
}

/** The value of a downward API `fieldPath`. */
export function fieldValue(facts: PodFacts, fieldPath: string, where: string): string {
  const label = /^metadata\.labels\['(.+)'\]$/.exec(fieldPath)?.[1];
  if (label !== undefined) return facts.labels[label] ?? '';
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(fieldPath)?.[1];
  if (annotation !== undefined) return facts.annotations[annotation] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return facts.name;
    case 'metadata.namespace':
      return facts.namespace;
    case 'metadata.uid':
      return facts.uid;
    case 'status.podIP':
    case 'status.podIPs':
      return facts.ip;
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIp;
    case 'spec.nodeName':
      return facts.nodeName;
    case 'spec.serviceAccountName':
      return facts.serviceAccountName;
    default:
      throw new LocalRuntimeError(
        'E_MANIFEST',
        `${where}: fieldRef.fieldPath '${fieldPath}' is not one the downward API supports (metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'], metadata.annotations['k'], status.podIP, status.hostIP, spec.nodeName, spec.serviceAccountName)`,
      );
  }
}

/**
 * Expands `$(VAR)` references to variables defined earlier; `$$(VAR)` stays literal `$(VAR)` and unknown references
 * are left as they are, as Kubernetes does.
 * @see https://kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables/
 */
export function expand(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in vars ? (vars[name] as string) : match;
  });
}

/** Thrown while a referenced ConfigMap or Secret does not exist yet: the pod waits, as in CreateContainerConfigError. */
export class MissingReferenceError extends LocalRuntimeError {
  constructor(readonly reference: string) {
    super('E_MANIFEST', `${reference} does not exist`);
  }
}

/** The environment of a container: envFrom first, then env in order, with `$(VAR)` expansion. */
export function containerEnv(
  container: Container,
  facts: PodFacts,
  store: ObjectStore,
  where: string,
): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref) continue;
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    const data = source.configMapRef
      ? store.configMap(facts.namespace, ref.name)
      : store.secret(facts.namespace, ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new MissingReferenceError(`${where}: envFrom ${kind} '${facts.namespace}/${ref.name}'`);
    }
    for (const [key, value] of Object.entries(data)) vars[`${source.prefix ?? ''}${key}`] = value;
  }
  for (const env of container.env ?? []) {
    const from = env.valueFrom;
    if (!from) {
      vars[env.name] = expand(env.value ?? '', vars);
    } else if (from.fieldRef) {
      vars[env.name] = fieldValue(facts, from.fieldRef.fieldPath, `${where} env ${env.name}`);
    } else if (from.secretKeyRef || from.configMapKeyRef) {
      const ref = (from.secretKeyRef ?? from.configMapKeyRef)!;
      const kind = from.secretKeyRef ? 'Secret' : 'ConfigMap';
      const data = from.secretKeyRef
        ? store.secret(facts.namespace, ref.name)
        : store.configMap(facts.namespace, ref.name);
      const value = data?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new MissingReferenceError(
          `${where} env ${env.name}: ${kind} '${facts.namespace}/${ref.name}' key '${ref.key}'`,
        );
      }
      vars[env.name] = value;
    } else if (from.resourceFieldRef) {
      const [kind, resource] = from.resourceFieldRef.resource.split('.') as [string, string];
      const raw = container.resources?.[kind === 'limits' ? 'limits' : 'requests']?.[resource];
      vars[env.name] = raw === undefined ? '0' : String(raw);
    }
  }
  return vars;
}
