import { pollUntil } from '../../runtime/process/index.ts';
import { callWithin, memberClient } from '../observe/index.ts';
import type { Fault } from '../scenario.ts';
import { type ChaosTarget, UnsupportedFaultError } from '../target.ts';

/**
 * How long the fault waits for the killed node to turn replica before it records its role: the restarted-master guard
 * (infra/scripts/entrypoint.sh) hands over 0.5-2 s after the restart, the check can be clean before that.
 */
const ROLE_SETTLE_MS = 10_000;

/** Options of {@link killDuringMigration}. */
export interface KillDuringMigrationOptions {
  /** Which master of the move is killed: the one whose slot is MIGRATING, or the one IMPORTING it. */
  readonly side: 'source' | 'target';
  /** Slots the reshard moves: enough that the kill lands in the middle. */
  readonly slots: number;
  /** Waited for before the reshard starts (the keys the move carries are written). */
  readonly before?: () => Promise<void>;
  /** How long the open slots may take to close after the kill (`slots-closed` verdict). */
  readonly closeWithinMs: number;
  /**
   * The move the kill interrupts: an operator's `redis-cli --cluster reshard` of `slots` slots (default), or a scale
   * step that the topology Job runs (its rebalance fails with the kill; the Job's next pod must finish it).
   */
  readonly move?: { readonly name: string; run(target: ChaosTarget): Promise<void> };
  /** How long the first slot marker may take to appear (a scale step first starts pods and the Job). @default 30000 */
  readonly markerWithinMs?: number;
  /**
   * When set, the move must also complete: after it returns, every master serves slots and the cluster check is clean
   * within this of the kill (`move:completed`, else `move:incomplete`; the `move-completed` verdict).
   */
  readonly completeWithinMs?: number;
  /**
   * SIGSTOP the master for the node timeout + this, then SIGCONT, instead of SIGKILL: its replica is promoted in the
   * middle of the move (without the markers, which Redis does not replicate) and the old master returns as a replica.
   */
  readonly pauseBeyondNodeTimeoutMs?: number;
}

/**
 * Polls every member's own CLUSTER NODES line until one shows a marker of `side` (`[slot->-id]` source, `[slot-<-id]`
 * target) and returns that pod.
 */
async function podWithMarker(target: ChaosTarget, side: 'source' | 'target', timeoutMs: number): Promise<string> {
  const observable = await target.observable?.();
  if (!observable) throw new UnsupportedFaultError(target.name, 'observe the members (kill-during-migration)');
  const marker = side === 'source' ? '->-' : '-<-';
  const clients = observable.members.map((m) => ({ pod: m.pod, client: memberClient(m, observable) }));
  try {
    return await pollUntil(
      async () => {
        for (const { pod, client } of clients) {
          const nodes = await callWithin(client, 1000, 'CLUSTER', 'NODES').catch(() => '');
          if (
            nodes
              .split('\n')
              .find((l) => l.includes('myself'))
              ?.includes(marker)
          )
            return pod;
        }
        return undefined;
      },
      { description: `a ${side} slot marker to appear during the move`, timeoutMs, intervalMs: 20 },
    );
  } finally {
    for (const { client } of clients) client.disconnect();
  }
}

/** Whether `redis-cli --cluster check` output is clean: every slot covered, none open, no error. */
export function checkIsClean(output: string): boolean {
  return !/\[WARNING\]|\[ERR\]/.test(output) && output.includes('[OK] All 16384 slots covered');
}

/** Masters that `redis-cli --cluster check` lists with 0 slots (a new shard not filled, a drained one not removed). */
export function emptyMasters(output: string): number {
  return (output.match(/slots: ?\(0 slots\) master/g) ?? []).length;
}

/**
 * SIGKILL the source or the target master of a slot migration while `redis-cli --cluster reshard` moves keys, as an
 * operator's reshard or the topology Job's rebalance can be cut off. The killed container restarts in place with the
 * MIGRATING/IMPORTING markers in its nodes.conf; the members' maintenance loop must close them. Inject returns once
 * `redis-cli --cluster check` is clean (`slots:clean`) or `closeWithinMs` passed (`slots:open`).
 */
