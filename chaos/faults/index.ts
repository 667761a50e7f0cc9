export { killMaster, killReplica, killShard, pauseMaster, type StallMembersOptions, stallMembers } from './kill.ts';
export { checkIsClean, emptyMasters, type KillDuringMigrationOptions, killDuringMigration } from './migration.ts';
export { type PartitionMasterOptions, partitionMaster } from './partition.ts';
export { fullRestart, rollingRestart } from './restart.ts';
export { type DatasetOptions, loadDataset, statefulSetRollout } from './rollout.ts';
export { deleteAllSentinels, pauseSentinelKillPrimary } from './sentinels.ts';
export { reshard, scale, scaleTo } from './topology.ts';
