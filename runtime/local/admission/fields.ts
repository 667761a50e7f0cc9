import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One field of a model, as @kubernetes/client-node describes it (generated from the Kubernetes OpenAPI spec). */
interface Attribute {
  readonly baseName: string;
  readonly type: string;
}

/** Every model's fields and their types: `{ V1DeploymentSpec: { replicas: 'number', template: 'V1PodTemplateSpec' } }`. */
type Fields = Record<string, Readonly<Record<string, string>> | undefined>;

let loaded: Fields | undefined;

/** Where the compact field table is cached, per @kubernetes/client-node version. */
function cacheFile(): string {
  const pkg = fileURLToPath(import.meta.resolve('@kubernetes/client-node/package.json'));
  const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'slotforge', `kubernetes-fields-${version}.json`);
}

/**
 * Loads the field table of every Kubernetes model once, on first use (so CLI commands that admit nothing never pay
 * for it). Built from the models of @kubernetes/client-node (717 modules: about 1 s, several on a loaded machine)
 * and cached as one 100 KB JSON file per client-node version, which later processes (every kubectl container, the
 * supervisor) read in milliseconds. Admission needs it loaded first.
 */
export async function loadSchemas(): Promise<void> {
  if (loaded) return;
  const file = cacheFile();
  try {
    loaded = JSON.parse(readFileSync(file, 'utf8')) as Fields;
    return;
  } catch {
    // not cached yet (or unreadable): build it
  }
  // The generated models alone, not the client with its HTTP stack and auth plugins: half the load time.
  const models = (await import('@kubernetes/client-node/dist/gen/models/all.js')) as unknown as Record<
    string,
    { attributeTypeMap?: readonly Attribute[] } | undefined
  >;
  const fields: Fields = {};
  for (const [name, model] of Object.entries(models)) {
    const attributes = model?.attributeTypeMap;
    if (Array.isArray(attributes)) fields[name] = Object.fromEntries(attributes.map((a) => [a.baseName, a.type]));
  }
  loaded = fields;
  try {
    mkdirSync(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(fields));
    renameSync(temp, file);
  } catch {
    // a read-only cache only costs the next process the same second
  }
}

function registry(): Fields {
  if (!loaded) throw new Error('admission: call loadSchemas() before checking objects against their schemas');
  return loaded;
}

/** The model class named by an apiVersion's version and a kind: `apps/v1` + `Deployment` -> `V1Deployment`. */
export function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.slice(apiVersion.lastIndexOf('/') + 1);
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

/** True when @kubernetes/client-node has a schema for the kind at that version. */
export function hasSchema(apiVersion: string, kind: string): boolean {
  return registry()[modelName(apiVersion, kind)] !== undefined;
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
  const known = registry()[type];
  // Primitives, IntOrString, quantities, `any` and free-form objects have no fields to check.
  if (!known || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const child = path ? `${path}.${key}` : key;
    const fieldType = Object.hasOwn(known, key) ? known[key] : undefined;
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
  if (!registry()[type]) return out;
  walk(object, type, '', out);
  return out;
}

/** The part of a CRD's structural `openAPIV3Schema` that decides which fields exist. */
export interface StructuralSchema {
  readonly properties?: Readonly<Record<string, StructuralSchema>>;
  readonly items?: StructuralSchema;
  readonly additionalProperties?: StructuralSchema | boolean;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-embedded-resource'?: boolean;
  readonly 'x-kubernetes-int-or-string'?: boolean;
}

function walkSchema(value: unknown, schema: StructuralSchema, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object' || schema['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    if (schema.items) for (const [i, item] of value.entries()) walkSchema(item, schema.items, `${path}[${i}]`, out);
    return;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const child = path ? `${path}.${key}` : key;
    const known = schema.properties?.[key];
    const extra = schema.additionalProperties;
    if (known) walkSchema(item, known, child, out);
    else if (extra === true) continue;
    else if (extra) walkSchema(item, extra, child, out);
    // An embedded resource keeps its apiVersion, kind and metadata even where the schema does not list them.
    else if (!(schema['x-kubernetes-embedded-resource'] && ['apiVersion', 'kind', 'metadata'].includes(key))) {
      out.push(child);
    }
  }
}

/**
 * The fields of a custom resource its CRD's structural schema does not have (the API server prunes them, and
 * strict field validation refuses them); `apiVersion`, `kind` and `metadata` are checked as for every object.
 * @see https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#field-pruning
 */
export function unknownCustomFields(object: Record<string, unknown>, schema: StructuralSchema): string[] {
  const out: string[] = [];
  const { apiVersion: _v, kind: _k, metadata, ...rest } = object;
  if (metadata !== undefined) walk(metadata, 'V1ObjectMeta', 'metadata', out);
  walkSchema(rest, { ...schema, properties: { ...schema.properties } }, '', out);
  return out;
}
