/**
 * Fork headroom of a cluster member: a redis-server configured as the RedisCluster construct configures a member
 * (maxmemory, policy and persistence from infra/config/memory.ts and the profile), in a memory cgroup limited to the
 * container limit, filled to maxmemory, then forked (BGREWRITEAOF or BGSAVE) while clients overwrite random keys,
 * so the child's copy-on-write pages are charged to the same cgroup as they would be in the pod. Reports the peak
 * memory of the cgroup against the limit and whether the kernel's OOM killer acted.
 *
 * `npx tsx bench/fork-headroom.ts [memoryLimit] [profile] [aof|rdb] [clients]` (root, cgroup v1 or v2); the test
 * test/infra/fork-headroom.test.ts runs it on the default chart's member. Figures: docs/persistence-and-eviction.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { clusterConfEntries, resolveClusterProps } from '../infra/cluster/index.ts';
import type { RedisProfile } from '../infra/config/index.ts';
import { ContainerCgroup } from '../runtime/local/index.ts';
import { pollUntil } from '../runtime/process/index.ts';
import { parseInfo, startRedisServer } from '../runtime/redis/index.ts';

/** What {@link measureForkHeadroom} measures with. */
export interface ForkHeadroomOptions {
  /** The container memory limit, as the construct's `resources.memoryLimit`. */
  readonly memoryLimit: string;
  readonly profile: RedisProfile;
  /** Which fork: an AOF rewrite or an RDB snapshot. */
  readonly fork: 'aof' | 'rdb';
  /** Concurrent writers overwriting random keys during the fork. @default 4 */
  readonly clients?: number;
  /** SETs each writer keeps in flight (one pipeline). @default 64 */
  readonly pipeline?: number;
  /** Bytes per value. @default 1024 */
  readonly valueBytes?: number;
  /** Where the data dir goes. @default a temp dir, removed at the end */
  readonly dir?: string;
  /** Records the process (harness registry) so a crashed run is reaped. */
  readonly registry?: Parameters<typeof startRedisServer>[0]['registry'];
}

/** The figures of one run, in bytes unless named otherwise. */
export interface ForkHeadroom {
  readonly limitBytes: number;
  readonly maxmemoryBytes: number;
  /** used_memory once filled. */
  readonly filledBytes: number;
  readonly keys: number;
  /** Peak of the cgroup's anonymous memory (rss, sampled every 10 ms): the parent plus the child's copied pages. */
  readonly peakRssBytes: number;
  /** memory.max_usage_in_bytes (v1) / memory.peak (v2): includes the page cache of the file being written. */
  readonly peakUsageBytes: number;
  /** What the child reported copying (INFO persistence `aof_last_cow_size` / `rdb_last_cow_size`). */
  readonly cowBytes: number;
  /** limit - peakRss: what was left for buffers and clients at the worst moment. */
  readonly headroomBytes: number;
  readonly forkMs: number;
  readonly writes: number;
  readonly writesPerSecond: number;
  /** Writes refused (noeviction over maxmemory) during the fork. */
  readonly refused: number;
  readonly oomKills: number;
  readonly survived: boolean;
}

/** `promise`, or a rejection after `ms` (a killed server leaves ioredis waiting to reconnect). */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const SKIP = /^(port|protected-mode|daemonize|logfile|cluster-.*)$/;

/** Anonymous memory of the cgroup now (v1 memory.stat `rss`, v2 `anon`). */
function rssOf(cgroupDir: string): number {
  const stat = readFileSync(join(cgroupDir, 'memory.stat'), 'utf8');
  const match = /^(?:rss|anon) (\d+)$/m.exec(stat);
  return match ? Number(match[1]) : 0;
}

