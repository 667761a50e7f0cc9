import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { Secret } from '../types.ts';
import { authorize, forbiddenMessage, type RbacPolicy, type RequestAttributes } from './rbac.ts';
import { readSecret, type StoredSecret, secretObject, writeSecret } from './secret-store.ts';

/** A refusal of the API server: the status reason kubectl prints in parentheses, and the message. */
export interface ApiRefusal {
  readonly reason: 'BadRequest' | 'Invalid' | 'Forbidden' | 'RequestEntityTooLarge';
  readonly message: string;
}

/** What the runtime's kubectl runs against: the pod's identity, the object store and the API server's checks. */
export interface KubectlContext {
  /** The pod's namespace (kubectl's default namespace in a pod). */
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The object store dir; undefined where the pod has no service account token (automountServiceAccountToken false). */
  readonly api: string | undefined;
  /** The RBAC objects in force at the time of the call. */
  readonly policy: () => RbacPolicy;
  /** A path as the container sees it, as a host path (the pod's volumes at their mount paths). */
  readonly resolvePath: (path: string) => string;
  /** Admission of a Secret to create or update (strict fields, size, name); undefined when admitted. */
  readonly admit?: (object: Secret, existing: Secret | undefined) => ApiRefusal | undefined;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Exit code and output of one kubectl call. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

class KubectlError extends Error {}

/** Flags that take a value (as `--flag VALUE` or `--flag=VALUE`), by every spelling. */
const VALUE_FLAGS: Record<string, string> = {
  '-n': 'namespace',
  '--namespace': 'namespace',
  '-o': 'output',
  '--output': 'output',
  '-f': 'filename',
  '--filename': 'filename',
  '--from-file': 'from-file',
  '--from-literal': 'from-literal',
  '--type': 'type',
  '--field-manager': 'field-manager',
  '--validate': 'validate',
};
const BOOLEAN_FLAGS = new Set(['--server-side', '--force-conflicts']);

interface Parsed {
  readonly positional: string[];
  readonly flags: Map<string, string[]>;
  readonly switches: Set<string>;
}

function parse(args: readonly string[]): Parsed {
  const parsed: Parsed = { positional: [], flags: new Map(), switches: new Set() };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOLEAN_FLAGS.has(flag)) {
      parsed.switches.add(flag.slice(2));
      continue;
    }
    const name = VALUE_FLAGS[flag];
    if (!name) throw new KubectlError(`error: unknown flag: ${flag}`);
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new KubectlError(`error: flag needs an argument: ${flag}`);
    parsed.flags.set(name, [...(parsed.flags.get(name) ?? []), value]);
  }
  return parsed;
}

const one = (p: Parsed, name: string) => p.flags.get(name)?.at(-1);
const b64 = (text: string) => Buffer.from(text, 'base64');

/**
 * The runtime's kubectl: `get secret NAME [-o json|yaml|name]`, `create secret generic NAME --from-file=[KEY=]PATH
 * --from-literal=KEY=VALUE` and `apply -f FILE [--server-side]` for Secrets (YAML or JSON), each request authorized
 * as the API server's RBAC authorizer would authorize the pod's service account. Output and errors in kubectl's words.
 */
export function runKubectl(args: readonly string[], ctx: KubectlContext): KubectlResult {
  const out: string[] = [];
  try {
    const parsed = parse(args);
    if (!ctx.api) {
      // No token, no in-cluster config: kubectl falls back to localhost:8080, where nothing listens.
      throw new KubectlError(
        'The connection to the server localhost:8080 was refused - did you specify the right host or port?',
      );
    }
    const [verb, ...rest] = parsed.positional;
    if (verb === 'get') getSecret(rest, parsed, ctx, out);
    else if (verb === 'create') createSecret(rest, parsed, ctx, out);
    else if (verb === 'apply') apply(parsed, ctx, out);
    else {
      throw new KubectlError(
        `error: the local runtime's kubectl runs 'get secret', 'create secret generic' and 'apply -f' (got '${args.join(' ')}')`,
      );
    }
    return { code: 0, stdout: out.join(''), stderr: '' };
  } catch (error) {
    if (!(error instanceof KubectlError)) throw error;
    return { code: 1, stdout: out.join(''), stderr: `${error.message}\n` };
  }
}

function request(ctx: KubectlContext, verb: string, namespace: string, name: string): RequestAttributes {
  return {
    user: { namespace: ctx.namespace, serviceAccount: ctx.serviceAccount },
    verb,
    apiGroup: '',
    resource: 'secrets',
    namespace,
    name,
  };
}

/** Throws the API server's Forbidden (as `prefix` + message) unless RBAC allows the request. */
function check(ctx: KubectlContext, attrs: RequestAttributes, prefix = 'Error from server (Forbidden): '): void {
  if (!authorize(ctx.policy(), attrs)) throw new KubectlError(`${prefix}${forbiddenMessage(attrs)}`);
}

