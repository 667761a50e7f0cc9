import { join } from 'node:path';
import { builtImage } from '../../../runtime/images/index.ts';
import { type Launcher, startProcess } from '../../../runtime/process/index.ts';

/** The rootfs of the `redis` image (Debian trixie's Redis 8.0.2 with security backports), from the image cache. */
export function redis8Rootfs(): string {
  return builtImage('redis').rootfs;
}

/**
 * argv that runs `program` (a path inside the rootfs, e.g. `usr/bin/redis-server`) of `rootfs` through the rootfs's own loader and libraries,
 * without root or chroot (its glibc is newer than the host's).
 */
export function rootfsArgv(rootfs: string, program: string): string[] {
  return [
    join(rootfs, 'lib64/ld-linux-x86-64.so.2'),
    '--library-path',
    `${join(rootfs, 'lib/x86_64-linux-gnu')}:${join(rootfs, 'usr/lib/x86_64-linux-gnu')}`,
    join(rootfs, program),
  ];
}

/** A {@link Launcher} for startRedisServer that runs the rootfs's redis-server (or `program`) instead of the host's. */
export function rootfsLauncher(rootfs: string, program = 'usr/bin/redis-server'): Launcher {
  const [loader, ...prefix] = rootfsArgv(rootfs, program);
  return (options) => startProcess({ ...options, command: loader as string, args: [...prefix, ...options.args] });
}

/**
 * The Redis 7.0 line an upgrade starts from: the `redis-7.0` image (Debian 12's 7.0.15), run through its host
 * wrapper like every harness program; never the host's /usr/bin/redis-server.
 */
export function redis70Launcher(): Launcher {
  const command = join(builtImage('redis-7.0').hostBin, 'redis-server');
  return (options) => startProcess({ ...options, command });
}
