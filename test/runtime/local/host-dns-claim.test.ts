import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimHostDns, releaseHostDns } from '../../../runtime/local/index.ts';
import { harnessTempDir } from '../../support/index.ts';

describe('host DNS claims (one runtime per namespace publishes names in /etc/hosts)', () => {
  // Inside the run's harness root, which the global teardown removes.
  const root = () => join(harnessTempDir('claim'), 'host-dns');

  it('refuses a second runtime on the same namespace, naming the holder, and lets other namespaces through', async () => {
    const dir = root();
    const a = await claimHostDns('/state/a', ['slotforge'], 0, dir);
    await expect(claimHostDns('/state/b', ['slotforge', 'other'], 0, dir)).rejects.toMatchObject({
      code: 'E_HOST_DNS_BUSY',
      message: expect.stringMatching(/namespace 'slotforge'.*pid \d+, state dir \/state\/a.*slotforge down/),
    });
    // The failed claim released the namespace it had already taken ('other' sorts first).
    expect(existsSync(join(dir, 'other'))).toBe(false);
    const c = await claimHostDns('/state/c', ['demo'], 0, dir);
    c.release();
    a.release();
    expect(existsSync(join(dir, 'slotforge'))).toBe(false);
  });

  it('waits for the holder to release, up to its deadline', async () => {
    const dir = root();
    const a = await claimHostDns('/state/a', ['slotforge'], 0, dir);
    const started = Date.now();
    setTimeout(() => a.release(), 300);
    const b = await claimHostDns('/state/b', ['slotforge'], 5000, dir);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    b.release();
  });

  it('takes over a claim whose owner died, and one of its own state dir', async () => {
    const dir = root();
    mkdirSync(join(dir, 'slotforge'), { recursive: true });
    // pid 2^22 + 1 is above pid_max: never alive.
    writeFileSync(join(dir, 'slotforge', 'owner.json'), JSON.stringify({ pid: 4194305, stateDir: '/state/dead' }));
    const a = await claimHostDns('/state/a', ['slotforge'], 0, dir);
    const again = await claimHostDns('/state/a', ['slotforge'], 0, dir);
    again.release();
    expect(existsSync(join(dir, 'slotforge'))).toBe(false);
    a.release();
  });

  it('releaseHostDns drops only the claims of its state dir (down after a crash)', async () => {
    const dir = root();
    await claimHostDns('/state/a', ['x', 'y'], 0, dir);
    const b = await claimHostDns('/state/b', ['z'], 0, dir);
    expect(releaseHostDns('/state/a', dir)).toBe(2);
    expect(existsSync(join(dir, 'z'))).toBe(true);
    b.release();
  });
});