export function killDuringMigration(options: KillDuringMigrationOptions): Fault {
  let paused: string | undefined;
  return {
    async inject(target, ctx) {
      const { reshard, clusterCheck } = target;
      if (!reshard || !clusterCheck) throw new UnsupportedFaultError(target.name, 'reshard and check');
      await options.before?.();
      const move = options.move ?? { name: 'the reshard', run: () => reshard(options.slots) };
      const moving = move.run(target).then(
        () => `${move.name} finished`,
        (error: Error) => `${move.name} failed: ${error.message.slice(0, 160)}`,
      );
      const pauseMs =
        options.pauseBeyondNodeTimeoutMs === undefined
          ? undefined
          : (await target.nodeTimeoutMs()) + options.pauseBeyondNodeTimeoutMs;
      const pod = await podWithMarker(target, options.side, options.markerWithinMs ?? 30_000);
      const killedAt = Date.now();
      if (pauseMs === undefined) {
        await target.kill(pod);
        ctx?.mark('fault:start', `SIGKILL ${options.side} ${pod} mid-migration (${move.name})`);
      } else {
        await target.pause(pod);
        paused = pod;
        ctx?.mark('fault:start', `SIGSTOP ${options.side} ${pod} for ${pauseMs} ms mid-migration (${move.name})`);
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        await target.resume(pod);
        paused = undefined;
        ctx?.mark('fault:end', `SIGCONT ${pod}`);
      }
      // Watched while the move goes on: a scale step returns only once its Job has finished.
      let last = '';
      const clean = await pollUntil(
        async () => {
          last = await clusterCheck();
          return checkIsClean(last);
        },
        { description: 'redis-cli --cluster check to be clean', timeoutMs: options.closeWithinMs, intervalMs: 1000 },
      ).then(
        () => true,
        () => false,
      );
      const open = last.match(/open[^\n]*:[^\n]*/)?.[0] ?? '';
      ctx?.mark(clean ? 'slots:clean' : 'slots:open', clean ? 'redis-cli --cluster check clean' : open.slice(0, 200));
      ctx?.mark('migration:ended', await moving);
      if (options.completeWithinMs !== undefined) {
        const done = await pollUntil(
          async () => {
            last = await clusterCheck();
            return checkIsClean(last) && emptyMasters(last) === 0;
          },
          {
            description: 'every master to serve slots',
            timeoutMs: Math.max(1, killedAt + options.completeWithinMs - Date.now()),
            intervalMs: 1000,
          },
        ).then(
          () => true,
          () => false,
        );
        const masters = last.match(/keys in (\d+) masters/)?.[1] ?? '?';
        ctx?.mark(
          done ? 'move:completed' : 'move:incomplete',
          `${masters} masters, ${emptyMasters(last)} without slots, check ${checkIsClean(last) ? 'clean' : 'not clean'}`,
        );
      }
      // Restarted in place as master (markers come back from nodes.conf; only when no replica was linked to it, else
      // the hand-over guard of entrypoint.sh promotes that replica) or failed over: Redis does not replicate
      // MIGRATING/IMPORTING markers (redis/redis#6339), so a promoted replica serves the open slot without them;
      // docs/chaos.md tells the two apart.
      // The restarted-master guard hands over within a few seconds of the restart; the check may be clean before.
      const roleOf = async () => (await target.pods().catch(() => [])).find((p) => p.name === pod)?.role ?? 'unknown';
      const role = await pollUntil(async () => ((await roleOf()) === 'replica' ? 'replica' : undefined), {
        description: `${pod} to be a replica`,
        timeoutMs: ROLE_SETTLE_MS,
        intervalMs: 250,
      }).catch(() => roleOf());
      ctx?.mark(
        'migration:killed-role',
        `${pod} is ${role}: ${role === 'master' ? 'restarted in place' : 'its replica took over (failover)'}`,
      );
      return {
        pods: [pod],
        affectedSlots: [],
        description: `${pauseMs === undefined ? 'SIGKILL' : `SIGSTOP (${pauseMs} ms)`} ${options.side} master ${pod} during ${options.move ? move.name : `a reshard of ${options.slots} slots`}`,
      };
    },
    async heal(target) {
      if (paused) await target.resume(paused);
      paused = undefined;
    },
  };
}
