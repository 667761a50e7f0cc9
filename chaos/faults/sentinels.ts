import { pollUntil } from '../../runtime/process/index.ts';
import { type Fault, pickMaster } from '../scenario.ts';
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

/**
 * SIGSTOP the sentinel clients ask first (the first by name, first in their seeds), SIGKILL the primary, and keep that
 * sentinel paused `holdBeyondDownAfterMs` past down-after. A paused sentinel accepts connections and never answers: a
 * client must spend one timeout on it, not its connection (ioredis sets no timeout on a sentinel's reply unless
 * told). The restarted primary's guard spends CLI_TIMEOUT on each question to it, so the other two sentinels (still a
 * majority) often fail over on their own first: the guard must then follow them, not force a second failover.
 */
export function pauseSentinelKillPrimary(holdBeyondDownAfterMs: number): Fault {
  let paused: string | undefined;
  const resume = async (target: ChaosTarget) => {
    if (paused) await target.resume(paused);
    paused = undefined;
  };
  return {
    async inject(target, ctx) {
      const pods = await target.pods();
      const [sentinel] = sentinels(pods).sort((a, b) => a.name.localeCompare(b.name));
      if (!sentinel) throw new Error('pauseSentinelKillPrimary: the target has no sentinel pods');
      const primary = pickMaster(pods);
      const holdMs = (await target.nodeTimeoutMs()) + holdBeyondDownAfterMs;
      await target.pause(sentinel.name);
      paused = sentinel.name;
      await target.kill(primary.name);
      ctx?.mark('fault:start', `SIGSTOP ${sentinel.name}, SIGKILL ${primary.name}`);
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      await resume(target);
      ctx?.mark('fault:end', `SIGCONT ${sentinel.name}`);
      return {
        pods: [primary.name, sentinel.name],
        affectedSlots: primary.slots,
        description: `SIGSTOP sentinel ${sentinel.name} for ${holdMs} ms, SIGKILL primary ${primary.name}`,
      };
    },
    heal: resume,
  };
}

function sentinels(pods: readonly PodInfo[]): PodInfo[] {
  return pods.filter((p) => p.role === 'sentinel');
}
