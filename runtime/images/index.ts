export { type BuildOptions, type BuildResult, ensureImage } from './build.ts';
export {
  BUILDER_VERSION,
  builtImage,
  type CachedImage,
  cachedImage,
  type ImageManifest,
  ImageMissingError,
  imageCacheDir,
  readImageManifest,
  recipeHash,
} from './cache.ts';
export { type ImageProgram, imageProgram, imageProgramDirs } from './programs.ts';
export { type ImageConfig, type ImageRecipe, RECIPES, type RecipeName } from './recipes.ts';
