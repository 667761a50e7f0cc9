import {
  checkCounterBounds,
  checkCoverage,
  checkLostWrites,
  checkMoveCompleted,
  checkNoneForgotten,
  checkPubSubDelivery,
  checkRecovery,
  checkSlotsClosed,
} from './checkers/index.ts';
import type { Verdict } from './checkers/verdict.ts';
import {
  deleteAllSentinels,
  fullRestart,
  type KillDuringMigrationOptions,
  killDuringMigration,
  killMaster,
  killReplica,
  killShard,
  loadDataset,
  partitionMaster,
  pauseMaster,
  pauseSentinelKillPrimary,
  reshard,
  rollingRestart,
  scale,
  scaleTo,
  stallMembers,
  statefulSetRollout,
} from './faults/index.ts';
import type { History } from './history.ts';
import type { CheckContext, Scenario } from './scenario.ts';
import {
  checkLongFullResync,
  failoverVerdicts,
  integrityVerdicts,
  plannedVerdicts,
  ranEverysec,
  WORKLOAD_KINDS,
} from './scenario-verdicts.ts';
import {
  EVERYSEC_LOSS_WINDOW_MS,
  EVERYSEC_UNWRITTEN_MS,
  FAILED_OVER_SLOTS_CLOSED_WITHIN_MS,
  FULL_RESTART_HEALTHY_MS,
  INTERRUPTED_SCALE_COMPLETE_WITHIN_MS,
  LARGE_FULL_RESYNC_MIN_MS,
  MIGRATION_DRILL_SLOTS,
  OPEN_SLOTS_CLOSED_WITHIN_MS,
  PAUSE_BEYOND_NODE_TIMEOUT_MS,
  RESHARD_SLOTS,
  SENTINEL_FAILOVER_MARGIN_MS,
  SENTINEL_PARTITION_BEYOND_DOWN_AFTER_MS,
} from './thresholds.ts';
import { acknowledgedWrites } from './workloads/acknowledged-writes.ts';
import { type BulkKeys, bulkKeys } from './workloads/bulk-keys.ts';
import { clientTraffic } from './workloads/client-traffic.ts';
import { counters } from './workloads/counters.ts';
import { pubsubDelivery } from './workloads/pubsub-delivery.ts';

