import { describe, expect, it } from 'vitest';
import { execInPod, LocalRuntimeError, NodeSchedule } from '../../../runtime/local/index.ts';

/** An exec target on this process's own namespaces: what a running container gives, minus the chroot. */
const self = (env: Record<string, string> = {}) => ({
  name: 'p',
  execTarget: (container?: string) =>
    container === undefined || container === 'main'
      ? {
          pid: process.pid,
          podIp: '127.0.0.1',
          env: { PATH: process.env.PATH ?? '', ...env },
          ports: [],
          mapArgv: (a: readonly string[]) => [...a],
        }
      : undefined,
});

describe.runIf(process.getuid?.() === 0)('execInPod (kubectl exec)', () => {
  it("returns the command's exit code and output, with the container's env and the extra env over it", async () => {
    const result = await execInPod(
      self({ A: 'from-container', B: 'kept' }),
      ['sh', '-c', 'echo "$A $B"; echo err >&2; exit 3'],
      {
        env: { A: 'from-exec' },
      },
    );
    expect(result).toEqual({ code: 3, output: 'from-exec kept\nerr\n', timedOut: false });
  });

  it('kills a command past its deadline and says so', async () => {
    const started = Date.now();
    const result = await execInPod(self(), ['sleep', '30'], { timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    expect(result.code).toBe(-1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a container that does not run and an empty command, naming them', async () => {
    await expect(execInPod(self(), ['true'], { container: 'other' })).rejects.toThrow(
      "exec: container 'other' of pod 'p' is not running",
    );
    await expect(execInPod(self(), [])).rejects.toMatchObject({ code: 'E_CONTROL' });
    await expect(execInPod(self(), ['true'], { container: 'other' })).rejects.toBeInstanceOf(LocalRuntimeError);
  });
});

describe('NodeSchedule (kubectl cordon)', () => {
  const pod = (name: string, started: string[]) => ({ name, reason: '', start: () => started.push(name) });

  it('starts pods at once until cordoned; then holds them Unschedulable and starts them in order at uncordon', () => {
    const started: string[] = [];
    const schedule = new NodeSchedule();
    schedule.schedule(pod('a', started));
    expect(started).toEqual(['a']);
    schedule.cordon();
    const b = pod('b', started);
    schedule.schedule(b);
    schedule.schedule(pod('c', started));
    schedule.schedule(pod('gone', started));
    expect(started).toEqual(['a']);
    expect(b.reason).toBe('Unschedulable');
    expect(schedule.cordoned).toBe(true);
    schedule.uncordon((p) => p.name === 'gone');
    expect(started).toEqual(['a', 'b', 'c']);
    expect(b.reason).toBe('');
    schedule.schedule(pod('d', started));
    expect(started).toEqual(['a', 'b', 'c', 'd']);
  });
});
