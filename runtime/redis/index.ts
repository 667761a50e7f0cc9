export { type LocalCluster, type LocalClusterOptions, startLocalCluster, waitClusterHealthy } from './cluster.ts';
export { type ClusterNodeLine, countSlots, formatSlots, parseClusterNodes, parseInfo } from './info.ts';
export { freeRedisPort } from './ports.ts';
export { type LocalSentinel, type LocalSentinelOptions, startLocalSentinel } from './sentinel.ts';
export {
  command,
  ping,
  type RedisServer,
  type RedisServerOptions,
  type ServerRef,
  serverRef,
  startRedisServer,
} from './server.ts';
export { endSlotRefreshOnClose } from './slot-refresh-end.ts';
export { type NodeStatus, readNodeStatus } from './status.ts';