const writesAndCounters = () => [acknowledgedWrites(), counters(), clientTraffic(), pubsubDelivery()];

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'kill-master',
    description: 'SIGKILL a master under write load; its replica takes over',
    fault: killMaster(),
    workloads: writesAndCounters,
    check: failoverVerdicts,
  },
  {
    name: 'kill-replica',
    description: 'SIGKILL a replica under write load; nothing should fail',
    fault: killReplica(),
    workloads: writesAndCounters,
    check: (history) => plannedVerdicts(history),
  },
  {
    name: 'kill-shard',
    description: 'SIGKILL a master and its replicas; that shard is down until they return, the others keep serving',
    fault: killShard(),
    workloads: writesAndCounters,
    // Every copy of the shard dies at once. With appendfsync everysec a master acknowledges writes it has not yet
    // written to its AOF while a slow fsync runs (EVERYSEC_UNWRITTEN_MS), and its replica's copy is dropped when it
    // resyncs from the restarted master: those writes may be lost, as Redis documents. Only those of the killed
    // shard's slots, acknowledged from that long before the kill was sent until it was done, and only when the node
    // observer saw the killed master run everysec (with `always`, or unobserved, nothing is excused).
    check: (history, ctx) =>
      integrityVerdicts(
        history,
        ctx,
        ranEverysec(history, ctx.effect.pods[0])
          ? { from: 'kill:sent', to: 'fault:start', beforeMs: EVERYSEC_UNWRITTEN_MS, affectedOnly: true }
          : undefined,
      ),
  },
  {
    name: 'pause-master',
    description: 'SIGSTOP a master longer than the node timeout, then SIGCONT: it must return as a replica',
    fault: pauseMaster(async (t) => (await t.nodeTimeoutMs()) + PAUSE_BEYOND_NODE_TIMEOUT_MS),
    workloads: writesAndCounters,
    check: integrityVerdicts,
  },
  {
    name: 'partition-master',
    description: 'cut a master off from the majority, then heal: one master per slot range afterwards',
    fault: partitionMaster({ holdMs: 8000 }),
    workloads: writesAndCounters,
    check: integrityVerdicts,
  },
  {
    name: 'partition-bus',
    description: 'cut only the cluster bus of a master, then heal',
    fault: partitionMaster({ busOnly: true, holdMs: 8000 }),
    workloads: writesAndCounters,
    check: integrityVerdicts,
  },
  {
    name: 'rolling-restart',
    description: 'delete every pod one at a time (preStop fails masters over first): 0 failed client operations',
    fault: rollingRestart(),
    workloads: writesAndCounters,
    check: (history) => plannedVerdicts(history),
  },
  {
    name: 'rolling-restart-large',
    deployment: 'cluster-large',
    description: `kubectl rollout restart of every StatefulSet holding a dataset whose full resync takes >= ${LARGE_FULL_RESYNC_MIN_MS} ms, under write load: 0 lost writes, 0 failed client operations`,
    prepare: (target) => loadDataset(target),
    fault: statefulSetRollout(),
    workloads: writesAndCounters,
    check: (history, ctx) => [...plannedVerdicts(history), checkLongFullResync(ctx)],
  },
  {
    name: 'full-restart',
    description: `delete every pod at once: new IPs, data from persistence, healthy within ${FULL_RESTART_HEALTHY_MS} ms`,
    fault: fullRestart(),
    workloads: writesAndCounters,
    check: (history) => [
      checkLostWrites(history, { window: { from: 'fault:inject', beforeMs: EVERYSEC_LOSS_WINDOW_MS } }),
      checkCounterBounds(history),
      checkPubSubDelivery(history),
      checkCoverage(history, WORKLOAD_KINDS),
    ],
  },
  {
    name: 'reshard-under-load',
    description: `move ${RESHARD_SLOTS} slots between masters under load: 0 failed client operations`,
    fault: reshard(RESHARD_SLOTS),
    workloads: writesAndCounters,
    check: (history) => plannedVerdicts(history),
  },
  {
    name: 'scale-out',
    description: 'add a fourth shard under load and move slots onto it: 0 failed client operations',
    fault: scaleTo(4),
    workloads: writesAndCounters,
    check: (history) => plannedVerdicts(history),
  },
  {
    name: 'scale-in',
    description: 'drain the fourth shard under load and remove it: 0 failed client operations',
    prepare: (target) => scale(target, 4),
    fault: scaleTo(3),
    workloads: writesAndCounters,
    check: (history) => plannedVerdicts(history),
  },
  {
    name: 'sentinel-kill-primary',
    deployment: 'sentinel',
    description: 'Sentinel: SIGKILL the primary under write load; clients find the primary through the sentinels again',
    fault: killMaster(),
    workloads: writesAndCounters,
    check: sentinelFailoverVerdicts,
  },
  {
    name: 'sentinel-delete-all-sentinels',
    deployment: 'sentinel',
    description:
      'Sentinel: delete every sentinel at once, twice (they return from their rewritten state files and agree on the ' +
      'primary), then SIGKILL the primary under write load: the returned sentinels reach a quorum and fail over',
    prepare: deleteAllSentinels(2),
    fault: killMaster(),
    workloads: writesAndCounters,
    check: sentinelFailoverVerdicts,
  },
  {
    name: 'sentinel-pause-sentinel-kill-primary',
    deployment: 'sentinel',
    description:
      'Sentinel: SIGSTOP the sentinel clients ask first, then SIGKILL the primary under write load; writes through ' +
      'the other sentinels again within down-after + 3 s, while that sentinel is still paused',
    fault: pauseSentinelKillPrimary(SENTINEL_PARTITION_BEYOND_DOWN_AFTER_MS),
    workloads: writesAndCounters,
    check: sentinelFailoverVerdicts,
  },
  {
    name: 'sentinel-partition-primary',
    deployment: 'sentinel',
    description: 'Sentinel: cut the primary off from its replicas and the sentinels past down-after, then heal',
    fault: partitionMaster({ holdMs: 0, holdBeyondNodeTimeoutMs: SENTINEL_PARTITION_BEYOND_DOWN_AFTER_MS }),
    workloads: writesAndCounters,
    check: integrityVerdicts,
  },
  killDuringMigrationScenario('source'),
  killDuringMigrationScenario('target'),
  pauseDuringMigrationScenario(),
  interruptedScaleScenario('out'),
  interruptedScaleScenario('in'),
  {
    name: 'stall-members',
    description: 'SIGSTOP a master and a replica past node timeout, 3 rounds: no healthy member forgotten, converges',
    fault: stallMembers({ rounds: 3, members: 2, beyondNodeTimeoutMs: 2000, gapMs: 3000 }),
    workloads: writesAndCounters,
    check: (history) => [
      checkNoneForgotten(history),
      checkLostWrites(history),
      checkCounterBounds(history),
      checkCoverage(history, WORKLOAD_KINDS),
    ],
  },
];

/** Lost writes + counter bounds + recovery within down-after + the Sentinel failover margin. */
function sentinelFailoverVerdicts(history: History, ctx: CheckContext): Verdict[] {
  return [
    checkLostWrites(history),
    checkCounterBounds(history),
    checkRecovery(history, { maxRecoveryMs: ctx.nodeTimeoutMs + SENTINEL_FAILOVER_MARGIN_MS }),
    checkPubSubDelivery(history),
    checkCoverage(history, WORKLOAD_KINDS),
  ];
}

