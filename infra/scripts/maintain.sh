#!/bin/sh
# slotforge maintenance loop of a RedisCluster member, started in the background by entrypoint.sh; it ends when the
# redis-server pid given as $1 is gone.
# - Guard: when entrypoint.sh started this node as a guarded empty master, promote one of its replicas
#   (CLUSTER FAILOVER FORCE: the replica has the data, this node has none), wait until this node is a replica, then
#   enable the application and replication users. Bounded by SLOTFORGE_GUARD_TIMEOUT_S.
# - Re-MEET: a peer marked fail/pfail whose hostname now resolves to another address is met again at that address
#   (the fallback when nodes.conf could not be repaired at start, e.g. the peer had no IP yet), unless it belongs to a
#   drained shard (scale in).
# - Ghosts: a failed node without slots whose hostname resolves to the address of a live node is a previous identity
#   of that pod (its volume was lost): forget it. A failing node without hostname (learnt by gossip after the others
#   forgot it) is forgotten when a live peer no longer knows it.
# - Rejoin: a node that is alone while a peer of its shard belongs to a formed cluster meets that peer and replicates
#   the shard's master, unless that master owns no slot (a shard drained for scale in).
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

MAIN_PID=$1
INTERVAL=${SLOTFORGE_MEET_INTERVAL_S:-5}
GUARD_TIMEOUT=${SLOTFORGE_GUARD_TIMEOUT_S:-60}
SELF=$(self_ip)

alive() { kill -0 "$MAIN_PID" 2>/dev/null; }
self_nodes() { rcli "$SELF" cluster nodes 2>/dev/null; }
self_ping() { [ "$(rcli "$SELF" ping 2>/dev/null)" = PONG ]; }

i_am_replica() {
  _me=$(myself_line "$(self_nodes)")
  case "$_me" in *' myself,slave '* | *',slave,'*) return 0 ;; esac
  return 1
}

run_guard() {
  _deadline=$(($(now) + GUARD_TIMEOUT))
  wait_for "$GUARD_TIMEOUT" self_ping || true
  while [ "$(now)" -lt "$_deadline" ] && alive; do
    if i_am_replica; then
      log "guard: a replica took over; this node is a replica now"
      break
    fi
    _nodes=$(self_nodes)
    _myid=$(rcli "$SELF" cluster myid 2>/dev/null)
    printf '%s\n' "$_nodes" | while read -r _id _addr _flags _master _rest; do
      [ "$_master" = "$_myid" ] || continue
      case "$_flags" in *fail*) continue ;; esac
      _reply=$(rcli_at "$(addr_ip "$_addr")" "$(addr_port "$_addr")" cluster failover force 2>&1)
      log "guard: CLUSTER FAILOVER FORCE on replica $_id: $_reply"
      [ "$_reply" = OK ] && break
    done
    sleep 1
  done
  i_am_replica || log "guard: no replica took over within ${GUARD_TIMEOUT}s; serving as master (this shard's data is lost)"
  while read -r _name _key _guarded _rules; do
    case "$_name" in '' | '#'*) continue ;; esac
    [ "$_guarded" = no ] && rcli "$SELF" acl setuser "$_name" on >/dev/null
  done <"$CONFIG_DIR/acl-users.conf"
  rm -f "$RUN_DIR/guard"
}

