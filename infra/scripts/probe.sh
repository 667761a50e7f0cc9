#!/bin/sh
# slotforge probes of a RedisCluster member, as the least-privileged `probe` user.
#   liveness:  the server answers; LOADING (a large AOF being read) and MASTERDOWN count as alive.
#   readiness: "this pod can take over or serves", judged for this pod alone, never "the whole cluster is ok" (one
#              broken shard must not make every pod NotReady and block every rollout):
#              - no empty-master guard in force, and PONG;
#              - a replica: master_link_status:up and no sync in progress (a replica still loading its full resync
#                cannot take over: a rollout that moved on to its master would fail over onto a lagging copy);
#              - a master: owns slots, and is not on the minority side (it reaches a majority of the slot-owning
#                masters), so it serves its slots.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

# The whole probe (every probe_cli call together) is bounded by CLI_TIMEOUT (scriptTimeouts.redisCliSeconds, 3 s),
# 2 s below the probes' timeoutSeconds (5 s): no answer in time fails the probe with a message instead of leaving the
# kubelet to cut it off.
deadline_set "$CLI_TIMEOUT"

not_ready() {
  echo "readiness: $*"
  exit 1
}

# Ready as a master: owns slots and reaches a majority of the masters that own slots (its own CLUSTER NODES view:
# a master it cannot reach is flagged fail or fail?).
master_ready() {
  _nodes=$(probe_cli cluster nodes)
  _me=$(myself_line "$_nodes")
  [ -n "$_me" ] || not_ready "no CLUSTER NODES answer: ${_nodes:-none}"
  line_has_slots "$_me" || not_ready 'a master without slots (not formed yet, or drained)'
  _owners=0
  _reached=0
  while IFS= read -r _line; do
    set -f
    # shellcheck disable=SC2086
    set -- $_line
    set +f
    case ",$3," in *,master,*) ;; *) continue ;; esac
    [ "$#" -gt 8 ] || continue
    _owners=$((_owners + 1))
    case ",$3," in *,fail,* | *,fail\?,*) ;; *) _reached=$((_reached + 1)) ;; esac
  done <<NODES
$_nodes
NODES
  [ $((_reached * 2)) -gt "$_owners" ] ||
    not_ready "reaches $_reached of $_owners slot-owning masters (minority side: it cannot serve its slots)"
}

replica_ready() {
  _link=$(info_field "$1" master_link_status)
  [ "$_link" = up ] || not_ready "replica with master_link_status:${_link:-unknown}"
  _sync=$(info_field "$1" master_sync_in_progress)
  [ "${_sync:-0}" = 0 ] || not_ready 'replica in a full sync from its master'
}

case "${1:-}" in
liveness)
  reply=$(probe_cli ping)
  case "$reply" in PONG | LOADING* | MASTERDOWN* | BUSY*) exit 0 ;; esac
  echo "liveness: $reply"
  exit 1
  ;;
readiness)
  [ -e "$RUN_DIR/guard" ] && not_ready 'restarted-master guard in force'
  reply=$(probe_cli ping)
  [ "$reply" = PONG ] || not_ready "$reply"
  replication=$(probe_cli info replication)
  case "$(info_field "$replication" role)" in
  master) master_ready ;;
  slave) replica_ready "$replication" ;;
  *) not_ready "no role in INFO replication: $replication" ;;
  esac
  ;;
*)
  echo "usage: probe.sh liveness|readiness"
  exit 2
  ;;
esac
