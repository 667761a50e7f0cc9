import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { type ManagedProcess, run, startProcess } from '../process/index.ts';
import { type ChrootSpec, chrootArgv } from './chroot.ts';
import { insideRootless, procMountLine, upperMountPointLines } from './rootless/index.ts';
import type { ContainerPort, Handler } from './types.ts';
import type { Mount } from './volumes.ts';

/**
 * Where the runtime's own files appear inside every container: `bin` (image programs, first on PATH), `namespace`,
 * `api` (the object store, only where automountServiceAccountToken is not false) and `stage` (mount sources).
 */
export const LOCAL_DIR = '/run/slotforge-local';

/** Single-quotes a string for sh. */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** How one container process starts inside its pod. */
export interface ContainerLaunch {
  readonly netns: string;
  readonly hostname: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly mounts: readonly Mount[];
  /** Mounted over /etc/hosts: the cluster DNS. */
  readonly hostsFile: string;
  /**
   * Mounted over /etc/resolv.conf: no reachable name server, so a name that is not (yet) in the hosts file fails at
   * once instead of waiting for the host's resolver through a network that has no route to it.
   */
  readonly resolvFile: string;
  /** Mounted over /tmp unless a volume is mounted there: the container's private /tmp. */
  readonly tmpDir: string;
  /** The pod's own dir of runtime files, mounted at {@link LOCAL_DIR} (holds the staged mounts). */
  readonly localDir: string;
  readonly workingDir?: string;
  /**
   * The image file system the container is chrooted into. Absent: the program runs in the host's file system (no
   * caller does that now: every image is a rootfs, and the built-in kubectl starts through kubectl/launch.ts).
   */
  readonly image?: ImageRoot;
  /** The sh script written for this start (the mount namespace setup, then `exec` of argv). */
  readonly preludeFile: string;
  readonly logFile: string;
  /** Told which host paths were created as mount points (removed at `down`). */
  readonly recordCreated: (paths: readonly string[]) => void;
}

/** A container's root: an overlay of the image rootfs, read-only unless the manifest allows writes. */
export interface ImageRoot extends ChrootSpec {
  /** The image rootfs in the cache: the overlay's lower layer, never written. */
  readonly rootfs: string;
  /** The container's own layer and overlayfs's work dir (fresh for each start, as a container's writable layer). */
  readonly upperDir: string;
  readonly overlayWorkDir: string;
  /** `securityContext.readOnlyRootFilesystem`: the root is remounted read-only once the mount points exist. */
  readonly readOnly: boolean;
}

/** Device nodes a container gets in its /dev (the OCI runtime spec's default devices). */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** Prelude lines that mount the container's root: the image overlay, /proc, a minimal /dev, a read-only /sys. */
function rootLines(image: ImageRoot): string[] {
  const root = shQuote(image.root);
  const sub = (path: string) => shQuote(`${image.root}${path}`);
  return [
    `/usr/bin/mount -t overlay overlay -o ${shQuote(`lowerdir=${image.rootfs},upperdir=${image.upperDir},workdir=${image.overlayWorkDir}`)} ${root}`,
    `/usr/bin/mkdir -p ${sub('/proc')} ${sub('/dev')} ${sub('/sys')} ${sub('/tmp')}`,
    insideRootless()
      ? procMountLine(sub('/proc'))
      : `/usr/bin/mount -t proc -o nosuid,nodev,noexec proc ${sub('/proc')}`,
    `/usr/bin/mount -t tmpfs -o nosuid,mode=755,size=64k tmpfs ${sub('/dev')}`,
    ...DEVICES.flatMap((d) => [`: > ${sub(`/dev/${d}`)}`, `/usr/bin/mount --bind /dev/${d} ${sub(`/dev/${d}`)}`]),
    `/usr/bin/mkdir -p ${sub('/dev/shm')} && /usr/bin/mount -t tmpfs -o nosuid,nodev,mode=1777 shm ${sub('/dev/shm')}`,
    `/usr/bin/ln -s /proc/self/fd ${sub('/dev/fd')}`,
    ...['stdin', 'stdout', 'stderr'].map((n, i) => `/usr/bin/ln -s /proc/self/fd/${i} ${sub(`/dev/${n}`)}`),
    `/usr/bin/mount --bind /sys ${sub('/sys')} && /usr/bin/mount -o remount,bind,ro ${sub('/sys')}`,
  ];
}

