import type { RedisProfile } from '../config/index.ts';
import { type RedisDataProps, resolveDataProps } from '../data-pod/index.ts';
import { check, checkInt, checkOneOf, constructName, isInt } from '../errors.ts';
import { EXPORTER_PORT } from '../metrics/index.ts';
import type { TlsOptions } from '../security/index.ts';

/** Deadlines of the shell scripts in the pods and the topology Job (each a hang that would otherwise need a person). */
export interface ScriptTimeoutOptions {
  /**
   * Bound of every redis-cli call of the scripts (redis-cli 7.0 has no timeout of its own: a deleted or frozen peer
   * never answers), and of each probe as a whole (its calls share one deadline). The probes' timeoutSeconds is this
   * plus 2, so a probe always ends with its own message.
   * @default 3
   */
  readonly redisCliSeconds?: number;
  /**
   * How long a master's preStop waits for a replica that answers before it stops without a hand-over (on a full
   * restart the replicas are gone first; waiting for them only delays the restart).
   * @default 3
   */
  readonly preStopPeerWaitSeconds?: number;
  /**
   * Bound of the slot rebalance of the topology Job (scale out or in); the Job's activeDeadlineSeconds is this plus
   * 600. Moving slots takes as long as their keys take to MIGRATE.
   * @default 3000
   */
  readonly rebalanceSeconds?: number;
}

/** Properties of a RedisCluster: the shared data-pod props ({@link RedisDataProps}) and the cluster's own. */
export interface RedisClusterProps extends RedisDataProps {
  /**
   * Name prefix of every object; pod names are `<name>-shard-<s>-<m>` and must stay DNS labels.
   * @default the construct id
   */
  readonly name?: string;
  /**
   * Primary shards. A failover needs a majority of primaries, so fewer than three cannot fail over.
   * @default 3
   */
  readonly shards?: number;
  /**
   * Replicas of each primary. 0 means no failover: a lost member loses its shard.
   * @default 1
   */
  readonly replicasPerShard?: number;
  /**
   * Shards being removed (scale in): set `shards` to the new count and this to the number removed; the topology Job
   * moves every slot off shards `shards .. shards+retiringShards-1` and takes their members out of the cluster. The
   * next apply without it deletes their StatefulSets.
   * @default 0
   */
  readonly retiringShards?: number;
  /**
   * `cache`: no persistence, `allkeys-lru`, serves the slots it has while a shard is down. `store`: AOF everysec,
   * `noeviction`, all slots or none. Explicit props override the profile.
   * @default 'store'
   */
  readonly profile?: RedisProfile;
  /**
   * `cluster-require-full-coverage`: with `true`, while any slot is uncovered (a shard whose master failed and has no
   * replica to promote yet) EVERY node answers CLUSTERDOWN on EVERY slot (measured: ~12 s for one shard frozen past
   * the node timeout); with `false` the other shards keep serving their slots and only the lost shard's keys fail.
   * A cache wants `false`. A store may choose: `true` keeps the keyspace all-or-nothing (an application never sees
   * some keys while others of the same logical record are unreachable), `false` keeps most of it available.
   * @default false for `cache`, true for `store`
   */
  readonly requireFullCoverage?: boolean;
  /**
   * `cluster-allow-reads-when-down`: nodes serve reads (not writes) while the cluster is down, from a master on the
   * minority side or a replica with READONLY, so reads may return data that the majority side has since changed or a
   * failover is about to discard. Pair it with the client's `readFrom: 'replicas'` to read a failed shard's keys
   * from its replica before the promotion.
   * @default false
   */
  readonly allowReadsWhenDown?: boolean;
  /**
   * `cluster-node-timeout`: how long a silent node takes to be declared failed.
   * @default 5000
   */
  readonly nodeTimeoutMs?: number;
  /** @default 6379 (the cluster bus is port + 10000) */
  readonly port?: number;
  /**
   * What clients see in MOVED/ASK and CLUSTER SLOTS: `hostname` keeps clients working across IP changes but needs
   * them to resolve `<pod>.<headless>.<namespace>.svc.<domain>`.
   * @default 'ip'
   */
  readonly preferredEndpointType?: 'ip' | 'hostname';
  /**
   * TLS for clients, the cluster bus and replication: a Secret with tls.crt/tls.key/ca.crt, or a cert-manager issuer.
   * @default no TLS
   */
  readonly tls?: TlsOptions;
  /**
   * How long a guarded master (restarted before the cluster noticed, with its data lost or a replica linked to it until
   * the stop online: docs/cluster-setup.md) waits for one of its replicas to take over before it serves the data it
   * has. With a replica linked, 15 s at most; counted from its first answered PING.
   * @default 60
   */
  readonly emptyMasterGuardSeconds?: number;
  /** @default see {@link ScriptTimeoutOptions} */
  readonly scriptTimeouts?: ScriptTimeoutOptions;
  /**
   * StatefulSet `minReadySeconds`: a restarted member must stay Ready this long before a rollout moves on to the next
   * one. Readiness already waits for a replica's full resync (probe.sh); this rides out a replica that reports in sync
   * and then drops its link again (a sync that fails on its last step, an output-buffer limit).
   * @default 10
   */
  readonly minReadySeconds?: number;
  /**
   * The failover assist (infra/scripts/failover-assist.sh, master-probe.sh): a replica fails its master over at once
   * (CLUSTER FAILOVER FORCE, an election the masters vote in, before Redis agreed FAIL; TAKEOVER once it has, when its
   * own election would only wait 500-1000 ms more) when some node has had no answer from the master for the node
   * timeout (the replica's own PING every 100 ms or connection to its bus port every 500 ms, or any node's fail?
   * flag) and as many masters as Redis's quorum
   * confirm it from their own PINGs, instead of waiting for the masters' half-node-timeout PING schedule, the failure
   * reports' gossip and the election delay.
   * Off: Redis's own timing alone (docs/chaos.md has both).
   * @default true
   */
  readonly failoverAssist?: boolean;
  /** How often the failover assist reads its node's view, in ms. @default 200 */
  readonly failoverAssistIntervalMs?: number;
}

