import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { command, parseClusterNodes, type RedisServer, startRedisServer } from '../../runtime/redis/index.ts';
import { harnessTempDir } from '../support/index.ts';
import { redis8Rootfs, rootfsLauncher } from './support/redis-rootfs.ts';

// infra/scripts/lib.sh parses node address fields of two formats, both captured from Redis 8.0.2 (Debian trixie,
// test/infra/fixtures): nodes.conf (`ip:port@cport,[hostname],tls-port=0,shard-id=...`) and CLUSTER NODES
// (`ip:port@cport[,hostname]`). Masters had cluster-announce-hostname set, replicas none.
const repo = join(import.meta.dirname, '..', '..');
const LIB = join(repo, 'infra/scripts/lib.sh');
const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
const NODES_CONF = fixture('redis-8.0.2-nodes.conf');
const CLUSTER_NODES = fixture('redis-8.0.2-cluster-nodes.txt');
// With TLS (port 0, tls-port, tls-cluster yes) 8.0 writes port 0 in the address and the port as the tls-port field.
const TLS_NODES_CONF = fixture('redis-8.0.2-tls-nodes.conf');
const HOST = /^redis-shard-\d-0\.redis-headless\.slotforge\.svc\.cluster\.local$/;

const root = harnessTempDir('nodes-conf');
const servers: RedisServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(root, { recursive: true, force: true });
});

