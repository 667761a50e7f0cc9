import { templateRevision } from '../apply.ts';
import { namespaceOf } from '../manifests.ts';
import type { Pod } from '../pod.ts';
import type { StatefulSet } from '../types.ts';
import type { ControllerContext } from './context.ts';

/** The label the StatefulSet controller puts on its pods: the revision of the template they were made from. */
export const REVISION_LABEL = 'controller-revision-hash';

/**
 * StatefulSet controller: pods NAME-0..N-1, each with claims `<template>-<pod>` that outlive it; a missing, failed
 * or completed pod is (re)created, only after its previous incarnation is fully gone. OrderedReady creates ordinal i
 * only when 0..i-1 are Running and Ready; Parallel creates them all at once. Scaling in deletes ordinals >= N from
 * the highest, gracefully (OrderedReady one at a time, Parallel all at once). A changed template rolls
 * (RollingUpdate, the default): once every pod is Running and Ready, the highest ordinal >= `partition` whose
 * `controller-revision-hash` is stale is deleted and comes back from the new template; OnDelete waits for the user.
 * @see https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/
 */
export function reconcileStatefulSet(ctx: ControllerContext, key: string, sts: StatefulSet): void {
  const namespace = namespaceOf(sts);
  const base = sts.metadata.name;
  const replicas = sts.spec.replicas ?? 1;
  const ordered = (sts.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
  const revision = templateRevision(base, sts.spec.template);
  const ordinal = (pod: Pod) => Number(pod.name.slice(base.length + 1));
  const surplus = ctx
    .owned('StatefulSet', key)
    .filter((p) => ordinal(p) >= replicas)
    .sort((x, y) => ordinal(y) - ordinal(x));
  for (const pod of ordered ? surplus.slice(0, 1) : surplus) {
    if (pod.terminating) continue;
    ctx.event(`StatefulSet/${key}`, `scale in to ${replicas}: deleting ${pod.name}`);
    void ctx.deletePod(pod);
  }
  let settled = surplus.length === 0;
  for (let i = 0; i < replicas; i++) {
    const name = `${base}-${i}`;
    const pod = ctx.pod(`${namespace}/${name}`);
    if (pod) {
      if ((pod.phase === 'Failed' || pod.phase === 'Succeeded') && !pod.terminating) void ctx.deletePod(pod, 0);
      const healthy = pod.phase === 'Running' && pod.ready && !pod.terminating;
      if (!healthy) settled = false;
      if (ordered && !healthy) return;
      continue;
    }
    settled = false;
    const claims = (sts.spec.volumeClaimTemplates ?? []).map((t) => ({
      name: t.metadata.name,
      persistentVolumeClaim: { claimName: `${t.metadata.name}-${name}` },
    }));
    const labels = {
      ...(sts.spec.template.metadata?.labels ?? {}),
      'statefulset.kubernetes.io/pod-name': name,
      [REVISION_LABEL]: revision,
    };
    ctx.createPod(
      name,
      namespace,
      { ...sts.spec.template, metadata: { ...sts.spec.template.metadata, labels } },
      { kind: 'StatefulSet', name: key },
      { subdomain: sts.spec.serviceName, volumes: claims },
    );
    if (ordered) return;
  }
  if (!settled || (sts.spec.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return;
  const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
  for (let i = replicas - 1; i >= partition; i--) {
    const pod = ctx.pod(`${namespace}/${base}-${i}`);
    if (!pod || pod.labels[REVISION_LABEL] === revision) continue;
    ctx.event(
      `StatefulSet/${key}`,
      `rolling update: deleting ${pod.name} (revision ${pod.labels[REVISION_LABEL]} -> ${revision})`,
    );
    void ctx.deletePod(pod);
    return;
  }
}
