export {
  type AdmissionOptions,
  admit,
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
export { type CleanupReport, cleanupLocal, leftovers, liveSupervisor } from './cleanup.ts';
export { type ControlRequest, control, serveControl } from './control.ts';
export { type HostRecord, podNames, serviceNames } from './dns.ts';
export { AdmissionError, LocalRuntimeError, type LocalRuntimeErrorCode } from './errors.ts';
export { claimHostDns, HOST_DNS_CLAIM_DIR, type HostDnsClaim, releaseHostDns } from './host-dns-claim.ts';
export { IMAGE_TABLE, type ImageMapping, LEGACY_KUBECTL_ENV, resolveImage } from './images.ts';
export {
  addObject,
  cloneManifestSet,
  emptyManifestSet,
  loadManifests,
  type ManifestSet,
  manifestFiles,
} from './manifests.ts';
export type { BlockRule } from './network.ts';
export { RUNTIMES_DIR, sweepOrphans } from './orphans.ts';
export type { Pod, PodPhase } from './pod.ts';
export {
  type ClusterReport,
  LocalRuntime,
  type LocalRuntimeOptions,
  type Partition,
  type PartitionOptions,
  type PodReport,
  REVISION_LABEL,
  type RuntimeEvent,
  type RuntimeStatus,
  runtimePrefix,
} from './runtime.ts';
export { type HealthOptions, type SupervisorOptions, startSupervisor, unhealthy, waitHealthy } from './start.ts';
export { statePaths, storedSecret } from './state.ts';
