/**
 * The non-root mode's namespace: a user namespace (the caller's uid mapped to root), with its own network and mount
 * namespaces, where the local runtime is "root" and does what it does as root today, as rootless Podman and rootless
 * Docker run whole container networks.
 * @see https://man7.org/linux/man-pages/man7/user_namespaces.7.html
 * @see https://man7.org/linux/man-pages/man1/unshare.1.html
 */
import { mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Set in every process that runs inside the namespace (the CLI re-executed, the supervisor, tests wrapped in it). */
export const ROOTLESS_ENV = 'SLOTFORGE_ROOTLESS';

/** The admin tools (`ip`, `nft`) live in /usr/sbin, which is not on a normal user's PATH. */
const SBIN_PATH = '/usr/local/sbin:/usr/sbin:/sbin';

/** True in a process running inside the non-root namespace (where getuid() is 0 but the real user is not root). */
export function insideRootless(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[ROOTLESS_ENV] === '1';
}

/** True when this process is not root and not yet inside the namespace: runtime commands must enter it first. */
export function needsNamespace(env: NodeJS.ProcessEnv = process.env): boolean {
  return process.getuid?.() !== 0 && !insideRootless(env);
}

/**
 * What the namespace's first process does before it runs the command, as its root:
 * - a private tmpfs on /run: `ip netns add` bind-mounts namespaces under /run/netns, and the runtime's host-wide
 *   records (/run/slotforge-local-runtimes, the host DNS claims of /run/slotforge) become this namespace's own;
 * - a private, writable /etc/hosts (a copy of the host's without the blocks of root runtimes): the runtime publishes the pod and Service names there,
 *   so every process of the namespace resolves them as host processes do in root mode; the copy is unlinked at once,
 *   the bind mount keeps it for the namespace's lifetime and nothing is left behind;
 * - loopback up (a new network namespace starts with `lo` down).
 */
export const NAMESPACE_SETUP = [
  'set -e',
  `export PATH="${SBIN_PATH}:$PATH"`,
  'mount -t tmpfs -o mode=755 tmpfs /run',
  'mkdir -p /run/netns',
  'hosts=$(mktemp /tmp/slotforge-hosts.XXXXXX)',
  // Without the host's runtime blocks: names of a root runtime's pods would shadow this runtime's own.
  'sed \'/^# BEGIN slotforge local runtime /,/^# END slotforge local runtime /d\' /etc/hosts > "$hosts"',
  'mount --bind "$hosts" /etc/hosts',
  'rm -f "$hosts"',
  'ip link set lo up',
  'exec "$@"',
].join('\n');

/** argv that runs `argv` inside a new namespace (user with the caller as root, network, mount). */
export function namespaceArgv(argv: readonly string[]): string[] {
  return [
    'unshare',
    '--user',
    '--map-root-user',
    '--net',
    '--mount',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    NAMESPACE_SETUP,
    'slotforge-rootless',
    ...argv,
  ];
}

/**
 * The env of a process inside the namespace: marked, with the admin tools on PATH, and a temp dir of the user's own:
 * inside, every process is uid 0, and tools that keep per-uid dirs in /tmp (tsx's `/tmp/tsx-0`, which cdk8s synth
 * uses) would reach for root's, which the user cannot write.
 */
export function namespaceEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  let tmp = env.TMPDIR;
  if (!insideRootless(env)) {
    tmp = join(tmpdir(), `slotforge-${process.getuid?.() ?? 'user'}`);
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
  }
  return { ...env, [ROOTLESS_ENV]: '1', PATH: `${SBIN_PATH}:${env.PATH ?? '/usr/bin:/bin'}`, TMPDIR: tmp };
}

/**
 * argv that runs `argv` in the namespace of the process `pid` (the supervisor of a state dir): its user, network and
 * mount namespaces, so the command sees the pod network and the cluster DNS (the namespace's /etc/hosts), in the
 * caller's working dir.
 */
export function enterArgv(pid: number, argv: readonly string[], cwd = process.cwd()): string[] {
  return [
    'nsenter',
    '-t',
    String(pid),
    '--user',
    '--net',
    '--mount',
    '--preserve-credentials',
    `--wd=${cwd}`,
    '--',
    ...argv,
  ];
}

/** The user namespace of `pid` (`user:[inode]`), undefined when it is gone or not ours. */
export function userNamespaceOf(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/user`);
  } catch {
    return undefined;
  }
}

/** True when the kernel lets this user create user namespaces (`unshare -U` works). */
export function userNamespacesEnabled(): boolean {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  // Debian's knob (absent upstream), the generic limit, and Ubuntu's AppArmor restriction.
  if (read('/proc/sys/kernel/unprivileged_userns_clone') === '0') return false;
  if (read('/proc/sys/user/max_user_namespaces') === '0') return false;
  return read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') !== '1';
}
