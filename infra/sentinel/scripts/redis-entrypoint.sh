#!/bin/sh
# slotforge entrypoint of a RedisSentinel data pod (primary or replica).
# Decides the role, deterministically:
#  1. the primary most sentinels report (they are the authority once they know one): this pod is primary only if
#     they name it;
#  2. no sentinel answers (first start, or every sentinel down): a data pod that is a master with a connected
#     replica (a running deployment whose sentinels are all away);
#  3. otherwise ordinal 0 is primary and every other ordinal replicates it.
# A pod the sentinels still name after a stop without hand-over hands over first when its data did not survive or a
# replica holds newer data (the guard below).
# Then renders the final redis.conf (base + dir, port, replica-announce-ip <pod DNS name>, replication credentials,
# ACL users, replicaof) into the in-memory run dir and execs redis-server.
set -eu
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"
. "$CONFIG_DIR/sentinel-lib.sh"

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
if is_self "$1"; then
  replicaof=''
  log "starting as primary, named by $source"
else
  replicaof="$1 $2"
  log "starting as replica of $1:$2, named by $source"
fi

# Whether a majority of all sentinels name this pod (one sentinel's answer is enough to start as primary, not to
# force a failover: a lone sentinel promotes without a vote).
named_by_majority() {
  _named=$(majority_primary) || return 1
  is_self "${_named% *}"
}

# Hand-over guard: the sentinels still name this pod primary, so it stopped without its preStop hand-over (SIGKILL,
# an OOM kill, a failed liveness probe, a lost node) and restarted before they noticed. Starting as primary is wrong
# in two cases, because the restarted primary has a new replication id and every replica fully resyncs from it,
# dropping whatever it lacks:
#  - its data set did not survive (data_survived is lib.sh's: an RDB snapshot alone counts as lost, being older than
#    what the replicas hold): the replicas would copy an empty or stale data set;
#  - a replica that replicated from it until it stopped is online (linked_replica), a majority of the sentinels name
#    this pod, and appendfsync is not `always`. With `everysec` Redis writes the AOF before it replies, except while a
#    background fsync of the previous second still runs (a slow disk): then it postpones the write by up to 2 s and
#    keeps replying, so a kill loses what it acknowledged meanwhile, even writes a WAIT confirmed on a replica (the
#    likely cause of the 4 of 153 714 acknowledged writes the chaos matrix lost, docs/chaos.md). Handing over keeps
#    the replica's copy instead: it loses only what the replica had not received, Redis's documented window of
#    asynchronous replication, which a WAIT closes. With `always` the AOF holds every acknowledged write.
# Instead, before redis-server runs (so no replica can sync from it), the sentinels promote a replica and this pod
# starts as its replica. Bounded by SLOTFORGE_GUARD_TIMEOUT_S (the first case) or 15 s (the second: a working
# failover takes 1-2 s); then it asks the sentinels again and follows the primary they name, or starts as primary
# with the data it has, and says so. A whole-set restart (every replica restarted too, none linked) starts as before.
# Not on a first boot (first_boot in sentinel-lib.sh: a new volume and sentinels that never saw a replica or a
# failover): nothing can be wiped, and no replica could take over, so the guard would only wait out its timeout.
guard_reason=''
GUARD_TIMEOUT=${SLOTFORGE_GUARD_TIMEOUT_S:-60}
if [ -z "$replicaof" ] && [ "$source" = 'the sentinels' ]; then
  if ! data_survived; then
    if first_boot; then
      log "first boot: a new volume, and no sentinel has seen a replica or a failover of $MASTER_NAME;" \
        "starting as primary without the hand-over guard"
    else
      guard_reason="its data set did not survive (${SLOTFORGE_PERSISTENCE:-aof})"
    fi
  elif [ "$(conf_value appendfsync)" != always ] && named_by_majority && follower=$(linked_replica); then
    guard_reason="it stopped without handing over and $follower, which replicated from it until then, is online"
    [ "$GUARD_TIMEOUT" -gt 15 ] && GUARD_TIMEOUT=15
  fi
fi
if [ -n "$guard_reason" ]; then
  log "guard: the sentinels name this pod primary but $guard_reason; asking them to promote a replica first"
  if hand_over $(($(now) + GUARD_TIMEOUT)) && replicaof=$(majority_primary); then
    log "guard: $replicaof took over; starting as its replica"
  else
    replicaof=''
    # shellcheck disable=SC2046
    set -- $(ask_sentinels || true)
    if [ "$#" -eq 2 ] && ! is_self "$1"; then
      replicaof="$1 $2"
      log "guard: no hand-over confirmed within ${GUARD_TIMEOUT}s, but the sentinels name $1 now; starting as its replica"
    else
      log "guard: no replica took over within ${GUARD_TIMEOUT}s; starting as primary with the data set it has"
    fi
  fi
fi

render_config() {
  cat "$CONFIG_DIR/redis.conf"
  printf '\n# --- rendered by redis-entrypoint.sh ---\n'
  printf 'dir %s\nport %s\n' "$DATA_DIR" "$REDIS_PORT"
  [ -n "${REDIS_BIND:-}" ] && printf 'bind %s\n' "$REDIS_BIND"
  # The DNS name, not the IP: a replica that returns with a new IP is still the same replica to the sentinels.
  printf 'replica-announce-ip %s\n' "$SELF_FQDN"
  printf 'masteruser replicator\nmasterauth %s\n' "$(secret replication)"
  render_users no
  [ -n "$replicaof" ] && printf 'replicaof %s\n' "$replicaof"
  return 0
}

mkdir -p "$RUN_DIR" "$DATA_DIR"
umask 077
# From now on this volume belongs to a member of the set: a later start with an empty data set is guarded.
: >"$MEMBER_MARKER"
render_config >"$RUN_DIR/redis.conf.tmp"
mv "$RUN_DIR/redis.conf.tmp" "$RUN_DIR/redis.conf"
exec redis-server "$RUN_DIR/redis.conf"
