/**
 * How a container process enters its image: chroot(2) into the container's root (an overlay of the image rootfs,
 * mounted by the prelude in the container's private mount namespace), chdir to its working dir, set its groups, gid
 * and uid, and exec its program, resolved on the container's PATH inside the image. A program the image does not
 * have fails as the container runtime fails it (`exec: "curl": executable file not found in $PATH`, exit 128); a
 * script of the image that calls one fails with its shell's "not found".
 *
 * Why chroot and not pivot_root: the last step must set groups, gid and uid and exec, and after a pivot_root the
 * host's tools are gone (the exporter image has no shell or libc tools at all), so the switch would need a helper
 * inside every image. chroot needs one host helper that runs before the switch. The mount namespace is private to
 * the container, its root is read-only where the manifest says readOnlyRootFilesystem, and a non-root process
 * (every chart container) has no CAP_SYS_CHROOT to leave it; a root container could (it is not a security boundary
 * for root, and pods here are not multi-tenant). The helper is Perl because perl-base is Essential in Debian (always
 * on the host) and has chroot, setgroups (`$)`), setgid and setuid; coreutils chroot cannot chdir to a WORKDIR and
 * util-linux unshare/nsenter cannot set supplementary groups (fsGroup).
 */

import { insideRootless, ROOTLESS_CHROOT_HELPER } from './rootless/index.ts';

/** Where and as whom a container process runs inside its image. */
export interface ChrootSpec {
  /** Host path of the container's root (mounted inside the container's mount namespace only). */
  readonly root: string;
  /** Working dir inside the root (the image's WORKDIR unless the manifest sets workingDir). */
  readonly workingDir: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups (fsGroup, supplementalGroups). */
  readonly groups: readonly number[];
}

const HELPER = [
  'use strict; use POSIX ();',
  'my ($root, $wd, $uid, $gid, $groups, @argv) = @ARGV;',
  'chroot($root) or die "chroot $root: $!\\n";',
  'chdir($wd) or die "chdir to working dir $wd: $!\\n";',
  '$) = "$gid $gid $groups"; $( = $gid;',
  'POSIX::setgid($gid) or die "setgid $gid: $!\\n"; POSIX::setuid($uid) or die "setuid $uid: $!\\n";',
  '{ no warnings; exec { $argv[0] } @argv; }',
  'my $why = $argv[0] =~ m{/} ? "no such file or directory" : "executable file not found in \\$PATH";',
  'print STDERR "exec: \\"$argv[0]\\": $why\\n"; exit 128;',
].join(' ');

/** argv that runs `argv` inside `spec` (host perl, then the image's program). */
export function chrootArgv(spec: ChrootSpec, argv: readonly string[]): string[] {
  return [
    '/usr/bin/perl',
    '-e',
    insideRootless() ? ROOTLESS_CHROOT_HELPER : HELPER,
    '--',
    spec.root,
    spec.workingDir,
    String(spec.uid),
    String(spec.gid),
    spec.groups.join(' '),
    ...argv,
  ];
}
