import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../chaos/index.ts';
import { harnessTempDir } from '../support/index.ts';

const run = promisify(execFile);
const chaos = (...args: string[]) =>
  run(process.execPath, ['bin/slotforge.js', 'chaos', ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });

describe('slotforge chaos', () => {
  it('lists every scenario of the suite, cluster and Sentinel, with what it does', async () => {
    const { stdout } = await chaos('list');
    const names = stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/)[0]);
    expect(names).toEqual(SCENARIOS.map((s) => s.name));
    expect(names).toEqual(expect.arrayContaining(['kill-master', 'full-restart', 'sentinel-kill-primary']));
  });

  it('refuses bad input naming the field, the value and the rule', async () => {
    await expect(chaos('run')).rejects.toMatchObject({ stderr: expect.stringContaining('name at least one scenario') });
    await expect(chaos('run', 'kill-everything')).rejects.toMatchObject({
      stderr: expect.stringMatching(/unknown scenario 'kill-everything'; known: kill-master, /),
    });
    await expect(chaos('run', 'kill-master', '--target', 'moon')).rejects.toMatchObject({
      stderr: expect.stringContaining("option --target must be one of local, harness, kubernetes (got 'moon')"),
    });
    await expect(chaos('run', 'sentinel-kill-primary', '--target', 'harness')).rejects.toMatchObject({
      stderr: expect.stringContaining("scenario 'sentinel-kill-primary' runs on a RedisSentinel deployment"),
    });
  });

  it('runs a scenario and writes the JSON figures and the HTML timeline', async () => {
    const dir = harnessTempDir('chaos-cli');
    const json = join(dir, 'results.json');
    const report = join(dir, 'report.html');
    const { stdout } = await chaos('run', 'kill-replica', '--target', 'harness', '--json', json, '--report', report);
    expect(stdout).toMatch(/^PASS kill-replica: lost 0 /m);
    const [row] = JSON.parse(readFileSync(json, 'utf8')) as Array<Record<string, unknown>>;
    expect(row).toMatchObject({ scenario: 'kill-replica', target: 'harness', ok: true, lostAcknowledgedWrites: 0 });
    for (const field of ['recoveryMs', 'failedOperations', 'nodeTimeoutMs', 'topErrors', 'verdicts']) {
      expect(row).toHaveProperty(field);
    }
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('kill-replica');
  }, 120_000);
});
