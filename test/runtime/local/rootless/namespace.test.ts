import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  namespaceArgv,
  namespaceEnv,
  upperMountPointLines,
  userNamespacesEnabled,
} from '../../../../runtime/local/rootless/index.ts';

const run = promisify(execFile);
const inNamespace = async (script: string) => {
  const [command, ...args] = namespaceArgv(['/bin/sh', '-c', script]);
  return run(command!, args, { env: namespaceEnv(), timeout: 20_000 });
};

describe.runIf(userNamespacesEnabled())('the non-root namespace', () => {
  it('is root inside, with a private /run where `ip netns add` works and a bridge can be made', async () => {
    const { stdout } = await inNamespace(
      'id -u; ip netns add sfnstest && ip netns list; ip link add sfnsbr type bridge && ip -o link show sfnsbr | cut -d: -f2; ls /run',
    );
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('0');
    expect(lines).toContain('sfnstest');
    expect(lines.map((l) => l.trim())).toContain('sfnsbr');
    // Nothing of it reaches the host: the namespace and the bridge went with the namespace.
    const host = await run('ip', ['-o', 'link', 'show']);
    expect(host.stdout).not.toContain('sfnsbr');
    expect((await run('ip', ['netns', 'list'])).stdout).not.toContain('sfnstest');
  });

  it("has its own /etc/hosts, without the host's runtime blocks, writable and gone with the namespace", async () => {
    const { stdout } = await inNamespace(
      'grep -c "BEGIN slotforge local runtime" /etc/hosts; echo "10.9.9.9 sfnstest.example" >> /etc/hosts && getent hosts sfnstest.example',
    ).catch((error: { stdout: string }) => error);
    expect(stdout.split('\n')[0]).toBe('0');
    expect(stdout).toContain('10.9.9.9');
    const host = await run('getent', ['hosts', 'sfnstest.example']).catch((error: { code: number }) => error);
    expect((host as { code?: number }).code).toBe(2);
  });
});

describe('container mount points in the non-root mode', () => {
  it('makes what the image lacks in the container layer and leaves present paths alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-upper-'));
    try {
      const rootfs = join(dir, 'rootfs');
      const upper = join(dir, 'upper');
      await run('mkdir', ['-p', join(rootfs, 'etc'), join(rootfs, 'data'), upper]);
      writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
      const lines = upperMountPointLines(
        rootfs,
        upper,
        [
          { target: '/etc/hosts', file: true },
          { target: '/etc/passwd', file: true },
          { target: '/data', file: false },
          { target: '/work/dir', file: false },
        ],
        (v) => `'${v}'`,
      );
      await run('/bin/sh', ['-ec', lines.join('\n')]);
      const { stdout } = await run('find', [upper, '-mindepth', '1', '-printf', '%P %y\n']);
      expect(stdout.trim().split('\n').sort()).toEqual(['etc d', 'etc/hosts f', 'work d', 'work/dir d']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
