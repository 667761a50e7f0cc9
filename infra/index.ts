export { renderClusterConf } from './cluster/cluster-config.ts';
export type { RedisClusterProps, ScriptTimeoutOptions } from './cluster/cluster-props.ts';
export { DIRECTIVES, EVICTION_POLICIES, type EvictionPolicy, MANAGED_DIRECTIVES } from './config/directives.ts';
export { type MemoryPlan, planMemory } from './config/memory.ts';
export { type PersistenceOptions, PROFILES, type RedisProfile, resolvePersistence } from './config/profiles.ts';
export { formatMemoryQuantity, parseMemoryQuantity } from './config/quantity.ts';
export { type DirectiveValue, parseRedisConf, renderRedisConf, validateUserConfig } from './config/redis-conf.ts';
export {
  DEFAULT_REDIS_IMAGE,
  type MemberResources,
  type MetricsOptions,
  RedisDataConstruct,
  type RedisDataProps,
} from './data-pod/index.ts';
export { InvalidPropError } from './errors.ts';
export {
  IMAGE_REFERENCES_CHECKED_ON,
  isBitnamiImage,
  KUBECTL_IMAGE,
  REDIS_EXPORTER_IMAGE,
  REDIS_IMAGE,
  VERIFIED_IMAGE_REFERENCES,
  type VerifiedImageReference,
  verifiedReference,
} from './images.ts';
export { DEFAULT_EXPORTER_IMAGE, EXPORTER_PORT, exporterContainer } from './metrics/exporter.ts';
export {
  deploymentAlertRules,
  type MonitoringTarget,
  OperatorMonitoring,
  type OperatorMonitoringProps,
  prometheusRule,
  serviceMonitor,
} from './metrics/monitoring.ts';
export { dataClaimTemplate, type StorageOptions } from './persistence.ts';
export { memberProbes } from './probes.ts';
export { RedisCluster } from './redis-cluster.ts';
export { MEMBER_SCRIPTS, readScript, SCRIPTS_MOUNT_PATH } from './scripts.ts';
export { type AclUser, APP_DENIED_COMMANDS, CLUSTER_ACL_USERS, renderAclUsers, secretKeysOf } from './security/acl.ts';
export { AUTH_MOUNT_PATH, type AuthOptions, DEFAULT_KUBECTL_IMAGE, RedisAuth } from './security/auth.ts';
export {
  type ClientNamespacePeer,
  type NetworkPolicyOptions,
  redisNetworkPolicy,
} from './security/network-policy.ts';
export { RESTRICTED_POD_SECURITY_LABELS, restrictedNamespace } from './security/pod-security.ts';
export { containerSecurityContext, podSecurityContext } from './security/security-context.ts';
export { certificate, TLS_MOUNT_PATH, type TlsOptions } from './security/tls.ts';
export { addSentinelExample, SENTINEL_EXAMPLE_NAMESPACE } from './sentinel/example.ts';
export { RedisSentinel, type RedisSentinelProps } from './sentinel/redis-sentinel.ts';
