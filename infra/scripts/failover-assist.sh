#!/bin/sh
# slotforge failover assist of a RedisCluster member, started in the background by entrypoint.sh; it ends when the
# redis-server pid given as $1 is gone. Off with SLOTFORGE_FAILOVER_ASSIST=0 (the construct's failoverAssist prop).
#
# Redis fails a master over in three waits after its node timeout (docs/chaos.md, "Where the failover time goes"):
# each other master must time out a PING of its own (PFAIL), their failure reports must reach one node by gossip,
# which then broadcasts FAIL, and the replica waits 500 ms + 0-500 ms + 1 s per rank before it asks for votes. The
# first is the definition of "unreachable for the node timeout"; the other two are 1.5 to 3 s of waiting on a
# decision that is already made. This loop reads this node's view every SLOTFORGE_FAILOVER_ASSIST_INTERVAL_MS; when
# this node is a replica and suspects its master (flagged failing here, or a PING to it unanswered for half the node
# timeout: the replica's own PING may have gone out after the masters'), it asks every other master serving slots
# directly, and when as many of them as Redis's own quorum (masters serving slots / 2 + 1) flag the master failing
# (fail? or fail) it starts the election at once with CLUSTER FAILOVER FORCE. The masters still vote (FORCE skips only the handshake
# with the unreachable master), so the condition, the quorum and the vote are Redis's; only the waiting goes.
# Not acted on: a master without slots (a drained shard), a replica that is not the most advanced of its master's
# replicas that answer (rank, as Redis orders them), cluster-replica-no-failover set, or within 2 x node timeout of
# the last attempt (Redis's own retry bound).
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

MAIN_PID=$1
SELF=$(self_ip)
INTERVAL_MS=${SLOTFORGE_FAILOVER_ASSIST_INTERVAL_MS:-200}

alive() { kill -0 "$MAIN_PID" 2>/dev/null; }
# Milliseconds since the epoch (GNU date).
now_ms() { date +%s%3N; }
flagged_failing() { case ",$1," in *,fail,* | *,fail\?,*) return 0 ;; *) return 1 ;; esac; }

# Whether node $1 (master id) is flagged failing by a quorum of the masters of view $2 serving slots; QUORUM says how
# many agreed of how many.
quorum_flags_failing() {
  _qf_target=$1
  _qf_size=0
  _qf_agree=0
  _qf_peers=$(printf '%s\n' "$2" | while IFS= read -r _qf_l; do
    set -f
    # shellcheck disable=SC2086
    set -- $_qf_l
    set +f
    case ",$3," in *,master,*) ;; *) continue ;; esac
    line_has_slots "$_qf_l" && printf '%s %s %s\n' "$1" "$2" "$3"
  done)
  while read -r _qf_id _qf_addr _qf_flags; do
    [ -n "$_qf_id" ] || continue
    _qf_size=$((_qf_size + 1))
    [ "$_qf_id" = "$_qf_target" ] && continue
    case ",$_qf_flags," in *,fail,* | *,fail\?,* | *,handshake,* | *,noaddr,*) continue ;; esac
    _qf_line=$(rcli_within 1 "$(addr_ip "$_qf_addr")" "$(addr_port "$_qf_addr")" cluster nodes 2>/dev/null |
      grep "^$_qf_target " || true)
    _qf_seen=$(printf '%s' "$_qf_line" | cut -d' ' -f3)
    flagged_failing "$_qf_seen" && _qf_agree=$((_qf_agree + 1))
  done <<EOF
$_qf_peers
EOF
  QUORUM="$_qf_agree of $_qf_size"
  [ "$_qf_size" -gt 0 ] && [ "$_qf_agree" -ge $((_qf_size / 2 + 1)) ]
}

