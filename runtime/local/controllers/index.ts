/** The controllers of the local runtime: each turns its objects into pods, as kube-controller-manager does. */
export type { ControllerContext } from './context.ts';
export { reconcileDeployment } from './deployment.ts';
export { type JobState, newJobState, reconcileJob } from './job.ts';
export { REVISION_LABEL, reconcileStatefulSet } from './statefulset.ts';
