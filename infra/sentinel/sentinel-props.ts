import { parseMemoryQuantity } from '../config/index.ts';
import { type RedisDataProps, resolveDataProps } from '../data-pod/index.ts';
import { check, checkInt, constructName, InvalidPropError, isInt } from '../errors.ts';
import { EXPORTER_PORT } from '../metrics/index.ts';

/** Properties of a RedisSentinel: the shared data-pod props ({@link RedisDataProps}) and the Sentinel's own. */
export interface RedisSentinelProps extends RedisDataProps {
  /**
   * Name prefix of every object; pods are `<name>-redis-<i>` and `<name>-sentinel-<i>`.
   * @default the construct id
   */
  readonly name?: string;
  /**
   * Name under which the sentinels monitor the primary: clients ask for it (`masterName`).
   * @default the name
   */
  readonly masterName?: string;
  /**
   * Replicas of the primary (data pods = replicas + 1). At least one, or the sentinels have nothing to promote.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Sentinels: odd and at least 3, so a majority survives the loss of any one and a partition cannot give both sides
   * a majority.
   * @default 3
   */
  readonly sentinels?: number;
  /**
   * Sentinels that must agree the primary is down before a failover starts (the failover itself always needs a
   * majority to elect a leader).
   * @default a majority of `sentinels`
   */
  readonly quorum?: number;
  /**
   * `sentinel down-after-milliseconds`: how long the primary must be silent before a sentinel deems it down.
   * @default 5000 (Bitnami 60000; see docs/sentinel-setup.md)
   */
  readonly downAfterMs?: number;
  /**
   * `sentinel failover-timeout`: bounds a failover's steps and the delay before the same primary is failed over again.
   * @default 10000 (Bitnami 180000)
   */
  readonly failoverTimeoutMs?: number;
  /**
   * `min-replicas-to-write`: the primary refuses writes while fewer replicas acknowledged within
   * `minReplicasMaxLagS`. A primary cut off from its replicas then stops accepting writes that the promoted replica on
   * the other side would never see. 0 turns the bound off.
   * @default 1 for `store`, 0 for `cache`
   */
  readonly minReplicasToWrite?: number;
  /**
   * `min-replicas-max-lag`: seconds since a replica's last acknowledgement before it no longer counts.
   * @default 5
   */
  readonly minReplicasMaxLagS?: number;
  /**
   * Size of each sentinel's volume (its config file, which holds its state).
   * @default '64Mi'
   */
  readonly sentinelStorageSize?: string;
  /** @default 6379 */
  readonly port?: number;
  /** @default 26379 */
  readonly sentinelPort?: number;
  /**
   * How long a data pod that the sentinels still name as primary after a stop without hand-over waits for them to
   * promote a replica, when its data did not survive or a replica linked to it until the stop is online (the hand-over
   * guard), before it starts as primary with the data it has. In the second case it waits 15 s at most.
   * @default 60
   */
  readonly emptyPrimaryGuardSeconds?: number;
}

/** Directives the RedisSentinel sets itself, with the prop that controls each (on top of the shared list). */
const SENTINEL_MANAGED: Readonly<Record<string, string>> = {
  'min-replicas-to-write': 'minReplicasToWrite',
  'min-replicas-max-lag': 'minReplicasMaxLagS',
  replicaof: 'nothing (the entrypoint and the sentinels decide roles)',
  slaveof: 'nothing (the entrypoint and the sentinels decide roles)',
  'replica-announce-ip': 'nothing (the pod DNS name)',
};

/** Every prop of a RedisSentinel validated and with its default resolved. @internal */
export type ResolvedSentinelProps = ReturnType<typeof resolveSentinelProps>;

/**
 * Validates the props and resolves their defaults, once: the Sentinel's own, then the shared data-pod props through
 * {@link resolveDataProps} with this construct named in their errors.
 * @internal
 */
export function resolveSentinelProps(id: string, props: RedisSentinelProps) {
  const { name, owner } = constructName('RedisSentinel', id, props.name, 40, '-sentinel-<i>');
  const masterName = props.masterName ?? name;
  check(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(masterName),
    owner,
    'masterName',
    'must be 1 to 64 characters of letters, digits, dot, underscore or dash',
    masterName,
  );
  const replicas = props.replicas ?? 2;
  checkInt(owner, 'replicas', replicas, 1, 9, 'with 0 the sentinels have no replica to promote');
  const sentinels = props.sentinels ?? 3;
  check(
    isInt(sentinels, 3, 9) && sentinels % 2 === 1,
    owner,
    'sentinels',
    'must be an odd integer from 3 to 9 so a majority survives the loss of one sentinel and a partition cannot give both sides one',
    sentinels,
  );
  const quorum = props.quorum ?? Math.floor(sentinels / 2) + 1;
  check(isInt(quorum, 1), owner, 'quorum', 'must be a positive integer', quorum);
  check(
    quorum <= sentinels,
    owner,
    'quorum',
    `must not exceed sentinels (${sentinels}), or no failover can ever start`,
    quorum,
  );
  const downAfterMs = props.downAfterMs ?? 5000;
  checkInt(owner, 'downAfterMs', downAfterMs, 1000, 600_000, 'sentinels ping every second');
  const failoverTimeoutMs = props.failoverTimeoutMs ?? 10_000;
  checkInt(owner, 'failoverTimeoutMs', failoverTimeoutMs, 3000, 3_600_000);
  const port = props.port ?? 6379;
  checkInt(owner, 'port', port, 1, 65535);
  check(port !== EXPORTER_PORT, owner, 'port', `must differ from the exporter port ${EXPORTER_PORT}`, port);
  const sentinelPort = props.sentinelPort ?? 26379;
  check(
    isInt(sentinelPort, 1, 65535) && sentinelPort !== port && sentinelPort !== EXPORTER_PORT,
    owner,
    'sentinelPort',
    `must be an integer from 1 to 65535 other than port (${port}) and the exporter port ${EXPORTER_PORT}`,
    sentinelPort,
  );
  for (const [directive, value] of Object.entries(props.config ?? {})) {
    const managedBy = SENTINEL_MANAGED[directive];
    if (managedBy !== undefined) {
      throw new InvalidPropError(
        owner,
        `config['${directive}']`,
        `is set by the construct; use ${managedBy} instead`,
        value,
      );
    }
  }
  const data = resolveDataProps(owner, props);
  const minReplicasToWrite = props.minReplicasToWrite ?? (data.profileName === 'store' ? 1 : 0);
  check(
    isInt(minReplicasToWrite, 0, replicas),
    owner,
    'minReplicasToWrite',
    `must be an integer from 0 to replicas (${replicas}), or the primary never accepts a write`,
    minReplicasToWrite,
  );
  const minReplicasMaxLagS = props.minReplicasMaxLagS ?? 5;
  checkInt(owner, 'minReplicasMaxLagS', minReplicasMaxLagS, 1, 3600);
  const sentinelStorageSize = props.sentinelStorageSize ?? '64Mi';
  parseMemoryQuantity(owner, 'sentinelStorageSize', sentinelStorageSize);
  const guardSeconds = props.emptyPrimaryGuardSeconds ?? 60;
  checkInt(owner, 'emptyPrimaryGuardSeconds', guardSeconds, 5, 3600);
  return {
    ...data,
    name,
    masterName,
    replicas,
    sentinels,
    quorum,
    downAfterMs,
    failoverTimeoutMs,
    port,
    sentinelPort,
    minReplicasToWrite,
    minReplicasMaxLagS,
    sentinelStorageSize,
    guardSeconds,
  };
}