# Whether this replica's replication offset is the highest among the replicas of master $1 in view $2 that answer
# (ties: the lowest node id), as Redis ranks replicas for the election.
best_replica() {
  _br_mine=$(info_field "$(rcli "$SELF" info replication 2>/dev/null)" slave_repl_offset)
  [ -n "$_br_mine" ] || return 1
  _br_myid=$(rcli "$SELF" cluster myid 2>/dev/null)
  printf '%s\n' "$2" | while read -r _br_id _br_addr _br_flags _br_master _br_rest; do
    [ "$_br_master" = "$1" ] && [ "$_br_id" != "$_br_myid" ] || continue
    case ",$_br_flags," in *,fail,* | *,fail\?,* | *,handshake,* | *,noaddr,*) continue ;; esac
    _br_theirs=$(info_field "$(rcli_within 1 "$(addr_ip "$_br_addr")" "$(addr_port "$_br_addr")" info replication \
      2>/dev/null)" slave_repl_offset)
    [ -n "$_br_theirs" ] || continue
    [ "$_br_theirs" -gt "$_br_mine" ] && exit 1
    [ "$_br_theirs" = "$_br_mine" ] || continue
    [ "$(printf '%s\n%s\n' "$_br_id" "$_br_myid" | sort | head -n 1)" = "$_br_id" ] && exit 1
    :
  done
}

# One decision on master $1, flagged failing in this node's stream; succeeds when it started an election.
assist() {
  _view=$(rcli "$SELF" cluster nodes 2>/dev/null) || return 1
  _master_line=$(printf '%s\n' "$_view" | grep "^$1 " || true)
  [ -n "$_master_line" ] && line_has_slots "$_master_line" || return 1
  [ "$(rcli "$SELF" config get cluster-replica-no-failover 2>/dev/null | tail -n 1)" = yes ] && return 1
  quorum_flags_failing "$1" "$_view" || return 1
  best_replica "$1" "$_view" || return 1
  _reply=$(rcli "$SELF" cluster failover force 2>&1)
  log "assist: master $1 flagged failing by $QUORUM masters serving slots; CLUSTER FAILOVER FORCE: $_reply" \
    "($(($(now_ms) - _now)) ms after this node suspected it)"
}

NODE_TIMEOUT_MS=$(rcli "$SELF" config get cluster-node-timeout 2>/dev/null | tail -n 1)
case "$NODE_TIMEOUT_MS" in '' | *[!0-9]*) NODE_TIMEOUT_MS=15000 ;; esac
_secs=$((INTERVAL_MS / 1000)).$(printf '%03d' $((INTERVAL_MS % 1000)))
_last=0
while alive; do
  # One redis-cli repeats CLUSTER NODES every interval (-r -1 -i): one process, not one per poll. It ends when the
  # server goes away; the loop starts it again while redis-server lives. redis-cli flushes each reply; nothing else
  # may stand in the pipe (tr, grep: a filter writing to a pipe buffers 4 KiB, which held the lines back 1.2 s).
  # shellcheck disable=SC2086
  REDISCLI_AUTH=$(secret admin) redis-cli $TLS_ARGS --no-auth-warning -h "$SELF" -p "$REDIS_PORT" -r -1 \
    -i "$_secs" cluster nodes 2>/dev/null | {
    _master=
    while read -r _id _addr _flags _of _ping _rest; do
      case ",$_flags," in
      *,myself,*)
        case ",$_flags," in *,slave,*) _master=$_of ;; *) _master= ;; esac
        continue
        ;;
      esac
      [ -n "$_master" ] && [ "$_id" = "$_master" ] || continue
      # Suspect: flagged failing here, or a PING to it unanswered for half the node timeout (this replica may be the
      # last to flag it: its own PING may have gone out later than the masters').
      if ! flagged_failing "$_flags"; then
        [ "${_ping:-0}" != 0 ] || continue
        [ $(($(now_ms) - _ping)) -gt $((NODE_TIMEOUT_MS / 2)) ] || continue
      fi
      _now=$(now_ms)
      [ $((_now - _last)) -ge $((2 * NODE_TIMEOUT_MS)) ] || continue
      # After an election was started, none again for 2 x node timeout (Redis's own retry bound).
      assist "$_master" && _last=$_now
      alive || exit 0
    done
  }
  alive || break
  sleep 1
done
