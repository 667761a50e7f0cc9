import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { builtImage, imageProgram, readImageManifest } from '../../../runtime/images/index.ts';

/** Source trees whose code starts processes. */
const TREES = ['runtime', 'test', 'bench', 'chaos', 'cli', 'dashboards', 'scripts', 'bin', 'infra'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') return [];
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|js|sh)$/.test(name) ? [path] : [];
  });
}

/**
 * A program started by name from TypeScript: `command: 'redis-server'`, `run('redis-cli'`, `spawn('redis-sentinel'`,
 * `startProcess({ command: 'prometheus-redis-exporter'`, or the host's absolute paths anywhere.
 */
const HOST_REDIS =
  /(?:command:|binary:|\b(?:run|runOk|spawn|execFile|execFileSync|spawnSync)\()\s*['"`](?:redis-server|redis-sentinel|redis-cli|redis-benchmark|prometheus-redis-exporter)['"`]|\/usr\/bin\/(?:redis-server|redis-sentinel|redis-cli|prometheus-redis-exporter)/;

describe('no code path starts the host Redis (Redis 8.0 from the image everywhere)', () => {
  it('no source starts redis-server, redis-sentinel, redis-cli or the exporter by host name or host path', () => {
    const offenders = TREES.flatMap(sources)
      // The recipes name paths inside the image rootfs, not the host's.
      .filter((file) => !['test/runtime/images/no-host-redis.test.ts', 'runtime/images/recipes.ts'].includes(file))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .map((line, i) => ({ file, line: i + 1, text: line.trim() }))
          .filter(({ text }) => !/^(\*|\/\/|#)/.test(text) && HOST_REDIS.test(text)),
      );
    expect(offenders).toEqual([]);
  });

  it('the guard itself catches each form', () => {
    for (const line of [
      "command: 'redis-server',",
      "await run('redis-cli', ['ping'])",
      "spawn('redis-sentinel', [file])",
      "command: 'prometheus-redis-exporter',",
      "const bin = '/usr/bin/redis-server';",
    ]) {
      expect(HOST_REDIS.test(line), line).toBe(true);
    }
    expect(HOST_REDIS.test("command: imageProgram('redis-server'),")).toBe(false);
  });

  it('redis-server, redis-sentinel and redis-cli on a test worker PATH are the image programs, Redis 8.0', () => {
    for (const program of ['redis-server', 'redis-sentinel', 'redis-cli']) {
      const found = execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
      expect(found).toBe(imageProgram(program as 'redis-server'));
    }
    expect(execFileSync('redis-server', ['--version'], { encoding: 'utf8' })).toMatch(/^Redis server v=8\.0\.\d+ /);
    expect(execFileSync('redis-cli', ['--version'], { encoding: 'utf8' })).toMatch(/^redis-cli 8\.0\.\d+/);
  });

  it("the redis image holds Debian trixie's patched 8.0.2 (CVE-2025-49844 fixed, per its changelog)", () => {
    const image = builtImage('redis');
    expect(readImageManifest(image).packages['redis-server']).toMatch(/^5:8\.0\.2-3\+deb13u\d+$/);
    const changelog = gunzipSync(
      readFileSync(join(image.rootfs, 'usr/share/doc/redis-server/changelog.Debian.gz')),
    ).toString();
    expect(changelog).toContain('CVE-2025-49844');
  });
});
