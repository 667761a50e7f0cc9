/** The near cache: an in-process tier invalidated across instances. */
export { LocalStore } from './local-store.ts';
export { NEAR_BUS_CHANNEL, NEAR_CACHE_DEFAULTS, NearCache, type NearCacheOptions } from './near-cache.ts';
