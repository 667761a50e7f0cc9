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
#   of that pod (its volume was lost); a failing node without hostname (learnt by gossip after the others forgot it)
#   that the live masters no longer know is a leftover. Either is forgotten only on strong evidence: the cluster is
#   formed (all slots assigned, cluster_state ok: never while the topology is forming or the cluster is down), a
#   majority of the live masters agree (they flag it fail or do not know it), and all of that held on every pass for
#   SLOTFORGE_FORGET_AFTER_S. "Failing" alone is not evidence: an overloaded, throttled or forking member is
#   flagged fail and comes back (issue 15: the old rule forgot healthy members of a 60-node cluster as it formed).
# - Rejoin: a node that is alone while a peer of its shard belongs to a formed cluster meets that peer and replicates
#   the shard's master, unless that master owns no slot (a shard drained for scale in).
# - Replication target: a replica whose master link is down and whose replication still targets an address its
#   master left (learnt by gossip, which Redis 7.0 does not pass on to replication) replicates that master again.
# - Open slots: a slot this master has marked MIGRATING or IMPORTING for longer than SLOTFORGE_OPEN_SLOT_BOUND_S (a
#   reshard, rebalance or scale step cut off by a killed node: Redis 7.0 keeps the markers in nodes.conf and nothing
#   closes them) is closed by finishing the move forward with the migration protocol (docs/cluster-setup.md, "Open
#   slots"): the copy of the node that owns the slot wins, keys only on the other side are moved to the new owner.
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

FORGET_AFTER=${SLOTFORGE_FORGET_AFTER_S:-60}
FORGET_FILE="$RUN_DIR/forget-candidates"

# Whether the cluster is formed and serving as this node sees it: every slot assigned and cluster_state ok.
cluster_settled() {
  _cs_info=$(rcli "$SELF" cluster info 2>/dev/null)
  [ "$(info_field "$_cs_info" cluster_slots_assigned)" = 16384 ] && [ "$(info_field "$_cs_info" cluster_state)" = ok ]
}

# Whether a majority of the live masters of view $1 (this node included when a master) flag node $2 fail or do not
# know it at all.
majority_agrees_gone() {
  _mg_agree=0
  _mg_total=0
  for _mg_addr in $(printf '%s\n' "$1" | while read -r _mg_i _mg_a _mg_f _mg_rest; do
    case ",$_mg_f," in *,master,*) ;; *) continue ;; esac
    case ",$_mg_f," in *,fail,* | *,fail?,* | *,handshake,* | *,noaddr,*) continue ;; esac
    printf '%s:%s\n' "$(addr_ip "$_mg_a")" "$(addr_port "$_mg_a")"
  done); do
    _mg_total=$((_mg_total + 1))
    _mg_line=$(rcli_at "${_mg_addr%:*}" "${_mg_addr##*:}" cluster nodes 2>/dev/null | grep "^$2 " || true)
    case " $_mg_line " in '  ' | *' fail '* | *,fail,* | *' fail,'* | *,fail' '*) _mg_agree=$((_mg_agree + 1)) ;; esac
  done
  [ "$_mg_total" -gt 0 ] && [ $((_mg_agree * 2)) -gt "$_mg_total" ]
}

# Forgets node $1 (reason $2) once it has been a candidate on every pass for FORGET_AFTER seconds; the first time it
# is a candidate it is only noted. Candidates of this pass go to $FORGET_FILE.new (see heal_view).
forget_when_sure() {
  _fw_since=$(grep "^$1 " "$FORGET_FILE" 2>/dev/null | cut -d' ' -f2 || true)
  [ -n "$_fw_since" ] || _fw_since=$(now)
  printf '%s %s\n' "$1" "$_fw_since" >>"$FORGET_FILE.new"
  [ $(($(now) - _fw_since)) -ge "$FORGET_AFTER" ] || return 0
  log "forgetting $1: $2, for ${FORGET_AFTER}s, agreed by a majority of the masters"
  rcli "$SELF" cluster forget "$1" >/dev/null
}

