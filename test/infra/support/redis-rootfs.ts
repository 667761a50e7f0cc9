import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Launcher, startProcess } from '../../../runtime/process/index.ts';

/**
 * The Debian trixie rootfs with Redis 8.0.2 that tests run the 8.0 line from. One function, so the path can move to
 * the images helper's cache (`${SLOTFORGE_IMAGE_CACHE:-...}/...`) in one place. Build it with
 * `mmdebstrap --variant=minbase --include=redis-server,redis-tools,redis-sentinel trixie DIR MIRROR`.
 * @default `$SLOTFORGE_REDIS8_ROOTFS`, else `/tmp/sf-imagerefs-rootfs`
 */
export function redis8Rootfs(): string {
  const rootfs = process.env.SLOTFORGE_REDIS8_ROOTFS ?? '/tmp/sf-imagerefs-rootfs';
  if (!existsSync(join(rootfs, 'usr/bin/redis-server'))) {
    throw new Error(
      `no Redis 8.0 rootfs at ${rootfs} (SLOTFORGE_REDIS8_ROOTFS): build it with 'mmdebstrap --variant=minbase ` +
        `--include=redis-server,redis-tools,redis-sentinel trixie ${rootfs} http://deb.debian.org/debian'`,
    );
  }
  return rootfs;
}

/**
 * argv that runs `program` (e.g. `/usr/bin/redis-server`) of `rootfs` through the rootfs's own loader and libraries,
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
export function rootfsLauncher(rootfs: string, program = '/usr/bin/redis-server'): Launcher {
  const [loader, ...prefix] = rootfsArgv(rootfs, program);
  return (options) => startProcess({ ...options, command: loader as string, args: [...prefix, ...options.args] });
}

/**
 * The Redis 7.0 line an upgrade starts from: the host's Debian 12 redis-server 7.0.15 (`/usr/bin/redis-server`, by
 * absolute path so a PATH that leads to 8.0 does not change it). The one place tests still run it; swap it for a
 * bookworm image rootfs (`rootfsLauncher`) when the image cache has one.
 */
export function redis70Launcher(): Launcher {
  return (options) => startProcess({ ...options, command: '/usr/bin/redis-server' });
}
