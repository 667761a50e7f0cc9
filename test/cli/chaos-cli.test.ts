import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../chaos/index.ts';
import { pollUntil } from '../../runtime/process/index.ts';
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
    const evidence = join(dir, 'evidence');
    const { stdout } = await chaos(
      'run',
      'kill-replica',
      '--target',
      'harness',
      '--json',
      json,
      '--report',
      report,
      '--evidence',
      evidence,
    );
    expect(stdout).toMatch(/^PASS kill-replica: lost 0 /m);
    // Evidence is kept only for a failed scenario.
    expect(existsSync(evidence)).toBe(false);
    const [row] = JSON.parse(readFileSync(json, 'utf8')) as Array<Record<string, unknown>>;
    expect(row).toMatchObject({ scenario: 'kill-replica', target: 'harness', ok: true, lostAcknowledgedWrites: 0 });
    for (const field of ['recoveryMs', 'failedOperations', 'nodeTimeoutMs', 'topErrors', 'verdicts']) {
      expect(row).toHaveProperty(field);
    }
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('kill-replica');
  }, 120_000);

  it("keeps the deployment's logs of a scenario that failed, and exits 1", async () => {
    const evidence = join(harnessTempDir('chaos-cli-evidence'), 'evidence');
    // The harness cannot partition: the scenario fails after its deployment started.
    const failed = await chaos('run', 'partition-master', '--target', 'harness', '--evidence', evidence).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining("target 'harness' cannot partition") });
    const [kept] = readdirSync(evidence);
    expect(kept).toMatch(/^partition-master-\d{4}-\d\d-\d\dT\d{6}Z$/);
    expect((failed as { stderr: string }).stderr).toContain(
      `partition-master: evidence kept in ${join(evidence, kept!)}`,
    );
    const logs = readdirSync(join(evidence, kept!), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('redis.log'),
    );
    expect(logs).toHaveLength(6);
    for (const log of logs)
      expect(readFileSync(join(evidence, kept!, log), 'utf8')).toContain('Ready to accept connections');
    // --no-evidence: nothing kept, not even the default chaos-evidence/ of the working directory.
    const cwd = harnessTempDir('chaos-cli-no-evidence');
    const quiet = await run(
      process.execPath,
      [
        join(process.cwd(), 'bin/slotforge.js'),
        'chaos',
        'run',
        'partition-master',
        '--target',
        'harness',
        '--no-evidence',
      ],
      { cwd, timeout: 120_000 },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(quiet).toMatchObject({ code: 1, stderr: expect.not.stringContaining('evidence kept') });
    expect(readdirSync(cwd)).toEqual([]);
  }, 180_000);

  it('stops the deployment and everything it started on SIGTERM mid-run (exit 143)', async () => {
    // Its own TMPDIR: the harness cluster's dir and processes are found there, apart from other tests'.
    const tmp = harnessTempDir('chaos-cli-sigterm');
    const child = spawn(process.execPath, ['bin/slotforge.js', 'chaos', 'run', 'kill-replica', '--target', 'harness'], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    /** Pids of processes whose working directory is under the test's TMPDIR (the cluster's redis-servers). */
    const ours = () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readlinkSync(`/proc/${p}/cwd`).startsWith(tmp);
          } catch {
            return false;
          }
        });
    await pollUntil(() => output.includes('workloads') && ours().length > 0, {
      description: 'the scenario to be running on its cluster',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(output).toContain('SIGTERM: stopping the deployment');
    expect(ours()).toEqual([]);
    expect(readdirSync(tmp).filter((f) => f.startsWith('slotforge-chaos-'))).toEqual([]);
  }, 120_000);
});