# One pass of re-MEET and ghost removal over this node's view.
heal_view() {
  _nodes=$1
  : >"$FORGET_FILE.new"
  # Never while forming or down: "unknown to a peer" is normal while MEETs spread, "failing" under overload.
  _settled=no
  cluster_settled && _settled=yes
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
      if [ "$_settled" = yes ] && majority_agrees_gone "$_nodes" "$_id"; then
        forget_when_sure "$_id" "failing here, learnt by gossip only, gone for the live masters"
      fi
      continue
    fi
    _ip=$(resolve "$_host")
    [ -n "$_ip" ] || continue
    _port=$(addr_port "$_addr")
    if printf '%s\n' "$_nodes" | grep -v "$_id" | grep -v 'fail' | grep -q " $_ip:$_port@"; then
      if ! line_has_slots "$_line" && [ "$_settled" = yes ] && majority_agrees_gone "$_nodes" "$_id"; then
        forget_when_sure "$_id" "a failed former identity of $_host (DNS: now another node at $_ip)"
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
  mv "$FORGET_FILE.new" "$FORGET_FILE"
}

# --- Open slots ---------------------------------------------------------------------------------------------------
# A slot migration moves one slot at a time and keeps it open for as long as its keys take to MIGRATE (milliseconds
# to seconds); longer means the tool that opened it is gone. The repair only ever finishes a move forward, with the
# same protocol redis-cli uses, so it is safe even if it overlaps a live migration that is merely slow.
OPEN_SLOT_BOUND=${SLOTFORGE_OPEN_SLOT_BOUND_S:-20}
OPEN_SLOTS_FILE="$RUN_DIR/open-slots"

# The id of the node that serves SLOT in the CLUSTER NODES text $1 (masters not flagged fail), or nothing.
slot_owner() {
  printf '%s\n' "$1" | while IFS= read -r _so_line; do
    set -f
    # shellcheck disable=SC2086
    set -- $_so_line
    set +f
    [ "$#" -gt 8 ] || continue
    case ",$3," in *,master,*) ;; *) continue ;; esac
    case ",$3," in *,fail,*) continue ;; esac
    _so_id=$1
    shift 8
    for _so_r in "$@"; do
      case "$_so_r" in '['*) continue ;; esac
      _so_from=${_so_r%-*}
      _so_to=${_so_r#*-}
      if [ "$_so_slot" -ge "$_so_from" ] && [ "$_so_slot" -le "$_so_to" ]; then
        printf '%s' "$_so_id"
        break 2
      fi
    done
  done
}
owner_of() {
  _so_slot=$2
  slot_owner "$1"
}

# ip and port of node id $2 in the CLUSTER NODES text $1, as "ip port".
node_address() {
  _na_line=$(printf '%s\n' "$1" | grep -m1 "^$2 " || true)
  [ -n "$_na_line" ] || return 1
  set -f
  # shellcheck disable=SC2086
  set -- $_na_line
  set +f
  printf '%s %s' "$(addr_ip "$2")" "$(addr_port "$2")"
}

# Whether the node at ip $1 port $2 has its own marker "[SLOT$3" (e.g. "1234->-" or "1234-<-") in its myself line.
has_marker() {
  myself_line "$(rcli_at "$1" "$2" cluster nodes 2>/dev/null)" | grep -q -F "[$3"
}

# MIGRATE one key from ip:port $1 $2 to ip:port $3 $4 (REPLACE when $6 = replace); the admin password goes to
# redis-cli on stdin (-x), never on a command line. Prints the reply.
migrate_key() {
  _mk_opt=''
  [ "$6" = replace ] && _mk_opt=REPLACE
  # shellcheck disable=SC2086
  printf '%s' "$(secret admin)" | rcli_at "$1" "$2" -x migrate "$3" "$4" "$5" 0 5000 $_mk_opt AUTH 2>&1
}

