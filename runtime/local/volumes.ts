import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fieldValue, MissingReferenceError, type ObjectStore, type PodFacts } from './env.ts';
import { LocalRuntimeError } from './errors.ts';
import type { KeyToPath, PodSpec } from './types.ts';

/** A bind mount of a host path onto a container path. */
export interface Mount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  /** The source is a file (a subPath of a ConfigMap key): the target must be a file too. */
  readonly file: boolean;
}

/** Where a pod's volumes live on the host. */
export interface VolumePaths {
  /** This pod incarnation's dir (emptyDirs and rendered ConfigMaps/Secrets live here and die with it). */
  readonly podDir: string;
  /** The dir of a PersistentVolumeClaim: it outlives every pod that mounts it. */
  claimDir(namespace: string, claim: string): string;
}

/** Rejects keys and paths that would escape the volume dir. */
function safeRelative(path: string, where: string): string {
  const clean = normalize(path);
  if (clean.startsWith('..') || clean.startsWith('/')) {
    throw new LocalRuntimeError('E_MANIFEST', `${where}: path '${path}' must be relative and stay inside the volume`);
  }
  return clean;
}

function writeKeys(
  dir: string,
  data: Readonly<Record<string, string | Buffer>>,
  items: readonly KeyToPath[] | undefined,
  defaultMode: number,
  where: string,
): void {
  mkdirSync(dir, { recursive: true });
  const entries: Array<[string, string | Buffer, number]> = items
    ? items.map((item) => {
        const value = data[item.key];
        if (value === undefined) {
          throw new LocalRuntimeError('E_MANIFEST', `${where}: items key '${item.key}' is not in the object`);
        }
        return [item.path, value, item.mode ?? defaultMode];
      })
    : Object.entries(data).map(([key, value]) => [key, value, defaultMode]);
  const top = new Set<string>();
  for (const [path, value, mode] of entries) {
    const relative = safeRelative(path, where);
    top.add(relative.split('/')[0]!);
    const file = join(dir, relative);
    mkdirSync(dirname(file), { recursive: true });
    if (unchanged(file, value)) {
      chmodSync(file, mode);
      continue;
    }
    // Written beside and renamed over: a process reading the file sees the old or the new content, never half
    // of it (the kubelet's atomic writer swaps a symlink for the same reason). A subPath mount of the file keeps
    // the old inode, so it keeps the old content, as on Kubernetes.
    const temp = join(dirname(file), `.${relative.split('/').pop()}.tmp`);
    writeFileSync(temp, value);
    chmodSync(temp, mode);
    renameSync(temp, file);
  }
  // Files of keys the object no longer has leave the volume (a ConfigMap updated by apply). Directories stay: one
  // may be the source of a subPath mount, and removing a mount point detaches it in the container's namespace.
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && !top.has(entry.name)) rmSync(join(dir, entry.name), { force: true });
  }
}

function unchanged(file: string, value: string | Buffer): boolean {
  try {
    return readFileSync(file).equals(Buffer.from(value));
  } catch {
    return false;
  }
}

/**
 * A ConfigMap or Secret volume: its keys written into `dir`, or an empty dir when the object is missing and the volume
 * is optional; a missing object otherwise throws {@link MissingReferenceError} (the pod waits, as in
 * ContainerCreating).
 */
function writeSourceKeys(
  dir: string,
  data: Readonly<Record<string, string>> | undefined,
  source: { readonly optional?: boolean; readonly items?: readonly KeyToPath[]; readonly defaultMode?: number },
  object: string,
  at: string,
): void {
  if (data) writeKeys(dir, data, source.items, source.defaultMode ?? 0o644, at);
  else if (!source.optional) throw new MissingReferenceError(`${at}: ${object}`);
  else mkdirSync(dir, { recursive: true });
}

/**
 * Renders every volume of a pod into its dir (ConfigMap and Secret keys as files with their modes, emptyDirs, the
 * downward API) or points at its claim dir, and returns the dir of each volume by name. Throws
 * {@link MissingReferenceError} while a referenced ConfigMap or Secret does not exist (the pod waits, as on Kubernetes).
 */
export function materializeVolumes(
  spec: PodSpec,
  facts: PodFacts,
  store: ObjectStore,
  paths: VolumePaths,
  where: string,
): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const volume of spec.volumes ?? []) {
    const at = `${where} volume '${volume.name}'`;
    const dir = join(paths.podDir, 'volumes', volume.name);
    if (volume.configMap) {
      const { name } = volume.configMap;
      const data = store.configMap(facts.namespace, name);
      writeSourceKeys(dir, data, volume.configMap, `ConfigMap '${facts.namespace}/${name}'`, at);
    } else if (volume.secret) {
      const { secretName } = volume.secret;
      const data = store.secret(facts.namespace, secretName);
      writeSourceKeys(dir, data, volume.secret, `Secret '${facts.namespace}/${secretName}'`, at);
    } else if (volume.emptyDir) {
      mkdirSync(dir, { recursive: true });
    } else if (volume.downwardAPI) {
      const data: Record<string, string> = {};
      const items = (volume.downwardAPI.items ?? []).map((item) => {
        data[item.path] = item.fieldRef ? fieldValue(facts, item.fieldRef.fieldPath, at) : '';
        return { key: item.path, path: item.path };
      });
      writeKeys(dir, data, items, volume.downwardAPI.defaultMode ?? 0o644, at);
    } else if (volume.persistentVolumeClaim) {
      const claimDir = paths.claimDir(facts.namespace, volume.persistentVolumeClaim.claimName);
      mkdirSync(claimDir, { recursive: true });
      dirs.set(volume.name, claimDir);
      continue;
    } else {
      throw new LocalRuntimeError(
        'E_MANIFEST',
        `${at}: volume type '${Object.keys(volume)
          .filter((k) => k !== 'name')
          .join(
            ', ',
          )}' is not one the local runtime materialises (configMap, secret, emptyDir, downwardAPI, persistentVolumeClaim)`,
      );
    }
    dirs.set(volume.name, dir);
  }
  return dirs;
}

/** The bind mounts of one container, parents before children. */
export function containerMounts(
  container: {
    name: string;
    volumeMounts?: ReadonlyArray<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
  },
  volumeDirs: ReadonlyMap<string, string>,
  isFile: (path: string) => boolean,
  where: string,
): Mount[] {
  const mounts = (container.volumeMounts ?? []).map((vm): Mount => {
    const dir = volumeDirs.get(vm.name);
    if (!dir) {
      throw new LocalRuntimeError(
        'E_MANIFEST',
        `${where} container '${container.name}': volumeMount '${vm.name}' names no volume of the pod (volumes: ${[...volumeDirs.keys()].join(', ') || 'none'})`,
      );
    }
    if (!vm.mountPath.startsWith('/')) {
      throw new LocalRuntimeError('E_MANIFEST', `${where}: mountPath '${vm.mountPath}' must be absolute`);
    }
    const source = vm.subPath ? join(dir, safeRelative(vm.subPath, `${where} subPath`)) : dir;
    if (vm.subPath && !isFile(source)) mkdirSync(source, { recursive: true });
    return { source, target: normalize(vm.mountPath), readOnly: vm.readOnly ?? false, file: isFile(source) };
  });
  return mounts.sort((a, b) => a.target.split('/').length - b.target.split('/').length);
}