# One pass of re-MEET and ghost removal over this node's view.
heal_view() {
  _nodes=$1
  printf '%s\n' "$_nodes" | while IFS= read -r _line; do
    set -f
    # shellcheck disable=SC2086
    set -- $_line
    set +f
    [ "$#" -ge 8 ] || continue
    _id=$1
    _addr=$2
    case "$3" in *myself*) continue ;; *fail* | *noaddr*) ;; *) continue ;; esac
    _host=$(addr_host "$_addr")
    if [ -z "$_host" ]; then
      # Learnt by gossip only (gossip carries no hostname): a leftover that the live members already forgot.
      line_has_slots "$_line" && continue
      _peer=$(printf '%s\n' "$_nodes" | grep -v -e myself -e fail -e handshake -e noaddr | grep -m1 'connected' || true)
      [ -n "$_peer" ] || continue
      set -f
      # shellcheck disable=SC2086
      set -- $_peer
      set +f
      if ! rcli_at "$(addr_ip "$2")" "$(addr_port "$2")" cluster nodes 2>/dev/null | grep -q "^$_id "; then
        log "forgetting $_id: failing here and unknown to $1"
        rcli "$SELF" cluster forget "$_id" >/dev/null
      fi
      continue
    fi
    _ip=$(resolve "$_host")
    [ -n "$_ip" ] || continue
    _port=$(addr_port "$_addr")
    if printf '%s\n' "$_nodes" | grep -v "$_id" | grep -v 'fail' | grep -q " $_ip:$_port@"; then
      if ! line_has_slots "$_line"; then
        log "forgetting $_id: a failed former identity of $_host (now another node at $_ip)"
        rcli "$SELF" cluster forget "$_id" >/dev/null
      fi
    elif [ "$_ip" != "$(addr_ip "$_addr")" ]; then
      # Not a member of a drained shard (its master, or itself, is not a serving master of its shard): scale in
      # resets those on purpose, and meeting one again would keep it in the cluster for good (a ghost once pruned).
      case "$3" in *master*) _owner=$_line ;; *) _owner=$(printf '%s\n' "$_nodes" | grep -m1 "^$4 " || true) ;; esac
      _shard=${_host#"${SLOTFORGE_NAME:-}-shard-"}
      serves_shard "$_owner" "${_shard%%-*}" || continue
      _cport=${_addr%%,*}
      log "meeting $_host again at its new address $_ip (was $(addr_ip "$_addr"))"
      rcli "$SELF" cluster meet "$_ip" "$_port" "${_cport#*@}" >/dev/null
    fi
  done
}

knows_node() { self_nodes | grep -q "^$1 "; }

# A fresh node (alone) whose shard peer belongs to a formed cluster joins it as a replica of the shard's master, when
# that master owns slots.
rejoin() {
  [ -n "${SLOTFORGE_NAME:-}" ] && [ -n "${SLOTFORGE_SHARD:-}" ] || return 0
  _info=$(rcli "$SELF" cluster info 2>/dev/null)
  [ "$(info_field "$_info" cluster_known_nodes)" = 1 ] || return 0
  _me=$(myself_line "$(self_nodes)")
  line_has_slots "$_me" && return 0
  _r=0
  while [ "$_r" -lt "${SLOTFORGE_SHARD_SIZE:-2}" ]; do
    _peer="$SLOTFORGE_NAME-shard-$SLOTFORGE_SHARD-$_r"
    _r=$((_r + 1))
    [ "$_peer" = "$POD_NAME" ] && continue
    _ip=$(resolve "$(pod_fqdn "$_peer")")
    [ -n "$_ip" ] || continue
    _pinfo=$(rcli "$_ip" cluster info 2>/dev/null)
    [ "$(info_field "$_pinfo" cluster_slots_assigned)" = 16384 ] || continue
    _pnodes=$(rcli "$_ip" cluster nodes 2>/dev/null)
    _pme=$(myself_line "$_pnodes")
    set -f
    # shellcheck disable=SC2086
    set -- $_pme
    set +f
    case "$3" in *master*) _master=$1 ;; *) _master=$4 ;; esac
    # Only into a shard that serves (its master owns slots and is a pod of this shard): a drained shard's members are
    # reset one after the other (scale in), and one that rejoined in between stayed in the cluster for good.
    serves_shard "$(printf '%s\n' "$_pnodes" | grep -m1 "^$_master " || true)" "$SLOTFORGE_SHARD" || continue
    log "rejoining through $_peer; replicating shard master $_master"
    rcli "$SELF" cluster meet "$_ip" "$REDIS_PORT" "$REDIS_BUS_PORT" >/dev/null
    wait_for 30 knows_node "$_master" || true
    _deadline=$(($(now) + 30))
    until [ "$(rcli "$SELF" cluster replicate "$_master" 2>&1)" = OK ]; do
      [ "$(now)" -ge "$_deadline" ] && break
      sleep 1
    done
    return 0
  done
}

[ -e "$RUN_DIR/guard" ] && run_guard
while alive; do
  sleep "$INTERVAL"
  alive || break
  _view=$(self_nodes) || continue
  [ -n "$_view" ] || continue
  heal_view "$_view"
  rejoin
done
