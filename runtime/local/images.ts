import { builtImage, type CachedImage, type ImageConfig, RECIPES, type RecipeName } from '../images/index.ts';
import { LocalRuntimeError } from './errors.ts';

/**
 * A built-in image: no file system of its own. The only one is kubectl: the runtime's own kubectl (runtime/local/
 * kubectl/) runs the container's argv against the object store, with no shell and nothing else in the image.
 */
export interface BuiltinImage {
  readonly kind: 'kubectl';
  /** The image's ENTRYPOINT + CMD, run when the container sets no `command`. */
  readonly entrypoint: readonly string[];
}

/** How one container image maps to something this runtime can run. */
export interface ImageMapping {
  /** Matches the image reference (registry, repository and tag). */
  readonly pattern: RegExp;
  /** For people and error messages, e.g. `redis:8.x`. */
  readonly image: string;
  /** How close the local image is to the one the reference pulls. */
  readonly fidelity: string;
  /** The recipe whose rootfs containers of this image are chrooted into (runtime/images/recipes.ts). */
  readonly recipe?: RecipeName;
  /** A built-in image instead of a rootfs (see {@link BuiltinImage}). */
  readonly builtin?: BuiltinImage;
}

const TAG = '(@sha256:[0-9a-f]+)?$';

/** Images that no longer exist upstream: a pull would fail, so the runtime refuses them with the reason. */
const GONE_IMAGES: ReadonlyArray<{ readonly pattern: RegExp; readonly reason: string }> = [
  {
    pattern: new RegExp(`^(docker\\.io/)?bitnami/kubectl(:[\\w.-]+)?${TAG}`),
    reason:
      'Bitnami removed its versioned tags from docker.io in 2025 (bitnami/containers#83267), so this image cannot be pulled; use registry.k8s.io/kubectl:<version> or rancher/kubectl:<version> (kubectl only, no shell)',
  },
];

/**
 * The one table from image references to what runs them. Redis and the exporter run chrooted in image file systems
 * built from Debian packages (runtime/images/recipes.ts); kubectl is built in. Anything else is an error that names
 * the image and this table. Which exact tags the charts deploy, and where each was checked upstream, is
 * infra/images.ts.
 */
export const IMAGE_TABLE: readonly ImageMapping[] = [
  {
    // The deployed line is 8.2 (8.0 left upstream maintenance in 2026-05); Debian's 8.0.2 carries its security fixes.
    pattern: new RegExp(`^(docker\\.io/)?(library/)?redis:8\\.[02](\\.\\d+)?(-bookworm|-trixie)?${TAG}`),
    image: 'redis:8.0.x, redis:8.2.x',
    fidelity: RECIPES.redis.standsFor,
    recipe: 'redis',
  },
  {
    pattern: new RegExp(`^(docker\\.io/)?oliver006/redis_exporter(:[\\w.-]+)?${TAG}`),
    image: 'oliver006/redis_exporter',
    fidelity: RECIPES['redis-exporter'].standsFor,
    recipe: 'redis-exporter',
  },
  {
    pattern: new RegExp(`^(registry\\.k8s\\.io/kubectl|(docker\\.io/)?rancher/kubectl)(:[\\w.-]+)?${TAG}`),
    image: 'registry.k8s.io/kubectl, rancher/kubectl',
    fidelity:
      "built in: the runtime's kubectl (get/create/apply Secrets, RBAC of the pod's ServiceAccount enforced), no shell, like the upstream image",
    builtin: { kind: 'kubectl', entrypoint: ['kubectl'] },
  },
];

/** Finds the mapping of `image`; throws naming the image, the container and the table when there is none. */
export function resolveImage(image: string, where: string, table: readonly ImageMapping[] = IMAGE_TABLE): ImageMapping {
  const found = table.find((m) => m.pattern.test(image));
  if (found) return found;
  const gone = GONE_IMAGES.find((g) => g.pattern.test(image));
  if (gone) {
    throw new LocalRuntimeError('E_IMAGE', `${where}: image '${image}' no longer exists upstream: ${gone.reason}`);
  }
  throw new LocalRuntimeError(
    'E_IMAGE',
    `${where}: image '${image}' has no entry in the image table (runtime/local/images.ts IMAGE_TABLE maps ${table
      .map((m) => m.image)
      .join(', ')})`,
  );
}

/** The built image of a rootfs mapping; throws E_IMAGE naming what to run when it is not built. */
export function mappedImage(mapping: ImageMapping, where: string): CachedImage | undefined {
  if (!mapping.recipe) return undefined;
  try {
    return builtImage(mapping.recipe);
  } catch (error) {
    throw new LocalRuntimeError('E_IMAGE', `${where}: ${(error as Error).message}`);
  }
}

/**
 * The argv a container runs, as the container runtime composes it: `command` replaces the ENTRYPOINT (and drops the
 * CMD), `args` replaces the CMD.
 * @see https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#notes
 */
export function containerArgv(
  mapping: ImageMapping,
  config: Pick<ImageConfig, 'entrypoint' | 'cmd'> | undefined,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
): string[] {
  const entrypoint = config?.entrypoint ?? mapping.builtin?.entrypoint ?? [];
  return command && command.length > 0
    ? [...command, ...(args ?? [])]
    : [...entrypoint, ...(args && args.length > 0 ? args : (config?.cmd ?? []))];
}