/** Every prop of a RedisCluster validated and with its default resolved. @internal */
export type ResolvedClusterProps = ReturnType<typeof resolveClusterProps>;

/**
 * Validates the props and resolves their defaults, once: the shared data-pod props through
 * {@link resolveDataProps}, then the cluster's own. Each failure throws an InvalidPropError naming the construct, the
 * prop, the rule and the value.
 * @internal
 */
export function resolveClusterProps(id: string, props: RedisClusterProps) {
  const { name, owner } = constructName('RedisCluster', id, props.name, 30, '-shard-<s>-<m>');
  const shards = props.shards ?? 3;
  check(
    isInt(shards, 3, 1000),
    owner,
    'shards',
    'must be an integer of at least 3 so a failover can win a majority',
    shards,
  );
  const replicasPerShard = props.replicasPerShard ?? 1;
  checkInt(owner, 'replicasPerShard', replicasPerShard, 0, 5);
  const retiringShards = props.retiringShards ?? 0;
  check(isInt(retiringShards, 0, 1000), owner, 'retiringShards', 'must be a non-negative integer', retiringShards);
  const data = resolveDataProps(owner, props);
  const requireFullCoverage = props.requireFullCoverage ?? data.profile.requireFullCoverage;
  checkOneOf(owner, 'requireFullCoverage', requireFullCoverage, [true, false]);
  const allowReadsWhenDown = props.allowReadsWhenDown ?? false;
  checkOneOf(owner, 'allowReadsWhenDown', allowReadsWhenDown, [true, false]);
  const port = props.port ?? 6379;
  checkInt(owner, 'port', port, 1, 55535, 'the bus uses port + 10000');
  check(port !== EXPORTER_PORT, owner, 'port', `must differ from the exporter port ${EXPORTER_PORT}`, port);
  const nodeTimeoutMs = props.nodeTimeoutMs ?? 5000;
  checkInt(owner, 'nodeTimeoutMs', nodeTimeoutMs, 500, 120_000);
  const guardSeconds = props.emptyMasterGuardSeconds ?? 60;
  checkInt(owner, 'emptyMasterGuardSeconds', guardSeconds, 5, 3600);
  const timeouts = props.scriptTimeouts ?? {};
  const scriptTimeouts = {
    redisCliSeconds: timeouts.redisCliSeconds ?? 3,
    preStopPeerWaitSeconds: timeouts.preStopPeerWaitSeconds ?? 3,
    rebalanceSeconds: timeouts.rebalanceSeconds ?? 3000,
  };
  checkInt(owner, 'scriptTimeouts.redisCliSeconds', scriptTimeouts.redisCliSeconds, 1, 30);
  checkInt(
    owner,
    'scriptTimeouts.preStopPeerWaitSeconds',
    scriptTimeouts.preStopPeerWaitSeconds,
    1,
    data.grace - 15,
    'the preStop budget, terminationGracePeriodSeconds - 15',
  );
  checkInt(owner, 'scriptTimeouts.rebalanceSeconds', scriptTimeouts.rebalanceSeconds, 60, 86_400);
  const minReadySeconds = props.minReadySeconds ?? 10;
  checkInt(owner, 'minReadySeconds', minReadySeconds, 0, 600);
  const failoverAssist = props.failoverAssist ?? true;
  checkOneOf(owner, 'failoverAssist', failoverAssist, [true, false]);
  const failoverAssistIntervalMs = props.failoverAssistIntervalMs ?? 200;
  checkInt(owner, 'failoverAssistIntervalMs', failoverAssistIntervalMs, 50, 10_000);
  const preferredEndpointType = props.preferredEndpointType ?? 'ip';
  checkOneOf(owner, 'preferredEndpointType', preferredEndpointType, ['ip', 'hostname']);
  return {
    ...data,
    name,
    shards,
    replicasPerShard,
    retiringShards,
    requireFullCoverage,
    allowReadsWhenDown,
    port,
    busPort: port + 10000,
    nodeTimeoutMs,
    guardSeconds,
    scriptTimeouts,
    minReadySeconds,
    preferredEndpointType,
    failoverAssist,
    failoverAssistIntervalMs,
  };
}
