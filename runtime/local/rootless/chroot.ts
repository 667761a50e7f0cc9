/**
 * Entering a container's image in the non-root namespace. There only one uid and one gid exist (the user who started
 * the runtime, mapped to root): switching to the container's user (999 for Redis) fails with EINVAL. So the helper
 * first gives the container a user namespace of its own, nested in the runtime's, in which that single id is the
 * container's `runAsUser`/`runAsGroup`: the program runs as uid 999 (`id` says so, the official entrypoint does not
 * try to drop from root), without capabilities (an exec as a non-zero uid drops them), and the files the runtime
 * made for it (volumes, Secrets, the container's layer), owned by the user outside, are owned by it inside. Files of
 * other owners in the image read as `nobody`. Then it does what the root helper does (chroot, chdir, exec).
 *
 * Order matters: the kernel refuses a new user namespace to a chrooted process, and the id maps are written through
 * /proc before the chroot hides it.
 * @see https://man7.org/linux/man-pages/man7/user_namespaces.7.html (Defining user and group ID mappings)
 */
/** x86_64 unshare(2) and CLONE_NEWUSER. */
const SYS_UNSHARE = 272;
const CLONE_NEWUSER = 0x10000000;

/** The perl program that enters a container's image in the non-root namespace (argv as chroot.ts's helper). */
export const ROOTLESS_CHROOT_HELPER = [
  'use strict; use POSIX ();',
  'my ($root, $wd, $uid, $gid, $groups, @argv) = @ARGV;',
  'sub put { my ($f, $s) = @_; open(my $h, ">", $f) or die "open $f: $!\\n"; print $h $s; close($h) or die "write $f: $!\\n"; }',
  `syscall(${SYS_UNSHARE}, ${CLONE_NEWUSER}) == 0 or die "unshare(CLONE_NEWUSER): $!\\n";`,
  'put("/proc/self/setgroups", "deny"); put("/proc/self/uid_map", "$uid 0 1\\n"); put("/proc/self/gid_map", "$gid 0 1\\n");',
  'chroot($root) or die "chroot $root: $!\\n";',
  'chdir($wd) or die "chdir to working dir $wd: $!\\n";',
  'POSIX::setgid($gid) or die "setgid $gid: $!\\n"; POSIX::setuid($uid) or die "setuid $uid: $!\\n";',
  '{ no warnings; exec { $argv[0] } @argv; }',
  'my $why = $argv[0] =~ m{/} ? "no such file or directory" : "executable file not found in \\$PATH";',
  'print STDERR "exec: \\"$argv[0]\\": $why\\n"; exit 128;',
].join(' ');

/**
 * The prelude line that gives a container root its /proc. A fresh procfs needs a pid namespace owned by the
 * mounting user namespace; the runtime has none (no pid namespace, as in root mode), so the host's /proc is bound.
 */
export function procMountLine(target: string): string {
  return `/usr/bin/mount --rbind /proc ${target}`;
}

/**
 * Prelude lines that make the mount points of a container root in its own layer, before the overlay is mounted. In
 * the merged root a missing `/etc/hosts` or working dir would be created in a directory of the image, which belongs
 * to an id the namespace does not map (root's files read as `nobody`): creating it there fails with EACCES. The
 * container's layer is the user's, so what is missing from the image is made there; present paths are left alone.
 */
export function upperMountPointLines(
  rootfs: string,
  upperDir: string,
  targets: ReadonlyArray<{ readonly target: string; readonly file: boolean }>,
  quote: (value: string) => string,
): string[] {
  return targets.map(({ target, file }) => {
    const lower = quote(`${rootfs}${target}`);
    const upper = quote(`${upperDir}${target}`);
    const make = file ? `/usr/bin/mkdir -p "$(dirname ${upper})" && : > ${upper}` : `/usr/bin/mkdir -p ${upper}`;
    return `[ -e ${lower} ] || [ -L ${lower} ] || { ${make}; }`;
  });
}
