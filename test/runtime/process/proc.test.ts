import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isAlive, killGroup, pollUntil } from '../../../runtime/process/index.ts';

describe('killGroup', () => {
  it('kills a process and everything it started (its process group)', async () => {
    // A shell that leads its own group, with a sleep it started in the background (it prints that one's pid).
    const child = spawn('sh', ['-c', 'sleep 300 & echo $!; sleep 300'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const leader = child.pid as number;
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    const background = await pollUntil(() => /^\d+\n/.test(output) && Number.parseInt(output, 10), {
      description: 'the background sleep to report its pid',
      timeoutMs: 10_000,
    });
    try {
      expect(isAlive(background)).toBe(true);
      killGroup(leader, 'SIGKILL');
      await pollUntil(() => !isAlive(leader) && !isAlive(background), {
        description: 'the shell and its background sleep to be gone',
        timeoutMs: 10_000,
      });
    } finally {
      for (const pid of [leader, background]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('is no error when the group is gone', async () => {
    const child = spawn('true', [], { detached: true, stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(() => killGroup(child.pid as number, 'SIGKILL')).not.toThrow();
  });
});
