export * from './checkers/index.ts';
export { evidenceDir, writeEvidence } from './evidence.ts';
export {
  defaultClassifier,
  type History,
  type HistoryEvent,
  HistoryRecorder,
  type Operation,
  type Outcome,
} from './history.ts';
export { jsonReport, renderHtmlReport, timelineSvg } from './report/html.ts';
export { type TimelineBucket, timeline } from './report/timeline.ts';
export { markAffected, type RunOptions, runScenario, type ScenarioResult, topErrors } from './runner.ts';
export { type CheckContext, type Fault, type FaultEffect, pickMaster, type Scenario } from './scenario.ts';
export { findScenarios, SCENARIOS } from './scenarios.ts';
export { keySlot } from './slots.ts';
export { type ChaosTarget, type PodInfo, type TargetConnection, UnsupportedFaultError } from './target.ts';
export { harnessTarget } from './targets/harness.ts';
export * from './thresholds.ts';
export type { Workload, WorkloadContext } from './workloads/index.ts';
