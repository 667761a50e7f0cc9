/**
 * `node --import tsx runtime/images/main.ts build [NAME...]`: builds the images missing from the cache (all recipes
 * by default), with progress. `status`: prints each image, its cache dir and whether it is built (exit 1 when one is
 * missing). Called by scripts/bootstrap.sh.
 */
import { existsSync } from 'node:fs';
import { ensureImage } from './build.ts';
import { cachedImage, imageCacheDir } from './cache.ts';
import { RECIPES, type RecipeName } from './recipes.ts';

function names(args: readonly string[]): RecipeName[] {
  const all = Object.keys(RECIPES) as RecipeName[];
  if (args.length === 0) return all;
  for (const name of args) {
    if (!(name in RECIPES)) throw new Error(`unknown image '${name}' (recipes: ${all.join(', ')})`);
  }
  return args as RecipeName[];
}

async function main(argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'status') {
    let missing = 0;
    for (const name of names(rest)) {
      const image = cachedImage(RECIPES[name]);
      const built = existsSync(image.manifestFile);
      if (!built) missing++;
      console.log(`${name}\t${built ? 'built' : 'missing'}\t${image.dir}`);
    }
    return missing > 0 ? 1 : 0;
  }
  if (verb === 'build') {
    if (process.getuid?.() !== 0) {
      const wanted = names(rest).filter((name) => !existsSync(cachedImage(RECIPES[name]).manifestFile));
      if (wanted.length === 0) return 0;
      console.error(
        `slotforge images: building ${wanted.join(', ')} needs root (mmdebstrap, chown to the image users).`,
      );
      console.error('slotforge images: run this once, then try again:');
      console.error(
        `  sudo env SLOTFORGE_IMAGE_CACHE='${imageCacheDir()}' node --import tsx runtime/images/main.ts build ${wanted.join(' ')}`,
      );
      return 1;
    }
    for (const name of names(rest)) {
      const result = await ensureImage(RECIPES[name], {
        onProgress: (line) => console.log(`slotforge images: ${line}`),
      });
      if (!result.built)
        console.log(`slotforge images: ${name}: in the cache (${result.image.dir}), ${result.seconds} s`);
    }
    return 0;
  }
  console.error('usage: main.ts build [NAME...] | status [NAME...]');
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`slotforge images: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
