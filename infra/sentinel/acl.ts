import { type AclUser, CLUSTER_ACL_USERS } from '../security/index.ts';

/**
 * What a sentinel sends a Redis it monitors: INFO and ROLE, PING, hello messages on `__sentinel__:hello`, and during a
 * failover REPLICAOF/SLAVEOF in MULTI/EXEC with CONFIG REWRITE and CLIENT KILL.
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/#acl-rules-for-sentinel-and-replicas
 */
const SENTINEL_RULES = [
  'resetkeys resetchannels &__sentinel__:hello -@all',
  '+ping +info +role +multi +exec +slaveof +replicaof +config|rewrite +subscribe +publish',
  '+client|setname +client|kill +script|kill',
].join(' ');

/**
 * The users of a Sentinel-managed Redis pod: the cluster's users (admin `default`, `app`, `probe`, `exporter`,
 * `replicator`; the cluster-only commands in their rules are harmless on a non-cluster server) plus `sentinel`, the
 * least-privileged user the sentinels log in as.
 */
export const SENTINEL_ACL_USERS: readonly AclUser[] = [
  ...CLUSTER_ACL_USERS,
  { name: 'sentinel', secretKey: 'sentinel', enabledWhileGuarded: true, rules: SENTINEL_RULES },
];

/** Secret key of the sentinels' own password (clients, scripts and sentinel peers authenticate with it). */
export const SENTINEL_ACCESS_KEY = 'sentinel-access';
