import type { DirectiveValue, EvictionPolicy, MemoryPlan, ResolvedPersistence } from '../config/index.ts';

type Entry = readonly [string, DirectiveValue];

/** What every data pod's base redis.conf is made from (cluster members and Sentinel data pods). */
export interface DataConfigInput {
  readonly port: number;
  readonly persistence: ResolvedPersistence;
  readonly memory: MemoryPlan;
  readonly evictionPolicy: EvictionPolicy;
  /** Validated user directives; they replace the construct's. */
  readonly userConfig: Readonly<Record<string, DirectiveValue>>;
}

/** The server lines every data pod starts with: its port, in the foreground, logging to stdout. */
export function serverEntries(port: number): Entry[] {
  return [
    ['port', port],
    ['protected-mode', false],
    ['daemonize', false],
    ['logfile', ''],
  ];
}

/** Persistence and memory lines: AOF and RDB as resolved, maxmemory from the memory plan, the eviction policy. */
export function persistenceEntries(
  persistence: ResolvedPersistence,
  memory: MemoryPlan,
  evictionPolicy: EvictionPolicy,
): Entry[] {
  return [
    ['appendonly', persistence.aof],
    ['appendfsync', persistence.appendfsync],
    ['aof-use-rdb-preamble', true],
    ['save', persistence.rdb ? persistence.rdb.map(([s, c]) => `${s} ${c}`).join(' ') : ''],
    ['maxmemory', memory.maxmemoryBytes],
    ['maxmemory-policy', evictionPolicy],
  ];
}

/**
 * Diskless sync without delay: a replica that rejoins (or follows a new primary) is in sync in about 0.1 s instead of
 * waiting 5 s for others to join the same transfer; the backlog from the memory plan.
 */
export function replicationEntries(memory: MemoryPlan): Entry[] {
  return [
    ['repl-diskless-sync', true],
    ['repl-diskless-sync-delay', 0],
    ['repl-backlog-size', memory.backlogBytes],
  ];
}

/** TCP keepalive and the shutdown bound. */
export function connectionEntries(): Entry[] {
  return [
    ['tcp-keepalive', 60],
    ['shutdown-timeout', 10],
  ];
}

/** The replica class of client-output-buffer-limit: hard limit from the memory plan, soft half of it for 60 s. */
export function replicaBufferEntry(memory: MemoryPlan): Entry {
  const hard = memory.replicaBufferBytes;
  return ['client-output-buffer-limit', `replica ${hard} ${Math.floor(hard / 2)} 60`];
}

/** The entry builders, as one namespace for the config renderers. */
export const confEntries = {
  server: serverEntries,
  persistence: (input: DataConfigInput) => persistenceEntries(input.persistence, input.memory, input.evictionPolicy),
  replication: replicationEntries,
  connection: connectionEntries,
  replicaBuffer: replicaBufferEntry,
  user: (input: DataConfigInput): Entry[] => Object.entries(input.userConfig),
} as const;
