import { randomBytes } from 'node:crypto';
import { namespaceOf } from '../manifests.ts';
import type { Pod } from '../pod.ts';
import type { Job } from '../types.ts';
import type { ControllerContext } from './context.ts';

/** Job pod back-off: 10 s doubling up to 6 min (Job controller). */
const JOB_BACKOFF_START_MS = 10_000;
const JOB_BACKOFF_MAX_MS = 360_000;

/** What the Job controller tracks of one Job. @internal */
export interface JobState {
  readonly key: string;
  readonly job: Job;
  status: 'Running' | 'Complete' | 'Failed';
  failures: number;
  pod: Pod | undefined;
  notBefore: number;
}

/** The state of a Job the controller has not acted on yet. */
export function newJobState(key: string, job: Job): JobState {
  return { key, job, status: 'Running', failures: 0, pod: undefined, notBefore: 0 };
}

/**
 * Job controller (one completion, parallelism 1): a pod runs to completion; a failed pod counts against
 * backoffLimit (default 6) and the next one starts after the back-off; with restartPolicy OnFailure the kubelet
 * restarts the container in place and each restart counts.
 * @see https://kubernetes.io/docs/concepts/workloads/controllers/job/
 */
export function reconcileJob(ctx: ControllerContext, state: JobState): void {
  if (state.status !== 'Running') return;
  const { job } = state;
  const limit = job.spec.backoffLimit ?? 6;
  const pod = state.pod;
  if (pod && !pod.terminating) {
    const failures = state.failures + (pod.restartPolicy === 'OnFailure' ? pod.restarts : 0);
    if (pod.phase === 'Succeeded') {
      state.status = 'Complete';
      ctx.event(`Job/${state.key}`, 'complete');
      return;
    }
    if (pod.phase === 'Failed' || failures > limit) {
      state.failures = failures + (pod.phase === 'Failed' ? 1 : 0);
      void ctx.deletePod(pod, 0);
      state.pod = undefined;
      if (state.failures > limit) {
        state.status = 'Failed';
        ctx.event(`Job/${state.key}`, `failed: backoffLimit ${limit} reached (${state.failures} failures)`);
        return;
      }
      const delay = Math.min(JOB_BACKOFF_START_MS * 2 ** (state.failures - 1), JOB_BACKOFF_MAX_MS);
      state.notBefore = Date.now() + delay * ctx.timeScale;
    }
    return;
  }
  if (pod || Date.now() < state.notBefore) return;
  const name = `${job.metadata.name}-${randomBytes(4).toString('hex').slice(0, 5)}`;
  const restartPolicy = job.spec.template.spec.restartPolicy;
  if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') {
    state.status = 'Failed';
    ctx.event(
      `Job/${state.key}`,
      `spec.template.spec.restartPolicy must be Never or OnFailure (got '${restartPolicy}')`,
    );
    return;
  }
  state.pod = ctx.createPod(name, namespaceOf(job), job.spec.template, { kind: 'Job', name: state.key });
}
