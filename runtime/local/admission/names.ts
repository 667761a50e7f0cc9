/**
 * Object name rules of the API server's validation, with its messages.
 * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/names/
 */

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Which rule a kind's names follow. */
export type NameRule = 'subdomain' | 'label' | 'label-1035' | 'path-segment';

/**
 * Services need RFC 1035 labels (they become DNS names and environment variables), Namespaces RFC 1123 labels,
 * RBAC objects only a valid path segment; the rest RFC 1123 subdomains. A Job name is also a label value
 * (`job-name`), so it may not pass 63 characters.
 */
export function nameRule(kind: string): NameRule {
  if (kind === 'Service') return 'label-1035';
  if (kind === 'Namespace') return 'label';
  if (['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(kind)) return 'path-segment';
  return 'subdomain';
}

/** The API server's complaint about `name` as a name of `kind` (`metadata.name: Invalid value: ...`), if any. */
export function nameProblem(kind: string, name: string, field = 'metadata.name'): string | undefined {
  const invalid = (why: string) => `${field}: Invalid value: "${name}": ${why}`;
  switch (nameRule(kind)) {
    case 'label-1035':
      if (name.length > 63) return invalid('must be no more than 63 characters');
      if (!LABEL_1035.test(name)) {
        return invalid(
          "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        );
      }
      return undefined;
    case 'label':
      return labelProblem(name, invalid);
    case 'path-segment':
      if (name === '.' || name === '..') return invalid(`may not be '${name}'`);
      if (/[/%]/.test(name)) return invalid(`may not contain '${name.includes('/') ? '/' : '%'}'`);
      return undefined;
    default:
      if (name.length > 253) return invalid('must be no more than 253 characters');
      if (!SUBDOMAIN.test(name)) {
        return invalid(
          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        );
      }
      if (kind === 'Job' && name.length > 63) return invalid('must be no more than 63 characters');
      return undefined;
  }
}

function labelProblem(name: string, invalid: (why: string) => string): string | undefined {
  if (name.length > 63) return invalid('must be no more than 63 characters');
  if (!LABEL.test(name)) {
    return invalid(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return undefined;
}

/** The complaint about a namespace name an object refers to, if any. */
export function namespaceProblem(namespace: string): string | undefined {
  return labelProblem(namespace, (why) => `metadata.namespace: Invalid value: "${namespace}": ${why}`);
}
