/** The cache patterns: getOrSet (cache-aside), the store and its entries, tags, invalidation, read/write-through, write-behind, warm-up. */
export { COMPACT_ENTRY_HEADER_BYTES, decodeEntry, ENTRY_HEADER_BYTES, type Entry, encodeEntry } from './entry.ts';
export { GET_OR_SET_DEFAULTS, GetOrSet, type GetOrSetDeps, type GetOrSetOptions, type Loader } from './get-or-set.ts';
export { type InvalidatePatternOptions, Invalidation, type InvalidationDeps } from './invalidation.ts';
export { LOCK_KEY_PART, type LoaderLockDeps, type LockedLoad, loadUnderLock } from './loader-lock.ts';
export { ReadThrough, type ReadThroughOptions } from './read-through.ts';
export { SingleFlight } from './single-flight.ts';
export { CacheStore, type ReadResult, type StoreDeps, type WriteEntry } from './store.ts';
export { TAG_DEFAULTS, TAG_KEY_PART, Tags, type TagsOptions } from './tags.ts';
export { jitterTtl } from './ttl.ts';
export { type WarmOptions, type WarmResult, warm } from './warm.ts';
export { WRITE_BEHIND_DEFAULTS, WriteBehind, type WriteBehindOptions } from './write-behind.ts';
export { WriteThrough, type WriteThroughOptions } from './write-through.ts';
