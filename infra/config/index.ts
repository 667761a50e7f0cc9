export type { EvictionPolicy } from './directives.ts';
export { EVICTION_POLICIES } from './directives.ts';
export type { MemoryPlan } from './memory.ts';
export { planMemory } from './memory.ts';
export type { PersistenceOptions, RedisProfile, ResolvedPersistence } from './profiles.ts';
export { PROFILES, resolvePersistence } from './profiles.ts';
export { parseMemoryQuantity } from './quantity.ts';
export type { DirectiveValue, RedisConfEntries } from './redis-conf.ts';
export { renderRedisConf, validateUserConfig } from './redis-conf.ts';