# Moves every key of SLOT from SRC (ip port) to DST (ip port). Which copy wins when a key is on both depends on who
# owns the slot, because the owner's copy is the one clients wrote (they were sent there):
#   MODE=replace  SRC owns the slot: MIGRATE ... REPLACE, SRC's copy overwrites DST's (a leftover of a cut-off MIGRATE);
#   MODE=keep     DST owns the slot: MIGRATE without REPLACE; on BUSYKEY SRC's copy is the leftover and is deleted.
# Bounded: 10000 rounds of 100 keys.
move_slot_keys() {
  _ms_slot=$1
  _ms_src_ip=$2
  _ms_src_port=$3
  _ms_dst_ip=$4
  _ms_dst_port=$5
  _ms_mode=$6
  _ms_round=0
  _ms_before=''
  while [ "$_ms_round" -lt 10000 ]; do
    _ms_round=$((_ms_round + 1))
    _ms_keys=$(rcli_at "$_ms_src_ip" "$_ms_src_port" cluster getkeysinslot "$_ms_slot" 100 2>/dev/null) || return 1
    [ -n "$_ms_keys" ] || return 0
    # No key moved since the last round (every MIGRATE failed): stop; the next pass tries again.
    [ "$_ms_keys" = "$_ms_before" ] && return 1
    _ms_before=$_ms_keys
    printf '%s\n' "$_ms_keys" | while IFS= read -r _ms_key; do
      [ -n "$_ms_key" ] || continue
      _ms_reply=$(migrate_key "$_ms_src_ip" "$_ms_src_port" "$_ms_dst_ip" "$_ms_dst_port" "$_ms_key" "$_ms_mode")
      case "$_ms_reply" in
      OK | NOKEY) ;;
      *BUSYKEY*)
        # The destination owns the slot and has this key: its copy is the one clients wrote (they were sent there),
        # this one a leftover of a MIGRATE cut off before its DEL.
        log "open slot $_ms_slot: key exists on the owner too; keeping the owner's copy"
        rcli_at "$_ms_src_ip" "$_ms_src_port" del "$_ms_key" >/dev/null
        ;;
      *) log "open slot $_ms_slot: MIGRATE of a key failed: $_ms_reply" ;;
      esac
    done
  done
  return 1
}

# Finishes the move of SLOT from the owner (ip port) to the importing node (ip port id): markers set on both sides,
# every key moved, then SETSLOT NODE on the importing node first, the owner next, every other master last.
finish_move() {
  _fm_slot=$1
  _fm_src_ip=$2
  _fm_src_port=$3
  _fm_src_id=$4
  _fm_dst_ip=$5
  _fm_dst_port=$6
  _fm_dst_id=$7
  has_marker "$_fm_dst_ip" "$_fm_dst_port" "$_fm_slot-<-" ||
    rcli_at "$_fm_dst_ip" "$_fm_dst_port" cluster setslot "$_fm_slot" importing "$_fm_src_id" >/dev/null
  has_marker "$_fm_src_ip" "$_fm_src_port" "$_fm_slot->-" ||
    rcli_at "$_fm_src_ip" "$_fm_src_port" cluster setslot "$_fm_slot" migrating "$_fm_dst_id" >/dev/null
  move_slot_keys "$_fm_slot" "$_fm_src_ip" "$_fm_src_port" "$_fm_dst_ip" "$_fm_dst_port" replace || {
    log "open slot $_fm_slot: keys still moving; next pass continues"
    return 1
  }
  _fm_reply=$(rcli_at "$_fm_dst_ip" "$_fm_dst_port" cluster setslot "$_fm_slot" node "$_fm_dst_id" 2>&1)
  [ "$_fm_reply" = OK ] || {
    log "open slot $_fm_slot: SETSLOT NODE on the importing node: $_fm_reply"
    return 1
  }
  rcli_at "$_fm_src_ip" "$_fm_src_port" cluster setslot "$_fm_slot" node "$_fm_dst_id" >/dev/null 2>&1
  printf '%s\n' "$(self_nodes)" | while read -r _fm_id _fm_addr _fm_flags _fm_rest; do
    case ",$_fm_flags," in *,master,*) ;; *) continue ;; esac
    case ",$_fm_flags," in *,fail,* | *,fail?,*) continue ;; esac
    rcli_at "$(addr_ip "$_fm_addr")" "$(addr_port "$_fm_addr")" cluster setslot "$_fm_slot" node "$_fm_dst_id" \
      >/dev/null 2>&1 || true
  done
  log "open slot $_fm_slot: moved to $_fm_dst_id and closed"
}

