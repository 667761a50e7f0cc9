import { APPLY_KINDS, type ApplyChange, type ApplyOptions, planApply } from './apply.ts';
import { type JobState, newJobState } from './controllers/index.ts';
import { publishApplied } from './kubectl/publish.ts';
import type { ManifestSet } from './manifests.ts';
import type { Pod } from './pod.ts';
import type { PodTemplate } from './types.ts';

/** What storing an apply needs of the running runtime. @internal */
export interface LiveApplyContext {
  /** The live objects, changed in place. */
  readonly live: ManifestSet;
  /** The object store the runtime's kubectl reads. */
  readonly apiDir: string;
  /** The Job controller's state, by Job key. */
  readonly jobs: Map<string, JobState>;
  /** Throws when a pod template cannot run here. */
  validate(where: string, template: PodTemplate): void;
  pods(): Pod[];
  owned(kind: string, key: string): Pod[];
  deletePod(pod: Pod): Promise<void>;
  event(object: string, message: string): void;
}

/**
 * Stores the admitted objects of an apply into the live set, as an API server stores them: plans the changes,
 * validates the pod templates that change (throwing before anything is stored), stores, publishes to the object
 * store, rewrites the volumes of changed ConfigMaps and Secrets, registers new Jobs and deletes the pods of pruned
 * workloads (cascading, in the background). The controllers act on the rest at their next reconcile.
 */
export function storeApplied(ctx: LiveApplyContext, manifests: ManifestSet, options: ApplyOptions): ApplyChange[] {
  const { live } = ctx;
  const changes = planApply(live, manifests, options);
  const actionOf = new Map(changes.map((c) => [c.object, c]));
  const act = (kind: string, key: string) => actionOf.get(`${kind}/${key}`)?.action;
  for (const [key, sts] of manifests.statefulSets)
    if (act('StatefulSet', key) !== 'unchanged') ctx.validate(`StatefulSet ${key}`, sts.spec.template);
  for (const [key, d] of manifests.deployments)
    if (act('Deployment', key) !== 'unchanged') ctx.validate(`Deployment ${key}`, d.spec.template);
  for (const [key, job] of manifests.jobs)
    if (act('Job', key) === 'created') ctx.validate(`Job ${key}`, job.spec.template);

  for (const [kind, field] of APPLY_KINDS) {
    const before = live[field] as Map<string, unknown>;
    for (const [key, object] of manifests[field] as Map<string, unknown>) {
      if (act(kind, key) === 'created' || act(kind, key) === 'configured') before.set(key, object);
    }
    for (const key of [...before.keys()]) if (act(kind, key) === 'pruned') before.delete(key);
  }
  for (const entry of manifests.ignored) if (!live.ignored.includes(entry)) live.ignored.push(entry);
  for (const [id, object] of manifests.others) live.others.set(id, object);
  for (const [id, file] of manifests.sources) live.sources.set(id, file);
  publishApplied(ctx.apiDir, live, changes);
  live.files.push(...manifests.files.filter((f) => !live.files.includes(f)));

  for (const change of changes) {
    if (change.action === 'unchanged' || change.action === 'kept') continue;
    ctx.event('apply', `${change.object} ${change.action}${change.detail ? ` (${change.detail})` : ''}`);
    const [kind, namespace, name] = change.object.split('/') as [string, string, string];
    const key = `${namespace}/${name}`;
    if ((kind === 'ConfigMap' || kind === 'Secret') && change.action === 'configured') refreshMounts(ctx, kind, key);
    if (kind === 'Job' && change.action === 'created') ctx.jobs.set(key, newJobState(key, live.jobs.get(key)!));
    if (change.action !== 'pruned') continue;
    // Cascading deletion (background): every pod of the object goes at once, each with its grace period.
    if (kind === 'StatefulSet' || kind === 'Deployment' || kind === 'Job') {
      for (const pod of ctx.owned(kind, key)) if (!pod.terminating) void ctx.deletePod(pod);
    }
    if (kind === 'Job') ctx.jobs.delete(key);
  }
  return changes;
}

/** Pods that mount the ConfigMap or Secret `key` as a volume get its new content. */
function refreshMounts(ctx: LiveApplyContext, kind: 'ConfigMap' | 'Secret', key: string): void {
  for (const pod of ctx.pods()) {
    const mounts = (pod.spec.volumes ?? []).some((v) =>
      kind === 'ConfigMap'
        ? v.configMap && `${pod.namespace}/${v.configMap.name}` === key
        : v.secret && `${pod.namespace}/${v.secret.secretName}` === key,
    );
    if (!mounts) continue;
    try {
      const skipped = pod.refreshVolumes();
      if (skipped === undefined) ctx.event(`pod/${pod.name}`, `volumes of ${kind} ${key} updated`);
    } catch (error) {
      ctx.event(`pod/${pod.name}`, `could not update the volumes of ${kind} ${key}: ${(error as Error).message}`);
    }
  }
}
