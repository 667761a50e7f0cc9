import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { isAlive, runOk } from '../process/index.ts';
import { type CachedImage, cachedImage, type ImageManifest, imageCacheDir } from './cache.ts';
import { DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, type ImageRecipe } from './recipes.ts';

/** Options of {@link ensureImage}. */
export interface BuildOptions {
  /** @default imageCacheDir() */
  readonly cacheDir?: string;
  /** Progress lines (mmdebstrap's own `I:` lines included). @default none */
  readonly onProgress?: (line: string) => void;
  /** How long to wait for another process building the same image. @default 15 minutes */
  readonly lockTimeoutMs?: number;
}

/** What {@link ensureImage} did. */
export interface BuildResult {
  readonly image: CachedImage;
  /** False when the image was in the cache (or another process built it while we waited). */
  readonly built: boolean;
  readonly seconds: number;
}

const LOADER = '/lib64/ld-linux-x86-64.so.2';
const LIBRARY_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu'];

/** The apt sources of a recipe's suites (security suites from the security archive). */
function sources(recipe: ImageRecipe): string[] {
  return recipe.suites.map(
    (suite) => `deb ${suite.endsWith('-security') ? DEBIAN_SECURITY_MIRROR : DEBIAN_MIRROR} ${suite} main`,
  );
}

/** A shell hook that adds the recipe's users before any package installs (the official images' fixed ids). */
function usersHook(recipe: ImageRecipe): string[] {
  if (!recipe.users?.length) return [];
  const lines = recipe.users.flatMap((u) => [
    `echo '${u.name}:x:${u.uid}:${u.gid}::${u.home}:/usr/sbin/nologin' >> "$1/etc/passwd"`,
    `echo '${u.name}:x:${u.gid}:' >> "$1/etc/group"`,
    `echo '${u.name}:!*:20000::::::' >> "$1/etc/shadow"`,
  ]);
  return [`--essential-hook=${lines.join('; ')}`];
}

/** Runs mmdebstrap, passing its progress lines on. */
function mmdebstrap(args: readonly string[], onProgress: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mmdebstrap', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const lines = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        if (/^[IWE]: /.test(line)) onProgress(line);
      }
    };
    child.stdout.on('data', lines);
    child.stderr.on('data', lines);
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`mmdebstrap ${args.join(' ')} exited with ${code}:\n${tail.join('\n')}`)),
    );
  });
}

/** The shared libraries (and loader) `binary` of `root` needs, as paths inside `root`. */
async function neededLibraries(root: string, binary: string): Promise<string[]> {
  const out = await runOk(join(root, LOADER), [
    '--library-path',
    LIBRARY_DIRS.map((d) => join(root, d)).join(':'),
    '--list',
    join(root, binary),
  ]);
  const found = [...out.matchAll(/=> (\S+) \(0x/g)].map((m) => m[1]!);
  return found.map((path) => `/${relative(root, path)}`);
}

/** Copies `from` (inside `full`) to `to` (inside `rootfs`), following symlinks, keeping the mode. */
function copyInto(full: string, from: string, rootfs: string, to: string): void {
  const target = join(rootfs, to);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(realpathSync(join(full, from)), target, { dereference: true, preserveTimestamps: true });
}

/** A strict image: only the kept files, their libraries and the kept dirs of the built system. */
async function strictRootfs(recipe: ImageRecipe, full: string, rootfs: string): Promise<void> {
  mkdirSync(rootfs, { mode: 0o755 });
  for (const keep of recipe.keepOnly ?? []) {
    copyInto(full, keep.from, rootfs, keep.to);
    for (const lib of await neededLibraries(full, keep.from)) {
      if (!existsSync(join(rootfs, lib))) copyInto(full, lib, rootfs, lib);
    }
  }
  for (const dir of recipe.keepDirs ?? []) {
    mkdirSync(dirname(join(rootfs, dir)), { recursive: true });
    cpSync(join(full, dir), join(rootfs, dir), { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  }
}

/** `package version` of the recipe's packages, read from the built system's dpkg database. */
async function packageVersions(recipe: ImageRecipe, full: string): Promise<Record<string, string>> {
  const out = await runOk('dpkg-query', [
    `--admindir=${join(full, 'var/lib/dpkg')}`,
    '-W',
    '-f',
    // dpkg-query's own format fields, not a template.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format
    '${Package} ${Version}\\n',
    ...recipe.packages,
  ]);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string]),
  );
}

/** A wrapper that runs a rootfs program on the host through the rootfs's own loader (works without root). */
function hostWrapper(rootfs: string, path: string): string {
  const libraries = LIBRARY_DIRS.map((d) => join(rootfs, d)).join(':');
  return `#!/bin/sh\n# Generated by runtime/images/build.ts: ${path} of ${rootfs}, through its own loader and libraries.\nexec '${join(rootfs, LOADER)}' --library-path '${libraries}' '${join(rootfs, path)}' "$@"\n`;
}

