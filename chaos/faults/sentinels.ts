import { pollUntil } from '../../runtime/process/index.ts';
import type { ChaosTarget, PodInfo } from '../target.ts';

/**
 * Deletes every sentinel pod at once, `rounds` times. After each round it waits until as many sentinel pods as before
 * are back as new pods (new addresses) and the deployment is healthy (the target's waitHealthy: every sentinel names
 * the one primary). A round therefore fails when a recreated sentinel cannot start from the state file its
 * predecessor rewrote (the `dir "..."` crash loop, issue 12) or does not rejoin the others. Used as a scenario's
 * `prepare`, so the scenario's fault (a SIGKILLed primary) then proves the returned sentinels still reach a quorum
 * and fail over.
 */
export function deleteAllSentinels(rounds: number, healthyTimeoutMs = 90_000): (target: ChaosTarget) => Promise<void> {
  return async (target) => {
    for (let round = 1; round <= rounds; round++) {
      const before = sentinels(await target.pods());
      if (before.length === 0) throw new Error('deleteAllSentinels: the target has no sentinel pods');
      const oldAddresses = new Set(before.map((p) => p.address));
      await Promise.all(before.map((p) => target.delete(p.name)));
      await pollUntil(
        async () => {
          const now = sentinels(await target.pods());
          return now.length === before.length && now.every((p) => !oldAddresses.has(p.address));
        },
        {
          description: `round ${round}/${rounds}: ${before.length} recreated sentinel pods`,
          timeoutMs: healthyTimeoutMs,
          intervalMs: 250,
        },
      );
      await target.waitHealthy(healthyTimeoutMs);
    }
  };
}

function sentinels(pods: readonly PodInfo[]): PodInfo[] {
  return pods.filter((p) => p.role === 'sentinel');
}
