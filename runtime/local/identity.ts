import { chmodSync, chownSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageConfig } from '../images/index.ts';
import { LocalRuntimeError } from './errors.ts';
import { insideRootless } from './rootless/index.ts';
import type { PodSpec, SecurityContext } from './types.ts';

/** Who a container's processes run as. */
export interface ContainerIdentity {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups: the pod's fsGroup and supplementalGroups. */
  readonly groups: readonly number[];
  /** `readOnlyRootFilesystem`: the container's root is mounted read-only. */
  readonly readOnlyRoot: boolean;
}

/** The primary gid of `uid` in the image's /etc/passwd, as the container runtime looks it up. */
function passwdGid(rootfs: string, uid: number): number | undefined {
  try {
    for (const line of readFileSync(join(rootfs, 'etc/passwd'), 'utf8').split('\n')) {
      const [, , u, g] = line.split(':');
      if (Number(u) === uid && g !== undefined) return Number(g);
    }
  } catch {
    // a scratch-like image has no /etc/passwd
  }
  return undefined;
}

/**
 * The container's user, group and groups: the manifest's securityContext (container over pod) over the image's USER,
 * as the kubelet and the container runtime resolve them. A runAsUser without runAsGroup takes the user's group from
 * the image's /etc/passwd, else 0. `runAsNonRoot` with uid 0 is refused, with the kubelet's wording.
 * @see https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
 */
export function containerIdentity(
  config: ImageConfig,
  rootfs: string,
  pod: SecurityContext | undefined,
  container: SecurityContext | undefined,
  where: string,
): ContainerIdentity {
  const [imageUid = 0, imageGid] = config.user.split(':').map(Number);
  const runAsUser = container?.runAsUser ?? pod?.runAsUser;
  const uid = runAsUser ?? imageUid;
  const gid =
    container?.runAsGroup ??
    pod?.runAsGroup ??
    (runAsUser === undefined ? (imageGid ?? passwdGid(rootfs, uid) ?? 0) : (passwdGid(rootfs, uid) ?? 0));
  if ((container?.runAsNonRoot ?? pod?.runAsNonRoot) && uid === 0) {
    throw new LocalRuntimeError(
      'E_MANIFEST',
      `${where}: container has runAsNonRoot and image will run as root (image USER '${config.user}', no runAsUser)`,
    );
  }
  const groups = [...(pod?.fsGroup === undefined ? [] : [pod.fsGroup]), ...(pod?.supplementalGroups ?? [])];
  return { uid, gid, groups, readOnlyRoot: container?.readOnlyRootFilesystem ?? false };
}

/**
 * chown, except in the non-root namespace: it maps one id only, so every file the runtime makes is the user's, which
 * each container's own user namespace shows as the container's uid and gid (rootless/chroot.ts).
 */
function chown(path: string, uid: number, gid: number): void {
  if (!insideRootless()) chownSync(path, uid, gid);
}

/** chgrp -R to `gid` with group read/write (and the setgid bit on dirs), as the kubelet applies fsGroup. */
function chgrpTree(path: string, gid: number): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  chown(path, stat.uid, gid);
  if (stat.isDirectory()) {
    chmodSync(path, (stat.mode & 0o7777) | 0o2070);
    for (const name of readdirSync(path)) chgrpTree(join(path, name), gid);
  } else chmodSync(path, (stat.mode & 0o7777) | 0o060);
}

/**
 * Ownership of a pod's volumes as on Kubernetes: with `fsGroup` every volume is group-owned by it, group-writable
 * (fsGroupChangePolicy OnRootMismatch: only when the volume's root has another group); without, an emptyDir is
 * world-writable (0777, the kubelet's default) and so is a claim (kind's local-path provisioner makes its dirs 0777).
 * ConfigMap, Secret and downward API files are group-owned by fsGroup and group-readable.
 */
export function applyVolumeOwnership(spec: PodSpec, dirs: ReadonlyMap<string, string>): void {
  const fsGroup = spec.securityContext?.fsGroup;
  for (const volume of spec.volumes ?? []) {
    const dir = dirs.get(volume.name);
    if (!dir) continue;
    const writable = Boolean(volume.emptyDir || volume.persistentVolumeClaim);
    if (fsGroup === undefined) {
      if (writable) chmodSync(dir, 0o777);
      continue;
    }
    if (writable && spec.securityContext && statSync(dir).gid === fsGroup) continue;
    if (writable) chgrpTree(dir, fsGroup);
    else {
      // Read-only volumes get group read (the kubelet's 0440 mask), so a Secret of mode 0400 is readable by fsGroup.
      for (const name of readdirSync(dir)) {
        const file = join(dir, name);
        chown(file, 0, fsGroup);
        chmodSync(file, (statSync(file).mode & 0o7777) | 0o440);
      }
      chown(dir, 0, fsGroup);
    }
  }
}
