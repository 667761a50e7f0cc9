import { pollUntil } from '../../runtime/process/index.ts';
import { callWithin, memberClient } from '../observe/index.ts';
import type { Fault } from '../scenario.ts';
import { type ChaosTarget, UnsupportedFaultError } from '../target.ts';

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
}

/**
 * Polls every member's own CLUSTER NODES line until one shows a marker of `side` (`[slot->-id]` source, `[slot-<-id]`
 * target) and returns that pod.
 */
async function podWithMarker(target: ChaosTarget, side: 'source' | 'target'): Promise<string> {
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
      { description: `a ${side} slot marker to appear during the reshard`, timeoutMs: 30_000, intervalMs: 20 },
    );
  } finally {
    for (const { client } of clients) client.disconnect();
  }
}

/** Whether `redis-cli --cluster check` output is clean: every slot covered, none open, no error. */
export function checkIsClean(output: string): boolean {
  return !/\[WARNING\]|\[ERR\]/.test(output) && output.includes('[OK] All 16384 slots covered');
}

/**
 * SIGKILL the source or the target master of a slot migration while `redis-cli --cluster reshard` moves keys, as an
 * operator's reshard or the topology Job's rebalance can be cut off. The killed container restarts in place with the
 * MIGRATING/IMPORTING markers in its nodes.conf; the members' maintenance loop must close them. Inject returns once
 * `redis-cli --cluster check` is clean (`slots:clean`) or `closeWithinMs` passed (`slots:open`).
 */
export function killDuringMigration(options: KillDuringMigrationOptions): Fault {
  return {
    async inject(target, ctx) {
      const { reshard, clusterCheck } = target;
      if (!reshard || !clusterCheck) throw new UnsupportedFaultError(target.name, 'reshard and check');
      await options.before?.();
      const moving = reshard(options.slots).then(
        () => 'the reshard finished before the kill took effect',
        (error: Error) => `the reshard failed: ${error.message.slice(0, 160)}`,
      );
      const pod = await podWithMarker(target, options.side);
      await target.kill(pod);
      ctx?.mark('fault:start', `SIGKILL ${options.side} ${pod} mid-migration`);
      ctx?.mark('migration:ended', await moving);
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
      // Restarted in place (the drill's case: markers come back from nodes.conf) or failed over: Redis does not
      // replicate MIGRATING/IMPORTING markers (redis/redis#6339), so a promoted replica serves the open slot without
      // them; docs/chaos.md tells the two apart.
      const role = (await target.pods().catch(() => [])).find((p) => p.name === pod)?.role ?? 'unknown';
      ctx?.mark(
        'migration:killed-role',
        `${pod} is ${role}: ${role === 'master' ? 'restarted in place' : 'its replica took over (failover)'}`,
      );
      return {
        pods: [pod],
        affectedSlots: [],
        description: `SIGKILL ${options.side} master ${pod} while ${options.slots} slots moved`,
      };
    },
    heal: async () => {},
  };
}
