import { fileURLToPath } from 'node:url';
import { builtImage, type CachedImage, type ImageConfig, RECIPES, type RecipeName } from '../images/index.ts';
import { LocalRuntimeError } from './errors.ts';

/** The runtime's own kubectl: `get secret` and `create secret generic` against its object store. */
export const KUBECTL_SHIM = fileURLToPath(new URL('./kubectl.sh', import.meta.url));

/**
 * A built-in image: no file system of its own, the container runs host programs (from {@link KUBECTL_SHIM} and the
 * like) unchrooted, first on its PATH. Only the runtime's kubectl is one; the built-in kubectl of the admission work
 * replaces this entry (and `programs` becomes its program).
 */
export interface BuiltinImage {
  /** The image's ENTRYPOINT + CMD, run when the container sets no `command`. */
  readonly entrypoint: readonly string[];
  /**
   * Programs of the image and the host program each one runs. They are put on the container's PATH (as shims), and
   * an absolute path in `command` whose base name is listed here is mapped too.
   */
  readonly programs: Readonly<Record<string, string>>;
}

/** How one container image maps to something this runtime can run. */
export interface ImageMapping {
  /** Matches the image reference (registry, repository and tag). */
  readonly pattern: RegExp;
  /** For people and error messages, e.g. `redis:8.0.x`. */
  readonly image: string;
  /** How close the local image is to the one the reference pulls. */
  readonly fidelity: string;
  /** The recipe whose rootfs containers of this image are chrooted into (runtime/images/recipes.ts). */
  readonly recipe?: RecipeName;
  /** A built-in image instead of a rootfs (see {@link BuiltinImage}). */
  readonly builtin?: BuiltinImage;
}

const TAG = '(@sha256:[0-9a-f]+)?$';

/**
 * The one table from image references to what runs them. Redis and the exporter run chrooted in image file systems
 * built from Debian packages (runtime/images/recipes.ts); kubectl is built in. Anything else is an error that names
 * the image and this table.
 */
export const IMAGE_TABLE: readonly ImageMapping[] = [
  {
    pattern: new RegExp(`^(docker\\.io/)?(library/)?redis:8\\.0(\\.\\d+)?(-bookworm|-trixie)?${TAG}`),
    image: 'redis:8.0.x',
    fidelity: RECIPES.redis.standsFor,
    recipe: 'redis',
  },
  {
    // Transitional: manifests that still name the 7.0 line run on the 8.0 image until their default images move to
    // 8.0 (imagerefs work). Remove this row then: a 7.0 reference must not pass for what we test.
    pattern: new RegExp(`^(docker\\.io/)?(library/)?redis:7\\.0(\\.\\d+)?${TAG}`),
    image: 'redis:7.0.x (transitional: runs the 8.0 image)',
    fidelity: 'different Redis line: the 7.0 reference runs on the redis:8.0.x image',
    recipe: 'redis',
  },
  {
    pattern: new RegExp(`^(docker\\.io/)?oliver006/redis_exporter(:[\\w.-]+)?${TAG}`),
    image: 'oliver006/redis_exporter',
    fidelity: RECIPES['redis-exporter'].standsFor,
    recipe: 'redis-exporter',
  },
  {
    pattern: new RegExp(`^((docker\\.io/)?bitnami/kubectl|registry\\.k8s\\.io/kubectl)(:[\\w.-]+)?${TAG}`),
    image: 'bitnami/kubectl, registry.k8s.io/kubectl',
    fidelity: 'built in: the runtime kubectl (Secrets only), host sh and tools',
    builtin: { entrypoint: ['kubectl'], programs: { kubectl: KUBECTL_SHIM } },
  },
];

/** Finds the mapping of `image`; throws naming the image, the container and the table when there is none. */
export function resolveImage(image: string, where: string, table: readonly ImageMapping[] = IMAGE_TABLE): ImageMapping {
  const found = table.find((m) => m.pattern.test(image));
  if (!found) {
    throw new LocalRuntimeError(
      'E_IMAGE',
      `${where}: image '${image}' has no entry in the image table (runtime/local/images.ts IMAGE_TABLE maps ${table
        .map((m) => m.image)
        .join(', ')})`,
    );
  }
  return found;
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
 * CMD), `args` replaces the CMD. For a built-in image, an absolute path whose base name is one of its programs is
 * mapped to the host program.
 * @see https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#notes
 */
export function containerArgv(
  mapping: ImageMapping,
  config: Pick<ImageConfig, 'entrypoint' | 'cmd'> | undefined,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
): string[] {
  const entrypoint = config?.entrypoint ?? mapping.builtin?.entrypoint ?? [];
  const argv =
    command && command.length > 0
      ? [...command, ...(args ?? [])]
      : [...entrypoint, ...(args && args.length > 0 ? args : (config?.cmd ?? []))];
  const first = argv[0];
  if (mapping.builtin && first?.startsWith('/')) {
    const host = mapping.builtin.programs[first.slice(first.lastIndexOf('/') + 1)];
    if (host) argv[0] = host;
  }
  return argv;
}
