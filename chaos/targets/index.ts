/**
 * Chaos targets: one {@link ChaosTarget} per kind of deployment (the local runtime, its Sentinel deployment, the test
 * harness's cluster, a real Kubernetes cluster) and the factory `chaos run` takes them from. The Kubernetes target is
 * not exported here: it loads @kubernetes/client-node, which the factory imports only when asked for it.
 */
export {
  defaultClusterManifests,
  largeDatasetClusterManifests,
  sentinelExampleManifests,
} from './default-deployment.ts';
export { copyFiles, keepLocalDeployment } from './evidence-files.ts';
export {
  parseTargetName,
  TARGET_NAMES,
  type TargetFactory,
  type TargetFactoryOptions,
  type TargetName,
  targetFactory,
  targetRuns,
} from './factory.ts';
export { harnessTarget } from './harness.ts';
export { kubernetesTarget } from './kubernetes.ts';
export type { MemberState } from './kubernetes-objects.ts';
export {
  chaosInjected,
  chaosMeshMissingError,
  clusterHealth,
  containerIdOf,
  HEALTH_SCRIPT,
  parseConfigGetMs,
  partitionObject,
  podInfosFromClusterNodes,
  redisCliCommand,
  signalPod,
  signalPodName,
} from './kubernetes-objects.ts';
export { KubernetesTargetError, parseSeeds, resolveKubernetesOptions } from './kubernetes-options.ts';
export { type LocalTargetOptions, localTarget } from './local.ts';
export { type LocalSentinelTargetOptions, localSentinelTarget } from './local-sentinel.ts';