# Closes one slot this node has had open for longer than the bound. Cases (docs/cluster-setup.md, "Open slots"):
#  owner unknown            wait: a failover is in progress or the shard is lost; any choice could drop the keys of
#                           the node that comes back (it would delete the keys of a slot it lost);
#  IMPORTING, I own it      only the marker is left over (SETSLOT NODE reached me): STABLE;
#  IMPORTING, X owns it     finish the move X -> me (X's copy wins: X served the slot);
#  MIGRATING, I own it      the importing side finishes the move; if it lost its marker (a restarted or promoted
#                           node), I set it and finish the move myself;
#  MIGRATING, X owns it     the move finished elsewhere: my keys go to X (X's copy wins where both exist), then
#                           SETSLOT NODE X here.
repair_slot() {
  _rs_view=$1
  _rs_slot=$2
  _rs_kind=$3
  _rs_peer=$4
  _rs_me=$(myself_line "$_rs_view")
  _rs_myid=${_rs_me%% *}
  _rs_owner=$(owner_of "$_rs_view" "$_rs_slot")
  if [ -z "$_rs_owner" ]; then
    log "open slot $_rs_slot ($_rs_kind $_rs_peer): no node serves it; waiting for a failover"
    return 0
  fi
  # shellcheck disable=SC2046
  set -- $(node_address "$_rs_view" "$_rs_owner")
  _rs_owner_ip=${1:-}
  _rs_owner_port=${2:-}
  case "$_rs_kind" in
  importing)
    if [ "$_rs_owner" = "$_rs_myid" ]; then
      log "open slot $_rs_slot: importing a slot this node owns; clearing the marker"
      rcli "$SELF" cluster setslot "$_rs_slot" stable >/dev/null
    else
      log "open slot $_rs_slot: importing from $_rs_peer for over ${OPEN_SLOT_BOUND}s; finishing the move from owner $_rs_owner"
      finish_move "$_rs_slot" "$_rs_owner_ip" "$_rs_owner_port" "$_rs_owner" "$SELF" "$REDIS_PORT" "$_rs_myid"
    fi
    ;;
  migrating)
    if [ "$_rs_owner" = "$_rs_myid" ]; then
      # The importing node may have been failed over since (its replica has no marker: Redis 7.0 does not replicate
      # them, but it has the keys already moved): the move goes on to the master of its shard.
      _rs_dest=$(printf '%s\n' "$_rs_view" | grep -m1 "^$_rs_peer " || true)
      set -f
      # shellcheck disable=SC2086
      set -- $_rs_dest
      set +f
      case ",${3:-}," in
      ,,)
        log "open slot $_rs_slot: migrating to $_rs_peer, unknown here; clearing the marker"
        rcli "$SELF" cluster setslot "$_rs_slot" stable >/dev/null
        return 0
        ;;
      *,slave,*) _rs_dest=$4 ;;
      *,fail,*)
        log "open slot $_rs_slot: migrating to $_rs_peer, which is failing; waiting"
        return 0
        ;;
      *) _rs_dest=$_rs_peer ;;
      esac
      # shellcheck disable=SC2046
      set -- $(node_address "$_rs_view" "$_rs_dest")
      [ -n "${1:-}" ] || return 0
      has_marker "$1" "$2" "$_rs_slot-<-" && return 0
      log "open slot $_rs_slot: $_rs_dest has no importing marker; finishing the move from here"
      finish_move "$_rs_slot" "$SELF" "$REDIS_PORT" "$_rs_myid" "$1" "$2" "$_rs_dest"
    else
      log "open slot $_rs_slot: migrating, but $_rs_owner owns it; handing this node's keys to it"
      move_slot_keys "$_rs_slot" "$SELF" "$REDIS_PORT" "$_rs_owner_ip" "$_rs_owner_port" keep || return 0
      rcli "$SELF" cluster setslot "$_rs_slot" node "$_rs_owner" >/dev/null
    fi
    ;;
  esac
}

