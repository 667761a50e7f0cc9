import type { EvictionPolicy } from './directives.ts';

/** What the data is for: a `cache` may lose it, a `store` must not. */
export type RedisProfile = 'cache' | 'store';

/** Persistence options of a Redis member. */
export interface PersistenceOptions {
  /**
   * Append-only file: every write is logged and replayed on start.
   * @default false for `cache`, true for `store`
   */
  readonly aof?: boolean;
  /**
   * When the AOF is flushed to disk: `everysec` loses at most about a second of writes on a crash of the node,
   * `always` loses none but costs an fsync per write.
   * @default 'everysec'
   */
  readonly appendfsync?: 'everysec' | 'always';
  /**
   * RDB snapshots as `[seconds, changes]` pairs (`save 3600 1 300 100`); `false` disables them.
   * @default false (the AOF has an RDB preamble, so a separate snapshot is not needed)
   */
  readonly rdb?: false | ReadonlyArray<readonly [number, number]>;
}

/** Persistence with every default resolved. */
export interface ResolvedPersistence {
  readonly aof: boolean;
  readonly appendfsync: 'everysec' | 'always';
  readonly rdb: false | ReadonlyArray<readonly [number, number]>;
  /** What the entrypoint's empty-master guard reads: none, rdb, aof or aof+rdb. */
  readonly mode: 'none' | 'rdb' | 'aof' | 'aof+rdb';
}

/** Defaults each profile brings; explicit props override them. */
export interface ProfileDefaults {
  readonly persistence: ResolvedPersistence;
  readonly evictionPolicy: EvictionPolicy;
  /** `cluster-require-full-coverage`: a cache serves the slots it has while a shard is down, a store refuses. */
  readonly requireFullCoverage: boolean;
  /** PVC size: a cache keeps only nodes.conf on it. */
  readonly storageSize: string;
}

export const PROFILES: Readonly<Record<RedisProfile, ProfileDefaults>> = {
  cache: {
    persistence: { aof: false, appendfsync: 'everysec', rdb: false, mode: 'none' },
    evictionPolicy: 'allkeys-lru',
    requireFullCoverage: false,
    storageSize: '1Gi',
  },
  store: {
    persistence: { aof: true, appendfsync: 'everysec', rdb: false, mode: 'aof' },
    evictionPolicy: 'noeviction',
    requireFullCoverage: true,
    storageSize: '8Gi',
  },
};

/** Merges explicit persistence options over a profile's. */
export function resolvePersistence(profile: RedisProfile, options: PersistenceOptions = {}): ResolvedPersistence {
  const base = PROFILES[profile].persistence;
  const aof = options.aof ?? base.aof;
  const rdb = options.rdb ?? base.rdb;
  const mode = aof ? (rdb ? 'aof+rdb' : 'aof') : rdb ? 'rdb' : 'none';
  return { aof, appendfsync: options.appendfsync ?? base.appendfsync, rdb, mode };
}
