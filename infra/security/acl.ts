/**
 * ACL users of a Redis deployment, each with the least privilege its job needs. The entrypoint renders them as
 * `user <name> reset on #<sha256> <rules>` lines from `acl-users.conf` (one `name secret-key guarded rules` line per
 * user), so passwords are only ever hashes in the config.
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/
 */
export interface AclUser {
  readonly name: string;
  /** Key of the auth Secret holding this user's password. */
  readonly secretKey: string;
  /** Whether the user stays enabled while the empty-master guard holds (the node must not serve or feed replicas). */
  readonly enabledWhileGuarded: boolean;
  /** ACL rules after `reset on #hash`. */
  readonly rules: string;
}

/** Commands an application never needs and that can destroy or leak a data set. */
export const APP_DENIED_COMMANDS = ['flushall', 'flushdb', 'keys', 'config', 'debug', 'shutdown'] as const;

/**
 * Application user: every data command, pub/sub on all channels, and the read-only cluster and client commands a
 * cluster client calls (CLUSTER SLOTS/SHARDS/NODES, INFO for ioredis' ready check, CLIENT TRACKING); no @admin, no
 * @dangerous, and explicitly none of {@link APP_DENIED_COMMANDS}.
 */
const APP_RULES = [
  '~* &* +@all -@admin -@dangerous',
  '+info +cluster|slots +cluster|shards +cluster|nodes +cluster|info +cluster|keyslot +cluster|myid',
  '+client|setname +client|getname +client|id +client|info +client|tracking +client|trackinginfo +client|caching',
  '+client|no-evict +client|reply +sort +sort_ro +readonly +readwrite',
  ...APP_DENIED_COMMANDS.map((command) => `-${command}`),
].join(' ');

/**
 * Probe user: liveness needs PING; readiness INFO replication (a replica's link and sync state) and CLUSTER NODES (a
 * master's own slots and which masters it reaches). Nothing that reads a key or a config value.
 */
const PROBE_RULES = 'resetkeys resetchannels -@all +ping +cluster|info +cluster|myid +cluster|nodes +info';

/**
 * Exporter user: what redis_exporter reads without key checks (1.45; 1.69, the local image's, and v1.88.0, the
 * charts', also read LATENCY HISTOGRAM for their per-command latency histograms), and no CONFIG GET. v1.88.0's
 * COMMANDLOG LEN (Redis 8.2) is not granted: Redis 8.0 refuses an ACL rule naming a command it does not know, so the
 * call answers NOPERM on 8.2 and only the commandlog length metrics are missing (docs/cluster-setup.md). CONFIG GET returns
 * `masterauth` (the replication password) in clear to anyone allowed `config|get` (checked on Redis 7.0.15), and
 * ACL rules cannot limit it to some parameters: a command or subcommand is allowed whole, and selectors restrict keys
 * and channels only. The exporter runs with `REDIS_EXPORTER_CONFIG_COMMAND=-` (see exporter.ts) so it never asks: it
 * loses redis_config_maxmemory/maxclients only (redis_memory_max_bytes comes from INFO memory).
 */
const EXPORTER_RULES = [
  'resetkeys resetchannels -@all +ping +info +select +client|setname +client|list',
  '+cluster|info +cluster|nodes +slowlog|get +slowlog|len +latency|latest +latency|histogram +memory|stats',
].join(' ');

/**
 * Replication user: what a replica sends its master during a sync. Data-equivalent to `default`: PSYNC streams the
 * whole data set (every key) to whoever holds this password, so treat the `replication` key like the admin one.
 */
const REPLICATION_RULES = 'resetkeys resetchannels -@all +psync +replconf +ping';

/** The users of a cluster member. `default` is the admin user of the scripts (bootstrap, preStop, scaling). */
export const CLUSTER_ACL_USERS: readonly AclUser[] = [
  { name: 'default', secretKey: 'admin', enabledWhileGuarded: true, rules: '~* &* +@all' },
  { name: 'app', secretKey: 'app', enabledWhileGuarded: false, rules: APP_RULES },
  { name: 'probe', secretKey: 'probe', enabledWhileGuarded: true, rules: PROBE_RULES },
  { name: 'exporter', secretKey: 'exporter', enabledWhileGuarded: true, rules: EXPORTER_RULES },
  { name: 'replicator', secretKey: 'replication', enabledWhileGuarded: false, rules: REPLICATION_RULES },
];

/** `acl-users.conf`, the file the entrypoint renders users from. */
export function renderAclUsers(users: readonly AclUser[]): string {
  const lines = users.map((u) => `${u.name} ${u.secretKey} ${u.enabledWhileGuarded ? 'yes' : 'no'} ${u.rules}`);
  return `# name secret-key enabled-while-guarded rules (rendered by slotforge)\n${lines.join('\n')}\n`;
}

/** Secret keys a deployment with these users needs. */
export function secretKeysOf(users: readonly AclUser[]): string[] {
  return [...new Set(users.map((u) => u.secretKey))];
}
