import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { imageProgram } from '../images/index.ts';
import type { Launcher, ProcessRegistry } from '../process/index.ts';
import { pollUntil } from '../process/index.ts';
import { freeRedisPort } from './ports.ts';
import { command, type RedisServer, startRedisServer } from './server.ts';

/** Options of {@link startLocalSentinel}. */
export interface LocalSentinelOptions {
  readonly dir: string;
  /** @default 'mymaster' */
  readonly masterName?: string;
  /** @default 2 */
  readonly replicas?: number;
  /** @default 3 */
  readonly sentinels?: number;
  /** @default majority of sentinels */
  readonly quorum?: number;
  /** @default 2000 */
  readonly downAfterMs?: number;
  /** @default 10000 */
  readonly failoverTimeoutMs?: number;
  readonly password?: string;
  /** The sentinels' own password (`requirepass` and `sentinel sentinel-pass`); none when absent. */
  readonly sentinelPassword?: string;
  readonly registry?: ProcessRegistry;
  /** How each process is started. @default a local child process */
  readonly launcher?: Launcher;
  /** Keep the processes running after our process exits (`up --detach`). @default false */
  readonly keepAlive?: boolean;
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
}

/** A primary with replicas watched by sentinels, all real processes on loopback. */
export interface LocalSentinel {
  readonly masterName: string;
  readonly password: string | undefined;
  readonly primary: RedisServer;
  readonly replicas: RedisServer[];
  readonly sentinels: RedisServer[];
  /** host/port of every sentinel. */
  sentinelAddresses(): Array<{ host: string; port: number }>;
  /** A new ioredis client that finds the primary through the sentinels; the caller quits it. */
  connect(): Redis;
  /** The address the sentinels currently report for the primary. */
  currentPrimary(): Promise<{ host: string; port: number }>;
  stop(): Promise<void>;
}

/** Starts a primary, its replicas and the sentinels, and waits until every sentinel sees every replica and peer. */
export async function startLocalSentinel(options: LocalSentinelOptions): Promise<LocalSentinel> {
  const masterName = options.masterName ?? 'mymaster';
  const replicaCount = options.replicas ?? 2;
  const sentinelCount = options.sentinels ?? 3;
  const quorum = options.quorum ?? Math.floor(sentinelCount / 2) + 1;
  const started: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    const primary = await startRedisServer({
      dir: join(options.dir, 'redis-0'),
      password: options.password,
      config: { 'repl-diskless-sync-delay': '0' },
      registry: options.registry,
      launcher: options.launcher,
      keepAlive: options.keepAlive,
    });
    started.push(primary);
    const replicas: RedisServer[] = [];
    for (let i = 1; i <= replicaCount; i++) {
      const replica = await startRedisServer({
        dir: join(options.dir, `redis-${i}`),
        password: options.password,
        config: { 'repl-diskless-sync-delay': '0', replicaof: `${primary.host} ${primary.port}` },
        registry: options.registry,
        launcher: options.launcher,
        keepAlive: options.keepAlive,
      });
      started.push(replica);
      replicas.push(replica);
    }
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < sentinelCount; i++) {
      const dir = join(options.dir, `sentinel-${i}`);
      mkdirSync(dir, { recursive: true });
      const port = await freeRedisPort();
      const file = join(dir, 'sentinel.conf');
      writeFileSync(
        file,
        [
          `sentinel monitor ${masterName} ${primary.host} ${primary.port} ${quorum}`,
          `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 2000}`,
          `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs ?? 10_000}`,
          `sentinel parallel-syncs ${masterName} 1`,
          ...(options.password ? [`sentinel auth-pass ${masterName} ${options.password}`] : []),
          ...(options.sentinelPassword
            ? [`requirepass ${options.sentinelPassword}`, `sentinel sentinel-pass ${options.sentinelPassword}`]
            : []),
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      const sentinel = await startRedisServer({
        dir,
        port,
        configFile: file,
        binary: imageProgram('redis-sentinel'),
        password: options.sentinelPassword,
        registry: options.registry,
        launcher: options.launcher,
        keepAlive: options.keepAlive,
        config: {},
      });
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    const deployment: LocalSentinel = {
      masterName,
      password: options.password,
      primary,
      replicas,
      sentinels,
      sentinelAddresses: () => sentinels.map((s) => ({ host: s.host, port: s.port })),
      connect: () =>
        new Redis({
          sentinels: deployment.sentinelAddresses(),
          name: masterName,
          password: options.password,
          sentinelPassword: options.sentinelPassword,
        }),
      currentPrimary: async () => {
        for (const s of sentinels.filter((x) => x.process.running)) {
          try {
            const [host, port] = (await command(s, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as string[];
            if (host && port) return { host, port: Number(port) };
          } catch {
            // try the next sentinel
          }
        }
        throw new Error(`no sentinel answered for ${masterName}`);
      },
      stop,
    };
    await pollUntil(
      async () => {
        for (const s of sentinels) {
          const seen = (await command(s, 'SENTINEL', 'REPLICAS', masterName)) as string[][];
          const linked = seen.filter((fields) => {
            const flags = fields[fields.indexOf('flags') + 1] ?? '';
            return flags === 'slave';
          });
          if (linked.length < replicaCount) return false;
          const peers = (await command(s, 'SENTINEL', 'SENTINELS', masterName)) as unknown[];
          if (peers.length < sentinelCount - 1) return false;
        }
        for (const r of replicas) {
          const info = String(await command(r, 'INFO', 'replication'));
          if (!info.includes('master_link_status:up')) return false;
        }
        return true;
      },
      {
        description: `${sentinelCount} sentinels to see ${replicaCount} replicas and each other`,
        timeoutMs: options.readyTimeoutMs ?? 30_000,
        intervalMs: 100,
      },
    );
    return deployment;
  } catch (error) {
    await stop();
    throw error;
  }
}
