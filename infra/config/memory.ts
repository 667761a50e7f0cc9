import { check } from '../errors.ts';
import { MIB } from './quantity.ts';

/** Share of the container memory limit kept out of `maxmemory`. */
export const HEADROOM_RATIO = 0.25;
/** Smallest headroom, whatever the limit. */
export const MIN_HEADROOM_BYTES = 64 * MIB;
/** Smallest container memory limit a member accepts: below it the headroom leaves too little data memory. */
export const MIN_MEMORY_LIMIT_BYTES = 128 * MIB;

/** Memory figures of a Redis container, all in bytes. */
export interface MemoryPlan {
  readonly limitBytes: number;
  /** `maxmemory`: data set size at which eviction (or `noeviction` errors) starts. */
  readonly maxmemoryBytes: number;
  /** Hard limit of the replica output buffer: a full sync must not push the container past its limit. */
  readonly replicaBufferBytes: number;
  /** `repl-backlog-size`: how far a replica may lag and still resync partially. */
  readonly backlogBytes: number;
}

/**
 * Derives `maxmemory` and the buffers from the container limit. `maxmemory` counts only the data set; the process
 * also needs the replication backlog, the replica output buffer during a full sync, client buffers and, while a
 * forked child writes an RDB or rewrites the AOF, the pages copied on write, all inside the same cgroup limit. A
 * quarter of the limit (at least 64 MiB) is kept for the buffers; the replica buffer gets half of that and the
 * backlog an eighth. When persistence forks (`persistenceForks`: AOF or RDB on), the data set may be copied whole
 * while the child runs ("up to 2 times the memory normally used" in a write-heavy application, Redis administration
 * docs), so `maxmemory` is half of what the buffers leave: measured, a 256Mi member of the `store` profile filled to
 * the old 192 MiB was OOM-killed during BGREWRITEAOF under 8300 writes/s (docs/persistence-and-eviction.md).
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/admin/
 */
export function planMemory(
  owner: string,
  limitBytes: number,
  maxmemoryBytes?: number,
  persistenceForks = false,
): MemoryPlan {
  check(
    limitBytes >= MIN_MEMORY_LIMIT_BYTES,
    owner,
    'resources.memoryLimit',
    'must be at least 128Mi so maxmemory keeps 64Mi of headroom',
    limitBytes,
  );
  const headroom = Math.max(Math.ceil((limitBytes * HEADROOM_RATIO) / MIB) * MIB, MIN_HEADROOM_BYTES);
  const derived = persistenceForks ? Math.floor((limitBytes - headroom) / 2 / MIB) * MIB : limitBytes - headroom;
  if (maxmemoryBytes !== undefined) {
    check(
      Number.isInteger(maxmemoryBytes) && maxmemoryBytes >= MIB && maxmemoryBytes <= limitBytes - MIN_HEADROOM_BYTES,
      owner,
      'maxmemory',
      `must be at least 1Mi and leave 64Mi of the ${limitBytes}-byte memory limit for buffers and forks`,
      maxmemoryBytes,
    );
  }
  const maxmemory = maxmemoryBytes ?? derived;
  // The buffers get what the data set and, with forking persistence, its copy leave.
  const spare = limitBytes - maxmemory * (persistenceForks ? 2 : 1);
  return {
    limitBytes,
    maxmemoryBytes: maxmemory,
    replicaBufferBytes: Math.max(Math.floor(spare / 2 / MIB) * MIB, 16 * MIB),
    backlogBytes: Math.min(Math.max(Math.floor(spare / 8 / MIB) * MIB, MIB), 64 * MIB),
  };
}
