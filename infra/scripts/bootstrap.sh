#!/bin/sh
# slotforge bootstrap of a RedisCluster, run by the topology Job. Idempotent and convergent: on a formed cluster it
# changes nothing; on a partly formed one it finishes the work.
#  1. waits until every member pod resolves and answers PING (not readiness: readiness needs a formed cluster);
#  2. MEETs (by IP: the bus needs one) every member the seed does not know yet;
#  3. gives every slot no master owns to the shard the plan gives it, [s*16384/S, (s+1)*16384/S), on that shard's
#     master (member 0 on a new cluster): all of them on a new cluster, the rest after a run cut off half-way; stops
#     with the slots and members when an unowned slot still holds keys somewhere;
#  4. makes every slot-less master of a shard a replica of that shard's master;
#  5. waits until every member sees every replica and reports cluster_state:ok.
# Env: SLOTFORGE_NAME, SLOTFORGE_SHARDS, SLOTFORGE_SHARD_SIZE (1 + replicas), SLOTFORGE_RETIRING_SHARDS, plus lib.sh's.
set -eu
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

read_topology
TIMEOUT=${SLOTFORGE_BOOTSTRAP_TIMEOUT_S:-600}
ALL=$((SHARDS + RETIRING))

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

# A MEET whose handshake does not finish within the node timeout (a loaded machine: 60 members forming on 2 cores) is
# dropped by the seed and never retried by Redis, and the member it met ignores the seed's gossip from then on: it
# stays alone and the cluster never forms. MEET again every member the seed does not know, by its address and id now
# (a pod recreated meanwhile has a new address, and without its nodes.conf a new id).
remeet_unknown() {
  _ru_view=$NL$(rcli "$SEED" cluster nodes)
  [ "$_ru_view" != "$NL" ] || return 0
  _ru_s=0
  while [ "$_ru_s" -lt "$ALL" ]; do
    _ru_r=0
    while [ "$_ru_r" -lt "$SIZE" ]; do
      _ru_ip=$(member_ip "$_ru_s" "$_ru_r")
      _ru_id=$(rcli "$_ru_ip" cluster myid 2>/dev/null)
      _ru_r=$((_ru_r + 1))
      [ -n "$_ru_ip" ] && [ -n "$_ru_id" ] || continue
      case "$_ru_view" in *"$NL$_ru_id "*) continue ;; esac
      log "meeting $_ru_ip again: the seed does not know $_ru_id (a handshake that did not finish, or a new pod)"
      rcli "$SEED" cluster meet "$_ru_ip" "$REDIS_PORT" "$REDIS_BUS_PORT" >/dev/null
    done
    _ru_s=$((_ru_s + 1))
  done
}
# The first MEETs get a node timeout or more to finish before any is sent again.
_remeet_at=$(($(now) + 10))
knows_all() {
  _n=$(info_field "$(rcli "$(member_ip "$s" "$r")" cluster info)" cluster_known_nodes)
  [ "${_n:-0}" -ge $((ALL * SIZE)) ] && return 0
  [ "$(now)" -ge "$_remeet_at" ] || return 1
  _remeet_at=$(($(now) + 10))
  remeet_unknown
  return 1
}
wait_knows_all() { wait_for "$TIMEOUT" knows_all || die "$(member "$s" "$r") does not know every member"; }
each_member wait_knows_all

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

# The address of shard s's master as shard_master picks it.
shard_master_ip() {
  _want=$(shard_master)
  _r=0
  while [ "$_r" -lt "$SIZE" ]; do
    _ip=$(member_ip "$s" "$_r")
    [ "$(rcli "$_ip" cluster myid)" = "$_want" ] && {
      printf '%s' "$_ip"
      return
    }
    _r=$((_r + 1))
  done
}

# "first last" of every slot range a master line of CLUSTER NODES owns, sorted; open-slot markers ([s->-id]) skipped.
assigned_ranges() {
  rcli "$SEED" cluster nodes | while read -r _id _a _f _m _p _q _e _l _slots; do
    case ",$_f," in *,master,*) ;; *) continue ;; esac
    for _range in $_slots; do
      case "$_range" in
      '['*) ;;
      *-*) printf '%s %s\n' "${_range%-*}" "${_range#*-}" ;;
      *) printf '%s %s\n' "$_range" "$_range" ;;
      esac
    done
  done | sort -n -k1,1
}

