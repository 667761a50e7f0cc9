#!/bin/sh
# Open-slot repair of a RedisCluster member's maintenance loop (maintain.sh sources it after lib.sh): a slot this
# master has had MIGRATING or IMPORTING for longer than SLOTFORGE_OPEN_SLOT_BOUND_S is closed by finishing the move
# forward with the migration protocol (docs/cluster-setup.md, "Open slots"); a slot imported from a master that was
# failed over is re-pointed at the new owner at once. Needs from the caller: SELF, REDIS_PORT,
# RUN_DIR and self_nodes.

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

# Field $3 (3: flags, 4: the master of a replica) of node id $2's line in the CLUSTER NODES text $1, or nothing.
node_field() {
  printf '%s\n' "$1" | grep -m1 "^$2 " | cut -d' ' -f"$3"
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
    if [ -z "$_ms_keys" ]; then
      # An empty slot answers COUNTKEYSINSLOT 0; a source that is gone or frozen answers nothing (rcli's status is
      # tr's, not redis-cli's), and must not pass for an empty one.
      [ "$(rcli_at "$_ms_src_ip" "$_ms_src_port" cluster countkeysinslot "$_ms_slot" 2>/dev/null)" = 0 ] || return 1
      return 0
    fi
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
  # An importing node's own table may not know the owner (owner_elsewhere says why).
  if [ -z "$_rs_owner" ] && [ "$_rs_kind" = importing ]; then
    _rs_owner=$(owner_elsewhere "$_rs_view" "$_rs_slot" "$_rs_myid")
  fi
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

# The owner of SLOT as the other masters serving slots see it (the first that names one). A node importing a slot
# keeps the old owner in its own table, or none once that owner turned replica: Redis skips the slots it imports when
# it applies another node's claim (clusterUpdateSlotsConfigWith), so after a failover of the source only the others
# know the new owner. $1 the view, $2 the slot, $3 this node's id.
owner_elsewhere() {
  _oe_view=$1
  _oe_slot=$2
  _oe_me=$3
  printf '%s\n' "$_oe_view" | while read -r _oe_id _oe_addr _oe_flags _oe_rest; do
    [ "$_oe_id" = "$_oe_me" ] && continue
    healthy_master "$_oe_flags" || continue
    _oe_owner=$(owner_of "$(rcli_at "$(addr_ip "$_oe_addr")" "$(addr_port "$_oe_addr")" cluster nodes 2>/dev/null)" \
      "$_oe_slot")
    [ -n "$_oe_owner" ] || continue
    # Only a master this node sees as healthy: a peer that has not yet applied the source's FAIL still names it.
    healthy_master "$(node_field "$_oe_view" "$_oe_owner" 3)" || continue
    printf '%s' "$_oe_owner"
    break
  done
}

# The master this node imports SLOT from ($3) was failed over: its promoted replica serves the slot without the
# MIGRATING marker (Redis does not replicate markers, redis/redis#6339), so it answers for the keys already moved here
# as if they never existed (a read misses, an INCR starts a new counter that the repair would later copy over this
# one). Not worth waiting out the bound: the move is re-pointed at once, the new owner MIGRATING to this node and this
# node IMPORTING from it, so the owner sends clients here for every key it lacks. Returns 1 when that is not the case;
# on success _ff_owner holds the new owner's id.
follow_failed_over_source() {
  _ff_view=$1
  _ff_slot=$2
  _ff_peer=$3
  _ff_me=$(myself_line "$_ff_view")
  _ff_myid=${_ff_me%% *}
  # The source is no longer a master serving the slot: failed (its replica promoted), or back as a replica.
  case ",$(node_field "$_ff_view" "$_ff_peer" 3)," in *,fail,* | *,slave,*) ;; *) return 1 ;; esac
  _ff_owner=$(owner_elsewhere "$_ff_view" "$_ff_slot" "$_ff_myid")
  [ -n "$_ff_owner" ] && [ "$_ff_owner" != "$_ff_peer" ] && [ "$_ff_owner" != "$_ff_myid" ] || return 1
  # shellcheck disable=SC2046
  set -- $(node_address "$_ff_view" "$_ff_owner")
  [ -n "${1:-}" ] || return 1
  _ff_reply=$(rcli_at "$1" "$2" cluster setslot "$_ff_slot" migrating "$_ff_myid" 2>&1)
  if [ "$_ff_reply" != OK ]; then
    log "open slot $_ff_slot: $_ff_peer was failed over to $_ff_owner; SETSLOT MIGRATING there: $_ff_reply"
    return 1
  fi
  _ff_reply=$(rcli "$SELF" cluster setslot "$_ff_slot" importing "$_ff_owner" 2>&1)
  if [ "$_ff_reply" != OK ]; then
    log "open slot $_ff_slot: $_ff_peer was failed over to $_ff_owner; SETSLOT IMPORTING here: $_ff_reply"
    return 1
  fi
  # This node's own table still gives the slot to the failed source (Redis does not apply claims to a slot it
  # imports), which with cluster-require-full-coverage turns its cluster_state to fail: every slot it serves is
  # refused until the source returns. Naming the new owner here keeps the IMPORTING marker (the slot is not this
  # node's) and makes the state ok again; with ASKING this node serves the keys it imported.
  _ff_reply=$(rcli "$SELF" cluster setslot "$_ff_slot" node "$_ff_owner" 2>&1)
  [ "$_ff_reply" = OK ] || log "open slot $_ff_slot: SETSLOT NODE $_ff_owner here: $_ff_reply"
  log "open slot $_ff_slot: $_ff_peer was failed over to $_ff_owner; the move now comes from $_ff_owner"
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
    if [ "$_co_kind" = importing ] && follow_failed_over_source "$_co_view" "$_co_slot" "$_co_peer"; then
      # The same move, from its new source: it keeps the time it was first seen open.
      printf '%s importing %s %s\n' "$_co_slot" "$_ff_owner" "$_co_since" >>"$OPEN_SLOTS_FILE.new"
      continue
    fi
    printf '%s %s %s %s\n' "$_co_slot" "$_co_kind" "$_co_peer" "$_co_since" >>"$OPEN_SLOTS_FILE.new"
    [ $((_co_now - _co_since)) -ge "$OPEN_SLOT_BOUND" ] || continue
    repair_slot "$_co_view" "$_co_slot" "$_co_kind" "$_co_peer" || true
  done
  mv "$OPEN_SLOTS_FILE.new" "$OPEN_SLOTS_FILE"
}