# Tracks this node's own markers (CLUSTER NODES shows them on the myself line only) and repairs those open longer
# than the bound.
close_open_slots() {
  _co_view=$1
  _co_now=$(now)
  # Only a master repairs (Redis closes a node's slots when it turns into a replica).
  case " $(myself_line "$_co_view") " in *,master* | *' master'*) ;; *) return 0 ;; esac
  : >"$OPEN_SLOTS_FILE.new"
  for _co_m in $(myself_line "$_co_view" | tr ' ' '\n' | grep '^\[' || true); do
    _co_m=${_co_m#\[}
    _co_m=${_co_m%]}
    case "$_co_m" in
    *'->-'*) _co_kind=migrating _co_slot=${_co_m%%->-*} _co_peer=${_co_m#*->-} ;;
    *'-<-'*) _co_kind=importing _co_slot=${_co_m%%-<-*} _co_peer=${_co_m#*-<-} ;;
    *) continue ;;
    esac
    _co_since=$(grep "^$_co_slot $_co_kind $_co_peer " "$OPEN_SLOTS_FILE" 2>/dev/null | cut -d' ' -f4 || true)
    [ -n "$_co_since" ] || _co_since=$_co_now
    printf '%s %s %s %s\n' "$_co_slot" "$_co_kind" "$_co_peer" "$_co_since" >>"$OPEN_SLOTS_FILE.new"
    [ $((_co_now - _co_since)) -ge "$OPEN_SLOT_BOUND" ] || continue
    repair_slot "$_co_view" "$_co_slot" "$_co_kind" "$_co_peer" || true
  done
  mv "$OPEN_SLOTS_FILE.new" "$OPEN_SLOTS_FILE"
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

# --- Replication target -------------------------------------------------------------------------------------------
# Redis 7.0 re-targets a replica's replication only when its master's address changes through the master's own PING
# (nodeUpdateAddressIfNeeded), not when the replica learns it by gossip (redis/redis#13572, #14984). After a full
# restart (every pod at a new address, names lagging) a replica could start with its master's old address from
# nodes.conf, learn the new one by gossip, and keep connecting to the old one for good ("replica link down"). A
# replica whose link is down and whose replication target is not the address its cluster table has for its master,
# where that master answers with its id, replicates it again (CLUSTER REPLICATE re-targets replication).
retarget_replication() {
  _rt_view=$1
  _me=$(myself_line "$_rt_view")
  case "$_me" in *' myself,slave '* | *',slave,'*) ;; *) return 0 ;; esac
  _info=$(rcli "$SELF" info replication 2>/dev/null) || return 0
  [ "$(info_field "$_info" master_link_status)" = down ] || return 0
  set -f
  # shellcheck disable=SC2086
  set -- $_me
  set +f
  _master=$4
  _mline=$(printf '%s\n' "$_rt_view" | grep -m1 "^$_master " || true)
  [ -n "$_mline" ] || return 0
  set -f
  # shellcheck disable=SC2086
  set -- $_mline
  set +f
  _mip=$(addr_ip "$2")
  _target=$(info_field "$_info" master_host)
  [ -n "$_mip" ] && [ "$_mip" != "$_target" ] || return 0
  [ "$(rcli_within 1 "$_mip" "$(addr_port "$2")" cluster myid 2>/dev/null)" = "$_master" ] || return 0
  log "replication: master $_master is at $_mip, replication still targets $_target: replicating it again"
  rcli "$SELF" cluster replicate "$_master" >/dev/null
}

[ -e "$RUN_DIR/guard" ] && run_guard
while alive; do
  sleep "$INTERVAL"
  alive || break
  _view=$(self_nodes) || continue
  [ -n "$_view" ] || continue
  heal_view "$_view"
  close_open_slots "$_view"
  retarget_replication "$_view"
  rejoin
done
