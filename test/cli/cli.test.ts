import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { findProcesses, pollUntil } from '../../runtime/process/index.ts';
import { harnessTempDir } from '../support/harness-root.ts';

const run = promisify(execFile);
const bin = 'bin/slotforge.js';

async function cli(stateDir: string, ...args: string[]) {
  return run(process.execPath, [bin, '--state-dir', stateDir, ...args], { timeout: 60_000 });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('slotforge CLI', () => {
  it('prints its subcommands with --help', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    for (const verb of ['start', 'up', 'status', 'down', 'synth']) expect(stdout).toContain(verb);
  });

  it('up --detach starts an authenticated cluster that status --json reports, and down leaves nothing', async () => {
    const stateDir = join(harnessTempDir('cli'), 'state');
    const upResult = await cli(stateDir, 'up', '--detach', '--json');
    const upReport = JSON.parse(upResult.stdout) as { nodes: Array<{ role: string; slotCount: number }> };
    expect(upReport.nodes.map((n) => n.role).sort()).toEqual([
      'master',
      'master',
      'master',
      'replica',
      'replica',
      'replica',
    ]);

    const { stdout } = await cli(stateDir, 'status', '--json');
    const report = JSON.parse(stdout) as {
      up: boolean;
      cluster: { state: string; slotsOk: number };
      nodes: Array<{ role: string; slotCount: number; address: string }>;
    };
    expect(report.up).toBe(true);
    expect(report.cluster).toMatchObject({ state: 'ok', slotsOk: 16384 });
    expect(report.nodes.reduce((sum, n) => sum + n.slotCount, 0)).toBe(16384);
    expect(findProcesses(`dir=${stateDir}`)).toHaveLength(6);

    // A second up is refused while the first runs.
    await expect(cli(stateDir, 'up', '--detach')).rejects.toMatchObject({
      stderr: expect.stringContaining('already up'),
    });

    const downResult = await cli(stateDir, 'down');
    expect(downResult.stdout).toContain('stopped 6 process(es)');
    expect(findProcesses(`dir=${stateDir}`)).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('stays up in the foreground and stops everything on Ctrl-C (SIGINT to the process group)', async () => {
    const stateDir = join(harnessTempDir('cli'), 'state');
    const child = spawn(process.execPath, [bin, '--state-dir', stateDir, 'up'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    const exited = exitOf(child);
    try {
      await pollUntil(() => output.includes('up until Ctrl-C'), {
        description: 'the CLI to report the cluster up',
        timeoutMs: 30_000,
      });
      expect(findProcesses(`dir=${stateDir}`)).toHaveLength(6);
      process.kill(-(child.pid as number), 'SIGINT');
      expect(await exited).toBe(0);
    } finally {
      // When an assertion above failed, the CLI still runs: stop it and whatever it started.
      if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
      await cli(stateDir, 'down').catch(() => undefined);
    }
    expect(findProcesses(`dir=${stateDir}`)).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('down cleans up after an up that was killed with SIGKILL', async () => {
    const stateDir = join(harnessTempDir('cli'), 'state');
    await cli(stateDir, 'up', '--detach', '--shards', '3', '--replicas', '0');
    expect(findProcesses(`dir=${stateDir}`)).toHaveLength(3);
    // The CLI is gone already (detached); its servers are orphans that only the state dir knows about.
    await cli(stateDir, 'down');
    expect(findProcesses(`dir=${stateDir}`)).toEqual([]);
  });

  it('rejects a bad option value naming the option, the rule and the value', async () => {
    const stateDir = join(harnessTempDir('cli'), 'state');
    await expect(cli(stateDir, 'up', '--shards', '2')).rejects.toMatchObject({
      stderr: expect.stringContaining("option --shards must be an integer >= 3 (got '2')"),
    });
  });
});