/** Runs `script` in sh with lib.sh sourced; resolves stdout. */
async function sh(script: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<string> {
  const { stdout } = await promisify(execFile)('sh', ['-c', `. "${LIB}"\n${script}`, 'sh', ...args], {
    env: { PATH: process.env.PATH, ...env },
  });
  return stdout;
}

/** ip|port|host|suffix of each line's address field, as lib.sh sees it. */
async function parsed(lines: readonly string[]): Promise<string[][]> {
  const out = await sh(
    `for a in "$@"; do printf '%s|%s|%s|%s\\n' "$(addr_ip "$a")" "$(addr_port "$a")" "$(addr_host "$a")" "$(addr_suffix "$a")"; done`,
    {},
    lines.map((l) => l.split(' ')[1] as string),
  );
  return out
    .trim()
    .split('\n')
    .map((l) => l.split('|'));
}

describe('lib.sh on Redis 8.0 node addresses', () => {
  it('reads ip, port and hostname of every nodes.conf line, hostname or not, aux fields ignored', async () => {
    const nodeLines = NODES_CONF.filter((l) => !l.startsWith('vars'));
    expect(nodeLines).toHaveLength(6);
    const rows = await parsed(nodeLines);
    for (const [i, [ip, port, host, suffix]] of rows.entries()) {
      const line = nodeLines[i] as string;
      expect(ip).toBe('127.0.0.1');
      expect(line).toContain(`127.0.0.1:${port}@`);
      if (line.includes(' master ') || line.includes('myself,master')) expect(host).toMatch(HOST);
      else expect(host).toBe('');
      // The aux fields are kept verbatim for a rewrite.
      expect(suffix).toMatch(/^,[^,]*,tls-port=0,shard-id=[0-9a-f]{40}$/);
      expect(line.split(' ')[1]).toBe(`127.0.0.1:${port}@${Number(port) + 10_000}${suffix}`);
    }
    expect(rows.filter(([, , host]) => host !== '')).toHaveLength(3);
  });

  it('reads CLUSTER NODES lines (no aux fields) the same way', async () => {
    const rows = await parsed(CLUSTER_NODES);
    expect(rows).toHaveLength(6);
    for (const [ip, , host, suffix] of rows) {
      expect(ip).toBe('127.0.0.1');
      expect(host === '' || HOST.test(host as string)).toBe(true);
      expect(suffix).toBe(host ? `,${host}` : '');
    }
    const byId = new Map(CLUSTER_NODES.map((l, i) => [l.split(' ')[0], rows[i]?.[2]]));
    const conf = await parsed(NODES_CONF.filter((l) => !l.startsWith('vars')));
    NODES_CONF.filter((l) => !l.startsWith('vars')).forEach((l, i) => {
      expect(conf[i]?.[2]).toBe(byId.get(l.split(' ')[0]));
    });
  });

  it('reads TLS nodes.conf lines (port 0, tls-port aux field) and rewrites them keeping the TLS port', async () => {
    const nodeLines = TLS_NODES_CONF.filter((l) => !l.startsWith('vars'));
    const rows = await parsed(nodeLines);
    expect(rows.map(([ip, port]) => `${ip}:${port}`)).toEqual(['127.0.0.1:0', '127.0.0.1:0', '127.0.0.1:0']);
    expect(rows.map(([, , host]) => host).filter(Boolean)).toEqual([
      'redis-shard-0-0.redis-headless.slotforge.svc.cluster.local',
    ]);
    for (const [, , , suffix] of rows) expect(suffix).toMatch(/,tls-port=2760\d,shard-id=[0-9a-f]{40}$/);
    const dir = join(root, 'tls');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'nodes.conf');
    writeFileSync(file, `${TLS_NODES_CONF.join('\n')}\n`);
    await sh('rewrite_nodes_conf "$1"', { POD_IP: '127.0.0.9', REDIS_PORT: '6379' }, [file]);
    const me = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.includes('myself')) as string;
    expect(me.split(' ')[1]).toMatch(
      /^127\.0\.0\.9:0@16379,redis-shard-0-0\.redis-headless\.slotforge\.svc\.cluster\.local,tls-port=27601,shard-id=[0-9a-f]{40}$/,
    );
  });

  it('serves_shard finds a shard master by its hostname in both formats', async () => {
    for (const lines of [NODES_CONF, CLUSTER_NODES]) {
      const master1 = lines.find((l) => l.includes('redis-shard-1-0')) as string;
      const replica = lines.find((l) => / slave /.test(l)) as string;
      const env = { SLOTFORGE_NAME: 'redis' };
      const verdict = (line: string, shard: string) =>
        sh('serves_shard "$1" "$2" && echo yes || echo no', env, [line, shard]).then((s) => s.trim());
      expect(await verdict(master1, '1')).toBe('yes');
      expect(await verdict(master1, '2')).toBe('no');
      expect(await verdict(replica, '1')).toBe('no');
    }
  });

  it('rewrite_nodes_conf moves addresses, keeps hostnames and aux fields, and Redis 8.0.2 loads the result', async () => {
    const rootfs = redis8Rootfs();
    const dir = join(root, 'rewrite');
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    // getent stand-in: each pod hostname (exactly) resolves to 127.0.0.2, anything else not (a unit of parsing).
    writeFileSync(
      join(bin, 'getent'),
      '#!/bin/sh\ncase "$2" in redis-shard-[0-9]-0.redis-headless.slotforge.svc.cluster.local) echo "127.0.0.2 $2" ;; *) exit 2 ;; esac\n',
    );
    chmodSync(join(bin, 'getent'), 0o755);
    const file = join(dir, 'nodes.conf');
    writeFileSync(file, `${NODES_CONF.join('\n')}\n`);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    await sh(
      'rewrite_nodes_conf "$1"',
      { PATH: `${bin}:${process.env.PATH}`, POD_IP: '127.0.0.3', REDIS_PORT: String(port) },
      [file],
    );
    const before = new Map(NODES_CONF.map((l) => [l.split(' ')[0], l.split(' ')]));
    const after = readFileSync(file, 'utf8').trim().split('\n');
    expect(after).toHaveLength(NODES_CONF.length);
    for (const line of after.filter((l) => !l.startsWith('vars'))) {
      const [id, addr, flags, ...rest] = line.split(' ');
      const old = before.get(id) as string[];
      const oldSuffix = (old[1] as string).slice((old[1] as string).indexOf(','));
      expect(flags).toBe(old[2]);
      expect(rest).toEqual(old.slice(3));
      expect(addr?.endsWith(oldSuffix)).toBe(true);
      if (flags?.includes('myself')) expect(addr).toBe(`127.0.0.3:${port}@${port + 10_000}${oldSuffix}`);
      else if (oldSuffix.startsWith(',,')) expect(addr).toBe(old[1]);
      else expect(addr?.startsWith('127.0.0.2:')).toBe(true);
    }
    // Redis 8.0.2 takes the rewritten file: same ids, new addresses, the same shard id.
    const myShard = /shard-id=([0-9a-f]{40})/.exec(after.find((l) => l.includes('myself')) as string)?.[1];
    const server = await startRedisServer({
      dir,
      host: '127.0.0.3',
      port,
      config: { 'cluster-enabled': 'yes', 'cluster-config-file': file },
      launcher: rootfsLauncher(rootfs),
    });
    servers.push(server);
    const nodes = parseClusterNodes(String(await command(server, 'CLUSTER', 'NODES')));
    expect(new Set(nodes.map((n) => n.id))).toEqual(new Set([...before.keys()].filter((id) => id !== 'vars')));
    expect(nodes.filter((n) => n.address.startsWith('127.0.0.2:'))).toHaveLength(2);
    expect(String(await command(server, 'CLUSTER', 'MYSHARDID'))).toBe(myShard);
  });
});
