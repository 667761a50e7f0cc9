import * as models from '@kubernetes/client-node';

/** One field of a model, as @kubernetes/client-node describes it (generated from the Kubernetes OpenAPI spec). */
interface Attribute {
  readonly baseName: string;
  readonly type: string;
}

type Model = { readonly attributeTypeMap?: readonly Attribute[] };

const registry = models as unknown as Record<string, Model | undefined>;

/** The model class named by an apiVersion's version and a kind: `apps/v1` + `Deployment` -> `V1Deployment`. */
export function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.slice(apiVersion.lastIndexOf('/') + 1);
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

/** True when @kubernetes/client-node has a schema for the kind at that version. */
export function hasSchema(apiVersion: string, kind: string): boolean {
  return registry[modelName(apiVersion, kind)]?.attributeTypeMap !== undefined;
}

function walk(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) walk(item, array[1]!, `${path}[${i}]`, out);
    }
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, item] of Object.entries(value)) walk(item, map[1]!, `${path}[${key}]`, out);
    }
    return;
  }
  const attributes = registry[type]?.attributeTypeMap;
  // Primitives, IntOrString, quantities, `any` and free-form objects have no fields to check.
  if (!attributes || typeof value !== 'object' || Array.isArray(value)) return;
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const child = path ? `${path}.${key}` : key;
    const fieldType = known.get(key);
    if (fieldType === undefined) out.push(child);
    else walk(item, fieldType, child, out);
  }
}

/**
 * The fields of `object` its kind's schema does not have, as the API server's strict decoding names them
 * (`spec.template.spec.containers[0].foo`); empty when the kind has no schema here.
 * @see https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation
 */
export function unknownFields(object: { apiVersion: string; kind: string }): string[] {
  const out: string[] = [];
  const type = modelName(object.apiVersion, object.kind);
  if (!registry[type]?.attributeTypeMap) return out;
  walk(object, type, '', out);
  return out;
}
