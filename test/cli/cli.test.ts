import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { leftovers, liveSupervisor, type RuntimeStatus } from '../../runtime/local/index.ts';
import { isAlive, pollUntil } from '../../runtime/process/index.ts';
import { harnessTempDir, NOTHING_LEFT } from '../support/index.ts';

const run = promisify(execFile);
const bin = 'bin/slotforge.js';
/**
 * The hand-written fixture (2 standalone Redis pods, a headless Service, a Job: fast to start and stop), in a
 * namespace and at mount paths of its own so it runs beside test/runtime/local's copy without sharing host names or paths.
 */
const fixture = (() => {
  const path = join(harnessTempDir('cli-fixture'), 'basic.yaml');
  const text = readFileSync('test/runtime/local/fixtures/basic.yaml', 'utf8')
    .replaceAll('namespace: demo', 'namespace: demo-cli')
    .replaceAll('/opt/scripts', '/opt/scripts-cli')
    .replaceAll('/opt/slotforge-test', '/opt/slotforge-test-cli');
  writeFileSync(path, text);
  return path;
})();

async function cli(stateDir: string, ...args: string[]) {
  return run(process.execPath, [bin, '--state-dir', stateDir, ...args], { timeout: 90_000 });
}

async function statusOf(stateDir: string): Promise<RuntimeStatus> {
  return JSON.parse((await cli(stateDir, 'status', '--json')).stdout) as RuntimeStatus;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('slotforge CLI', () => {
  it('prints its subcommands with --help', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    for (const verb of [
      'start',
      'up',
      'status',
      'down',
      'synth',
      'kill',
      'pause',
      'resume',
      'delete',
      'partition',
      'heal',
      'apply',
    ]) {
      expect(stdout).toContain(verb);
    }
  });

  it('rejects manifests that do not exist, naming the path', async () => {
    const stateDir = join(harnessTempDir('cli'), 'state');
    await expect(cli(stateDir, 'up', '--detach', '--manifests', '/nonexistent/dist')).rejects.toMatchObject({
      stderr: expect.stringContaining("manifests '/nonexistent/dist' do not exist"),
    });
  });

  it.runIf(process.getuid?.() === 0)(
    'up --detach, status --json, the fault verbs, and down leaves nothing',
    async () => {
      const stateDir = join(harnessTempDir('cli'), 'state');
      const upResult = await cli(stateDir, 'up', '--detach', '--json', '--manifests', fixture);
      const upReport = JSON.parse(upResult.stdout) as RuntimeStatus;
      expect(upReport.pods.filter((p) => p.name.startsWith('kv-')).map((p) => p.ready)).toEqual([true, true]);

      const status = await statusOf(stateDir);
      const kv0 = status.pods.find((p) => p.name === 'kv-0')!;
      expect(kv0).toMatchObject({
        ready: true,
        role: 'master',
        phase: 'Running',
        ports: [{ name: 'redis', port: 6379 }],
      });
      // `status --json` names each pod's Redis: the image's 8.0 line.
      expect(kv0.redisVersion).toMatch(/^8\.0\.\d+$/);
      expect(kv0.ip).toMatch(/^10\.231\.\d+\.\d+$/);

      // A second up is refused while the first runs.
      await expect(cli(stateDir, 'up', '--detach', '--manifests', fixture)).rejects.toMatchObject({
        stderr: expect.stringContaining('already up'),
      });

      expect((await cli(stateDir, 'delete', 'kv-0')).stdout).toContain(`deleted kv-0 (was ${kv0.ip})`);
      const back = await pollUntil(
        async () => {
          const pod = (await statusOf(stateDir)).pods.find((p) => p.name === 'kv-0');
          return pod?.ready && pod.ip !== kv0.ip && pod;
        },
        { description: 'kv-0 back with a new IP', timeoutMs: 30_000, intervalMs: 500 },
      );
      expect(back.ip).not.toBe(kv0.ip);

      expect((await cli(stateDir, 'kill', 'kv-1')).stdout).toMatch(/killed [1-9]\d* process\(es\) of kv-1/);
      expect((await cli(stateDir, 'pause', 'kv-1')).stdout).toContain('paused');
      expect((await cli(stateDir, 'resume', 'kv-1')).stdout).toContain('resumed');
      await cli(stateDir, 'partition', 'kv-0', '--from', 'kv-1');
      expect((await statusOf(stateDir)).partitions).toEqual([{ a: ['kv-0'], b: ['kv-1'] }]);
      expect((await cli(stateDir, 'partition', 'kv-0', '--from', 'kv-1', '--ports', '16379')).stdout).toContain(
        'on port(s) 16379',
      );
      expect((await statusOf(stateDir)).partitions).toEqual([
        { a: ['kv-0'], b: ['kv-1'] },
        { a: ['kv-0'], b: ['kv-1'], ports: [16379] },
      ]);
      await cli(stateDir, 'heal');
      expect((await statusOf(stateDir)).partitions).toEqual([]);
      await expect(cli(stateDir, 'partition', 'kv-0', '--from', 'kv-1', '--ports', '0')).rejects.toMatchObject({
        stderr: expect.stringContaining("option --ports must list integers from 1 to 65535 (got '0')"),
      });

      // apply: the fixture with 3 replicas and without its Job (kept without --prune, deleted with it).
      const scaled = join(harnessTempDir('cli-apply'), 'scaled.yaml');
      const text = readFileSync(fixture, 'utf8');
      writeFileSync(scaled, text.slice(0, text.indexOf('apiVersion: batch/v1')).replace('replicas: 2', 'replicas: 3'));
      const applied = (await cli(stateDir, 'apply', '--manifests', scaled)).stdout;
      expect(applied).toContain('StatefulSet/demo-cli/kv configured (replicas 2 -> 3)');
      expect(applied).toContain('kept (not in the manifests; --prune deletes them): Job/demo-cli/seed');
      await pollUntil(async () => (await statusOf(stateDir)).pods.find((p) => p.name === 'kv-2')?.ready, {
        description: 'kv-2 ready after apply',
        timeoutMs: 30_000,
        intervalMs: 500,
      });
      expect((await cli(stateDir, 'apply', '--manifests', scaled, '--prune')).stdout).toContain(
        'Job/demo-cli/seed pruned',
      );
      expect((await statusOf(stateDir)).jobs).toEqual([]);
      await expect(cli(stateDir, 'kill', 'nope-0')).rejects.toMatchObject({
        stderr: expect.stringContaining("pod 'nope-0' does not exist"),
      });

      await cli(stateDir, 'down');
      expect(await leftovers(stateDir)).toEqual(NOTHING_LEFT);
      expect(existsSync(stateDir)).toBe(false);
      expect((await cli(stateDir, 'status', '--json')).stdout).toContain('"up": false');
    },
    90_000,
  );

  it.runIf(process.getuid?.() === 0)(
    'stays up in the foreground and stops everything on Ctrl-C (SIGINT to the process group)',
    async () => {
      const stateDir = join(harnessTempDir('cli'), 'state');
      const child = spawn(process.execPath, [bin, '--state-dir', stateDir, 'up', '--manifests', fixture], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk;
      });
      const exited = exitOf(child);
      await pollUntil(() => output.includes('up until Ctrl-C'), {
        description: 'the CLI to report the deployment up',
        timeoutMs: 60_000,
      });
      expect(liveSupervisor(stateDir)).toBeDefined();
      process.kill(-(child.pid as number), 'SIGINT');
      expect(await exited).toBe(0);
      expect(await leftovers(stateDir)).toEqual(NOTHING_LEFT);
      expect(existsSync(stateDir)).toBe(false);
    },
    90_000,
  );

  it.runIf(process.getuid?.() === 0)(
    'down cleans up after a supervisor that was killed with SIGKILL, and up cleans leftovers first',
    async () => {
      const stateDir = join(harnessTempDir('cli'), 'state');
      await cli(stateDir, 'up', '--detach', '--manifests', fixture);
      const pid = liveSupervisor(stateDir)!;
      const netns = (await leftovers(stateDir)).namespaces;
      expect(netns.length).toBeGreaterThan(0);
      process.kill(pid, 'SIGKILL');
      await pollUntil(() => !isAlive(pid), { description: 'the supervisor to die', timeoutMs: 5000 });
      // Its pods, namespaces, bridge and hosts block are orphans only the state dir's prefix knows about.
      expect((await leftovers(stateDir)).namespaces).toEqual(netns);
      await cli(stateDir, 'down');
      expect(await leftovers(stateDir)).toEqual(NOTHING_LEFT);
    },
    90_000,
  );
});
