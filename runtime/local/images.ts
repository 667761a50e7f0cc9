import { fileURLToPath } from 'node:url';
import { LocalRuntimeError } from './errors.ts';

/** The runtime's own kubectl: `get secret` and `create secret generic` against its object store. */
export const KUBECTL_SHIM = fileURLToPath(new URL('./kubectl.sh', import.meta.url));

/** How one container image maps to programs on this host. */
export interface ImageMapping {
  /** Matches the image reference (registry, repository and tag). */
  readonly pattern: RegExp;
  /** For people and error messages, e.g. `redis:7.0.x`. */
  readonly image: string;
  /** The image's ENTRYPOINT + CMD, run when the container sets no `command`. */
  readonly entrypoint: readonly string[];
  /**
   * Programs of the image and the host program each one runs. They are put on the container's PATH (as symlinks in a
   * shim dir), and an absolute path in `command` whose base name is listed here (`/redis_exporter`) is mapped too.
   */
  readonly programs: Readonly<Record<string, string>>;
}

const REDIS_PROGRAMS = {
  'redis-server': '/usr/bin/redis-server',
  'redis-cli': '/usr/bin/redis-cli',
  'redis-sentinel': '/usr/bin/redis-sentinel',
  'redis-check-aof': '/usr/bin/redis-check-aof',
  'redis-check-rdb': '/usr/bin/redis-check-rdb',
};

/**
 * The one table from images to host programs. The host runs Debian 12's Redis 7.0.15 and prometheus-redis-exporter
 * 1.45, so only images of those lines map; kubectl images map to the runtime's own kubectl (Secrets only). Anything
 * else is an error that names the image and this table. Every image also has the host's POSIX tools (sh, getent,
 * coreutils) on its PATH.
 */
export const IMAGE_TABLE: readonly ImageMapping[] = [
  {
    // 8.0 is the deployed line (image-references.ts); until the image rootfs lands, both run the host's 7.0.15.
    pattern: /^(docker\.io\/)?(library\/)?redis:(7|8)\.0(\.\d+)?(-[a-z0-9.]+)?(@sha256:[0-9a-f]+)?$/,
    image: 'redis:7.0.x, redis:8.0.x',
    entrypoint: ['redis-server'],
    programs: REDIS_PROGRAMS,
  },
  {
    pattern: /^(docker\.io\/)?oliver006\/redis_exporter(:[\w.-]+)?(@sha256:[0-9a-f]+)?$/,
    image: 'oliver006/redis_exporter',
    entrypoint: ['/redis_exporter'],
    programs: { redis_exporter: '/usr/bin/prometheus-redis-exporter' },
  },
  {
    pattern: /^((docker\.io\/)?bitnami\/kubectl|registry\.k8s\.io\/kubectl)(:[\w.-]+)?(@sha256:[0-9a-f]+)?$/,
    image: 'bitnami/kubectl, registry.k8s.io/kubectl',
    entrypoint: ['kubectl'],
    programs: { kubectl: KUBECTL_SHIM },
  },
];

/** Finds the mapping of `image`; throws naming the image, the container and the table when there is none. */
export function resolveImage(image: string, where: string, table: readonly ImageMapping[] = IMAGE_TABLE): ImageMapping {
  const found = table.find((m) => m.pattern.test(image));
  if (!found) {
    throw new LocalRuntimeError(
      'E_IMAGE',
      `${where}: image '${image}' has no host mapping in the image table (runtime/local/images.ts IMAGE_TABLE maps ${table
        .map((m) => m.image)
        .join(', ')})`,
    );
  }
  return found;
}

/** The argv a container runs: command (or the image entrypoint) + args, with image paths mapped to host programs. */
export function containerArgv(
  mapping: ImageMapping,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
): string[] {
  const argv = command && command.length > 0 ? [...command, ...(args ?? [])] : [...mapping.entrypoint, ...(args ?? [])];
  const first = argv[0];
  if (first?.startsWith('/')) {
    const base = first.slice(first.lastIndexOf('/') + 1);
    const host = mapping.programs[base];
    if (host) argv[0] = host;
  }
  return argv;
}
