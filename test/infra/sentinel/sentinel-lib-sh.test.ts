import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Unit tests of infra/sentinel/scripts/sentinel-lib.sh's pure checks: sourced after lib.sh in POSIX sh with the data
// pod's env, each case calls one function on a captured INFO text (no Redis, no sentinel).
const SCRIPTS = join(import.meta.dirname, '..', '..', '..', 'infra');
const ENV = {
  PATH: process.env.PATH,
  SLOTFORGE_NAME: 'rs',
  SLOTFORGE_MASTER_NAME: 'sessions',
  SLOTFORGE_DATA_PODS: '3',
  SLOTFORGE_SENTINELS: '3',
  SLOTFORGE_HEADLESS: 'rs-headless',
  POD_NAMESPACE: 'ns',
  POD_NAME: 'rs-redis-0',
  POD_IP: '10.0.0.5',
  SLOTFORGE_LINKED_WITHIN_S: '15',
};

async function isLinkedReplica(info: Record<string, string | number>): Promise<boolean> {
  const text = Object.entries(info)
    .map(([k, v]) => `${k}:${v}`)
    .join('\n');
  const script = `. "${SCRIPTS}/scripts/lib.sh"\n. "${SCRIPTS}/sentinel/scripts/sentinel-lib.sh"\nis_linked_replica "$1"`;
  try {
    await promisify(execFile)('sh', ['-c', script, 'sh', text], { env: ENV, timeout: 10_000 });
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 1) return false;
    throw error;
  }
}

const SELF = 'rs-redis-0.rs-headless.ns.svc.cluster.local';
const replica = { role: 'slave', master_host: SELF, slave_priority: 100 };

describe('sentinel-lib.sh is_linked_replica: a replica that holds the stream up to this primary’s stop', () => {
  it('counts a replica of this pod whose link is up or went down within SLOTFORGE_LINKED_WITHIN_S', async () => {
    expect(await isLinkedReplica({ ...replica, master_link_status: 'up' })).toBe(true);
    const down = { ...replica, master_link_status: 'down' };
    expect(await isLinkedReplica({ ...down, master_link_down_since_seconds: 3 })).toBe(true);
    expect(await isLinkedReplica({ ...down, master_host: '10.0.0.5', master_link_down_since_seconds: 0 })).toBe(true);
    expect(await isLinkedReplica({ ...down, master_link_down_since_seconds: 15 })).toBe(true);
  });

  it('does not count a replica that never reached it, was down too long, follows another pod, may not be promoted', async () => {
    const down = { ...replica, master_link_status: 'down' };
    expect(await isLinkedReplica({ ...down, master_link_down_since_seconds: -1 })).toBe(false);
    expect(await isLinkedReplica({ ...down, master_link_down_since_seconds: 16 })).toBe(false);
    expect(await isLinkedReplica({ ...down, master_link_down_since_seconds: 3, slave_priority: 0 })).toBe(false);
    expect(await isLinkedReplica({ ...replica, master_link_status: 'up', master_host: 'rs-redis-1.x' })).toBe(false);
    expect(await isLinkedReplica({ role: 'master', connected_slaves: 1 })).toBe(false);
    expect(await isLinkedReplica({})).toBe(false);
  });
});

/**
 * hand_over with fake sentinels (scli and role_of replaced by shell functions; no Redis): ANSWERS gives each
 * sentinel's get-master-addr-by-name answer (`-` = no answer, a paused sentinel), AFTER the answers once a FAILOVER
 * went through. Returns hand_over's exit code and the FAILOVER calls made.
 */
async function handOver(answers: string[], after: string[]): Promise<{ code: number; failovers: string[] }> {
  const script = `. "${SCRIPTS}/scripts/lib.sh"\n. "${SCRIPTS}/sentinel/scripts/sentinel-lib.sh"
log() { :; }
sleep() { command sleep 0.05; }
state=$(mktemp)
scli() {
  _i=\${1#rs-sentinel-}; _i=\${_i%%.*}
  if [ "$3" = failover ]; then echo "failover $_i" >&2; echo after >"$state"; echo OK; return; fi
  if [ -s "$state" ]; then set -- $AFTER; else set -- $ANSWERS; fi
  shift "$_i"
  [ "$1" = - ] || echo "$1 6379"
}
role_of() { echo master; }
hand_over $(($(now) + 3)); code=$?
rm -f "$state"
exit $code`;
  try {
    const { stderr } = await promisify(execFile)('sh', ['-c', script], {
      env: { ...ENV, ANSWERS: answers.join(' '), AFTER: after.join(' '), CLI_TIMEOUT: '1' },
      timeout: 10_000,
    });
    return { code: 0, failovers: stderr.split('\n').filter(Boolean) };
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, failovers: (e.stderr ?? '').split('\n').filter(Boolean) };
  }
}

const OTHER = 'rs-redis-1.rs-headless.ns.svc.cluster.local';

describe('sentinel-lib.sh hand_over: a failover only through a sentinel that still names this pod', () => {
  it('asks the first sentinel naming this pod, skipping one that does not answer, and returns once handed over', async () => {
    expect(await handOver(['-', SELF, SELF], ['-', OTHER, OTHER])).toEqual({ code: 0, failovers: ['failover 1'] });
  });

  it('knows this pod by its IP as well as by its name', async () => {
    expect(await handOver(['-', '10.0.0.5', '10.0.0.5'], ['-', OTHER, OTHER])).toEqual({
      code: 0,
      failovers: ['failover 1'],
    });
  });

  it('sends no FAILOVER once the sentinels failed over on their own (a majority names another primary)', async () => {
    expect(await handOver(['-', OTHER, OTHER], ['-', OTHER, OTHER])).toEqual({ code: 0, failovers: [] });
  });

  it('never through a sentinel naming another pod, and gives up at the deadline without a majority', async () => {
    const result = await handOver(['-', OTHER, '-'], ['-', OTHER, '-']);
    expect(result.failovers).toEqual([]);
    expect(result.code).toBe(1);
  });
});