/** Builds the image into `temp`, laid out as its final dir `image.dir` will be. */
async function buildInto(image: CachedImage, temp: string, onProgress: (line: string) => void): Promise<void> {
  const recipe = image.recipe;
  const strict = Boolean(recipe.keepOnly?.length);
  const full = strict ? join(temp, 'full') : join(temp, 'rootfs');
  const started = Date.now();
  await mmdebstrap(
    [
      '--variant=minbase',
      `--include=${recipe.packages.join(',')}`,
      ...usersHook(recipe),
      recipe.suites[0]!,
      full,
      ...sources(recipe),
    ],
    onProgress,
  );
  for (const dir of recipe.dirs ?? []) {
    mkdirSync(join(full, dir.path), { recursive: true });
    chmodSync(join(full, dir.path), dir.mode);
    chownSync(join(full, dir.path), dir.uid, dir.gid);
  }
  for (const file of recipe.files ?? []) {
    mkdirSync(dirname(join(full, file.path)), { recursive: true });
    writeFileSync(join(full, file.path), file.content, { mode: file.mode ?? 0o644 });
    chmodSync(join(full, file.path), file.mode ?? 0o644);
  }
  const packages = await packageVersions(recipe, full);
  if (strict) {
    onProgress(`keeping only ${(recipe.keepOnly ?? []).map((k) => k.to).join(', ')} and what it needs`);
    await strictRootfs(recipe, full, join(temp, 'rootfs'));
    rmSync(full, { recursive: true, force: true });
  }
  mkdirSync(join(temp, 'host-bin'));
  for (const [name, path] of Object.entries(recipe.hostPrograms ?? {})) {
    writeFileSync(join(temp, 'host-bin', name), hostWrapper(image.rootfs, path), { mode: 0o755 });
  }
  const manifest: ImageManifest = {
    name: recipe.name,
    hash: image.hash,
    standsFor: recipe.standsFor,
    config: recipe.config,
    packages,
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
  writeFileSync(join(temp, 'image.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Takes the build lock of `image` (a file holding our pid, created exclusively). Returns false when the image
 * appeared while we waited for another builder. A lock whose holder died is taken over.
 */
async function lock(image: CachedImage, timeoutMs: number, onProgress: (line: string) => void): Promise<boolean> {
  const file = `${image.dir}.lock`;
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    if (existsSync(image.manifestFile)) return false;
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      // Built between our check and the lock: nothing to do.
      if (existsSync(image.manifestFile)) {
        rmSync(file, { force: true });
        return false;
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(file, 'utf8').trim() || 0);
    if (holder > 0 && !isAlive(holder)) {
      onProgress(`taking over the build lock of ${image.recipe.name} from pid ${holder} (gone)`);
      rmSync(file, { force: true });
      continue;
    }
    if (!told) onProgress(`waiting for pid ${holder} to finish building ${image.recipe.name}`);
    told = true;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for pid ${holder} building ${image.dir} (${file})`);
    }
    await sleep(500);
  }
}

/**
 * Builds the image of `recipe` unless the cache has it: mmdebstrap into a temp dir beside its final place, then one
 * rename, under a lock, so a reader never sees half an image and two processes building at once build it once.
 */
export async function ensureImage(recipe: ImageRecipe, options: BuildOptions = {}): Promise<BuildResult> {
  const started = Date.now();
  const cacheDir = options.cacheDir ?? imageCacheDir();
  const image = cachedImage(recipe, cacheDir);
  const progress = (line: string) => options.onProgress?.(`${recipe.name}: ${line}`);
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  if (existsSync(image.manifestFile)) return { image, built: false, seconds: seconds() };
  mkdirSync(cacheDir, { recursive: true });
  if (!(await lock(image, options.lockTimeoutMs ?? 900_000, progress))) {
    return { image, built: false, seconds: seconds() };
  }
  const temp = join(cacheDir, `.tmp-${recipe.name}-${image.hash}-${process.pid}`);
  try {
    rmSync(temp, { recursive: true, force: true });
    mkdirSync(temp);
    progress(`building with mmdebstrap (${recipe.suites.join(' + ')}: ${recipe.packages.join(', ')})`);
    await buildInto(image, temp, progress);
    // An unfinished dir of an earlier build that died after its rename is impossible (rename is the last step);
    // a dir without image.json is such a leftover of an older builder: replace it.
    rmSync(image.dir, { recursive: true, force: true });
    renameSync(temp, image.dir);
    progress(`built in ${seconds()} s -> ${image.dir}`);
    return { image, built: true, seconds: seconds() };
  } finally {
    rmSync(temp, { recursive: true, force: true });
    rmSync(`${image.dir}.lock`, { force: true });
  }
}