/**
 * A kill in the middle of a slot move, with 50 000 extra keys for it to carry: nothing acknowledged lost (the bulk keys
 * included), counters in bounds, the open slots closed by the platform within a bound, and, when the move must finish
 * (`completeWithinMs`), finished.
 */
function killMidMoveScenario(s: {
  readonly name: string;
  readonly description: string;
  readonly prepare?: Scenario['prepare'];
  readonly kill: Omit<KillDuringMigrationOptions, 'before' | 'closeWithinMs'>;
  /** @default OPEN_SLOTS_CLOSED_WITHIN_MS */
  readonly closeWithinMs?: number;
  /** Counter keys of the counters workload (more keys: more likely one sits in the slot that is open). @default 6 */
  readonly counterKeys?: number;
}): Scenario {
  // The fault waits until this run's bulk keys are written, so the move has keys to carry.
  let bulk: BulkKeys | undefined;
  const completeWithinMs = s.kill.completeWithinMs;
  const closeWithinMs = s.closeWithinMs ?? OPEN_SLOTS_CLOSED_WITHIN_MS;
  return {
    name: s.name,
    description: s.description,
    ...(s.prepare ? { prepare: s.prepare } : {}),
    fault: killDuringMigration({
      ...s.kill,
      before: () => bulk?.ready ?? Promise.resolve(),
      closeWithinMs,
    }),
    workloads: () => {
      bulk = bulkKeys();
      return [acknowledgedWrites(), counters({ keys: s.counterKeys ?? 6 }), clientTraffic(), pubsubDelivery(), bulk];
    },
    check: (history) => [
      checkLostWrites(history, { kinds: ['write', 'client-write', 'bulk-write'] }),
      checkCounterBounds(history),
      checkSlotsClosed(history, closeWithinMs),
      ...(completeWithinMs === undefined ? [] : [checkMoveCompleted(history, completeWithinMs)]),
      checkPubSubDelivery(history),
      checkCoverage(history, WORKLOAD_KINDS),
    ],
  };
}

/** Kill the source or the target master while `redis-cli --cluster reshard` moves keys (issue 15 item 4). */
function killDuringMigrationScenario(side: 'source' | 'target'): Scenario {
  return killMidMoveScenario({
    name: side === 'source' ? 'kill-during-migration' : 'kill-during-migration-target',
    description: `SIGKILL the ${side} master of a slot migration mid-reshard: open slots close without a person, nothing lost`,
    kill: { side, slots: MIGRATION_DRILL_SLOTS },
  });
}

/**
 * The source master stalls mid-reshard past the node timeout: its replica is promoted in the middle of the move without
 * the markers (Redis does not replicate them, redis/redis#6339). The importing master must re-point the move at the
 * new owner (open-slots.sh) before clients can write moved keys there: counters never go back, nothing lost.
 */
function pauseDuringMigrationScenario(): Scenario {
  return killMidMoveScenario({
    name: 'pause-during-migration',
    description:
      'SIGSTOP the source master of a slot migration past node timeout: its replica takes over without the markers; the move is re-pointed, nothing lost, no counter goes back',
    kill: { side: 'source', slots: MIGRATION_DRILL_SLOTS, pauseBeyondNodeTimeoutMs: PAUSE_BEYOND_NODE_TIMEOUT_MS },
    closeWithinMs: FAILED_OVER_SLOTS_CLOSED_WITHIN_MS,
    // A counter in about 40 % of the slots (1 - e^-0.5), instead of 6 counters in all.
    counterKeys: 8192,
  });
}

/**
 * A scale step cut off (issue 15 item 4): SIGKILL a master that is giving slots away while the topology Job's
 * rebalance runs, scaling out (3 -> 4 shards: an old master feeds the new shard) or in (4 -> 3: the retiring master
 * drains). The open slot must close without a person and the Job's next pod must finish the step.
 */
function interruptedScaleScenario(direction: 'out' | 'in'): Scenario {
  const shards = direction === 'out' ? 4 : 3;
  return killMidMoveScenario({
    name: `scale-${direction}-interrupted`,
    description: `SIGKILL a master giving slots away while scale-${direction} rebalances: the slot closes, the Job finishes the step, nothing lost`,
    ...(direction === 'in' ? { prepare: (target) => scale(target, 4) } : {}),
    kill: {
      side: 'source',
      slots: 0,
      move: { name: `scale-${direction} to ${shards} shards`, run: (target) => scale(target, shards) },
      markerWithinMs: 120_000,
      completeWithinMs: INTERRUPTED_SCALE_COMPLETE_WITHIN_MS,
    },
  });
}

/** Looks scenarios up by name; an unknown name is an error that lists the known ones. */
export function findScenarios(names: readonly string[]): Scenario[] {
  return names.map((name) => {
    const scenario = SCENARIOS.find((s) => s.name === name);
    if (!scenario) throw new Error(`unknown scenario '${name}'; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return scenario;
  });
}
