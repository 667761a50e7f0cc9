import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type ImageConfig, type ImageRecipe, RECIPES, type RecipeName } from './recipes.ts';

/**
 * Bumped when the builder changes what it makes of the same recipe (layout, wrappers), so old cache entries are not
 * taken for new ones.
 */
export const BUILDER_VERSION = 1;

/**
 * The image cache, outside the repo: `SLOTFORGE_IMAGE_CACHE`, else `$XDG_CACHE_HOME/slotforge/images`, else
 * `~/.cache/slotforge/images`.
 */
export function imageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SLOTFORGE_IMAGE_CACHE) return env.SLOTFORGE_IMAGE_CACHE;
  const cacheHome = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(cacheHome, 'slotforge', 'images');
}

/** Short hash of a recipe (and the builder version): the cache key. */
export function recipeHash(recipe: ImageRecipe): string {
  return createHash('sha256')
    .update(JSON.stringify({ builder: BUILDER_VERSION, recipe }))
    .digest('hex')
    .slice(0, 16);
}

/** What the builder records beside the rootfs (`image.json`). */
export interface ImageManifest {
  readonly name: string;
  readonly hash: string;
  readonly standsFor: string;
  readonly config: ImageConfig;
  /** `package version` of every installed package of interest (the recipe's packages). */
  readonly packages: Readonly<Record<string, string>>;
  readonly builtAt: string;
  readonly buildSeconds: number;
}

/** One image in the cache: where its parts are. */
export interface CachedImage {
  readonly recipe: ImageRecipe;
  readonly hash: string;
  /** `<cache>/<name>-<hash>` */
  readonly dir: string;
  /** The root file system containers are chrooted into (never written after the build). */
  readonly rootfs: string;
  /** Wrappers that run {@link ImageRecipe.hostPrograms} on the host through the rootfs's loader. */
  readonly hostBin: string;
  readonly manifestFile: string;
}

/** Where the image of `recipe` is (or would be) in the cache. */
export function cachedImage(recipe: ImageRecipe, cacheDir = imageCacheDir()): CachedImage {
  const hash = recipeHash(recipe);
  const dir = join(cacheDir, `${recipe.name}-${hash}`);
  return {
    recipe,
    hash,
    dir,
    rootfs: join(dir, 'rootfs'),
    hostBin: join(dir, 'host-bin'),
    manifestFile: join(dir, 'image.json'),
  };
}

/** Raised when an image the caller needs has not been built. */
export class ImageMissingError extends Error {
  readonly code = 'E_IMAGE_MISSING';
  constructor(
    readonly image: string,
    readonly dir: string,
  ) {
    super(
      `image '${image}' is not built (expected ${dir}); run \`npm run bootstrap\` (as root) or ` +
        `\`node --import tsx runtime/images/main.ts build\` to build it`,
    );
    this.name = 'ImageMissingError';
  }
}

/** The built image of `name`; throws {@link ImageMissingError} when it is not in the cache. */
export function builtImage(name: RecipeName, cacheDir = imageCacheDir()): CachedImage {
  const image = cachedImage(RECIPES[name], cacheDir);
  if (!existsSync(image.manifestFile)) throw new ImageMissingError(name, image.dir);
  return image;
}

/** The manifest the builder wrote for a built image. */
export function readImageManifest(image: CachedImage): ImageManifest {
  return JSON.parse(readFileSync(image.manifestFile, 'utf8')) as ImageManifest;
}
