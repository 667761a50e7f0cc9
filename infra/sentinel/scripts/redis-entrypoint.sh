#!/bin/sh
# slotforge entrypoint of a RedisSentinel data pod (primary or replica).
# Decides the role, deterministically:
#  1. the primary most sentinels report (they are the authority once they know one): this pod is primary only if
#     they name it;
#  2. no sentinel answers (first start, or every sentinel down): a data pod that is a master with a connected
#     replica (a running deployment whose sentinels are all away);
#  3. otherwise ordinal 0 is primary and every other ordinal replicates it.
# Then renders the final redis.conf (base + dir, port, replica-announce-ip <pod DNS name>, replication credentials,
# ACL users, replicaof) into the in-memory run dir and execs redis-server.
set -eu
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"
. "$CONFIG_DIR/sentinel-lib.sh"

ORDINAL=${POD_NAME##*-}
SELF_FQDN=$(self_fqdn)

primary=$(ask_sentinels || true)
source='the sentinels'
if [ -z "$primary" ]; then
  primary=$(live_primary "$POD_NAME" || true)
  source='a live primary (no sentinel answered)'
fi
if [ -z "$primary" ]; then
  primary="$(pod_fqdn "$(data_pod 0)") $REDIS_PORT"
  source='ordinal 0 (no sentinel knows a primary and no primary is live)'
fi
# shellcheck disable=SC2086
set -- $primary
if [ "$1" = "$SELF_FQDN" ] || [ "$1" = "$(self_ip)" ]; then
  replicaof=''
  log "starting as primary, named by $source"
else
  replicaof="$1 $2"
  log "starting as replica of $1:$2, named by $source"
fi

render_config() {
  cat "$CONFIG_DIR/redis.conf"
  printf '\n# --- rendered by redis-entrypoint.sh ---\n'
  printf 'dir %s\nport %s\n' "$DATA_DIR" "$REDIS_PORT"
  [ -n "${REDIS_BIND:-}" ] && printf 'bind %s\n' "$REDIS_BIND"
  # The DNS name, not the IP: a replica that returns with a new IP is still the same replica to the sentinels.
  printf 'replica-announce-ip %s\n' "$SELF_FQDN"
  printf 'masteruser replicator\nmasterauth %s\n' "$(secret replication)"
  render_users
  [ -n "$replicaof" ] && printf 'replicaof %s\n' "$replicaof"
  return 0
}

mkdir -p "$RUN_DIR" "$DATA_DIR"
umask 077
render_config >"$RUN_DIR/redis.conf.tmp"
mv "$RUN_DIR/redis.conf.tmp" "$RUN_DIR/redis.conf"
exec redis-server "$RUN_DIR/redis.conf"
