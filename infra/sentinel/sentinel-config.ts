import { type RedisConfEntries, renderRedisConf } from '../config/index.ts';
import { confEntries as conf, type DataConfigInput } from '../data-pod/index.ts';

/** What the base redis.conf of a Sentinel-managed Redis pod is made from. */
export interface SentinelRedisConfigInput extends DataConfigInput {
  readonly minReplicasToWrite: number;
  readonly minReplicasMaxLagS: number;
}

/**
 * The base redis.conf of a data pod (primary or replica): everything that does not depend on the pod. The entrypoint
 * appends `dir`, `port`, `replica-announce-ip <pod DNS name>`, `masteruser`/`masterauth`, the ACL users and, on a
 * replica, `replicaof`. Each default is argued in docs/sentinel-setup.md.
 * @internal
 */
export function sentinelRedisConfEntries(input: SentinelRedisConfigInput): RedisConfEntries {
  return [
    ...conf.server(input.port),
    ...conf.persistence(input),
    // A cut-off primary stops accepting writes once fewer than N replicas acknowledged within the lag: it bounds the
    // writes lost when the sentinels promote a replica on the other side of a partition.
    ['min-replicas-to-write', input.minReplicasToWrite],
    ['min-replicas-max-lag', input.minReplicasMaxLagS],
    // Same reasoning as the cluster: a replica that rejoins (or follows a new primary) syncs at once.
    ...conf.replication(input.memory),
    // Replicas keep serving reads while their link is down; the sentinels decide who is primary, not the replicas.
    ['replica-serve-stale-data', true],
    ...conf.connection(),
    conf.replicaBuffer(input.memory),
    ...conf.user(input),
  ];
}

/** Renders {@link sentinelRedisConfEntries}. */
export function renderSentinelRedisConf(input: SentinelRedisConfigInput, owner: string): string {
  return renderRedisConf(sentinelRedisConfEntries(input), `redis.conf of ${owner}, rendered by slotforge`);
}

/** What the base sentinel.conf is made from. */
export interface SentinelConfigInput {
  readonly masterName: string;
  readonly sentinelPort: number;
  readonly quorum: number;
  readonly downAfterMs: number;
  readonly failoverTimeoutMs: number;
}

/**
 * The parts of sentinel.conf that do not depend on the pod or on what the sentinels learnt. The entrypoint writes it
 * (with `sentinel monitor`, `sentinel announce-ip <pod DNS name>` and the auth lines) to the volume on the first start
 * only; afterwards Sentinel's own rewritten file is kept, so a restarted sentinel keeps its view (epochs, known
 * replicas and sentinels, the current primary) and only the pod-specific and secret lines are refreshed.
 * The `sentinel monitor` and per-master lines are kept separate in {@link masterLines} because they must follow
 * `resolve-hostnames`, and the entrypoint fills in the primary's address.
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/#ip-addresses-and-dns-names
 * @internal
 */
export function renderSentinelConf(input: SentinelConfigInput, owner: string): string {
  const lines = [
    `# sentinel.conf of ${owner}, rendered by slotforge (the entrypoint completes it once; Sentinel rewrites it)`,
    `port ${input.sentinelPort}`,
    'daemonize no',
    'logfile ""',
    'protected-mode no',
    // Hostnames everywhere (Redis 6.2+): pods return with new IPs, their DNS names stay. resolve-hostnames must come
    // before `sentinel monitor <hostname>`.
    'sentinel resolve-hostnames yes',
    'sentinel announce-hostnames yes',
    // Replicas announce their DNS names themselves (replica-announce-ip); a sentinel that restarts with its file
    // knows them by name.
  ];
  return `${lines.join('\n')}\n`;
}

/** The per-master lines the entrypoint writes after `sentinel monitor <masterName> <host> <port> <quorum>`. */
export function masterLines(input: SentinelConfigInput): string {
  const m = input.masterName;
  return [
    `sentinel down-after-milliseconds ${m} ${input.downAfterMs}`,
    `sentinel failover-timeout ${m} ${input.failoverTimeoutMs}`,
    // One replica resyncs at a time, so the others keep serving reads during a failover.
    `sentinel parallel-syncs ${m} 1`,
    '',
  ].join('\n');
}
