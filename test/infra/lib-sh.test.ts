import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CLUSTER_ACL_USERS, renderAclUsers } from '../../infra/index.ts';
import { builtImage } from '../../runtime/images/index.ts';
import { harnessTempDir } from '../support/index.ts';

// Unit tests of infra/scripts/lib.sh: each case sources the file in POSIX sh, calls one function and checks what it
// printed or returned. The address parsing and nodes.conf rewrite are covered with Redis 8.0 captures in
// nodes-conf.test.ts; this file covers the other functions the pod scripts are built on.
const LIB = join(import.meta.dirname, '..', '..', 'infra/scripts/lib.sh');
const CLUSTER_NODES = readFileSync(join(import.meta.dirname, 'fixtures', 'redis-8.0.2-cluster-nodes.txt'), 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'));

const root = harnessTempDir('lib-sh');
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface ShResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `script` in sh with lib.sh sourced and `args` as $1..; resolves exit code, stdout and stderr. */
async function sh(script: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<ShResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)('sh', ['-c', `. "${LIB}"\n${script}`, 'sh', ...args], {
      env: { PATH: process.env.PATH, ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const INFO_REPLICATION = [
  '# Replication',
  'role:slave',
  'master_host:redis-shard-0-0.redis-headless',
  'master_link_status:up',
  'master_sync_in_progress:0',
  'slave_repl_offset:1234',
].join('\n');

describe('lib.sh INFO and CLUSTER NODES helpers', () => {
  it('info_field prints the value of a field, nothing for a missing one, and does not match a prefix', async () => {
    const field = async (name: string) => (await sh('info_field "$1" "$2"', {}, [INFO_REPLICATION, name])).stdout;
    expect(await field('role')).toBe('slave');
    expect(await field('master_link_status')).toBe('up');
    expect(await field('master_host')).toBe('redis-shard-0-0.redis-headless');
    expect(await field('master_sync')).toBe('');
    expect(await field('absent')).toBe('');
  });

  it('myself_line picks the one `myself` line of CLUSTER NODES', async () => {
    const { stdout } = await sh('myself_line "$1"', {}, [CLUSTER_NODES.join('\n')]);
    expect(stdout).toBe(`${CLUSTER_NODES.find((l) => l.includes(' myself,master '))}\n`);
    expect(stdout.split(' ')[0]).toBe('5f3329d1bbcb4e3c7e86cdfd60ef8f416effb2cc');
    expect(
      (await sh('myself_line "$1"', {}, [CLUSTER_NODES.filter((l) => !l.includes('myself')).join('\n')])).stdout,
    ).toBe('');
  });

  it('line_has_slots is true for masters that own slots and false for replicas', async () => {
    const verdicts = await Promise.all(
      CLUSTER_NODES.map(async (line) => (await sh('line_has_slots "$1"', {}, [line])).code === 0),
    );
    expect(verdicts).toEqual(CLUSTER_NODES.map((l) => / \d+-\d+$/.test(l)));
    expect(verdicts.filter(Boolean)).toHaveLength(3);
  });

  it('healthy_master is true for a master Redis believes reachable, false for replicas and failing or unknown nodes', async () => {
    const cases: [string, boolean][] = [
      ['master', true],
      ['myself,master', true],
      ['slave', false],
      ['master,fail', false],
      ['master,fail?', false],
      ['master,handshake', false],
      ['master,noaddr', false],
      ['myself,slave', false],
    ];
    const verdicts = await Promise.all(
      cases.map(async ([flags]) => (await sh('healthy_master "$1"', {}, [flags])).code === 0),
    );
    expect(verdicts).toEqual(cases.map(([, healthy]) => healthy));
  });
});

describe('lib.sh pod identity and topology', () => {
  const env = {
    SLOTFORGE_HEADLESS: 'redis-headless',
    POD_NAMESPACE: 'slotforge',
    POD_NAME: 'redis-shard-1-0',
    SLOTFORGE_NAME: 'redis',
    SLOTFORGE_SHARDS: '3',
    SLOTFORGE_SHARD_SIZE: '2',
  };

  /**
   * A fake rcli_within for the replica checks (no I/O): per address, the node's own CLUSTER NODES `myself` line (its
   * master's id) and its INFO replication. 10.0.0.6 does not answer.
   */
  const replicaFake = `rcli_within() {
    case "$2 $4 $5" in
    '10.0.0.2 cluster nodes') echo 'r1 10.0.0.2:6379@16379 myself,slave m1 0 0 1 connected' ;;
    '10.0.0.2 info replication') printf 'role:slave\\nmaster_link_status:up\\nslave_repl_offset:1200\\n' ;;
    '10.0.0.3 cluster nodes') echo 'r2 10.0.0.3:6379@16379 myself,slave m1 0 0 1 connected' ;;
    '10.0.0.3 info replication')
      printf 'role:slave\\nmaster_link_status:down\\nmaster_link_down_since_seconds:3\\nslave_repl_offset:98000\\n' ;;
    '10.0.0.4 cluster nodes') echo 'r3 10.0.0.4:6379@16379 myself,slave m1 0 0 1 connected' ;;
    '10.0.0.4 info replication') printf 'role:slave\\nmaster_link_status:down\\nmaster_link_down_since_seconds:-1\\n' ;;
    '10.0.0.5 cluster nodes') echo 'r4 10.0.0.5:6379@16379 myself,slave m2 0 0 1 connected' ;;
    '10.0.0.5 info replication') printf 'role:slave\\nmaster_link_status:up\\nslave_repl_offset:999999\\n' ;;
    '10.0.0.7 cluster nodes') echo 'r6 10.0.0.7:6379@16379 myself,slave m1 0 0 1 connected' ;;
    '10.0.0.7 info replication') printf 'role:slave\\nmaster_link_status:down\\nmaster_link_down_since_seconds:400\\n' ;;
    '10.0.0.8 cluster nodes') echo 'r7 10.0.0.8:6379@16379 myself,master - 0 0 2 connected 0-5460' ;;
    '10.0.0.8 info replication') printf 'role:master\\nconnected_slaves:0\\n' ;;
    '10.0.0.9 cluster nodes') echo 'r8 10.0.0.9:6379@16379 myself,slave,nofailover m1 0 0 1 connected' ;;
    '10.0.0.9 info replication') printf 'role:slave\\nmaster_link_status:up\\nslave_repl_offset:5000000\\n' ;;
    esac
  }`;

  it('replica_linked_to: a replica of this master whose link is up or went down within the bound, nothing else', async () => {
    const verdicts = await Promise.all(
      ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7', '10.0.0.8', '10.0.0.9'].map(
        async (ip) => (await sh(`${replicaFake}\nreplica_linked_to "$1" m1 50`, { REDIS_PORT: '6379' }, [ip])).code,
      ),
    );
    // up; down 3 s; never linked (-1); another master's; no answer; down 400 s > 50; promoted meanwhile; nofailover.
    expect(verdicts).toEqual([0, 0, 1, 1, 1, 1, 1, 1]);
  });

  it('replicas_by_offset lists the non-failing replicas still following the master, the most replicated first', async () => {
    const nodes = [
      'm1 10.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-5460',
      'r1 10.0.0.2:6379@16379 slave m1 0 0 1 connected',
      'r2 10.0.0.3:6379@16379 slave m1 0 0 1 connected',
      'r3 10.0.0.4:6379@16379 slave,fail m1 0 0 1 connected',
      'r4 10.0.0.5:6379@16379 slave m2 0 0 1 connected',
      'r5 10.0.0.6:6379@16379 slave m1 0 0 1 connected',
      'r7 10.0.0.8:6379@16379 slave m1 0 0 1 connected',
      'r8 10.0.0.9:6379@16379 slave,nofailover m1 0 0 1 connected',
    ].join('\n');
    // r3 is flagged failing, r4 is another master's, r5 does not answer, r7 names no master in its own view (promoted
    // meanwhile: this node's table is stale), r8 is flagged nofailover (cluster-replica-no-failover).
    const { stdout } = await sh(`${replicaFake}\nreplicas_by_offset "$1" m1`, { REDIS_PORT: '6379' }, [nodes]);
    expect(stdout.trim().split('\n')).toEqual(['98000 10.0.0.3 r2', '1200 10.0.0.2 r1']);
    // The guard's case 2 (a bound given): only replicas linked within it; r2's link went down 3 s ago.
    const linked = await sh(`${replicaFake}\nreplicas_by_offset "$1" m1 2`, { REDIS_PORT: '6379' }, [nodes]);
    expect(linked.stdout.trim().split('\n')).toEqual(['1200 10.0.0.2 r1']);
  });

  it('pod_fqdn and self_fqdn build the headless DNS name with the cluster domain', async () => {
    expect((await sh('pod_fqdn redis-shard-0-1', env)).stdout).toBe(
      'redis-shard-0-1.redis-headless.slotforge.svc.cluster.local',
    );
    expect((await sh('self_fqdn', { ...env, SLOTFORGE_CLUSTER_DOMAIN: 'corp.example' })).stdout).toBe(
      'redis-shard-1-0.redis-headless.slotforge.svc.corp.example',
    );
  });

  it('read_topology sets SHARDS, SIZE and RETIRING; member names a pod', async () => {
    const { stdout } = await sh('read_topology; echo "$SHARDS $SIZE $RETIRING $(member 2 1)"', env);
    expect(stdout).toBe('3 2 0 redis-shard-2-1\n');
    const retiring = await sh('read_topology; echo "$RETIRING"', { ...env, SLOTFORGE_RETIRING_SHARDS: '2' });
    expect(retiring.stdout).toBe('2\n');
  });

  it('read_topology stops the script, naming the variable, when one is missing', async () => {
    const { SLOTFORGE_SHARD_SIZE: _, ...withoutSize } = env;
    const result = await sh('read_topology; echo reached', withoutSize);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('SLOTFORGE_SHARD_SIZE');
  });

  it('resolve prints nothing for a name that does not resolve (yet): callers retry on empty', async () => {
    // The positive case needs a hosts file or DNS; the local runtime's pods get one per network namespace and the
    // script tests (scripts.test.ts, bootstrap-partial.test.ts) resolve every member through it.
    const result = await sh('resolve no-such-pod.invalid; echo "|$?"');
    expect(result.stdout).toBe('|0\n');
  });
});

describe('lib.sh secrets, ACL users and data', () => {
  const auth = join(root, 'auth');
  const config = join(root, 'config');
  mkdirSync(auth, { recursive: true });
  mkdirSync(config, { recursive: true });
  const passwords: Record<string, string> = {};
  for (const user of CLUSTER_ACL_USERS) {
    passwords[user.secretKey] = `pw-${user.secretKey}-${Math.random().toString(36).slice(2)}`;
    writeFileSync(join(auth, user.secretKey), passwords[user.secretKey] as string);
  }
  writeFileSync(join(config, 'acl-users.conf'), renderAclUsers(CLUSTER_ACL_USERS));
  const env = { SLOTFORGE_AUTH_DIR: auth, SLOTFORGE_CONFIG_DIR: config };

  it('secret prints a key of the mounted Secret and dies naming a missing key', async () => {
    expect((await sh('secret admin', env)).stdout).toBe(passwords.admin);
    const missing = await sh('secret nope; echo reached', env);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain(`error: secret key 'nope' missing in ${auth}`);
  });

  it('hash_of is the hex SHA-256 of its argument', async () => {
    const text = 'p@ss word';
    expect((await sh('hash_of "$1"', {}, [text])).stdout).toBe(`${createHash('sha256').update(text).digest('hex')}\n`);
  });

  it('render_users writes one `user` line per ACL user with the password hash, guarded users off when guarded', async () => {
    for (const guarded of ['no', 'yes', 'replication'] as const) {
      const lines = (await sh('render_users "$1"', env, [guarded])).stdout.trim().split('\n');
      expect(lines).toHaveLength(CLUSTER_ACL_USERS.length);
      for (const [i, user] of CLUSTER_ACL_USERS.entries()) {
        const hash = createHash('sha256')
          .update(passwords[user.secretKey] as string)
          .digest('hex');
        // `replication` (the guard's case 2): only the replication user is off.
        const off =
          (guarded === 'yes' && !user.enabledWhileGuarded) || (guarded === 'replication' && user.name === 'replicator');
        const state = off ? 'off' : 'on';
        expect(lines[i]).toBe(`user ${user.name} reset ${state} #${hash} ${user.rules}`);
      }
      // The plain-text password never reaches the rendered config.
      for (const password of Object.values(passwords)) expect(lines.join('\n')).not.toContain(password);
    }
  });

  it('data_survived: only a non-empty AOF manifest counts, for aof and aof+rdb; none and rdb never', async () => {
    const data = join(root, 'data');
    const survived = async (mode: string) =>
      (await sh('data_survived', { SLOTFORGE_DATA_DIR: data, SLOTFORGE_PERSISTENCE: mode })).code;
    mkdirSync(join(data, 'appendonlydir'), { recursive: true });
    expect(await survived('aof')).toBe(1);
    writeFileSync(join(data, 'appendonlydir', 'appendonly.aof.manifest'), '');
    expect(await survived('aof')).toBe(1);
    writeFileSync(
      join(data, 'appendonlydir', 'appendonly.aof.manifest'),
      'file appendonly.aof.1.base.rdb seq 1 type b\n',
    );
    expect(await survived('aof')).toBe(0);
    expect(await survived('aof+rdb')).toBe(0);
    expect(await survived('rdb')).toBe(1);
    expect(await survived('none')).toBe(1);
    const bad = await sh('data_survived', { SLOTFORGE_DATA_DIR: data, SLOTFORGE_PERSISTENCE: 'disk' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("SLOTFORGE_PERSISTENCE must be none, rdb, aof or aof+rdb (got 'disk')");
  });
});

describe('lib.sh waits', () => {
  it('deadline_left prints the seconds left as S.mmm and 0 with status 1 once the deadline has passed', async () => {
    const { stdout } = await sh('deadline_set 2; deadline_left; echo " $?"; deadline_set 0; deadline_left; echo " $?"');
    const [left, passed] = stdout.trim().split('\n');
    expect(left).toMatch(/^1\.(9\d\d|8\d\d) 0$|^2\.000 0$/);
    expect(passed).toBe('0 1');
  });

  it('wait_for returns 0 as soon as the command succeeds', async () => {
    const marker = join(root, 'ready');
    writeFileSync(marker, '');
    const started = Date.now();
    expect((await sh('wait_for 10 test -e "$1"', {}, [marker])).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('wait_for returns 1 once its deadline has passed without success', async () => {
    const started = Date.now();
    const result = await sh('wait_for 1 false; echo "rc=$?"');
    expect(result.stdout).toBe('rc=1\n');
    // 1 s deadline on whole seconds: at least one retry, well under the test's bound.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rcli_within cuts off a peer that accepts but never answers, printing nothing, at its deadline', async () => {
    const auth = join(root, 'auth-rcli');
    mkdirSync(auth, { recursive: true });
    writeFileSync(join(auth, 'admin'), 'x');
    // A frozen peer: the TCP connection is accepted, no byte ever comes back (redis-cli 7.0 would wait forever).
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      const result = await sh(
        'rcli_within 1 127.0.0.1 "$1" ping; echo done',
        {
          SLOTFORGE_AUTH_DIR: auth,
          // The image's redis-cli (Redis 8.0), never the host's.
          PATH: `${builtImage('redis').hostBin}:${process.env.PATH}`,
        },
        [String(port)],
      );
      const elapsed = Date.now() - started;
      expect(result.stdout).toBe('done\n');
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });
});

describe('lib.sh majority_agrees_gone: the masters agree a node is gone', () => {
  const A = 'aaaa 10.0.0.1:6379@16379,rc-shard-0-0.h master - 0 0 1 connected 0-5000';
  const B = 'bbbb 10.0.0.2:6379@16379,rc-shard-2-1.h master - 0 0 2 connected 5001-10000';
  const C = 'cccc 10.0.0.3:6379@16379,rc-shard-1-0.h master - 0 0 4 connected 10001-16383';
  const X = (flags: string) => `xxxx :0@0,rc-shard-1-1.h ${flags} bbbb 0 0 3 disconnected`;
  /**
   * Each master's CLUSTER NODES (a fake rcli_at by address) with X flagged as given, `null` = it does not know X,
   * `undefined` = that master does not answer. Two masters (A, B) unless `onC` is given.
   */
  async function agrees(
    mode: '' | 'pfail',
    onA: string | null | undefined,
    onB: string | null | undefined,
    onC?: string | null,
  ): Promise<boolean> {
    const masters = onC === undefined ? [A, B] : [A, B, C];
    const view = [A.replace(' master', ' myself,master'), ...masters.slice(1), X('slave,noaddr')].join('\n');
    const script = `rcli_at() {
  case "$1" in 10.0.0.1) [ -n "$NODES_A" ] && printf '%s\\n' "$NODES_A" ;; 10.0.0.2) [ -n "$NODES_B" ] && printf '%s\\n' "$NODES_B" ;;
  10.0.0.3) printf '%s\\n' "$NODES_C" ;; esac
}
majority_agrees_gone "$1" xxxx $2`;
    const nodes = (x: string | null | undefined, self: string) =>
      x === undefined ? '' : [self.replace(' master', ' myself,master'), ...(x === null ? [] : [X(x)])].join('\n');
    const env = { NODES_A: nodes(onA, A), NODES_B: nodes(onB, B), NODES_C: nodes(onC, C) };
    const result = await sh(script, env, [view, mode]);
    expect(result.stderr).toBe('');
    expect([0, 1]).toContain(result.code);
    return result.code === 0;
  }

  it('counts fail, noaddr and not knowing it; fail? only with pfail (callers that checked DNS)', async () => {
    expect(await agrees('', null, 'slave,fail')).toBe(true);
    expect(await agrees('', 'slave,noaddr', 'slave,fail')).toBe(true);
    // A retired id noaddr on one master and fail? on the other (the healing test's CI failure): gone with pfail only.
    expect(await agrees('pfail', 'slave,noaddr', 'slave,fail?')).toBe(true);
    expect(await agrees('pfail', 'slave,fail?', 'slave,fail?')).toBe(true);
    expect(await agrees('', 'slave,noaddr', 'slave,fail?')).toBe(false);
  });

  it('not while a master still sees it healthy (nofailover is a healthy replica’s flag), nor for lack of answers', async () => {
    expect(await agrees('pfail', 'slave', 'slave,fail?')).toBe(false);
    expect(await agrees('pfail', 'slave,nofailover', 'slave,noaddr')).toBe(false);
    // A master that does not answer counts against: 1 of 2.
    expect(await agrees('pfail', 'slave,noaddr', undefined)).toBe(false);
    // Three masters: 2 of 3 is a majority, 1 of 3 is not.
    expect(await agrees('pfail', 'slave,noaddr', 'slave,fail?', 'slave')).toBe(true);
    expect(await agrees('pfail', 'slave,noaddr', 'slave', 'slave')).toBe(false);
  });
});
