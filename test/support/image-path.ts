import { imageProgramDirs } from '../../runtime/images/index.ts';

/**
 * Runs in every test worker before its files: the host wrappers of the images' programs (Redis 8.0 from the redis
 * image, the exporter) go first on PATH, so a script under test that calls `redis-cli`, `redis-server` or
 * `redis-sentinel` by name runs the image's, never the host's. When the images are not built the PATH stays and
 * test/runtime/images/no-host-redis.test.ts fails naming what to run.
 */
try {
  const dirs = imageProgramDirs();
  const path = process.env.PATH ?? '';
  if (!path.startsWith(dirs.join(':'))) process.env.PATH = [...dirs, path].join(':');
} catch {
  // not built: see above
}
