import { randomBytes } from 'node:crypto';
import { namespaceOf } from '../manifests.ts';
import type { Deployment } from '../types.ts';
import type { ControllerContext } from './context.ts';

/**
 * Deployment controller (no rollout strategy): keeps `replicas` pods named NAME-<random>, deleting the newest
 * when there are more; a changed template reaches only pods created after the change.
 */
export function reconcileDeployment(ctx: ControllerContext, key: string, deployment: Deployment): void {
  const namespace = namespaceOf(deployment);
  const mine = ctx.owned('Deployment', key).filter((p) => !p.terminating);
  for (const pod of mine) if (pod.phase === 'Failed' || pod.phase === 'Succeeded') void ctx.deletePod(pod, 0);
  const live = mine.filter((p) => p.phase !== 'Failed' && p.phase !== 'Succeeded');
  const replicas = deployment.spec.replicas ?? 1;
  for (const pod of [...live].sort((x, y) => y.createdAt - x.createdAt).slice(0, Math.max(0, live.length - replicas)))
    void ctx.deletePod(pod);
  for (let i = live.length; i < replicas; i++) {
    const name = `${deployment.metadata.name}-${randomBytes(4).toString('hex').slice(0, 5)}`;
    ctx.createPod(name, namespace, deployment.spec.template, { kind: 'Deployment', name: key });
  }
}
