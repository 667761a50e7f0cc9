import { join } from 'node:path';
import { builtImage } from './cache.ts';
import type { RecipeName } from './recipes.ts';

/** Programs harness processes run from an image, and the image each comes from. */
const PROGRAM_IMAGE = {
  'redis-server': 'redis',
  'redis-sentinel': 'redis',
  'redis-cli': 'redis',
  'redis-check-aof': 'redis',
  'redis-check-rdb': 'redis',
  'redis-benchmark': 'redis',
  redis_exporter: 'redis-exporter',
} as const satisfies Record<string, RecipeName>;

/** A program of an image that harness processes run on the host. */
export type ImageProgram = keyof typeof PROGRAM_IMAGE;

/**
 * The host path that runs `program` of its image's rootfs (a wrapper that execs the rootfs's own loader with the
 * rootfs's libraries, so the pid is the program's and no root is needed). The harness, bench and the chaos suite's
 * local target start Redis through this, never the host's /usr/bin/redis-server. Throws ImageMissingError (with
 * what to run) when the image is not built.
 */
export function imageProgram(program: ImageProgram): string {
  return join(builtImage(PROGRAM_IMAGE[program]).hostBin, program);
}

/**
 * Dirs of the host wrappers of every image with host programs, for the front of PATH: scripts under test that call
 * `redis-cli` by name get the image's.
 */
export function imageProgramDirs(): string[] {
  return [...new Set(Object.values(PROGRAM_IMAGE))].map((name) => builtImage(name).hostBin);
}
