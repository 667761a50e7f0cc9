export { confEntries, type DataConfigInput } from './conf-entries.ts';
export { RedisDataConstruct } from './data-construct.ts';
export {
  DEFAULT_REDIS_IMAGE,
  type MemberResources,
  type MetricsOptions,
  type RedisDataProps,
  type ResolvedDataProps,
  resolveDataProps,
} from './data-props.ts';
export {
  configAndAuth,
  type DataMonitoring,
  dataMonitoring,
  onePodBudget,
  uniqueNameValidation,
} from './objects.ts';
export {
  commonMounts,
  commonVolumes,
  dataPodMounts,
  dataPodVolumes,
  execProbe,
  exporterSidecar,
  podAntiAffinity,
  RUN_MOUNT_PATH,
  redisResources,
  type ScriptContainerInput,
  scriptCommand,
  scriptContainer,
  scriptEnv,
  spreadConstraint,
} from './pod-parts.ts';
