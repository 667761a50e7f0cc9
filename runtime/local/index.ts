export { admitOrThrow } from './admission/gate.ts';
export {
  type AdmissionOptions,
  admit,
  loadSchemas,
  MAX_DATA_BYTES,
  parseAssumeCrds,
  type Refusal,
} from './admission/index.ts';
export {
  type ApplyAction,
  type ApplyChange,
  type ApplyOptions,
  type ApplyResult,
  canonical,
  planApply,
  templateRevision,
} from './apply.ts';
export { CGROUP_ROOT, ContainerCgroup, cgroupLeftovers, limitsOf } from './cgroups.ts';
export { type CleanupReport, cleanupLocal, leftovers, liveSupervisor } from './cleanup.ts';
export { type ControlRequest, control, type EndpointsReply, serveControl } from './control.ts';
export { REVISION_LABEL } from './controllers/index.ts';
export { NodeSchedule } from './cordon.ts';
export {
  DEFAULT_DNS_DELAY_MS,
  DelayedRecords,
  type HostRecord,
  padded,
  parseDnsDelay,
  podNames,
  renderPodHosts,
  serviceNames,
  writeInPlace,
} from './dns.ts';
export { AdmissionError, LocalRuntimeError, type LocalRuntimeErrorCode } from './errors.ts';
export { claimHostDns, HOST_DNS_CLAIM_DIR, type HostDnsClaim, releaseHostDns } from './host-dns-claim.ts';
export { containerIdentity } from './identity.ts';
export { containerArgv, IMAGE_TABLE, type ImageMapping, resolveImage } from './images.ts';
export {
  addObject,
  cloneManifestSet,
  emptyManifestSet,
  loadManifests,
  type ManifestSet,
  manifestFiles,
} from './manifests.ts';
export { type BlockRule, NEIGHBOUR_LIMITS, raiseNeighbourLimits } from './network.ts';
export {
  type AllowRule,
  NAMESPACE_NAME_LABEL,
  type PodFirewall,
  type PolicyPod,
  podFirewall,
  validateNetworkPolicy,
} from './network-policy.ts';
export { renderFirewall } from './network-policy-nft.ts';
export { CREATED_FILE, RUNTIMES_DIR, sweepOrphans } from './orphans.ts';
export type { Partition, PartitionOptions } from './partitions.ts';
export type { Pod, PodPhase } from './pod.ts';
export { type ExecOptions, type ExecResult, execInPod } from './pod-exec.ts';
export type { NetworkPolicyReport } from './policy-enforcement.ts';
export type { ClusterReport, RedisEndpoint } from './redis-status.ts';
export {
  enterArgv,
  type ForwardedMember,
  insideRootless,
  namespaceEnv,
  needsNamespace,
  type PortForward,
  type PortForwardOptions,
  portForward,
  ROOTLESS_DEGRADED,
  reexecIfNotRoot,
  runInNamespace,
} from './rootless/index.ts';
export { LocalRuntime } from './runtime.ts';
export { type LocalRuntimeOptions, type RuntimeEvent, runtimePrefix } from './runtime-setup.ts';
export {
  type HealthOptions,
  refuseIfUp,
  type SupervisorOptions,
  startSupervisor,
  unhealthy,
  waitHealthy,
} from './start.ts';
export { statePaths, storedSecret } from './state.ts';
export type { PodReport, RuntimeStatus } from './status.ts';
export type { Container, Deployment, Job, KubeObject, NetworkPolicy, PodSpec, StatefulSet } from './types.ts';