/**
 * The prelude runs as the first process of the container inside `ip netns exec` (which gives it a private mount
 * namespace) and `unshare --uts`: it sets the hostname, then bind-mounts the volumes, the DNS files and a private /tmp
 * at the paths the manifest names, and execs the container's program, which keeps the pid.
 *
 * Every source is first bound under the pod's own dir at {@link LOCAL_DIR}/stage/N, and only then is anything mounted
 * at its target: a volume mounted at /work or /tmp must not hide the sources of the mounts after it (the state dir
 * may live there).
 */
export function renderPrelude(launch: ContainerLaunch): string {
  const local = LOCAL_DIR;
  const lines = [
    'set -e',
    `/usr/bin/hostname ${shQuote(launch.hostname)}`,
    `/usr/bin/mkdir -p ${local}`,
    `/usr/bin/mount --bind ${shQuote(launch.localDir)} ${local}`,
    `/usr/bin/mkdir -p ${local}/stage`,
  ];
  const all: Mount[] = [
    { source: launch.hostsFile, target: '/etc/hosts', readOnly: false, file: true },
    { source: launch.resolvFile, target: '/etc/resolv.conf', readOnly: true, file: true },
    ...(launch.mounts.some((m) => m.target === '/tmp')
      ? []
      : [{ source: launch.tmpDir, target: '/tmp', readOnly: false, file: false }]),
    ...launch.mounts,
  ];
  const staged = all.map((m, i) => ({ ...m, stage: `${local}/stage/${i}` }));
  const prefix = launch.image?.root ?? '';
  for (const m of staged) {
    lines.push(m.file ? `: > ${m.stage}` : `/usr/bin/mkdir -p ${m.stage}`);
    lines.push(`/usr/bin/mount --bind ${shQuote(m.source)} ${m.stage}`);
  }
  // Parents before children, so /data/conf lands inside the volume at /data.
  const ordered = [...staged].sort((a, b) => a.target.split('/').length - b.target.split('/').length);
  if (launch.image && insideRootless()) {
    const points = ['/proc', '/dev', '/sys', '/tmp', launch.image.workingDir].map((t) => ({ target: t, file: false }));
    lines.push(...upperMountPointLines(launch.image.rootfs, launch.image.upperDir, [...points, ...ordered], shQuote));
  }
  if (launch.image) lines.push(...rootLines(launch.image));
  for (const m of ordered) {
    const target = shQuote(`${prefix}${m.target}`);
    if (m.file) {
      lines.push(`/usr/bin/mkdir -p "$(dirname ${target})"`, `[ -e ${target} ] || : > ${target}`);
    } else lines.push(`/usr/bin/mkdir -p ${target}`);
    lines.push(`/usr/bin/mount --bind ${m.stage} ${target}`);
    if (m.readOnly) lines.push(`/usr/bin/mount -o remount,bind,ro ${target}`);
  }
  if (launch.image) {
    // The OCI runtime creates a missing working dir, as runc does; then the root becomes read-only.
    lines.push(`/usr/bin/mkdir -p ${shQuote(`${prefix}${launch.image.workingDir}`)}`);
    if (launch.image.readOnly) lines.push(`/usr/bin/mount -o remount,ro ${shQuote(launch.image.root)}`);
    lines.push('exec "$@"', '');
    return lines.join('\n');
  }
  if (launch.workingDir) lines.push(`cd ${shQuote(launch.workingDir)}`);
  lines.push('exec "$@"', '');
  return lines.join('\n');
}

/** Paths a container mounts onto that do not exist on the host yet (they are created and removed at `down`). */
export function missingMountPoints(mounts: readonly Mount[]): string[] {
  const missing: string[] = [];
  for (const m of mounts) {
    let path = m.target;
    const chain: string[] = [];
    while (path !== '/' && !existsSync(path)) {
      chain.push(path);
      path = path.slice(0, path.lastIndexOf('/')) || '/';
    }
    missing.push(...chain.reverse());
  }
  return missing;
}

/**
 * Starts the container's process; its pid is the program's (every wrapper execs). Mount points missing on the host
 * are created by the prelude (`mkdir -p` reaches the host's file system where no volume covers the path); they are
 * recorded first so `down` removes them.
 */
