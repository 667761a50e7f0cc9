import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// failover-assist.sh's own setting, SLOTFORGE_FAILOVER_ASSIST_ANSWER_WAIT_S (how long condition 3 asks the master):
// a value `timeout` would take as no bound (0) or that would hold the assist for long is refused at start, with the
// variable, the value and the rule in its log, and 0.5 s used. The script is run with a redis-server pid that does
// not exist: it checks its settings, then ends at once (it lives as long as redis-server).
const SCRIPTS = join(import.meta.dirname, '..', '..', 'infra/scripts');

async function startLog(value: string): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)('sh', [join(SCRIPTS, 'failover-assist.sh'), '999999999'], {
    env: {
      PATH: process.env.PATH,
      SLOTFORGE_CONFIG_DIR: SCRIPTS,
      POD_IP: '127.0.0.1',
      SLOTFORGE_FAILOVER_ASSIST_ANSWER_WAIT_S: value,
    },
    timeout: 10_000,
  });
  return stdout + stderr;
}

describe('failover-assist.sh settings', () => {
  it.each(['0', '0.0', 'abc', '.5', '1.', '1.2.3', '-1', '10', '30'])(
    'refuses SLOTFORGE_FAILOVER_ASSIST_ANSWER_WAIT_S=%j, naming it and the rule, and uses 0.5',
    async (value) => {
      const log = await startLog(value);
      if (value === '')
        expect(log).toBe(''); // unset: the default, 0.5
      else
        expect(log).toContain(
          `SLOTFORGE_FAILOVER_ASSIST_ANSWER_WAIT_S='${value}' is not a number of seconds over 0 and under 10, such as 0.5: using 0.5`,
        );
    },
  );

  it.each(['0.5', '0.05', '4', '9.99', ''])(
    'takes SLOTFORGE_FAILOVER_ASSIST_ANSWER_WAIT_S=%j as it is (empty: 0.5)',
    async (value) => {
      expect(await startLog(value)).toBe('');
    },
  );
});
