import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { Secret } from '../types.ts';
import { check, type KubectlContext, KubectlError, one, type Parsed, request } from './context.ts';
import { authorize, forbiddenMessage } from './rbac.ts';
import { readSecret, type StoredSecret, secretObject, writeSecret } from './secret-store.ts';

const b64 = (text: string) => Buffer.from(text, 'base64');

/** The objects of a manifest file (multi-document YAML, JSON, or a `List`). */
function readObjects(file: string, ctx: KubectlContext): Secret[] {
  let text: string;
  try {
    text = readFileSync(ctx.resolvePath(file), 'utf8');
  } catch {
    throw new KubectlError(`error: the path "${file}" does not exist`);
  }
  const objects: Secret[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw new KubectlError(`error: error parsing ${file}: ${doc.errors[0]?.message}`);
    }
    const value = doc.toJS() as (Secret & { items?: Secret[] }) | null;
    if (value === null) continue;
    if (value.kind === 'List') objects.push(...(value.items ?? []));
    else objects.push(value);
  }
  if (objects.length === 0) throw new KubectlError(`error: no objects passed to apply`);
  return objects;
}

function decoded(secret: Secret): Record<string, Buffer> {
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = b64(v);
  for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = Buffer.from(v);
  return data;
}

function sameData(a: Readonly<Record<string, Buffer>>, b: Readonly<Record<string, Buffer>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k]?.equals(a[k]!) === true);
}

const sameRecord = (a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

function asManifest(secret: StoredSecret): Secret {
  return secretObject(secret) as unknown as Secret;
}

/** `kubectl apply -f FILE... [--server-side]` of Secrets: each object applied or its error, exit 1 if any failed. */
export function apply(parsed: Parsed, ctx: KubectlContext, out: string[]): void {
  const files = parsed.flags.get('filename') ?? [];
  if (files.length === 0) throw new KubectlError('error: must specify one of -f and -k');
  const serverSide = parsed.switches.has('server-side');
  const flagNamespace = one(parsed, 'namespace');
  let failed: string | undefined;
  for (const file of files) {
    for (const object of readObjects(file, ctx)) {
      try {
        applyOne(object, file, { serverSide, flagNamespace }, ctx, out);
      } catch (error) {
        // kubectl applies the other objects and reports every failure at the end, exit 1.
        if (!(error instanceof KubectlError)) throw error;
        failed = failed ? `${failed}\n${error.message}` : error.message;
      }
    }
  }
  if (failed) throw new KubectlError(failed);
}

function applyOne(
  object: Secret,
  file: string,
  options: { serverSide: boolean; flagNamespace: string | undefined },
  ctx: KubectlContext,
  out: string[],
): void {
  const name = object.metadata?.name;
  if (object.kind !== 'Secret' || object.apiVersion !== 'v1') {
    throw new KubectlError(
      `error: the local runtime's kubectl applies v1 Secrets only (got ${object.apiVersion}/${object.kind} "${name}" in "${file}")`,
    );
  }
  if (!name)
    throw new KubectlError(
      `error: error when retrieving current configuration of: Secret in "${file}": resource name may not be empty`,
    );
  const own = object.metadata.namespace;
  if (own && options.flagNamespace && own !== options.flagNamespace) {
    throw new KubectlError(
      `error: the namespace from the provided object "${own}" does not match the namespace "${options.flagNamespace}". You must pass '--namespace=${own}' to perform this operation.`,
    );
  }
  const namespace = own ?? options.flagNamespace ?? ctx.namespace;
  const target = { ...object, metadata: { ...object.metadata, namespace } };
  let data: Record<string, Buffer>;
  try {
    data = decoded(target);
  } catch {
    throw new KubectlError(
      `Error from server (BadRequest): error when creating "${file}": illegal base64 data in Secret "${name}"`,
    );
  }
  const existing = (() => {
    if (options.serverSide) {
      // One PATCH: authorized as patch; the API server also authorizes a create (with the name) when it creates.
      check(ctx, request(ctx, 'patch', namespace, name));
      return readSecret(ctx.api!, namespace, name);
    }
    const get = request(ctx, 'get', namespace, name);
    if (!authorize(ctx.policy(), get)) {
      throw new KubectlError(
        `Error from server (Forbidden): error when retrieving current configuration of:\nResource: "/v1, Resource=secrets", GroupVersionKind: "/v1, Kind=Secret"\nName: "${name}", Namespace: "${namespace}"\nfrom server for: "${file}": ${forbiddenMessage(get)}`,
      );
    }
    return readSecret(ctx.api!, namespace, name);
  })();
  const when = existing ? `error when patching "${file}"` : `error when creating "${file}"`;
  const refused = ctx.admit?.(target, existing && asManifest(existing));
  if (refused) throw new KubectlError(`Error from server (${refused.reason}): ${when}: ${refused.message}`);
  const type = target.type ?? existing?.type ?? 'Opaque';
  const labels = target.metadata.labels;
  const annotations = target.metadata.annotations;
  if (!existing) {
    if (options.serverSide) check(ctx, request(ctx, 'create', namespace, name));
    else check(ctx, request(ctx, 'create', namespace, ''), `Error from server (Forbidden): ${when}: `);
    writeSecret(ctx.api!, {
      namespace,
      name,
      type,
      data,
      labels,
      annotations,
      immutable: target.immutable,
      lastApplied: Object.keys(data),
    });
    out.push(`secret/${name} ${options.serverSide ? 'serverside-applied' : 'created'}\n`);
    return;
  }
  // The keys the last apply set and this one no longer lists go; keys others added stay (a three-way merge).
  const merged: Record<string, Buffer> = { ...existing.data };
  for (const key of existing.lastApplied ?? []) if (!(key in data)) delete merged[key];
  Object.assign(merged, data);
  const unchanged =
    sameData(merged, existing.data) &&
    type === existing.type &&
    sameRecord(labels, existing.labels) &&
    sameRecord(annotations, existing.annotations);
  if (type !== existing.type) {
    throw new KubectlError(
      `Error from server (Invalid): ${when}: Secret "${name}" is invalid: type: Invalid value: "${type}": field is immutable`,
    );
  }
  if (existing.immutable && !sameData(merged, existing.data)) {
    throw new KubectlError(
      `Error from server (Invalid): ${when}: Secret "${name}" is invalid: data: Forbidden: field is immutable when \`immutable\` is set`,
    );
  }
  if (unchanged && !options.serverSide) {
    out.push(`secret/${name} unchanged\n`);
    return;
  }
  if (!options.serverSide)
    check(ctx, request(ctx, 'patch', namespace, name), `Error from server (Forbidden): ${when}: `);
  if (!unchanged) {
    writeSecret(ctx.api!, {
      namespace,
      name,
      type,
      data: merged,
      labels,
      annotations,
      immutable: target.immutable ?? existing.immutable,
      lastApplied: Object.keys(data),
    });
  }
  out.push(`secret/${name} ${options.serverSide ? 'serverside-applied' : 'configured'}\n`);
}
