import { Construct } from 'constructs';
import type { EvictionPolicy } from '../config/directives.ts';
import type { MemoryPlan } from '../config/memory.ts';
import type { RedisProfile, ResolvedPersistence } from '../config/profiles.ts';
import type { ResolvedDataProps } from './data-props.ts';

/**
 * What every construct of Redis data pods exposes of its resolved {@link RedisDataProps}: the base of RedisCluster
 * and RedisSentinel.
 */
export abstract class RedisDataConstruct extends Construct {
  readonly profile: RedisProfile;
  readonly image: string;
  readonly port: number;
  readonly persistence: ResolvedPersistence;
  readonly evictionPolicy: EvictionPolicy;
  readonly memory: MemoryPlan;

  protected constructor(scope: Construct, id: string, resolved: ResolvedDataProps & { readonly port: number }) {
    super(scope, id);
    this.profile = resolved.profileName;
    this.image = resolved.image;
    this.port = resolved.port;
    this.persistence = resolved.persistence;
    this.evictionPolicy = resolved.evictionPolicy;
    this.memory = resolved.memory;
  }
}