function secretNameOf(rest: readonly string[]): { name: string | undefined } {
  const [resource, name] = rest;
  const slash = resource?.match(/^(secrets?)\/(.+)$/);
  if (slash) return { name: slash[2] };
  if (resource !== 'secret' && resource !== 'secrets') {
    throw new KubectlError(`error: the local runtime's kubectl gets Secrets only (got '${rest.join(' ')}')`);
  }
  return { name };
}

function age(created: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (!Number.isFinite(seconds)) return '<unknown>';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

function getSecret(rest: readonly string[], parsed: Parsed, ctx: KubectlContext, out: string[]): void {
  const namespace = one(parsed, 'namespace') ?? ctx.namespace;
  const output = one(parsed, 'output');
  if (output !== undefined && !['json', 'yaml', 'name'].includes(output)) {
    throw new KubectlError(
      `error: unable to match a printer suitable for the output format "${output}", allowed formats are: json,name,yaml`,
    );
  }
  const { name } = secretNameOf(rest);
  if (!name) throw new KubectlError("error: the local runtime's kubectl gets one Secret by name (get secret NAME)");
  check(ctx, request(ctx, 'get', namespace, name));
  const secret = readSecret(ctx.api!, namespace, name);
  if (!secret) throw new KubectlError(`Error from server (NotFound): secrets "${name}" not found`);
  if (output === 'name') out.push(`secret/${name}\n`);
  else if (output === 'json') out.push(`${JSON.stringify(secretObject(secret), null, 4)}\n`);
  else if (output === 'yaml') out.push(stringify(secretObject(secret)));
  else {
    const row = [
      name,
      secret.type,
      String(Object.keys(secret.data).length),
      age(secret.creationTimestamp, (ctx.now ?? Date.now)()),
    ];
    const head = ['NAME', 'TYPE', 'DATA', 'AGE'];
    const widths = head.map((h, i) => Math.max(h.length, row[i]!.length) + 3);
    const line = (cells: string[]) =>
      `${cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join('')}\n`;
    out.push(line(head), line(row));
  }
}

const KEY_PATTERN = /^[-._a-zA-Z0-9]+$/;

function validKey(key: string): string {
  if (!KEY_PATTERN.test(key) || key.length > 253) {
    throw new KubectlError(
      `error: "${key}" is not a valid key name for a Secret: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    );
  }
  return key;
}

function createSecret(rest: readonly string[], parsed: Parsed, ctx: KubectlContext, out: string[]): void {
  const [resource, type, name, extra] = rest;
  if (resource !== 'secret' || type !== 'generic') {
    throw new KubectlError(`error: the local runtime's kubectl creates generic secrets only (got '${rest.join(' ')}')`);
  }
  if (!name || extra !== undefined) throw new KubectlError('error: exactly one NAME is required, got 0');
  const namespace = one(parsed, 'namespace') ?? ctx.namespace;
  const data: Record<string, Buffer> = {};
  const add = (key: string, value: Buffer) => {
    if (key in data) {
      throw new KubectlError(
        `error: cannot add key ${key}, another key by that name already exists in Data for Secret "${name}"`,
      );
    }
    data[validKey(key)] = value;
  };
  for (const spec of parsed.flags.get('from-file') ?? []) {
    const eq = spec.indexOf('=');
    const path = eq >= 0 ? spec.slice(eq + 1) : spec;
    const host = ctx.resolvePath(path);
    let isDir: boolean;
    try {
      isDir = statSync(host).isDirectory();
    } catch {
      throw new KubectlError(`error: error reading ${path}: no such file or directory`);
    }
    if (isDir) {
      if (eq >= 0) throw new KubectlError('error: cannot give a key name for a directory path');
      for (const entry of readdirSync(host, { withFileTypes: true }))
        if (entry.isFile()) add(entry.name, readFileSync(join(host, entry.name)));
    } else add(eq >= 0 ? spec.slice(0, eq) : basename(path), readFileSync(host));
  }
  for (const spec of parsed.flags.get('from-literal') ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new KubectlError(`error: invalid literal source ${spec}, expected key=value`);
    add(spec.slice(0, eq), Buffer.from(spec.slice(eq + 1)));
  }
  const object: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: one(parsed, 'type') ?? 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')])),
  };
  // The API server authorizes a POST before it looks for the object: Forbidden comes before AlreadyExists.
  check(ctx, request(ctx, 'create', namespace, ''), 'error: failed to create secret ');
  const refused = ctx.admit?.(object, undefined);
  if (refused) throw new KubectlError(`error: failed to create secret ${refused.message}`);
  if (readSecret(ctx.api!, namespace, name)) {
    throw new KubectlError(`error: failed to create secret secrets "${name}" already exists`);
  }
  writeSecret(ctx.api!, { namespace, name, type: object.type!, data });
  out.push(`secret/${name} created\n`);
}

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

function apply(parsed: Parsed, ctx: KubectlContext, out: string[]): void {
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
