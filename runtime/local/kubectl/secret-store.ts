import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Secret } from '../types.ts';

/**
 * The runtime's Secrets: `<api>/<ns>/secrets/<name>/<key>` holds each key's bytes (the layout pods and host tools
 * read), `<api>/<ns>/secrets/.<name>.json` the rest of the object (a Secret's name cannot start with a dot, so the
 * two never collide).
 */
export interface StoredSecret {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  readonly data: Readonly<Record<string, Buffer>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly immutable?: boolean;
  /** The data keys the last `kubectl apply` set (kubectl keeps them in its last-applied annotation). */
  readonly lastApplied?: readonly string[];
  readonly uid: string;
  readonly creationTimestamp: string;
  readonly resourceVersion: string;
}

/** What a write sets; uid, creation time and resource version are the store's. */
export type SecretContent = Omit<StoredSecret, 'uid' | 'creationTimestamp' | 'resourceVersion'>;

const dirOf = (api: string, namespace: string) => join(api, namespace, 'secrets');

/** The Secret `namespace/name`, or undefined when it does not exist. */
export function readSecret(api: string, namespace: string, name: string): StoredSecret | undefined {
  const dir = join(dirOf(api, namespace), name);
  let keys: string[];
  try {
    keys = readdirSync(dir);
  } catch {
    return undefined;
  }
  let meta: Partial<StoredSecret> = {};
  try {
    meta = JSON.parse(readFileSync(join(dirOf(api, namespace), `.${name}.json`), 'utf8'));
  } catch {
    // written by an older runtime: keys only
  }
  return {
    type: 'Opaque',
    uid: '',
    creationTimestamp: '',
    resourceVersion: '1',
    ...meta,
    namespace,
    name,
    data: Object.fromEntries(keys.map((key) => [key, readFileSync(join(dir, key))])),
  };
}

/**
 * Creates or replaces a Secret: the new key files are written beside and swapped in with renames, so a reader sees
 * the old or the new set of keys.
 */
export function writeSecret(api: string, secret: SecretContent): StoredSecret {
  const dir = dirOf(api, secret.namespace);
  mkdirSync(dir, { recursive: true });
  const before = readSecret(api, secret.namespace, secret.name);
  const stored: StoredSecret = {
    ...secret,
    uid: before?.uid || randomUUID(),
    creationTimestamp: before?.creationTimestamp || new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    resourceVersion: String(Number(before?.resourceVersion ?? 0) + 1),
  };
  const temp = join(dir, `.${secret.name}.new-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { mode: 0o700 });
  for (const [key, value] of Object.entries(secret.data)) writeFileSync(join(temp, key), value, { mode: 0o600 });
  const { data: _data, ...meta } = stored;
  writeFileSync(join(dir, `.${secret.name}.json`), `${JSON.stringify(meta)}\n`, { mode: 0o600 });
  const target = join(dir, secret.name);
  const old = join(dir, `.${secret.name}.old-${process.pid}`);
  if (before) renameSync(target, old);
  renameSync(temp, target);
  rmSync(old, { recursive: true, force: true });
  return stored;
}

/** The Secret as the API returns it (`kubectl get secret -o json`): data base64-encoded. */
export function secretObject(secret: StoredSecret): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secret.name,
      namespace: secret.namespace,
      ...(secret.labels && Object.keys(secret.labels).length > 0 ? { labels: secret.labels } : {}),
      ...(secret.annotations && Object.keys(secret.annotations).length > 0 ? { annotations: secret.annotations } : {}),
      uid: secret.uid,
      resourceVersion: secret.resourceVersion,
      creationTimestamp: secret.creationTimestamp,
    },
    ...(secret.immutable ? { immutable: true } : {}),
    data: Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, v.toString('base64')])),
    type: secret.type,
  };
}

/** Stores a Secret of the manifests (data base64, stringData plain), as the API server would on create or update. */
export function storeManifestSecret(api: string, secret: Secret): StoredSecret {
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = Buffer.from(v);
  return writeSecret(api, {
    namespace: secret.metadata.namespace ?? 'default',
    name: secret.metadata.name,
    type: secret.type ?? 'Opaque',
    data,
    labels: secret.metadata.labels,
    annotations: secret.metadata.annotations,
    immutable: secret.immutable,
  });
}
