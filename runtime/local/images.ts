import { fileURLToPath } from 'node:url';
import { LocalRuntimeError } from './errors.ts';

/**
 * The sh kubectl of the old auth Job (`bitnami/kubectl` with a shell): only while the charts still use that image.
 * @deprecated transitional: drop with {@link LEGACY_KUBECTL_ENV} once the charts' auth Job runs registry.k8s.io/kubectl.
 */
export const KUBECTL_SHIM = fileURLToPath(new URL('./kubectl.sh', import.meta.url));

/**
 * Set to 1, `bitnami/kubectl` images map to {@link KUBECTL_SHIM} with the host's shell, as before the built-in
 * kubectl; unset, they are refused (the image no longer exists upstream).
 * @deprecated transitional, for the charts' old auth Job until the infra branch replaces it.
 */
export const LEGACY_KUBECTL_ENV = 'SLOTFORGE_LEGACY_KUBECTL';

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
  /**
   * The container is not a host program but the runtime's own implementation of the image (`kubectl`: the
   * runtime's kubectl, with no shell and nothing else in the image).
   */
  readonly builtin?: 'kubectl';
}

/** Images that no longer exist upstream: a pull would fail, so the runtime refuses them with the reason. */
const GONE_IMAGES: ReadonlyArray<{ readonly pattern: RegExp; readonly reason: string }> = [
  {
    pattern: /^(docker\.io\/)?bitnami\/kubectl(:[\w.-]+)?(@sha256:[0-9a-f]+)?$/,
    reason:
      'Bitnami removed its versioned tags from docker.io in 2025 (bitnami/containers#83267), so this image cannot be pulled; use registry.k8s.io/kubectl:<version> or rancher/kubectl:<version> (kubectl only, no shell)',
  },
];

const REDIS_PROGRAMS = {
  'redis-server': '/usr/bin/redis-server',
  'redis-cli': '/usr/bin/redis-cli',
  'redis-sentinel': '/usr/bin/redis-sentinel',
  'redis-check-aof': '/usr/bin/redis-check-aof',
  'redis-check-rdb': '/usr/bin/redis-check-rdb',
};

/**
 * The one table from images to host programs. The host runs Debian 12's Redis 7.0.15 and prometheus-redis-exporter
 * 1.45, so only images of those lines map; kubectl images run the runtime's built-in kubectl (Secrets only, no shell). Anything
 * else is an error that names the image and this table. Every image also has the host's POSIX tools (sh, getent,
 * coreutils) on its PATH.
 */
export const IMAGE_TABLE: readonly ImageMapping[] = [
  {
    pattern: /^(docker\.io\/)?(library\/)?redis:7\.0(\.\d+)?(-[a-z0-9.]+)?(@sha256:[0-9a-f]+)?$/,
    image: 'redis:7.0.x',
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
    pattern: /^(registry\.k8s\.io\/kubectl|(docker\.io\/)?rancher\/kubectl)(:[\w.-]+)?(@sha256:[0-9a-f]+)?$/,
    image: 'registry.k8s.io/kubectl, rancher/kubectl',
    entrypoint: ['kubectl'],
    programs: {},
    builtin: 'kubectl',
  },
];

/** The old sh kubectl for `bitnami/kubectl`, while {@link LEGACY_KUBECTL_ENV} is set. @deprecated transitional */
const LEGACY_KUBECTL: ImageMapping = {
  pattern: GONE_IMAGES[0]!.pattern,
  image: 'bitnami/kubectl (legacy)',
  entrypoint: ['kubectl'],
  programs: { kubectl: KUBECTL_SHIM },
};

/** The programs to put on every container's PATH: the table's, and the legacy kubectl while it is enabled. */
export function shimPrograms(): Array<[string, string]> {
  const mappings = process.env[LEGACY_KUBECTL_ENV] === '1' ? [...IMAGE_TABLE, LEGACY_KUBECTL] : IMAGE_TABLE;
  return mappings.flatMap((m) => Object.entries(m.programs));
}

/** Finds the mapping of `image`; throws naming the image, the container and the table when there is none. */
export function resolveImage(image: string, where: string, table: readonly ImageMapping[] = IMAGE_TABLE): ImageMapping {
  const found = table.find((m) => m.pattern.test(image));
  const gone = found ? undefined : GONE_IMAGES.find((g) => g.pattern.test(image));
  if (gone && process.env[LEGACY_KUBECTL_ENV] === '1' && LEGACY_KUBECTL.pattern.test(image)) return LEGACY_KUBECTL;
  if (gone)
    throw new LocalRuntimeError('E_IMAGE', `${where}: image '${image}' no longer exists upstream: ${gone.reason}`);
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