export async function startContainer(launch: ContainerLaunch): Promise<ManagedProcess> {
  writeFileSync(launch.preludeFile, renderPrelude(launch), { mode: 0o700 });
  const missing = missingMountPoints([
    { source: launch.localDir, target: LOCAL_DIR, readOnly: false, file: false },
    // In an image root the container's own layer holds its mount points; only built-in images touch the host's.
    ...(launch.image ? [] : launch.mounts.filter((m) => !m.target.startsWith(`${LOCAL_DIR}/`))),
  ]);
  if (missing.length > 0) launch.recordCreated(missing);
  if (launch.image) {
    rmSync(launch.image.upperDir, { recursive: true, force: true });
    rmSync(launch.image.overlayWorkDir, { recursive: true, force: true });
    for (const dir of [launch.image.root, launch.image.upperDir, launch.image.overlayWorkDir]) {
      mkdirSync(dir, { recursive: true });
    }
  }
  const argv = launch.image ? chrootArgv(launch.image, launch.argv) : launch.argv;
  return startProcess({
    command: 'ip',
    args: ['netns', 'exec', launch.netns, 'unshare', '--uts', '/bin/sh', launch.preludeFile, ...argv],
    env: { ...launch.env },
    logFile: launch.logFile,
  });
}

/** Where and how a handler (probe, hook) runs against a running container. */
export interface HandlerTarget {
  /** Pid of the container's main process: exec handlers enter its namespaces. */
  readonly pid: number;
  readonly podIp: string;
  readonly env: Readonly<Record<string, string>>;
  readonly ports: readonly ContainerPort[];
  /** Maps an image path in an exec command to the host program (built-in images). */
  readonly mapArgv: (argv: readonly string[]) => string[];
  /** Where exec handlers run: chrooted into the container's root as its user, as the container itself. */
  readonly chroot?: ChrootSpec;
}

/** The result of one handler run. */
export interface HandlerResult {
  readonly ok: boolean;
  readonly output: string;
}

function portOf(port: number | string, ports: readonly ContainerPort[]): number {
  if (typeof port === 'number') return port;
  const named = ports.find((p) => p.name === port)?.containerPort;
  return named ?? Number(port);
}

/**
 * Runs a probe or lifecycle handler as the kubelet does: `exec` inside the container's namespaces with its env,
 * `tcpSocket` and `httpGet` from the host to the pod IP, `sleep` as a timer.
 * @see https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/
 */
export async function runHandler(handler: Handler, target: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  if (handler.exec) {
    const mapped = target.mapArgv(handler.exec.command);
    const argv = target.chroot ? chrootArgv(target.chroot, mapped) : mapped;
    const result = await run('nsenter', ['-t', String(target.pid), '--net', '--mount', '--uts', '--', ...argv], {
      env: { ...target.env },
      timeoutMs,
    });
    const output = `${result.stdout}${result.stderr}`.trim();
    if (result.timedOut) return { ok: false, output: `timed out after ${timeoutMs} ms ${output}`.trim() };
    return { ok: result.code === 0, output };
  }
  if (handler.tcpSocket) {
    const port = portOf(handler.tcpSocket.port, target.ports);
    return new Promise((resolve) => {
      const socket = connect({ host: handler.tcpSocket?.host ?? target.podIp, port, timeout: timeoutMs });
      socket.once('connect', () => {
        socket.destroy();
        resolve({ ok: true, output: '' });
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve({ ok: false, output: `tcp ${port}: timed out` });
      });
      socket.once('error', (error) => resolve({ ok: false, output: `tcp ${port}: ${error.message}` }));
    });
  }
  if (handler.httpGet) {
    const port = portOf(handler.httpGet.port, target.ports);
    return new Promise((resolve) => {
      const req = request(
        { host: handler.httpGet?.host ?? target.podIp, port, path: handler.httpGet?.path ?? '/', timeout: timeoutMs },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          resolve({ ok: code >= 200 && code < 400, output: `http ${code}` });
        },
      );
      req.once('timeout', () => req.destroy(new Error('timed out')));
      req.once('error', (error) => resolve({ ok: false, output: `http ${port}: ${error.message}` }));
      req.end();
    });
  }
  if (handler.sleep) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(handler.sleep?.seconds ?? 0, timeoutMs / 1000) * 1000));
    return { ok: true, output: '' };
  }
  return { ok: false, output: 'handler has none of exec, tcpSocket, httpGet, sleep' };
}