# The ranges "first last" no master owns, from sorted assigned ranges on stdin.
unassigned_ranges() {
  _next=0
  while read -r _a _b; do
    [ "$_a" -gt "$_next" ] && printf '%s %s\n' "$_next" "$((_a - 1))"
    [ "$_b" -ge "$_next" ] && _next=$((_b + 1))
  done
  [ "$_next" -le 16383 ] && printf '%s 16383\n' "$_next"
  return 0
}

# A slot no master owns may still hold keys on some node (a claim removed by CLUSTER DELSLOTS, RESET or FORGET):
# giving it to the planned shard would hide them. Prints `slot member count` for each such slot and member; only
# members with keys at all (DBSIZE) are asked, one redis-cli call with one COUNTKEYSINSLOT per unowned slot.
keys_in_unowned_slots() {
  _slots=$(mktemp)
  _counts=$(mktemp)
  while read -r _a _b; do seq "$_a" "$_b"; done <"$1" >"$_slots"
  each_member keys_held_by_member
  rm -f "$_slots" "$_counts"
}
keys_held_by_member() {
  _ip=$(member_ip "$s" "$r")
  [ "$(rcli "$_ip" dbsize)" = 0 ] && return 0
  sed 's/^/cluster countkeysinslot /' "$_slots" | rcli_within 120 "$_ip" "$REDIS_PORT" >"$_counts"
  paste -d' ' "$_slots" "$_counts" | while read -r _slot _n; do
    [ "${_n:-0}" != 0 ] && printf '%s %s %s\n' "$_slot" "$(member "$s" "$r")" "$_n"
  done
  return 0
}

# Assigns every slot no master owns to the shard the plan gives it, [s*16384/S, (s+1)*16384/S) on shard s's master:
# on a new cluster that is every slot; after a bootstrap cut off between two ADDSLOTSRANGE calls, the rest. Stops
# with the list when an unowned slot holds keys (redis-cli --cluster fix gives such a slot to the node with its keys).
assign_unowned_slots() {
  _gaps=$(mktemp)
  assigned_ranges | unassigned_ranges >"$_gaps"
  if [ ! -s "$_gaps" ]; then
    rm -f "$_gaps"
    return 0
  fi
  _held=$(keys_in_unowned_slots "$_gaps")
  if [ -n "$_held" ]; then
    log "slots owned by no master: $(tr '\n' ' ' <"$_gaps" | sed 's/ \([0-9]*\) / \1, /g')"
    printf '%s\n' "$_held" | head -n 20 | while read -r _slot _who _n; do log "slot $_slot: $_n keys on $_who"; done
    rm -f "$_gaps"
    die "$(printf '%s\n' "$_held" | wc -l | tr -d ' ') (slot, member) pairs hold keys in slots no master owns;" \
      "assigning them by the plan could hide those keys. Run 'redis-cli --cluster fix $SEED:$REDIS_PORT'" \
      "(it gives each such slot to the node holding its keys), then rerun this Job"
  fi
  while read -r _a _b; do
    s=0
    while [ "$s" -lt "$SHARDS" ]; do
      _first=$((s * 16384 / SHARDS))
      _last=$(((s + 1) * 16384 / SHARDS - 1))
      [ "$_a" -gt "$_first" ] && _first=$_a
      [ "$_b" -lt "$_last" ] && _last=$_b
      if [ "$_first" -le "$_last" ]; then
        _ip=$(shard_master_ip)
        [ -n "$_ip" ] || die "shard $s has no master to take slots $_first-$_last"
        log "assigning slots $_first-$_last to $(member "$s" 0) ($_ip)"
        _reply=$(rcli "$_ip" cluster addslotsrange "$_first" "$_last")
        [ "$_reply" = OK ] || die "CLUSTER ADDSLOTSRANGE $_first $_last on $_ip: $_reply"
      fi
      s=$((s + 1))
    done
  done <"$_gaps"
  rm -f "$_gaps"
}
assign_unowned_slots

# Waits until the seed sees the slot assignment of every shard, so replicas are not attached to a stale view.
slots_seen() { [ "$(info_field "$(rcli "$(member_ip "$s" "$r")" cluster info)" cluster_slots_assigned)" = 16384 ]; }
wait_slots_seen() { wait_for "$TIMEOUT" slots_seen || die "$(member "$s" "$r") does not see all slots"; }
each_member wait_slots_seen

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
