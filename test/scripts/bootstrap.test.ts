import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/**
 * A copy of the repository's entry points in a world-readable dir, and a PATH with the basic tools but no Redis, so
 * that the bootstrap runs as an unprivileged user (nobody) on a machine without redis-server.
 */
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function machineWithoutRedis() {
  // Not inside the harness root: that is private to root (0700) and nobody could not enter it.
  const dir = mkdtempSync(join(tmpdir(), 'slotforge-bootstrap-'));
  made.push(dir);
  chmodSync(dir, 0o755);
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, 'scripts'), { recursive: true });
  copyFileSync('package.json', join(repo, 'package.json'));
  copyFileSync('scripts/bootstrap.sh', join(repo, 'scripts/bootstrap.sh'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['bash', 'env', 'id', 'dirname', 'node', 'sh']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  symlinkSync('/usr/lib/node_modules/npm/bin/npm-cli.js', join(bin, 'npm'));
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o777 });
  chmodSync(home, 0o777);
  return {
    repo,
    env: { PATH: bin, HOME: home, npm_config_cache: join(home, '.npm'), npm_config_update_notifier: 'false' },
  };
}

async function asNobody(cwd: string, env: Record<string, string>, ...command: string[]) {
  const args = [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '/usr/bin/env',
    '-i',
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...command,
  ];
  return run('/usr/bin/setpriv', args, { cwd }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

// Redis, Sentinel and the exporter come from the images (runtime/images), not from Debian packages of the host: the
// host needs mmdebstrap to build them (and shellcheck for the pod scripts' lint).
const fix = 'sudo apt-get update && sudo apt-get install -y --no-install-recommends mmdebstrap prometheus shellcheck';

describe.skipIf(!isRoot)('bootstrap without redis-server, not root', () => {
  it('bootstrap.sh names the exact command to run and exits 1', async () => {
    const { repo, env } = machineWithoutRedis();
    const result = await asNobody(repo, env, 'bash', 'scripts/bootstrap.sh');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('slotforge: missing system packages: mmdebstrap prometheus shellcheck');
    expect(result.stderr).toContain(fix);
  });

  it.each([['start'], ['test']])('npm %s stops at the bootstrap with the same message', async (script) => {
    const { repo, env } = machineWithoutRedis();
    const result = await asNobody(repo, env, 'npm', script as string);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(fix);
    // It stopped there: nothing after the bootstrap (lint, vitest, the CLI) ran.
    expect(result.stdout + result.stderr).not.toMatch(
      /> slotforge@[\d.]+ lint|RUN\s+v\d|Synthesizing|manifests synthesized/,
    );
  });
});

/**
 * The image build runs from this checkout (node resolves tsx from its node_modules), so nobody must be able to read
 * it: a clone under a 0700 directory (mktemp -d) cannot be, and the run would only show ERR_MODULE_NOT_FOUND.
 */
const checkoutReadableByNobody =
  isRoot &&
  spawnSync('/usr/bin/setpriv', [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '/usr/bin/test',
    '-r',
    join(process.cwd(), 'node_modules', 'tsx', 'package.json'),
  ]).status === 0;

describe.skipIf(!checkoutReadableByNobody)('image build, not root', () => {
  it('names the exact command that builds the missing images and exits 1', async () => {
    const home = mkdtempSync(join(tmpdir(), 'slotforge-images-'));
    made.push(home);
    chmodSync(home, 0o777);
    const cache = join(home, 'cache');
    const result = await asNobody(
      process.cwd(),
      { PATH: '/usr/bin:/bin', HOME: home, SLOTFORGE_IMAGE_CACHE: cache },
      'node',
      '--import',
      'tsx',
      'runtime/images/main.ts',
      'build',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('building redis, redis-exporter, redis-7.0 needs root');
    expect(result.stderr).toContain(
      `sudo env SLOTFORGE_IMAGE_CACHE='${cache}' node --import tsx runtime/images/main.ts build redis redis-exporter redis-7.0`,
    );
  });
});
