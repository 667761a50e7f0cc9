#!/bin/sh
# slotforge bootstrap of a RedisCluster, run by the topology Job. Idempotent and convergent: on a formed cluster it
# changes nothing; on a partly formed one it finishes the work.
#  1. waits until every member pod resolves and answers PING (not readiness: readiness needs a formed cluster);
#  2. MEETs (by IP: the bus needs one) every member the seed does not know yet;
#  3. when no slot is assigned, gives shard s the range [s*16384/S, (s+1)*16384/S) on its member 0;
#  4. makes every slot-less master of a shard a replica of that shard's master;
#  5. waits until every member sees every replica and reports cluster_state:ok.
# Env: SLOTFORGE_NAME, SLOTFORGE_SHARDS, SLOTFORGE_SHARD_SIZE (1 + replicas), SLOTFORGE_RETIRING_SHARDS, plus lib.sh's.
set -eu
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

NAME=${SLOTFORGE_NAME:?}
SHARDS=${SLOTFORGE_SHARDS:?}
SIZE=${SLOTFORGE_SHARD_SIZE:?}
RETIRING=${SLOTFORGE_RETIRING_SHARDS:-0}
TIMEOUT=${SLOTFORGE_BOOTSTRAP_TIMEOUT_S:-600}
ALL=$((SHARDS + RETIRING))

member() { printf '%s-shard-%s-%s' "$NAME" "$1" "$2"; }
member_ip() { resolve "$(pod_fqdn "$(member "$1" "$2")")"; }

# Runs "$@" once per member with $s $r set.
each_member() {
  s=0
  while [ "$s" -lt "$ALL" ]; do
    r=0
    while [ "$r" -lt "$SIZE" ]; do
      "$@"
      r=$((r + 1))
    done
    s=$((s + 1))
  done
}

member_up() {
  _ip=$(member_ip "$s" "$r")
  [ -n "$_ip" ] && [ "$(rcli "$_ip" ping 2>/dev/null)" = PONG ]
}
wait_member() {
  wait_for "$TIMEOUT" member_up || die "member $(member "$s" "$r") did not resolve and answer PING within ${TIMEOUT}s"
}
log "waiting for $((ALL * SIZE)) members ($ALL shards x $SIZE)"
each_member wait_member

SEED=$(member_ip 0 0)
meet_member() {
  _ip=$(member_ip "$s" "$r")
  _id=$(rcli "$_ip" cluster myid)
  if ! rcli "$SEED" cluster nodes | grep -q "^$_id "; then
    log "meeting $(member "$s" "$r") at $_ip"
    rcli "$SEED" cluster meet "$_ip" "$REDIS_PORT" "$REDIS_BUS_PORT" >/dev/null
  fi
}
each_member meet_member

knows_all() {
  _n=$(info_field "$(rcli "$(member_ip "$s" "$r")" cluster info)" cluster_known_nodes)
  [ "${_n:-0}" -ge $((ALL * SIZE)) ]
}
wait_knows_all() { wait_for "$TIMEOUT" knows_all || die "$(member "$s" "$r") does not know every member"; }
each_member wait_knows_all

assigned=$(info_field "$(rcli "$SEED" cluster info)" cluster_slots_assigned)
if [ "$assigned" = 0 ]; then
  s=0
  while [ "$s" -lt "$SHARDS" ]; do
    first=$((s * 16384 / SHARDS))
    last=$(((s + 1) * 16384 / SHARDS - 1))
    log "assigning slots $first-$last to $(member "$s" 0)"
    [ "$(rcli "$(member_ip "$s" 0)" cluster addslotsrange "$first" "$last")" = OK ] || die "ADDSLOTSRANGE failed"
    s=$((s + 1))
  done
elif [ "$assigned" != 16384 ]; then
  die "only $assigned of 16384 slots are assigned: fix by hand (redis-cli --cluster fix), then rerun"
fi

# Waits until the seed sees the slot assignment of every shard, so replicas are not attached to a stale view.
slots_seen() { [ "$(info_field "$(rcli "$(member_ip "$s" "$r")" cluster info)" cluster_slots_assigned)" = 16384 ]; }
wait_slots_seen() { wait_for "$TIMEOUT" slots_seen || die "$(member "$s" "$r") does not see all slots"; }
each_member wait_slots_seen

# The id of shard s's master: its member that is a master with slots, else member 0 (a new, slot-less shard).
shard_master() {
  _fallback=''
  _r=0
  while [ "$_r" -lt "$SIZE" ]; do
    _me=$(myself_line "$(rcli "$(member_ip "$s" "$_r")" cluster nodes)")
    case "$_me" in *master*)
      if line_has_slots "$_me"; then
        printf '%s' "${_me%% *}"
        return
      fi
      [ "$_r" = 0 ] && _fallback=${_me%% *}
      ;;
    esac
    _r=$((_r + 1))
  done
  printf '%s' "$_fallback"
}

attach_replicas() {
  [ "$r" = 0 ] && return 0
  _ip=$(member_ip "$s" "$r")
  _me=$(myself_line "$(rcli "$_ip" cluster nodes)")
  case "$_me" in *slave*) return 0 ;; esac
  line_has_slots "$_me" && return 0
  _master=$(shard_master)
  [ -n "$_master" ] || die "shard $s has no master"
  [ "${_me%% *}" = "$_master" ] && return 0
  log "$(member "$s" "$r") replicates $_master"
  _reply=$(rcli "$_ip" cluster replicate "$_master")
  [ "$_reply" = OK ] || die "CLUSTER REPLICATE on $(member "$s" "$r"): $_reply"
}
each_member attach_replicas

# Every member sees every replica attached: the Job ends on a converged view, not on the first member that agrees.
replicas_seen() {
  _n=0
  for _f in $(rcli "$(member_ip "$s" "$r")" cluster nodes | cut -d' ' -f3); do
    case ",$_f," in *,slave,*) _n=$((_n + 1)) ;; esac
  done
  [ "$_n" -ge $((ALL * (SIZE - 1))) ]
}
wait_replicas_seen() { wait_for "$TIMEOUT" replicas_seen || die "$(member "$s" "$r") does not see every replica"; }
each_member wait_replicas_seen

healthy() { [ "$(info_field "$(rcli "$(member_ip "$s" "$r")" cluster info)" cluster_state)" = ok ]; }
wait_healthy() { wait_for "$TIMEOUT" healthy || die "$(member "$s" "$r") never reported cluster_state:ok"; }
each_member wait_healthy
log "cluster formed: $SHARDS shards x $SIZE members"
