import type { Fault } from '../scenario.ts';

/**
 * Rolling restart, as `kubectl rollout restart` does it: one pod at a time, replicas before masters, each deleted
 * gracefully (preStop fails a master over first) and waited for until the deployment is healthy again.
 */
export function rollingRestart(healthyTimeoutMs = 60_000): Fault {
  return {
    async inject(target) {
      const pods = (await target.pods()).filter((p) => p.role !== 'unknown');
      const order = [...pods.filter((p) => p.role === 'replica'), ...pods.filter((p) => p.role === 'master')];
      for (const pod of order) {
        await target.delete(pod.name);
        await target.waitHealthy(healthyTimeoutMs);
      }
      return {
        pods: order.map((p) => p.name),
        affectedSlots: [],
        description: `rolling restart of ${order.length} pods`,
      };
    },
    heal: async () => {},
  };
}

/** Every pod deleted at once: all return with new IPs, data from persistence. */
export function fullRestart(): Fault {
  return {
    async inject(target) {
      const pods = await target.pods();
      await Promise.all(pods.map((p) => target.delete(p.name)));
      return {
        pods: pods.map((p) => p.name),
        affectedSlots: [],
        description: `deleted all ${pods.length} pods at once`,
      };
    },
    heal: async () => {},
  };
}