/** Runs one measurement (see the module comment). Needs root and a memory cgroup. */
export async function measureForkHeadroom(options: ForkHeadroomOptions): Promise<ForkHeadroom> {
  const resolved = resolveClusterProps('redis', {
    profile: options.profile,
    resources: { memoryLimit: options.memoryLimit },
  });
  const entries = clusterConfEntries({
    ...resolved,
    port: 6379,
    preferredEndpointType: 'ip',
    requireFullCoverage: resolved.profile.requireFullCoverage,
  });
  const config: Record<string, string> = { 'enable-debug-command': 'local' };
  for (const [name, value] of entries) {
    if (SKIP.test(name)) continue;
    config[name] = value === true ? 'yes' : value === false ? 'no' : String(value);
  }
  const { limitBytes, maxmemoryBytes } = resolved.memory;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'slotforge-fork-'));
  const server = await startRedisServer({ dir, config, registry: options.registry });
  const pid = server.process.pid;
  const cgroup = ContainerCgroup.create(`sflfork-${pid}`, { memoryBytes: limitBytes }, pid);
  if (!cgroup) throw new Error('fork headroom: no memory cgroup on this host');
  const memoryDir = cgroup.memoryDir();
  const valueBytes = options.valueBytes ?? 1024;
  const admin = server.connect();
  admin.on('error', () => {});
  const writers: Redis[] = [];
  try {
    // Fill to 98% of maxmemory with DEBUG POPULATE (keys key:N), in steps so we stop close to the mark.
    let keys = 0;
    const used = async () => Number(parseInfo(String(await admin.info('memory'))).used_memory);
    for (let filled = await used(); filled < maxmemoryBytes * 0.98; filled = await used()) {
      const step = Math.max(1000, Math.floor((maxmemoryBytes * 0.98 - filled) / (valueBytes + 120) / 2));
      await admin.call('DEBUG', 'POPULATE', keys + step, 'key', valueBytes);
      keys += step;
    }
    const filledBytes = await used();
    // Persistence the profile turned on wrote nothing yet worth waiting for; start from a quiet server.
    await pollUntil(async () => parseInfo(String(await admin.info('persistence'))).aof_rewrite_in_progress === '0', {
      description: 'no rewrite in progress',
      timeoutMs: 30_000,
    });
    let writes = 0;
    let refused = 0;
    let stop = false;
    const value = 'v'.repeat(valueBytes);
    const loops = Array.from({ length: options.clients ?? 4 }, async () => {
      const c = server.connect();
      c.on('error', () => {});
      writers.push(c);
      while (!stop && server.process.running) {
        const pipeline = c.pipeline();
        for (let i = 0; i < (options.pipeline ?? 64); i++)
          pipeline.set(`key:${Math.floor(Math.random() * keys)}`, value);
        const results = (await within(pipeline.exec(), 2000).catch(() => [])) ?? [];
        for (const [error] of results) {
          if (error) refused++;
          else writes++;
        }
      }
    });
    let peakRss = rssOf(memoryDir);
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssOf(memoryDir));
    }, 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const writesBefore = writes;
    await admin.call(options.fork === 'aof' ? 'BGREWRITEAOF' : 'BGSAVE');
    const field = options.fork === 'aof' ? 'aof_rewrite_in_progress' : 'rdb_bgsave_in_progress';
    await pollUntil(
      async () => {
        if (!server.process.running) return true;
        const info = parseInfo(String(await within(admin.info('persistence'), 1000)));
        return info[field] === '0' && (options.fork === 'rdb' || info.aof_rewrite_scheduled === '0');
      },
      { description: `the ${options.fork} fork to finish`, timeoutMs: 120_000, intervalMs: 20 },
    ).catch(() => undefined);
    const forkMs = Date.now() - started;
    const forkWrites = writes - writesBefore;
    stop = true;
    clearInterval(sampler);
    await Promise.allSettled(loops);
    const survived = server.process.running;
    const info = survived ? parseInfo(String(await within(admin.info('persistence'), 5000))) : {};
    const cowBytes = Number(info[options.fork === 'aof' ? 'aof_last_cow_size' : 'rdb_last_cow_size'] ?? 0);
    return {
      limitBytes,
      maxmemoryBytes,
      filledBytes,
      keys,
      peakRssBytes: peakRss,
      peakUsageBytes: cgroup.peakMemoryBytes(),
      cowBytes,
      headroomBytes: limitBytes - peakRss,
      forkMs,
      writes: forkWrites,
      writesPerSecond: Math.round((forkWrites * 1000) / Math.max(1, forkMs)),
      refused,
      oomKills: cgroup.oomKills(),
      survived,
    };
  } finally {
    for (const c of [admin, ...writers]) c.disconnect();
    await server.stop(2000);
    await cgroup.finish();
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  }
}

const MIB = 2 ** 20;
/** One line per figure, in MiB. */
export function formatForkHeadroom(r: ForkHeadroom): string {
  const mib = (b: number) => `${(b / MIB).toFixed(1)} MiB`;
  return [
    `limit ${mib(r.limitBytes)}, maxmemory ${mib(r.maxmemoryBytes)}, filled ${mib(r.filledBytes)} (${r.keys} keys)`,
    `fork ${r.forkMs} ms under ${r.writes} writes (${r.writesPerSecond}/s, ${r.refused} refused)`,
    `peak rss ${mib(r.peakRssBytes)} (child copied ${mib(r.cowBytes)}), peak usage incl. page cache ${mib(r.peakUsageBytes)}`,
    `headroom at the peak ${mib(r.headroomBytes)} (${((100 * r.headroomBytes) / r.limitBytes).toFixed(1)}% of the limit)`,
    `OOM kills ${r.oomKills}, server ${r.survived ? 'survived' : 'KILLED'}`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [memoryLimit = '1Gi', profile = 'store', fork = 'aof', clients = '4'] = process.argv.slice(2);
  const result = await measureForkHeadroom({
    memoryLimit,
    profile: profile as RedisProfile,
    fork: fork as 'aof' | 'rdb',
    clients: Number(clients),
  });
  console.log(formatForkHeadroom(result));
  console.log(JSON.stringify(result));
}
