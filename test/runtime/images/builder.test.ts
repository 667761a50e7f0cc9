import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cachedImage,
  ensureImage,
  type ImageRecipe,
  imageCacheDir,
  recipeHash,
} from '../../../runtime/images/index.ts';
import { harnessTempDir } from '../../support/index.ts';

const TINY: ImageRecipe = {
  name: 'tiny',
  standsFor: 'a test image',
  suites: ['trixie'],
  packages: ['hello'],
  config: { user: '0:0', workingDir: '/', entrypoint: ['/hello'], cmd: [], env: {} },
};

/**
 * A stand-in for mmdebstrap (the builder's locking, atomic rename and clean-up are what is under test; the real
 * mmdebstrap is exercised by `npm run bootstrap` and test/runtime/images/no-host-redis.test.ts's checks of the built image):
 * it counts its runs, writes a dpkg status naming the recipe's package into its target dir, or fails half-way.
 */
function fakeMmdebstrap(dir: string, fail: boolean): { env: NodeJS.ProcessEnv; runs: () => number } {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const counter = join(dir, 'runs');
  writeFileSync(counter, '');
  writeFileSync(
    join(bin, 'mmdebstrap'),
    [
      '#!/bin/sh',
      `echo run >> '${counter}'`,
      'for a; do case "$a" in */.tmp-*) target=$a ;; esac; done',
      'echo "I: fake mmdebstrap into $target" >&2',
      'sleep 1',
      fail
        ? 'mkdir -p "$target/usr"; echo "E: no such suite" >&2; exit 1'
        : `mkdir -p "$target/var/lib/dpkg"; printf 'Package: hello\\nStatus: install ok installed\\nVersion: 1.0\\nMaintainer: x\\nDescription: x\\n\\n' > "$target/var/lib/dpkg/status"`,
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'mmdebstrap'), 0o755);
  return {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    runs: () => readFileSync(counter, 'utf8').split('\n').filter(Boolean).length,
  };
}

/** Runs `ensureImage` of TINY in a child process (another builder), resolving with its output lines. */
function builderProcess(cacheDir: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const script = `import { ensureImage } from './runtime/images/index.ts';
const r = await ensureImage(${JSON.stringify(TINY)}, { cacheDir: ${JSON.stringify(cacheDir)}, onProgress: (l) => console.log(l) });
console.log('built=' + r.built);`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c;
    });
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('image cache', () => {
  it('lives outside the repo: SLOTFORGE_IMAGE_CACHE, else XDG_CACHE_HOME, else ~/.cache', () => {
    expect(imageCacheDir({ SLOTFORGE_IMAGE_CACHE: '/c' })).toBe('/c');
    expect(imageCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/slotforge/images');
    expect(imageCacheDir({ HOME: '/h' })).toBe('/h/.cache/slotforge/images');
  });

  it('keys an image by the hash of its recipe: any change makes a new directory', () => {
    expect(recipeHash(TINY)).toBe(recipeHash({ ...TINY }));
    expect(recipeHash({ ...TINY, packages: ['hello', 'curl'] })).not.toBe(recipeHash(TINY));
    expect(cachedImage(TINY, '/c').dir).toBe(`/c/tiny-${recipeHash(TINY)}`);
  });
});

describe.runIf(process.getuid?.() === 0)('image builder', () => {
  it('two processes building the same image at once build it once; both get it, nothing is left beside it', async () => {
    const dir = harnessTempDir('builder');
    const cacheDir = join(dir, 'cache');
    const fake = fakeMmdebstrap(dir, false);
    const [a, b] = await Promise.all([builderProcess(cacheDir, fake.env), builderProcess(cacheDir, fake.env)]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    expect(fake.runs()).toBe(1);
    expect([a.output, b.output].map((o) => /built=(\w+)/.exec(o)?.[1]).sort()).toEqual(['false', 'true']);
    expect(`${a.output}${b.output}`).toMatch(/tiny: waiting for pid \d+ to finish building tiny/);
    expect(`${a.output}${b.output}`).toContain('tiny: I: fake mmdebstrap into');
    const image = cachedImage(TINY, cacheDir);
    expect(readdirSync(cacheDir)).toEqual([`tiny-${image.hash}`]);
    expect(JSON.parse(readFileSync(image.manifestFile, 'utf8'))).toMatchObject({
      name: 'tiny',
      hash: image.hash,
      packages: { hello: '1.0' },
    });
    // A cache hit builds nothing.
    expect(await ensureImage(TINY, { cacheDir })).toMatchObject({ built: false });
    expect(fake.runs()).toBe(1);
  });

  it('a failed build leaves no image, no temp dir and no lock, and says what mmdebstrap said', async () => {
    const dir = harnessTempDir('builder');
    const cacheDir = join(dir, 'cache');
    const fake = fakeMmdebstrap(dir, true);
    const result = await builderProcess(cacheDir, fake.env);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('E: no such suite');
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('takes over the lock of a builder that died', async () => {
    const dir = harnessTempDir('builder');
    const cacheDir = join(dir, 'cache');
    mkdirSync(cacheDir, { recursive: true });
    const image = cachedImage(TINY, cacheDir);
    // A pid no process can have: above the largest pid_max Linux allows (2^22).
    writeFileSync(`${image.dir}.lock`, String(2 ** 22 + 7));
    const fake = fakeMmdebstrap(dir, false);
    const result = await builderProcess(cacheDir, fake.env);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/taking over the build lock of tiny from pid \d+ \(gone\)/);
    expect(existsSync(image.manifestFile)).toBe(true);
    expect(existsSync(`${image.dir}.lock`)).toBe(false);
  });
});
