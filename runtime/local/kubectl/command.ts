import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import type { Secret } from '../types.ts';
import { apply } from './apply-secret.ts';
import {
  check,
  type KubectlContext,
  KubectlError,
  type KubectlResult,
  one,
  type Parsed,
  parse,
  request,
} from './context.ts';
import { readSecret, secretObject, writeSecret } from './secret-store.ts';

export type { ApiRefusal, KubectlContext, KubectlResult } from './context.ts';

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
